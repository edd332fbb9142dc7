// The newspush client on Server-Sent Events, in Chromium (Node.js 18 and 20 have no EventSource):
// transports: ["sse"], the fallback from a WebSocket that cannot connect, set changes, drains and
// crashes, refusals, duplicates, views. Real redis-server and newspushd (serving the client file).
//   node --test tests/browser/sse_client.test.mjs     (NEWSPUSHD_BIN, CHROMIUM_BIN as usual)
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";

import { Newspushd, Redis, article, freePort, repoRoot, waitUntil } from "../../web/client/test/support.mjs";
import { launch } from "./browser.mjs";

const WAIT = { timeout: 20000 };
const staticArgs = ["--static-dir", path.join(repoRoot, "web", "static")];

async function stack(t, args = []) {
  const redis = await Redis.start();
  t.after(() => redis.stop());
  const server = await Newspushd.start({ redis, args: [...staticArgs, ...args] });
  t.after(() => server.stop("SIGKILL"));
  return { redis, server };
}

/** A page of newspushd's origin that has imported /client/newspush.js (window.newspushModule). */
async function clientPage(t, server) {
  const context = await launch(t);
  const page = await context.newPage();
  page.pageErrors = [];
  page.on("pageerror", (err) => page.pageErrors.push(String(err)));
  const res = await page.goto(`${server.http}/healthz`);
  assert.equal(res.status(), 200);
  await page.evaluate(async () => {
    window.newspushModule = await import("/client/newspush.js");
    // Records a client's events (copies, so later mutations do not show) under window.rec[name].
    window.rec = {};
    window.record = (name, client) => {
      const events = [];
      window.rec[name] = events;
      for (const type of ["article", "breaking", "retract", "trending", "status", "error", "subscribed", "welcome", "pong", "message"]) {
        client.on(type, (p) => events.push({ type, p: JSON.parse(JSON.stringify(p)) }));
      }
    };
  });
  return page;
}

/**
 * Creates a client in the page: `window.clients[name] = connect(url, options)`, recorded. `extra`
 * is the source of an object merged into the options in the page (for what JSON cannot carry).
 */
async function newClient(page, name, url, options, extra = "({})") {
  await page.evaluate(({ name, url, options, extra }) => {
    window.clients = window.clients || {};
    // eslint-disable-next-line no-eval
    const more = (0, eval)(extra);
    const client = window.newspushModule.connect(url, { initialDelayMs: 50, maxDelayMs: 400, ...options, ...more });
    window.clients[name] = client;
    window.record(name, client);
  }, { name, url, options, extra });
  return {
    events: (type) => page.evaluate(({ name, type }) => window.rec[name].filter((e) => !type || e.type === type).map((e) => e.p), { name, type }),
    mark: () => page.evaluate((name) => window.rec[name].length, name),
    /** Waits for an event of `type` from index `after` whose payload matches `pred` (page-side source). */
    waitFor: async (type, pred = "() => true", after = 0) => {
      const handle = await page.waitForFunction(({ name, type, pred, after }) => {
        // eslint-disable-next-line no-eval
        const f = (0, eval)(pred);
        return window.rec[name].slice(after).find((e) => e.type === type && f(e.p))?.p;
      }, { name, type, pred, after }, WAIT);
      return handle.jsonValue();
    },
    prop: (key) => page.evaluate(({ name, key }) => window.clients[name][key], { name, key }),
    call: (method, ...args) => page.evaluate(({ name, method, args }) => {
      const r = window.clients[name][method](...args);
      return r === window.clients[name] ? null : r;
    }, { name, method, args }),
  };
}

const byId = (id) => `(e) => e.article && e.article.id === ${JSON.stringify(id)}`;
const state = (s) => `(e) => e.state === ${JSON.stringify(s)}`;
const articleIds = async (c) => (await c.events("article")).map((e) => e.article.id);

const PUBLISH_KEY = "sse-client-test-publish-key-0123456789";

