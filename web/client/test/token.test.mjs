// The client's connection tokens (getToken) against a real newspushd with subscriber-only
// categories (--restricted-category premium-*, --token-secret): the token at connect, a getToken
// that fails or hangs, a refused token, a refresh that fails once, a token that lapses (and 4001).
// The refresh that carries a stream on without a gap is tested in Chromium on both transports
// (tests/browser/client_tokens.test.mjs).
//   node --test web/client/test/token.test.mjs     (NEWSPUSHD_BIN=... to pick the binary)
import assert from "node:assert/strict";
import { test } from "node:test";

import { byId } from "./recorder.mjs";
import { open, stack } from "./stack.mjs";
import { article, delay } from "./support.mjs";
import { readerToken, tokenArgs } from "./tokens.mjs";

const PREMIUM = "premium-enquetes";

test("getToken at connect: the token rides on the URL, premium flows; anonymous readers get forbidden", async (t) => {
  const { redis, server } = await stack(t, tokenArgs());
  const asked = [];
  let given = null;
  const reader = open(t, server.ws, {
    categories: [PREMIUM, "sports"],
    getToken: async (info) => { asked.push(info); given = readerToken(); return given; },
  });
  const auth = await reader.rec.waitFor("authenticated");
  assert.equal(typeof auth.exp, "number");
  const sub = await reader.rec.waitFor("subscribed");
  assert.deepEqual(sub.categories, [PREMIUM, "sports"], "premium in the first subscribe, no forbidden");
  assert.equal(reader.client.tokenExp, auth.exp);
  const connecting = reader.rec.all("status").find((s) => s.state === "connecting");
  assert.match(connecting.url, /[?&]token=\*\*\*$/, "the status event does not show the token");
  assert.ok(!connecting.url.includes(given));

  const anonymous = open(t, server.ws, { categories: [PREMIUM, "sports"], getToken: async () => null });
  const refused = await anonymous.rec.waitFor("forbidden");
  assert.deepEqual(refused.category, PREMIUM);
  assert.equal(refused.trending, false);
  assert.deepEqual((await anonymous.rec.waitFor("subscribed")).categories, ["sports"]);
  assert.equal(anonymous.rec.all("authenticated").length, 0);
  assert.equal(anonymous.client.tokenExp, null);
  assert.ok(anonymous.rec.all("error").some((e) => e.code === "forbidden" && e.server), "also an error event");

  const p1 = article(PREMIUM, { title: "Enquête : les comptes cachés du syndicat des eaux" });
  const s1 = article("sports");
  for (const a of [p1, s1]) await redis.publish(a);
  await reader.rec.waitFor("article", byId(s1.id));
  assert.deepEqual(reader.rec.articles().map((e) => e.article.id), [p1.id, s1.id]);
  await anonymous.rec.waitFor("article", byId(s1.id));
  assert.deepEqual(anonymous.rec.articles().map((e) => e.article.id), [s1.id], "no premium article without a token");
  assert.deepEqual(asked, [{ reason: "connect" }]);
  assert.deepEqual(reader.rec.all("error"), []);
});

test("a getToken that hangs then fails: public news at once, the token follows with backoff", async (t) => {
  const { redis, server } = await stack(t, tokenArgs());
  let calls = 0;
  const { client, rec } = open(t, server.ws, {
    categories: [PREMIUM, "sports"],
    tokenTimeoutMs: 300,
    getToken: () => {
      calls++;
      if (calls === 1) return new Promise(() => {}); // never answers
      if (calls === 2) return Promise.reject(new Error("site backend down"));
      return readerToken();
    },
  });
  // Anonymous meanwhile: the public category works, premium is refused.
  assert.deepEqual((await rec.waitFor("subscribed")).categories, ["sports"]);
  const s1 = article("sports");
  await redis.publish(s1);
  await rec.waitFor("article", byId(s1.id));
  const failures = rec.all("error").filter((e) => e.code === "token_failed");
  assert.match(failures[0].message, /within 300 ms/);
  assert.equal((await rec.waitFor("forbidden")).category, PREMIUM);

  await rec.waitFor("error", (e) => e.code === "token_failed" && /site backend down/.test(e.message));
  await rec.waitFor("authenticated");
  // What was refused is asked for again once a token allows it.
  await rec.waitFor("subscribed", (s) => s.categories.includes(PREMIUM));
  const p1 = article(PREMIUM);
  await redis.publish(p1);
  await rec.waitFor("article", byId(p1.id));
  assert.equal(calls, 3);
  assert.equal(rec.all("error").filter((e) => e.code === "token_failed").length, 2);
  assert.equal(client.state, "open");
  assert.equal(rec.all("status").filter((s) => s.state === "connecting").length, 1, "one connection throughout");
});

