// The client's connection tokens in Chromium. The refresh, on WebSocket and on Server-Sent Events:
// short-lived tokens (5 s) and a newspushd that warns 2 s before exp (--token-expiry-lead 2), so
// that token_expiring comes twice within seconds; getToken signs each token in Node (exposed to
// the page). A premium-* category is published into all along, across both refreshes and past
// the first token's exp: every article arrives once, in order, with no token_expired. And on SSE,
// the server's errors (forbidden, invalid_token) come as `event: notice`, messages that leave the
// stream up, never as EventSource's own `error`.
//   node --test tests/browser/client_tokens.test.mjs     (NEWSPUSHD_BIN, CHROMIUM_BIN as usual)
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";

import { Newspushd, Redis, article, delay, repoRoot } from "../../web/client/test/support.mjs";
import { claimsOf, readerToken, tokenArgs } from "../../web/client/test/tokens.mjs";
import { launch } from "./browser.mjs";

const WAIT = { timeout: 30000 };
const PREMIUM = "premium-enquetes";
const TOKEN_TTL = 5;

for (const transport of ["websocket", "sse"]) {
  test(`${transport}: token_expiring brings a fresh token and the premium stream carries on, no gap, no duplicate`, async (t) => {
    const redis = await Redis.start();
    t.after(() => redis.stop());
    const server = await Newspushd.start({
      redis,
      args: ["--static-dir", path.join(repoRoot, "web", "static"), ...tokenArgs("--token-expiry-lead", "2")],
    });
    t.after(() => server.stop("SIGKILL"));

    const context = await launch(t);
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (err) => pageErrors.push(String(err)));
    const minted = [];
    await page.exposeFunction("mintToken", (reason) => {
      const token = readerToken({ ttl: TOKEN_TTL });
      minted.push({ reason, token });
      return token;
    });
    // What went to the server: WebSocket commands, and each SSE stream's URL.
    const authFrames = [];
    const sseUrls = [];
    page.on("websocket", (ws) => ws.on("framesent", (f) => {
      const msg = JSON.parse(String(f.payload));
      if (msg.op === "auth") authFrames.push(msg.token);
    }));
    page.on("request", (req) => { if (new URL(req.url()).pathname === "/sse") sseUrls.push(new URL(req.url())); });

    assert.equal((await page.goto(`${server.http}/healthz`)).status(), 200);
    await page.evaluate(async ({ transport, category }) => {
      const { connect } = await import("/client/newspush.js");
      window.events = [];
      const client = connect("/ws", {
        transports: [transport], categories: [category], initialDelayMs: 50, maxDelayMs: 400,
        getToken: ({ reason }) => window.mintToken(reason),
      });
      for (const type of ["article", "status", "error", "authenticated", "token_expiring", "forbidden", "invalid_token", "token_expired"]) {
        client.on(type, (p) => window.events.push({ type, p: JSON.parse(JSON.stringify(p)) }));
      }
      window.client = client;
    }, { transport, category: PREMIUM });
    const events = (type) => page.evaluate((type) => window.events.filter((e) => e.type === type).map((e) => e.p), type);
    const waitFor = (type, count) => page.waitForFunction(({ type, count }) =>
      window.events.filter((e) => e.type === type).length >= count, { type, count }, WAIT);

    await waitFor("authenticated", 1);
    const firstExp = (await events("authenticated"))[0].exp;
    assert.equal(firstExp, claimsOf(minted[0].token).exp);

    // Publish all along, one article at a time, until two refreshes went through and the first
    // token's exp is more than a second behind.
    const published = [];
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        const a = article(PREMIUM);
        await redis.publish(a);
        published.push(a.id);
        await delay(100);
      }
    })();
    try {
      await waitFor("authenticated", 3);
      await delay(Math.max(0, firstExp * 1000 + 1000 - Date.now()));
    } finally {
      publishing = false;
      await publisher;
    }
    const last = article(PREMIUM, { title: "Fin de l’enquête" });
    await redis.publish(last);
    published.push(last.id);
    await page.waitForFunction((id) => window.events.some((e) => e.type === "article" && e.p.article.id === id), last.id, WAIT);

    const got = (await events("article")).map((e) => e.article.id);
    assert.deepEqual(got, published, "every premium article once, in publish order");
    assert.ok(published.length > 20, `published across the refreshes (${published.length})`);
    const auths = await events("authenticated");
    assert.ok(auths.every((a, i) => i === 0 || a.exp > auths[i - 1].exp), JSON.stringify(auths));
    assert.ok((await events("token_expiring")).length >= 2);
    assert.deepEqual(minted.slice(0, 3).map((m) => m.reason), ["connect", "refresh", "refresh"]);
    assert.deepEqual(await events("token_expired"), []);
    assert.deepEqual(await events("forbidden"), []);
    assert.deepEqual(await events("invalid_token"), []);
    assert.deepEqual(await events("error"), []);
    const statuses = (await events("status")).map((s) => s.state);
    assert.equal(statuses.filter((s) => s === "connecting").length, 1, `one connection for the app: ${statuses}`);
    assert.ok(!statuses.includes("reconnecting"), `${statuses}`);

    // (A later refresh may be under way: compare what the answers cover.)
    if (transport === "websocket") {
      // Connect: the token on the URL; each refresh: an auth command on the same connection.
      assert.deepEqual(authFrames.slice(0, auths.length - 1), minted.slice(1, auths.length).map((m) => m.token));
    } else {
      // SSE: each refresh re-opened the stream with the fresh token, resuming from the cursor.
      assert.deepEqual(sseUrls.slice(0, auths.length).map((u) => u.searchParams.get("token")),
        minted.slice(0, auths.length).map((m) => m.token));
      assert.equal(sseUrls[0].searchParams.get("since"), null);
      for (const u of sseUrls.slice(1)) assert.ok(u.searchParams.get("since"), `resumes: ${u}`);
      assert.equal(authFrames.length, 0);
    }
    assert.deepEqual(pageErrors, []);
    await page.evaluate(() => window.client.close());
  });
}

