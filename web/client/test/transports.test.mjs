// The `transports` option under Node.js. Node.js 18 and 20 have no EventSource, so the client's SSE
// path itself is tested in Chromium (tests/browser/sse_client.test.mjs); here: what Node.js does
// with the option, against a real newspushd and redis-server.
import assert from "node:assert/strict";
import { test } from "node:test";
import { WebSocket } from "ws";

import { connect } from "../newspush.js";
import { byId } from "./recorder.mjs";
import { open, stack } from "./stack.mjs";
import { article } from "./support.mjs";

const noEventSource = typeof globalThis.EventSource !== "function";

test("transports must name websocket and/or sse", () => {
  assert.throws(() => connect("ws://127.0.0.1:1/ws", { WebSocket, transports: [] }), /transports/);
  assert.throws(() => connect("ws://127.0.0.1:1/ws", { WebSocket, transports: ["long-polling"] }), /transports/);
});

test("transports ['sse'] without an EventSource says what to pass", { skip: !noEventSource && "this Node.js has an EventSource" }, () => {
  assert.throws(() => connect("ws://127.0.0.1:1/ws", { WebSocket, transports: ["sse"] }), /options\.EventSource/);
  // Neither transport available: both are named.
  const saved = globalThis.WebSocket;
  try {
    globalThis.WebSocket = undefined;
    assert.throws(() => connect("ws://127.0.0.1:1/ws"), /options\.WebSocket.*options\.EventSource/);
  } finally {
    globalThis.WebSocket = saved;
  }
});

test("the default transports come down to WebSocket where there is no EventSource", { skip: !noEventSource && "this Node.js has an EventSource" }, async (t) => {
  const { redis, server } = await stack(t);
  const { client, rec } = open(t, server.ws, { categories: ["sports"] });
  await rec.waitFor("subscribed");
  assert.equal(client.transport, "websocket");
  const [connecting, opened] = rec.all("status");
  assert.deepEqual([connecting.state, connecting.transport], ["connecting", "websocket"]);
  assert.deepEqual([opened.state, opened.transport], ["open", "websocket"]);
  const a = article("sports");
  await redis.publish(a);
  await rec.waitFor("article", byId(a.id));
  assert.equal(client.view(a.id), true, "views go over the WebSocket");
});

test("a WebSocket that never says welcome counts as failed after connectTimeoutMs", async (t) => {
  const { server } = await stack(t);
  // Swallows every message: the handshake succeeds, `welcome` never shows.
  let sockets = 0;
  class MuteWebSocket extends WebSocket {
    constructor(...args) { super(...args); sockets++; }
    get onmessage() { return super.onmessage; }
    set onmessage(fn) { super.onmessage = fn ? () => {} : fn; }
  }
  const { rec } = open(t, server.ws, { categories: ["sports"], WebSocket: MuteWebSocket, connectTimeoutMs: 300 });
  const err = await rec.waitFor("error", (e) => e.code === "connect_timeout");
  assert.match(err.message, /websocket/);
  const rc = await rec.waitFor("status", (s) => s.state === "reconnecting");
  assert.equal(rc.transport, "websocket");
  await rec.waitFor("status", (s) => s.state === "connecting", { after: rec.mark() });
  assert.ok(sockets >= 2, "tried again");
});
