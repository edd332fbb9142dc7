// The client library against a real newspushd and redis-server (started here, one pair per test).
//   node --test web/client/test/          (NEWSPUSHD_BIN=... to pick the binary)
import assert from "node:assert/strict";
import { test } from "node:test";
import { WebSocket } from "ws";

import { connect } from "../newspush.js";
import { byId } from "./recorder.mjs";
import { FAST, open, stack } from "./stack.mjs";
import { Newspushd, Redis, article, freePort } from "./support.mjs";


/** A WebSocket class whose instances deliver every incoming message twice. */
class DoublingWebSocket extends WebSocket {
  get onmessage() { return super.onmessage; }
  set onmessage(fn) { super.onmessage = fn ? (ev) => { fn(ev); fn(ev); } : fn; }
}

test("without a WebSocket implementation connect() says how to get one", () => {
  const saved = globalThis.WebSocket;
  try {
    globalThis.WebSocket = undefined;
    assert.throws(() => connect("ws://127.0.0.1:1/ws"), /options\.WebSocket/);
  } finally {
    globalThis.WebSocket = saved;
  }
});

test("receives the articles of its categories only, in publish order", async (t) => {
  const { redis, server } = await stack(t);
  const { client, rec } = open(t, server.ws, { categories: ["sports"] });
  const welcome = await rec.waitFor("welcome");
  assert.equal(welcome.protocol, 1);
  const sub = await rec.waitFor("subscribed");
  assert.deepEqual(sub.categories, ["sports"]);
  assert.deepEqual(rec.states().slice(0, 2), ["connecting", "open"]);
  assert.equal(client.state, "open");

  const s1 = article("sports", { title: "Victoire à Lyon", tags: ["é", "ü"] });
  const p1 = article("politique");
  const s2 = article("sports");
  for (const a of [s1, p1, s2]) await redis.publish(a);
  await rec.waitFor("article", byId(s2.id));

  const got = rec.articles();
  assert.deepEqual(got.map((e) => e.article.id), [s1.id, s2.id]);
  assert.deepEqual(got[0].article, s1, "the article arrives exactly as published, UTF-8 intact");
  assert.equal(got[0].category, "sports");
  assert.equal(got[0].breaking, false);
  assert.equal(rec.all("breaking").length, 0);
  assert.equal(rec.all("error").length, 0);
});

test("subscribe and unsubscribe change what arrives, live", async (t) => {
  const { redis, server } = await stack(t);
  const { client, rec } = open(t, server.ws);
  await rec.waitFor("status", (s) => s.state === "open");
  assert.equal(rec.all("subscribed").length, 0, "nothing asked for, nothing subscribed");

  client.subscribe(["culture", "economie"]);
  await rec.waitFor("subscribed", (s) => s.categories.includes("economie"));
  const c1 = article("culture");
  await redis.publish(c1);
  await rec.waitFor("article", byId(c1.id));

  let mark = rec.mark();
  client.unsubscribe("culture");
  await rec.waitFor("subscribed", (s) => !s.categories.includes("culture"), { after: mark });
  assert.deepEqual(client.categories, ["economie"]);
  const c2 = article("culture");
  const e1 = article("economie");
  await redis.publish(c2);
  await redis.publish(e1);
  await rec.waitFor("article", byId(e1.id));
  assert.equal(rec.articles().filter(byId(c2.id)).length, 0, "unsubscribed category no longer arrives");

  mark = rec.mark();
  client.subscribe("*");
  await rec.waitFor("subscribed", (s) => s.categories.includes("*"), { after: mark });
  const any = article("technologie");
  await redis.publish(any);
  await rec.waitFor("article", byId(any.id));
});

test("a breaking article reaches everyone, as 'article' and as 'breaking'", async (t) => {
  const { redis, server } = await stack(t);
  const { rec } = open(t, server.ws, { categories: ["sports"] });
  const { rec: idle } = open(t, server.ws); // subscribed to nothing
  await rec.waitFor("subscribed");
  await idle.waitFor("status", (s) => s.state === "open");
  await idle.waitFor("welcome");
  // With nothing to subscribe to, the client still sends a first command at once (a ping), so
  // the server does not hold its breaking news for a resume that will not come.
  await idle.waitFor("pong");

  const b = article("sante", { title: "Alerte canicule", breaking: true });
  await redis.publish(b);
  for (const r of [rec, idle]) {
    const ev = await r.waitFor("breaking", byId(b.id));
    assert.equal(ev.breaking, true);
    assert.equal(ev.category, "sante");
    await r.waitFor("article", byId(b.id));
    assert.equal(r.all("breaking").length, 1);
    assert.equal(r.articles().length, 1);
  }
});