test("transports ['sse']: articles, breaking, retract and trending reach the same callbacks", async (t) => {
  const { redis, server } = await stack(t, ["--publish-key", PUBLISH_KEY, "--trending-interval", "200ms"]);
  const page = await clientPage(t, server);
  const c = await newClient(page, "sse", "/ws", { transports: ["sse"], categories: ["sports"], trending: ["*"] });

  const sub = await c.waitFor("subscribed");
  assert.deepEqual(sub.categories, ["sports"]);
  assert.deepEqual(sub.trending, ["*"]);
  assert.equal(typeof sub.cursor, "string");
  const statuses = await c.events("status");
  assert.deepEqual(statuses.slice(0, 2).map((s) => [s.state, s.transport]), [["connecting", "sse"], ["open", "sse"]]);
  const url = new URL(statuses[0].url);
  assert.equal(url.origin + url.pathname, `${server.http}/sse`, "derived from /ws");
  assert.equal(url.searchParams.get("categories"), "sports");
  assert.equal(url.searchParams.get("trending"), "*");
  assert.equal(url.searchParams.get("since"), null, "nothing to resume yet");
  assert.equal(await c.prop("transport"), "sse");
  assert.equal(await c.prop("state"), "open");
  assert.equal(await c.prop("welcome"), null);
  assert.equal(await c.prop("cursor"), sub.cursor, "the first position learnt");

  const s1 = article("sports", { title: "Victoire à Lyon", tags: ["é", "ü"] });
  const p1 = article("politique");
  const b = article("culture", { title: "Alerte", breaking: true });
  const s2 = article("sports");
  for (const a of [s1, p1, b, s2]) await redis.publish(a);
  await c.waitFor("article", byId(s2.id));
  const got = await c.events("article");
  assert.deepEqual(got.map((e) => e.article.id), [s1.id, b.id, s2.id]);
  assert.deepEqual(got[0].article, s1, "the article exactly as published, UTF-8 intact");
  assert.equal(got[0].category, "sports");
  assert.equal(got[0].breaking, false);
  assert.equal(got[0].replayed, false);
  assert.equal(got[0].update, false);
  assert.equal(typeof got[0].cursor, "string");
  assert.deepEqual((await c.events("breaking")).map((e) => e.article.id), [b.id]);
  assert.equal(await c.prop("cursor"), got[2].cursor);

  // A correction (same id, new content) and a retraction.
  const fixed = { ...s1, title: "Victoire à Lyon (corrigé)" };
  await redis.publish(fixed);
  const upd = await c.waitFor("article", `(e) => e.update && e.article.id === ${JSON.stringify(s1.id)}`);
  assert.equal(upd.article.title, fixed.title);
  await redis.command(["FCALL", "newspush_retract", "1", "news:log", s2.id]);
  const r = await c.waitFor("retract");
  assert.equal(r.id, s2.id);
  assert.equal(r.category, "sports");

  // Trending lists arrive as `trending` events.
  const posted = await server.postViews(PUBLISH_KEY, [b.id, b.id, s1.id]);
  assert.equal(posted.status, 200, JSON.stringify(posted.body));
  const list = await c.waitFor("trending", `(e) => e.category === "*" && e.items.length === 2`);
  assert.deepEqual(list.items.map((i) => i.id), [b.id, s1.id]);

  assert.deepEqual(await c.events("error"), []);
  assert.deepEqual(await c.events("welcome"), []);
  assert.deepEqual(page.pageErrors, []);
});

test("a WebSocket that cannot connect hands over to SSE at once; the SSE transport is kept", async (t) => {
  const { redis, server } = await stack(t);
  const page = await clientPage(t, server);
  const dead = await freePort(); // nothing listens there: the upgrade is refused at TCP level
  const c = await newClient(page, "fb", `ws://127.0.0.1:${dead}/ws`, {
    categories: ["sports"], sseUrl: `${server.http}/sse`,
  });
  await c.waitFor("subscribed");
  const statuses = await c.events("status");
  assert.deepEqual(statuses.map((s) => [s.state, s.transport]),
    [["connecting", "websocket"], ["connecting", "sse"], ["open", "sse"]],
    "no backoff between the two transports");
  assert.equal(await c.prop("transport"), "sse");
  const a = article("sports");
  await redis.publish(a);
  await c.waitFor("article", byId(a.id));

  // Lost after it worked: back on SSE first (with the backoff), not on the blocked WebSocket.
  const mark = await c.mark();
  const port = server.port;
  await server.stop("SIGTERM");
  const rc = await c.waitFor("status", state("reconnecting"), mark);
  assert.equal(rc.transport, "sse");
  assert.equal(rc.reason, "shutdown");
  const again = await Newspushd.start({ redis, port, args: staticArgs });
  t.after(() => again.stop("SIGKILL"));
  await c.waitFor("status", state("resumed"), mark);
  const after = (await c.events("status")).slice(statuses.length);
  const firstTry = after.find((s) => s.state === "connecting");
  assert.equal(firstTry.transport, "sse", "the transport that worked is tried first");
  assert.deepEqual(await articleIds(c), [a.id]);
  assert.deepEqual(page.pageErrors, []);
});