test("sse: forbidden and invalid_token arrive as notice events and the stream stays up (a bare EventSource's onerror never fires)", async (t) => {
  const redis = await Redis.start();
  t.after(() => redis.stop());
  const server = await Newspushd.start({
    redis, args: ["--static-dir", path.join(repoRoot, "web", "static"), ...tokenArgs()],
  });
  t.after(() => server.stop("SIGKILL"));
  const context = await launch(t);
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  const forged = readerToken({ secret: "not-this-servers-secret-0123456789abcdef" });
  assert.equal((await page.goto(`${server.http}/healthz`)).status(), 200);
  await page.evaluate(async ({ category, forged }) => {
    const { connect } = await import("/client/newspush.js");
    window.events = [];
    const client = connect("/ws", {
      transports: ["sse"], categories: [category, "sports"], initialDelayMs: 50, maxDelayMs: 400,
      getToken: async ({ reason }) => (reason === "connect" ? forged : null),
    });
    for (const type of ["article", "status", "error", "forbidden", "invalid_token"]) {
      client.on(type, (p) => window.events.push({ type, p: JSON.parse(JSON.stringify(p)) }));
    }
    window.client = client;
    // A bare EventSource on the same stream: the server's errors reach its "notice" listeners,
    // and its onerror (a lost stream, for a page) stays silent.
    window.raw = [];
    window.rawErrors = 0;
    const es = new EventSource(`/sse?categories=${category},sports`);
    es.addEventListener("notice", (e) => window.raw.push({ data: e.data, state: es.readyState }));
    es.onerror = () => { window.rawErrors++; };
    window.es = es;
  }, { category: PREMIUM, forged });
  const events = (type) => page.evaluate((type) => window.events.filter((e) => e.type === type).map((e) => e.p), type);

  await page.waitForFunction(() => window.events.some((e) => e.type === "forbidden"), null, WAIT);
  await page.waitForFunction(() => window.raw.length > 0, null, WAIT);
  const s1 = article("sports");
  const p1 = article(PREMIUM);
  await redis.publish(p1);
  await redis.publish(s1);
  await page.waitForFunction((id) => window.events.some((e) => e.type === "article" && e.p.article.id === id), s1.id, WAIT);

  assert.deepEqual((await events("invalid_token")).map((e) => e.reason), ["bad_signature"]);
  assert.deepEqual((await events("forbidden")).map((e) => e.category), [PREMIUM]);
  assert.deepEqual((await events("article")).map((e) => e.article.id), [s1.id]);
  const statuses = (await events("status")).map((s) => s.state);
  assert.deepEqual(statuses, ["connecting", "open"], "no reconnect: the error events are messages");
  // The server's notice reaches a plain EventSource's listener, stream open; onerror never fired.
  const raw = await page.evaluate(() => window.raw);
  assert.equal(JSON.parse(raw[0].data).code, "forbidden");
  assert.equal(raw[0].state, 1, "OPEN");
  assert.equal(await page.evaluate(() => window.rawErrors), 0);
  assert.deepEqual(pageErrors, []);
  await page.evaluate(() => { window.client.close(); window.es.close(); });
});