test("reconnects after a drain (1001) and re-subscribes on the same port", async (t) => {
  const { redis, server } = await stack(t);
  const { client, rec } = open(t, server.ws, { categories: ["sports", "politique"] });
  await rec.waitFor("subscribed");

  let mark = rec.mark();
  await server.stop("SIGTERM"); // drains: every client gets 1001
  const rc = await rec.waitFor("status", (s) => s.state === "reconnecting", { after: mark });
  assert.equal(rc.code, 1001);
  assert.equal(rc.reason, "shutdown");
  assert.ok(rc.delay >= 0 && rc.delay <= FAST.maxDelayMs, `delay ${rc.delay} within the cap`);

  mark = rec.mark();
  const again = await Newspushd.start({ redis, port: server.port });
  t.after(() => again.stop("SIGKILL"));
  const sub = await rec.waitFor("subscribed", () => true, { after: mark });
  assert.deepEqual(sub.categories, ["politique", "sports"], "everything the app asked for, in one subscribe");
  assert.equal(client.state, "open");

  const a = article("politique");
  await redis.publish(a);
  await rec.waitFor("article", byId(a.id));
  assert.equal(rec.all("error").length, 0);
});

test("reconnects after a crash to the next URL; articles from the outage follow the server's resume support", async (t) => {
  const redis = await Redis.start();
  t.after(() => redis.stop());
  let server = await Newspushd.start({ redis });
  t.after(() => server.stop("SIGKILL"));
  // A function URL: always where the current server is.
  const { client, rec } = open(t, () => server.ws, { categories: ["sports"] });
  const sub = await rec.waitFor("subscribed");
  const before = article("sports");
  const pub = await redis.publish(before);
  const live = await rec.waitFor("article", byId(before.id));
  const resumable = typeof sub.cursor === "string" && typeof live.cursor === "string" && pub.via === "fcall";

  let mark = rec.mark();
  await server.stop("SIGKILL");
  const rc = await rec.waitFor("status", (s) => s.state === "reconnecting", { after: mark });
  assert.equal(rc.code, 1006);

  const during = article("sports");
  const duringBreaking = article("culture", { breaking: true });
  const duringOther = article("politique");
  await redis.publish(during);
  await redis.publish(duringOther);
  await redis.publish(duringBreaking);

  mark = rec.mark();
  server = await Newspushd.start({ redis, port: await freePort() });
  await rec.waitFor("subscribed", () => true, { after: mark });
  // Publish the live article only once the replay is over: published during it, it may
  // (rightly) be part of the replay and count in `replayed`.
  if (resumable) await rec.waitFor("status", (s) => s.state === "resumed", { after: mark });
  const after = article("sports");
  await redis.publish(after);
  await rec.waitFor("article", byId(after.id), { after: mark });

  const ids = rec.articles(mark).map((e) => e.article.id);
  if (resumable) {
    // Resume: the outage's sports + breaking articles, once each, in order, then live.
    assert.deepEqual(ids, [during.id, duringBreaking.id, after.id]);
    const resumed = rec.all("status", mark).find((s) => s.state === "resumed");
    assert.ok(resumed, "status 'resumed' after the replay");
    assert.equal(resumed.replayed, 2);
    assert.equal(client.cursor, rec.articles().at(-1).cursor);
  } else {
    // Protocol 1 without history: no replay, the outage is lost; nothing but live.
    assert.deepEqual(ids, [after.id]);
    assert.ok(!rec.states(mark).includes("resumed"));
  }
});

test("duplicate deliveries are dropped by cursor", async (t) => {
  const { redis, server } = await stack(t);
  const { rec } = open(t, server.ws, { categories: ["economie"], WebSocket: DoublingWebSocket });
  await rec.waitFor("subscribed");
  const a = article("economie");
  const b = article("economie", { breaking: true });
  await redis.publish(a);
  await redis.publish(b);
  const evB = await rec.waitFor("article", byId(b.id));
  const last = article("economie");
  await redis.publish(last);
  await rec.waitFor("article", byId(last.id));
  const ids = rec.articles().map((e) => e.article.id);
  if (typeof evB.cursor === "string") {
    assert.deepEqual(ids, [a.id, b.id, last.id], "each article once despite every frame arriving twice");
    assert.equal(rec.all("breaking").length, 1);
  } else {
    // Events without a cursor (bare PUBLISH) cannot be told apart: both copies pass.
    assert.deepEqual(ids, [a.id, a.id, b.id, b.id, last.id, last.id]);
  }
});