test("drain and crash: the client reconnects with its backoff and ?since=, every article once, in order", async (t) => {
  const redis = await Redis.start();
  t.after(() => redis.stop());
  let server = await Newspushd.start({ redis, args: staticArgs });
  t.after(() => server.stop("SIGKILL"));
  const port = server.port;
  const page = await clientPage(t, server);
  const c = await newClient(page, "r", "/ws", { transports: ["sse"], categories: ["sports", "politique"] });
  await c.waitFor("subscribed");

  const published = [];
  const publish = async (a) => { await redis.publish(a); published.push(a.id); };
  await publish(article("sports"));
  await publish(article("politique"));
  await c.waitFor("article", byId(published.at(-1)));

  // Drain: event: close "shutdown".
  let mark = await c.mark();
  await server.stop("SIGTERM");
  const rc = await c.waitFor("status", state("reconnecting"), mark);
  assert.equal(rc.reason, "shutdown");
  assert.equal(rc.transport, "sse");
  assert.equal(rc.code, undefined, "SSE has no close codes");
  assert.ok(rc.delay >= 0 && rc.delay <= 400, `delay ${rc.delay}: the client's backoff (maxDelayMs 400)`);
  const cursorBefore = await c.prop("cursor");
  await publish(article("sports"));
  await redis.publish(article("culture")); // not subscribed, not breaking: never arrives
  await publish(article("international", { breaking: true }));
  server = await Newspushd.start({ redis, port, args: staticArgs });
  await c.waitFor("article", byId(published.at(-1)), mark);
  // The client may first have come back to the draining node in the moment before its listener
  // closed (it answers such a stream with `subscribed`, maybe `resumed`, then `close` again): the
  // resumes together replayed the outage's two articles.
  const resumes = (await c.events("status")).filter((s) => s.state === "resumed");
  assert.equal(resumes.reduce((n, s) => n + s.replayed, 0), 2, JSON.stringify(resumes));
  const reconnects = (await c.events("status")).filter((s) => s.state === "connecting").slice(1);
  assert.ok(reconnects.length >= 1);
  assert.equal(new URL(reconnects[0].url).searchParams.get("since"), cursorBefore, "resumes from the client's cursor");
  const replayed = (await c.events("article")).slice(-2);
  assert.deepEqual(replayed.map((e) => e.replayed), [true, true]);
  await publish(article("politique"));
  await c.waitFor("article", byId(published.at(-1)));
  assert.equal((await c.events("article")).at(-1).replayed, false, "live again");

  // Crash: the stream just breaks.
  mark = await c.mark();
  await server.stop("SIGKILL");
  const crash = await c.waitFor("status", state("reconnecting"), mark);
  assert.equal(crash.reason, undefined);
  await publish(article("politique"));
  server = await Newspushd.start({ redis, port, args: staticArgs });
  const resumed2 = await c.waitFor("status", state("resumed"), mark);
  assert.equal(resumed2.replayed, 1);
  await publish(article("sports"));
  await c.waitFor("article", byId(published.at(-1)));

  assert.deepEqual(await articleIds(c), published, "every article exactly once, in publish order");
  assert.equal(await c.prop("cursor"), (await c.events("article")).at(-1).cursor);
  assert.deepEqual((await c.events("status")).filter((s) => s.state === "reset"), []);
  assert.deepEqual(await c.events("error"), []);
  assert.deepEqual(page.pageErrors, []);
});

test("set changes open a new stream quietly, resuming: nothing lost, nothing twice", async (t) => {
  const { redis, server } = await stack(t);
  const page = await clientPage(t, server);
  const c = await newClient(page, "set", "/ws", { transports: ["sse"], categories: ["sports"] });
  await c.waitFor("subscribed");
  const s1 = article("sports");
  await redis.publish(s1);
  await c.waitFor("article", byId(s1.id));
  const statusesBefore = (await c.events("status")).length;

  let mark = await c.mark();
  await page.evaluate(() => { // in one tick: one new stream for both changes
    window.clients.set.subscribe(["culture", "economie"]);
    window.clients.set.subscribeTrending("*");
  });
  const sub = await c.waitFor("subscribed", "() => true", mark);
  assert.deepEqual(sub.categories, ["culture", "economie", "sports"]);
  assert.deepEqual(sub.trending, ["*"]);
  await c.waitFor("status", state("resumed"), mark);
  assert.equal((await c.events("subscribed")).length, 2, "one new stream");
  const cu = article("culture");
  await redis.publish(cu);
  await c.waitFor("article", byId(cu.id));

  mark = await c.mark();
  await c.call("unsubscribe", "sports");
  await c.waitFor("subscribed", `(e) => !e.categories.includes("sports")`, mark);
  const s2 = article("sports");
  const marker = article("economie");
  await redis.publish(s2);
  await redis.publish(marker);
  await c.waitFor("article", byId(marker.id));
  assert.deepEqual(await articleIds(c), [s1.id, cu.id, marker.id], "the unsubscribed category stops, nothing twice");
  const quiet = (await c.events("status")).slice(statusesBefore).map((s) => s.state);
  assert.ok(!quiet.includes("connecting") && !quiet.includes("open") && !quiet.includes("reconnecting"),
    `no reconnection shown for a set change: ${quiet}`);
  assert.equal(await c.prop("state"), "open");

  // A name the server would refuse is left out (reported once); the stream carries on.
  mark = await c.mark();
  await c.call("subscribe", ["Économie", "sante"]);
  const err = await c.waitFor("error", "() => true", mark);
  assert.equal(err.code, "bad_category");
  const sub2 = await c.waitFor("subscribed", `(e) => e.categories.includes("sante")`, mark);
  assert.ok(!sub2.categories.includes("Économie"));

  // Nothing left to stream: idle, then a subscribe starts a stream again, resuming.
  mark = await c.mark();
  await page.evaluate(() => {
    window.clients.set.unsubscribe(["culture", "economie", "sante"]);
    window.clients.set.unsubscribeTrending(["*"]);
  });
  await c.waitFor("status", state("idle"), mark);
  assert.equal(await c.prop("state"), "idle");
  const missed = article("sports");
  await redis.publish(missed);
  await c.call("subscribe", "sports");
  const back = await c.waitFor("status", state("resumed"), mark);
  assert.equal(back.replayed, 1, "what came while idle, from the cursor");
  await c.waitFor("article", byId(missed.id));
  assert.deepEqual((await c.events("error")).map((e) => e.code), ["bad_category"]);
  assert.deepEqual(page.pageErrors, []);
});