test("invalid_token: surfaced with its reason; the refused token is not sent again, a good one is", async (t) => {
  const { redis, server } = await stack(t, tokenArgs());
  const forged = readerToken({ secret: "not-the-secret-of-this-server-0123456789" });
  const good = readerToken();
  const answers = [forged, forged, good];
  const { rec } = open(t, server.ws, {
    categories: [PREMIUM],
    random: () => 0,
    getToken: async () => answers.shift() ?? good,
  });
  const refused = await rec.waitFor("invalid_token");
  assert.equal(refused.reason, "bad_signature");
  await rec.waitFor("forbidden", (f) => f.category === PREMIUM);
  await rec.waitFor("error", (e) => e.code === "token_failed" && /refused/.test(e.message));
  await rec.waitFor("authenticated");
  await rec.waitFor("subscribed", (s) => s.categories.includes(PREMIUM));
  assert.equal(rec.all("invalid_token").length, 1, "the forged token went out once");
  const p1 = article(PREMIUM);
  await redis.publish(p1);
  await rec.waitFor("article", byId(p1.id));
  assert.deepEqual(await server.metric('newspush_tokens_total{result="bad_signature"}'), 1);
});

test("token_expiring on WebSocket: a refresh that fails once is retried before exp; nothing stops", async (t) => {
  const { redis, server } = await stack(t, tokenArgs("--token-expiry-lead", "2"));
  const reasons = [];
  let refreshes = 0;
  const { rec } = open(t, server.ws, {
    categories: [PREMIUM],
    getToken: async (info) => {
      reasons.push(info.reason);
      if (info.reason === "connect") return readerToken({ ttl: 4 });
      if (++refreshes === 1) throw new Error("token endpoint timed out");
      return readerToken({ ttl: 120 });
    },
  });
  const first = await rec.waitFor("authenticated");
  const warned = await rec.waitFor("token_expiring", () => true, { timeoutMs: 15000 });
  assert.equal(warned.exp, first.exp);
  await rec.waitFor("error", (e) => e.code === "token_failed" && /timed out/.test(e.message));
  const second = await rec.waitFor("authenticated", (a) => a.exp > first.exp, { timeoutMs: 15000 });
  assert.ok(second.exp >= first.exp + 100);
  // Past the first token's exp, premium articles still come.
  await delay(first.exp * 1000 + 1000 - Date.now());
  const p1 = article(PREMIUM);
  await redis.publish(p1);
  await rec.waitFor("article", byId(p1.id));
  assert.deepEqual(reasons, ["connect", "refresh", "retry"]);
  assert.equal(rec.all("token_expired").length, 0);
  assert.equal(rec.all("status").filter((s) => s.state === "connecting").length, 1);
});

test("a token that lapses: token_expired names what stopped, public news carries on; alone, 4001 and a reconnect", async (t) => {
  const { redis, server } = await stack(t, tokenArgs("--token-expiry-lead", "1"));
  // Refreshing gives nothing (the reader unsubscribed on the site, say).
  const mixed = open(t, server.ws, {
    categories: [PREMIUM, "sports"],
    getToken: async (info) => (info.reason === "connect" ? readerToken({ ttl: 3 }) : null),
  });
  let connects = 0;
  const alone = open(t, server.ws, {
    categories: [PREMIUM],
    getToken: async (info) => {
      if (info.reason !== "connect") return null;
      connects++;
      return readerToken({ ttl: connects === 1 ? 3 : 120 });
    },
  });

  const expired = await mixed.rec.waitFor("token_expired", () => true, { timeoutMs: 15000 });
  assert.deepEqual(expired.categories, [PREMIUM]);
  assert.deepEqual(expired.trending, []);
  await mixed.rec.waitFor("subscribed", (s) => s.categories.join() === "sports");
  assert.equal(mixed.client.tokenExp, null);

  const gone = await alone.rec.waitFor("status", (s) => s.state === "reconnecting", { timeoutMs: 15000 });
  assert.equal(gone.code, 4001);
  assert.equal(gone.reason, "token_expired");
  const mark = alone.rec.mark();
  await alone.rec.waitFor("authenticated", () => true, { after: mark });
  await alone.rec.waitFor("subscribed", (s) => s.categories.includes(PREMIUM), { after: mark });
  assert.equal(connects, 2, "a fresh token for the new connection");

  const p1 = article(PREMIUM);
  const s1 = article("sports");
  for (const a of [p1, s1]) await redis.publish(a);
  await mixed.rec.waitFor("article", byId(s1.id));
  assert.equal(mixed.rec.articles().filter(byId(p1.id)).length, 0, "premium stopped with the token");
  await alone.rec.waitFor("article", byId(p1.id));
});