test("a replay of events already seen is dropped (resume from an older cursor)", async (t) => {
  const { redis, server } = await stack(t);
  // Rewrites the `since` of the resuming subscribe to the first cursor this test saw, so the server
  // replays events the client already has.
  let rewriteSince = null;
  class RewindingWebSocket extends WebSocket {
    send(data, ...rest) {
      const cmd = JSON.parse(data);
      if (cmd.since && rewriteSince) cmd.since = rewriteSince;
      return super.send(JSON.stringify(cmd), ...rest);
    }
  }
  const { client, rec } = open(t, server.ws, { categories: ["sports"], WebSocket: RewindingWebSocket });
  const sub = await rec.waitFor("subscribed");
  const arts = [article("sports"), article("sports"), article("sports")];
  for (const a of arts) await redis.publish(a);
  const first = await rec.waitFor("article", byId(arts[0].id));
  await rec.waitFor("article", byId(arts[2].id));
  if (typeof sub.cursor !== "string" || typeof first.cursor !== "string") {
    t.skip("this newspushd sends no cursors yet: resume and its duplicates cannot happen");
    return;
  }
  rewriteSince = first.cursor;
  const mark = rec.mark();
  await server.stop("SIGKILL");
  const again = await Newspushd.start({ redis, port: server.port });
  t.after(() => again.stop("SIGKILL"));
  const resumed = await rec.waitFor("status", (s) => s.state === "resumed", { after: mark });
  assert.equal(resumed.replayed, 2, "the server replayed the two events after the rewound cursor");
  const live = article("sports");
  await redis.publish(live);
  await rec.waitFor("article", byId(live.id));
  assert.deepEqual(rec.articles().map((e) => e.article.id), [...arts.map((a) => a.id), live.id]);
  assert.equal(client.cursor, rec.articles().at(-1).cursor);
});

test("a silent connection is detected by the heartbeat and replaced", async (t) => {
  const { redis, server } = await stack(t);
  // The first socket goes deaf after its `subscribed`: TCP stays up, nothing comes through.
  let sockets = 0;
  class DeafWebSocket extends WebSocket {
    constructor(...args) { super(...args); this.n = sockets++; this.deaf = false; }
    get onmessage() { return super.onmessage; }
    set onmessage(fn) {
      super.onmessage = fn ? (ev) => {
        if (this.deaf) return;
        if (this.n === 0 && String(ev.data).includes('"subscribed"')) this.deaf = true;
        fn(ev);
      } : fn;
    }
  }
  const { rec } = open(t, server.ws, {
    categories: ["sports"], WebSocket: DeafWebSocket, heartbeatIntervalMs: 300, heartbeatTimeoutMs: 300,
  });
  await rec.waitFor("subscribed");
  const err = await rec.waitFor("error", (e) => e.code === "heartbeat_timeout");
  assert.ok(err);
  await rec.waitFor("status", (s) => s.state === "reconnecting");
  const mark = rec.mark();
  await rec.waitFor("subscribed", () => true, { after: mark });
  assert.equal(sockets, 2);
  const a = article("sports");
  await redis.publish(a);
  await rec.waitFor("article", byId(a.id));
  // The healthy connection answers pings: heartbeats keep it.
  const pong = await rec.waitFor("pong", () => true, { after: rec.mark() });
  assert.ok(pong);
  assert.equal(rec.all("error").filter((e) => e.code === "heartbeat_timeout").length, 1);
});

test("a policy close (1008) stops the client and reports it", async (t) => {
  const { server } = await stack(t);
  const { client, rec } = open(t, server.ws);
  await rec.waitFor("welcome");
  // Each invalid category costs one unit of the error budget (10); the 11th error closes with 1008.
  for (let i = 0; i < 12; i++) client.subscribe([`Bad Category ${i}`]);
  const err = await rec.waitFor("error", (e) => e.closeCode === 1008);
  assert.equal(err.code, "too_many_errors");
  const closed = await rec.waitFor("status", (s) => s.state === "closed");
  assert.equal(closed.code, 1008);
  assert.equal(client.state, "closed");
  assert.ok(rec.all("error").some((e) => e.server && e.code === "bad_category"), "server errors are reported");
  assert.ok(!rec.states().includes("reconnecting"), "no reconnect after a policy close");
});

test("views are best effort and never cost the app an error", async (t) => {
  const { redis, server } = await stack(t);
  const { client, rec } = open(t, server.ws, { categories: ["sports"] });
  await rec.waitFor("subscribed");
  assert.equal(client.view("some-article"), true);
  client.view("another");
  client.view("a-third");
  const a = article("sports");
  await redis.publish(a);
  await rec.waitFor("article", byId(a.id));
  assert.deepEqual(rec.all("error"), [], "an older server's unknown_op is swallowed");
  assert.equal(client.state, "open");
});