test("events delivered twice are dropped by cursor on SSE too", async (t) => {
  const { redis, server } = await stack(t);
  const page = await clientPage(t, server);
  // A real EventSource whose listeners get every event twice.
  const c = await newClient(page, "dup", "/ws", { transports: ["sse"], categories: ["economie"] }, `({
    EventSource: class extends EventSource {
      addEventListener(type, fn, ...rest) { return super.addEventListener(type, (e) => { fn(e); fn(e); }, ...rest); }
    },
  })`);
  await c.waitFor("subscribed");
  const a = article("economie");
  const b = article("economie", { breaking: true });
  for (const x of [a, b]) await redis.publish(x);
  await c.waitFor("article", byId(b.id));
  const last = article("economie");
  await redis.publish(last);
  await c.waitFor("article", byId(last.id));
  assert.deepEqual(await articleIds(c), [a.id, b.id, last.id]);
  assert.equal((await c.events("breaking")).length, 1);
  assert.equal((await c.events("subscribed")).length, 2, "subscribed has no dedupe (as on WebSocket)");
});

test("view() on SSE: nothing without viewFallback; with it, once per id", async (t) => {
  const { server } = await stack(t);
  const page = await clientPage(t, server);
  const plain = await newClient(page, "plain", "/ws", { transports: ["sse"], categories: ["sports"] });
  const fb = await newClient(page, "fb", "/ws", { transports: ["sse"], categories: ["sports"] },
    "({ viewFallback: (id) => { (window.viewsOut = window.viewsOut || []).push(id); } })");
  await plain.waitFor("subscribed");
  await fb.waitFor("subscribed");
  assert.equal(await plain.call("view", "some-article"), false);
  assert.equal(await fb.call("view", "some-article"), true);
  assert.equal(await fb.call("view", "some-article"), false, "once per id");
  assert.equal(await fb.call("view", "other"), true);
  assert.equal(await fb.call("view", ""), false);
  assert.deepEqual(await page.evaluate(() => window.viewsOut), ["some-article", "other"]);
  assert.deepEqual(await plain.events("error"), []);
});

test("a refused stream (429 from the admission limits) is fatal to EventSource: the client retries with its backoff", async (t) => {
  const { redis, server } = await stack(t, ["--max-connections-per-ip", "1"]);
  // Hold the only slot of 127.0.0.1 with a stream of our own.
  const hog = new AbortController();
  const held = await fetch(`${server.http}/sse?categories=sports`, { signal: hog.signal });
  assert.equal(held.status, 200);
  const reader = held.body.getReader();
  t.after(() => hog.abort());
  const refused = await fetch(`${server.http}/sse?categories=sports`);
  assert.equal(refused.status, 429, "a second stream from the same address is refused");
  assert.equal(refused.headers.get("retry-after"), "5");
  assert.equal((await refused.json()).error, "too_many_connections");

  const page = await clientPage(t, server);
  const c = await newClient(page, "adm", "/ws", { transports: ["sse"], categories: ["sports"] });
  // Several attempts, each refused, each followed by the backoff.
  await page.waitForFunction(() => window.rec.adm.filter((e) => e.type === "status" && e.p.state === "reconnecting").length >= 3, null, WAIT);
  assert.equal(await c.prop("state"), "reconnecting");
  assert.deepEqual(await c.events("subscribed"), []);

  hog.abort();
  await reader.cancel().catch(() => {});
  await c.waitFor("subscribed");
  const a = article("sports");
  await redis.publish(a);
  await c.waitFor("article", byId(a.id));
  await waitUntil(async () => (await c.prop("state")) === "open", 5000, "state open");
});
