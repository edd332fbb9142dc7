// Trending with the client library: the `trending` lists it asks for and receives, and `view()`.
// Against a real newspushd and redis-server (one pair per test), except the first test, which
// checks the wire commands against a scripted WebSocket server.
//   node --test web/client/test/          (NEWSPUSHD_BIN=... to pick the binary)
import assert from "node:assert/strict";
import { test } from "node:test";
import { WebSocketServer } from "ws";

import { open, stack } from "./stack.mjs";
import { Newspushd, article, waitUntil } from "./support.mjs";

const KEY = "trending-test-publish-key-0123456789";
// Lists recomputed every 200 ms: a test waits for a push, never for the default 2 s.
const TRENDING_ARGS = ["--publish-key", KEY, "--trending-interval", "200ms"];
const LONG = { timeoutMs: 20000 };

/** Publishes through the history (article records exist: views of them count). */
async function publishAll(redis, articles) {
  for (const a of articles) {
    const { via } = await redis.publish(a);
    assert.equal(via, "fcall", "newspushd loaded no newspush_publish into Redis");
  }
}

const ids = (list) => list.items.map((i) => i.id);
const startsWith = (list, expected) => expected.every((id, i) => list.items[i] && list.items[i].id === id);

/** A scripted server: records each connection's commands; `next()` resolves with the next one. */
async function scriptedServer(t) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((resolve) => wss.once("listening", resolve));
  t.after(() => new Promise((resolve) => {
    for (const c of wss.clients) c.terminate();
    wss.close(resolve);
  }));
  const commands = [];
  const waiters = [];
  let read = 0;
  const sockets = [];
  wss.on("connection", (ws) => {
    sockets.push(ws);
    const connection = sockets.length;
    ws.send(JSON.stringify({ type: "welcome", protocol: 1, server: "scripted", max_frame_bytes: 65536, max_categories: 64 }));
    ws.on("message", (data) => {
      commands.push({ connection, cmd: JSON.parse(String(data)) });
      while (waiters.length > 0 && read < commands.length) waiters.shift()(commands[read++]);
    });
  });
  return {
    url: `ws://127.0.0.1:${wss.address().port}/ws`,
    sockets,
    commands,
    next(timeoutMs = 5000) {
      if (read < commands.length) return Promise.resolve(commands[read++]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no command within ${timeoutMs} ms; got ${JSON.stringify(commands)}`)), timeoutMs);
        waiters.push((c) => { clearTimeout(timer); resolve(c); });
      });
    },
  };
}

test("trending lists go in subscribe (categories may be empty) and again after a reconnect", async (t) => {
  const srv = await scriptedServer(t);
  const { client, rec } = open(t, srv.url, { trending: ["*"] });
  assert.deepEqual(client.trending, ["*"]);

  let c = await srv.next();
  assert.deepEqual(c.cmd, { op: "subscribe", categories: [], trending: ["*"] });

  client.subscribe("sports");
  c = await srv.next();
  assert.deepEqual(c.cmd, { op: "subscribe", categories: ["sports"] }, "categories alone: no trending field");
  client.subscribeTrending(["culture"]);
  c = await srv.next();
  assert.deepEqual(c.cmd, { op: "subscribe", categories: [], trending: ["culture"] });
  assert.deepEqual(client.trending, ["*", "culture"]);
  client.unsubscribeTrending("culture");
  c = await srv.next();
  assert.deepEqual(c.cmd, { op: "unsubscribe", trending: ["culture"] });
  assert.deepEqual(client.trending, ["*"]);

  // The server's message comes out as is.
  const list = {
    type: "trending", category: "*", at: 1795890100477,
    items: [{ id: "spo-1", title: "But à la 90e", url: "https://exemple.fr/spo-1", category: "sports", score: 12.5 },
      { id: "cul-2", title: "Sans lien", category: "culture", score: 3 }],
  };
  srv.sockets[0].send(JSON.stringify(list));
  assert.deepEqual(await rec.waitFor("trending"), list);

  // Views: one frame per id, no more; ids the server would refuse are not sent.
  assert.equal(client.view("spo-1"), true);
  assert.equal(client.view("spo-1"), false, "once per id");
  assert.equal(client.view(""), false);
  assert.equal(client.view("x".repeat(129)), false, "more than 128 bytes");
  assert.equal(client.view("é".repeat(65)), false, "130 bytes in UTF-8");
  assert.equal(client.view("é".repeat(64)), true, "128 bytes in UTF-8");
  c = await srv.next();
  assert.deepEqual(c.cmd, { op: "view", article: "spo-1" });
  c = await srv.next();
  assert.deepEqual(c.cmd, { op: "view", article: "é".repeat(64) });

  // An article gives a cursor; then the connection drops: the resuming subscribe carries both sets.
  srv.sockets[0].send(JSON.stringify({
    type: "article", cursor: "c1", category: "sports", breaking: false, article: { id: "a1", category: "sports", title: "t" },
  }));
  await rec.waitFor("article");
  const mark = rec.mark();
  srv.sockets[0].terminate();
  await rec.waitFor("status", (s) => s.state === "reconnecting", { after: mark });
  c = await srv.next();
  assert.equal(c.connection, 2);
  assert.deepEqual(c.cmd, { op: "subscribe", categories: ["sports"], trending: ["*"], since: "c1" });
  assert.equal(client.view("spo-1"), false, "still once per id after a reconnect");
  assert.deepEqual(rec.all("error"), []);
});

test("receives the overall trending list after subscribing with trending ['*'], live", async (t) => {
  const { redis, server } = await stack(t, TRENDING_ARGS);
  const a = article("sports", { title: "Finale : la France l’emporte" });
  const b = article("culture", { title: "Un film français à Cannes" });
  const c = article("politique");
  const noUrl = { ...article("economie"), url: undefined };
  await publishAll(redis, [a, b, c, noUrl]);

  const { client, rec } = open(t, server.ws, { trending: ["*"] });
  const sub = await rec.waitFor("subscribed");
  assert.deepEqual(sub.categories, [], "no article category: trending only");
  assert.deepEqual(sub.trending, ["*"]);

  const posted = await server.postViews(KEY, [a.id, a.id, a.id, b.id, b.id, c.id, noUrl.id, "never-published"]);
  assert.equal(posted.status, 200, JSON.stringify(posted.body));
  assert.deepEqual(posted.body, { counted: 7, unknown: 1 });

  const list = await rec.waitFor("trending", (l) => l.category === "*" && startsWith(l, [a.id, b.id]) && l.items.length === 4, LONG);
  assert.equal(list.type, "trending");
  assert.deepEqual(ids(list).slice(0, 2), [a.id, b.id]);
  assert.deepEqual(new Set(ids(list).slice(2)), new Set([c.id, noUrl.id]), "equal scores: both, in either order");
  const [first] = list.items;
  assert.equal(first.title, a.title);
  assert.equal(first.url, a.url);
  assert.equal(first.category, "sports");
  assert.ok(Math.abs(first.score - 3) < 0.05, `three fresh views score about 3 (${first.score})`);
  assert.ok(!("url" in list.items.find((i) => i.id === noUrl.id)), "no url when the article has none");
  assert.equal(typeof list.at, "number");
  assert.ok(Math.abs(list.at - Date.now()) < 60000, `at is epoch ms (${list.at})`);
  assert.ok(rec.all("trending").every((l) => l.category === "*"), "only the list asked for");

  // The same over HTTP.
  const http = await server.trending("*");
  assert.equal(http.status, 200);
  assert.equal(http.body.type, "trending");
  assert.equal(http.body.category, "*");
  assert.deepEqual(ids(http.body).slice(0, 2), [a.id, b.id]);

  // More views make another article first: a new list arrives by itself.
  let mark = rec.mark();
  await server.postViews(KEY, Array(4).fill(c.id));
  await rec.waitFor("trending", (l) => l.category === "*" && startsWith(l, [c.id, a.id, b.id]), { after: mark, ...LONG });

  // A category's list on demand, then no longer asked for.
  mark = rec.mark();
  client.subscribeTrending("sports");
  const withSports = await rec.waitFor("subscribed", () => true, { after: mark });
  assert.deepEqual(withSports.trending, ["*", "sports"]);
  const sports = await rec.waitFor("trending", (l) => l.category === "sports", { after: mark, ...LONG });
  assert.deepEqual(ids(sports), [a.id]);
  mark = rec.mark();
  client.unsubscribeTrending("sports");
  const without = await rec.waitFor("subscribed", () => true, { after: mark });
  assert.deepEqual(without.trending, ["*"]);
  assert.deepEqual(client.trending, ["*"]);

  // After a reconnect the client asks for "*" again and lists keep coming.
  mark = rec.mark();
  const port = server.port;
  await server.stop("SIGTERM");
  await rec.waitFor("status", (s) => s.state === "reconnecting", { after: mark });
  const again = await Newspushd.start({ redis, port, args: TRENDING_ARGS });
  t.after(() => again.stop("SIGKILL"));
  const resub = await rec.waitFor("subscribed", () => true, { after: mark, ...LONG });
  assert.deepEqual(resub.trending, ["*"]);
  await again.postViews(KEY, Array(6).fill(b.id));
  await rec.waitFor("trending", (l) => l.category === "*" && startsWith(l, [b.id, c.id, a.id]), { after: mark, ...LONG });
  assert.deepEqual(rec.all("error"), []);
});

test("view() is fire and forget: no reply, no error, counted once", async (t) => {
  const { redis, server } = await stack(t, TRENDING_ARGS);
  const a = article("sports");
  await publishAll(redis, [a]);
  const { client, rec } = open(t, server.ws, { categories: ["sports"] });
  const messages = [];
  client.on("message", (m) => messages.push(m));
  await rec.waitFor("subscribed");

  const from = messages.length;
  const mark = rec.mark();
  assert.equal(client.view(a.id), true);
  assert.equal(client.view(a.id), false, "the client sends an id once");
  assert.equal(client.view("never-published"), true, "unknown ids are sent, and ignored by the server");
  // Commands are answered in order: whatever a view would answer comes before this `subscribed`.
  client.subscribe("culture");
  await rec.waitFor("subscribed", (s) => s.categories.includes("culture"), { after: mark });
  const replies = messages.slice(from).map((m) => m.type).filter((type) => type !== "trending");
  assert.deepEqual(replies, ["subscribed"], "nothing but the subscribe's reply");

  // The view counted: the sports list (a subscribed category's) shows it.
  const list = await rec.waitFor("trending", (l) => l.category === "sports" && l.items.length > 0, { after: mark, ...LONG });
  assert.deepEqual(ids(list), [a.id]);
  assert.ok(Math.abs(list.items[0].score - 1) < 0.05, `one view scores about 1 (${list.items[0].score})`);
  // The unknown id may be settled in a later round trip to Redis than the counted one.
  const metric = (result) => server.metric(`newspush_views_total{result="${result}"}`);
  await waitUntil(async () => (await metric("counted")) === 1 && (await metric("unknown")) === 1, 10000,
    "views_total counted 1 and unknown 1");
  assert.equal(await metric("duplicate"), 0);
  assert.deepEqual(rec.all("error"), []);
  assert.equal(client.state, "open");
});
