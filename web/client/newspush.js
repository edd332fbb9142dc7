// newspush client: live articles from newspushd over WebSocket, for browsers and Node.js.
//
// No dependencies, no build step: an ES module to import as is. It reconnects by itself (capped
// exponential backoff with full jitter), resumes from the last cursor it saw, drops duplicates by
// cursor, re-subscribes what the app asked for (categories and trending lists), honours the
// server's close codes and heartbeats to spot dead connections. Wire protocol: protocol/PROTOCOL.md.
//
//   import { connect } from "/client/newspush.js";
//   const client = connect("/ws", { categories: ["sports"], trending: ["*"] });
//   client.on("article", (event) => console.log(event.article.title));
//   client.on("trending", (list) => console.log(list.category, list.items.map((i) => i.title)));
//   client.view(articleId); // when a reader opens an article: feeds the trending lists
//
// In Node.js 18 and 20 (no global WebSocket) pass one: connect(url, { WebSocket: (await import("ws")).WebSocket }).

const OPEN = 1;

const DEFAULTS = {
  categories: [],
  trending: [],
  since: null,
  initialDelayMs: 500,
  maxDelayMs: 30000,
  stableAfterMs: 10000,
  heartbeatIntervalMs: 25000,
  heartbeatTimeoutMs: 10000,
  dedupeSize: 1000,
  viewedSize: 1000,
  reconnect: true,
  random: Math.random,
};

// The server takes article ids of 1..128 bytes (UTF-8); anything else would cost an error.
const MAX_ID_BYTES = 128;

// Close codes after which reconnecting would only repeat the mistake: report and stop.
const FATAL_CLOSE = {
  1003: "unsupported_data",
  1007: "invalid_payload",
  1008: "policy_violation",
  1009: "message_too_big",
};

/**
 * Opens a client. `url` is a ws(s):// URL, a path such as "/ws" (resolved against the page's
 * location in a browser), an array of URLs tried in turn, or a function (attempt) => URL.
 */
export function connect(url, options = {}) {
  return new NewsPushClient(url, options);
}

export class NewsPushClient {
  constructor(url, options = {}) {
    this._url = url;
    this._opts = { ...DEFAULTS, ...options };
    this._WebSocket = options.WebSocket || globalThis.WebSocket;
    if (typeof this._WebSocket !== "function") {
      throw new TypeError("newspush: no WebSocket available; pass options.WebSocket (npm 'ws' in Node.js)");
    }
    this._listeners = new Map();
    this._wanted = new Set();
    for (const c of normalize(this._opts.categories || [])) this._wanted.add(c);
    this._trending = new Set(normalize(this._opts.trending || []));
    this._viewed = new Set();     // article ids already reported by view(): once each per client
    this._cursor = this._opts.since || null;
    this._seen = new Set();
    this._ws = null;
    this._state = "idle";
    this._attempt = 0;          // consecutive failed attempts, drives the backoff
    this._connections = 0;      // sockets opened so far
    this._retryTimer = null;
    this._heartbeatTimer = null;
    this._deadlineTimer = null;
    this._lastRx = 0;
    this._openedAt = 0;
    this._stopped = false;
    this._subscribedOnce = false; // has this connection sent its first subscribe?
    this._resuming = false;       // between a subscribe with `since` and `resumed`/`reset`
    this._viewsSupported = true;
    this._pendingViewErrors = 0;
    this._welcome = null;
    this._serverCategories = [];
    this._serverTrending = [];

    this._onOnline = () => {
      if (this._stopped) return;
      if (this._retryTimer !== null) {
        clearTimeout(this._retryTimer);
        this._retryTimer = null;
        this._open();
      } else if (this._ws && this._ws.readyState === OPEN) {
        this._sendPing(); // the network changed: check this socket still works
      }
    };
    if (typeof globalThis.addEventListener === "function") {
      globalThis.addEventListener("online", this._onOnline);
    }
    // Let the caller attach listeners before the first status event.
    queueMicrotask(() => { if (!this._stopped) this._open(); });
  }

  /** Current state: "connecting", "open", "reconnecting" or "closed". */
  get state() { return this._state; }
  /** The last cursor received (opaque string) or null. Store it to resume later with `since`. */
  get cursor() { return this._cursor; }
  /** The categories the app asked for. */
  get categories() { return [...this._wanted].sort(); }
  /** The trending lists the app asked for explicitly (slugs or "*"). */
  get trending() { return [...this._trending].sort(); }
  /** The server's `welcome` message of the current connection, or null. */
  get welcome() { return this._welcome; }

  on(name, fn) {
    if (!this._listeners.has(name)) this._listeners.set(name, new Set());
    this._listeners.get(name).add(fn);
    return () => this.off(name, fn);
  }

  off(name, fn) {
    const set = this._listeners.get(name);
    if (set) set.delete(fn);
    return this;
  }

  subscribe(categories) {
    const list = normalize(categories);
    if (list.length === 0) return this;
    for (const c of list) this._wanted.add(c);
    if (this._isOpen()) this._sendSubscribe({ categories: list });
    return this;
  }

  unsubscribe(categories) {
    const list = normalize(categories);
    if (list.length === 0) return this;
    for (const c of list) this._wanted.delete(c);
    if (this._isOpen() && this._subscribedOnce) this._send({ op: "unsubscribe", categories: list });
    return this;
  }

  /**
   * Asks for trending lists ("*": the overall list; a slug: that category's) on top of those of the
   * subscribed categories; they arrive as `trending` events. Kept across reconnects.
   */
  subscribeTrending(lists) {
    const list = normalize(lists);
    if (list.length === 0) return this;
    for (const c of list) this._trending.add(c);
    if (this._isOpen()) this._sendSubscribe({ trending: list });
    return this;
  }

  /** Stops asking for these trending lists (those of subscribed categories still come). */
  unsubscribeTrending(lists) {
    const list = normalize(lists);
    if (list.length === 0) return this;
    for (const c of list) this._trending.delete(c);
    if (this._isOpen() && this._subscribedOnce) this._send({ op: "unsubscribe", trending: list });
    return this;
  }

  /**
   * Reports that the reader opened an article (feeds trending). Fire and forget: the server never
   * answers. Sent at most once per id for the life of this client, never queued: returns true
   * only when it went out now.
   */
  view(id) {
    if (typeof id !== "string" || id === "" || utf8Length(id) > MAX_ID_BYTES) return false;
    if (this._viewed.has(id) || !this._viewsSupported || !this._isOpen()) return false;
    if (!this._send({ op: "view", article: id })) return false;
    this._viewed.add(id);
    if (this._viewed.size > this._opts.viewedSize) this._viewed.delete(this._viewed.values().next().value);
    // Only a server without views answers one (unknown_op); the first such answer settles it.
    this._pendingViewErrors++;
    return true;
  }

  close() {
    if (this._stopped) return;
    this._stopped = true;
    this._clearTimers();
    if (typeof globalThis.removeEventListener === "function") {
      globalThis.removeEventListener("online", this._onOnline);
    }
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      detach(ws);
      try { ws.close(1000); } catch { /* already closing */ }
    }
    this._setStatus({ state: "closed", code: 1000 });
  }

  // ---- connection lifecycle ----

  _open() {
    this._retryTimer = null;
    if (this._stopped) return;
    const attempt = this._attempt;
    let url;
    try {
      url = resolveUrl(pickUrl(this._url, this._connections));
    } catch (err) {
      this._fail("bad_url", String(err && err.message || err));
      return;
    }
    this._connections++;
    this._subscribedOnce = false;
    this._resuming = false;
    this._welcome = null;
    this._viewsSupported = true;
    this._pendingViewErrors = 0;
    this._setStatus({ state: "connecting", attempt, url });
    let ws;
    try {
      ws = new this._WebSocket(url);
    } catch (err) {
      this._emit("error", { code: "connect_failed", message: String(err && err.message || err) });
      this._scheduleReconnect({});
      return;
    }
    this._ws = ws;
    ws.onopen = () => this._handleOpen(ws);
    ws.onmessage = (event) => this._handleMessage(ws, event.data);
    ws.onerror = () => { /* a close event always follows */ };
    ws.onclose = (event) => this._handleClose(ws, event.code, event.reason);
  }

  _handleOpen(ws) {
    if (ws !== this._ws) return;
    this._openedAt = Date.now();
    this._lastRx = this._openedAt;
    this._setStatus({ state: "open" });
    if (this._wanted.size > 0 || this._trending.size > 0) this._sendSubscribe({});
    // The server holds a new connection's breaking news until its first command (it may be about
    // to resume): with nothing to subscribe to, say something at once.
    else this._send({ op: "ping" });
    this._armHeartbeat();
  }

  _handleClose(ws, code, reason) {
    if (ws !== this._ws) return;
    detach(ws);
    this._ws = null;
    this._clearTimers();
    if (this._stopped) return;
    const reasonCode = parseReason(reason);
    if (FATAL_CLOSE[code]) {
      this._stopped = true;
      this._emit("error", {
        code: reasonCode || FATAL_CLOSE[code], closeCode: code,
        message: `server closed the connection with ${code}` + (reason ? ` (${reason})` : ""),
      });
      this._setStatus({ state: "closed", code, reason: reasonCode || undefined });
      return;
    }
    if (!this._opts.reconnect) {
      this._stopped = true;
      this._setStatus({ state: "closed", code, reason: reasonCode || undefined });
      return;
    }
    // A connection that lived a while resets the backoff: this is a new incident.
    if (this._openedAt && Date.now() - this._openedAt >= this._opts.stableAfterMs) this._attempt = 0;
    this._openedAt = 0;
    this._scheduleReconnect({ code, reason: reasonCode || undefined });
  }

  _scheduleReconnect(extra) {
    const attempt = this._attempt++;
    const cap = Math.min(this._opts.maxDelayMs, this._opts.initialDelayMs * 2 ** Math.min(attempt, 30));
    const delay = Math.floor(this._opts.random() * cap); // full jitter
    this._setStatus({ state: "reconnecting", attempt: attempt + 1, delay, ...extra });
    this._retryTimer = setTimeout(() => this._open(), delay);
  }

  _fail(code, message) {
    this._stopped = true;
    this._clearTimers();
    this._emit("error", { code, message });
    this._setStatus({ state: "closed" });
  }

  // ---- heartbeat ----

  _armHeartbeat() {
    clearTimeout(this._heartbeatTimer);
    const interval = this._opts.heartbeatIntervalMs;
    if (!(interval > 0)) return;
    const idle = Date.now() - this._lastRx;
    this._heartbeatTimer = setTimeout(() => {
      this._heartbeatTimer = null;
      if (!this._isOpen()) return;
      if (Date.now() - this._lastRx >= interval) this._sendPing();
      this._armHeartbeat();
    }, Math.max(0, interval - idle));
  }

  _sendPing() {
    if (this._deadlineTimer !== null || !this._isOpen()) return;
    const sentAt = Date.now();
    this._send({ op: "ping" });
    const ws = this._ws;
    this._deadlineTimer = setTimeout(() => {
      this._deadlineTimer = null;
      if (ws !== this._ws || this._lastRx >= sentAt) return;
      // Nothing at all came back: the connection is dead even if TCP has not noticed yet.
      this._emit("error", { code: "heartbeat_timeout", message: "no answer to ping" });
      this._dropSocket(4000, "heartbeat timeout");
    }, this._opts.heartbeatTimeoutMs);
  }

  _dropSocket(code, reason) {
    const ws = this._ws;
    if (!ws) return;
    try { ws.close(code, reason); } catch { /* ignore */ }
    // Do not wait for a close handshake the dead peer will never answer.
    this._handleClose(ws, 1006, "");
  }

  // ---- messages ----

  _handleMessage(ws, data) {
    if (ws !== this._ws) return;
    this._lastRx = Date.now();
    if (this._deadlineTimer !== null) { clearTimeout(this._deadlineTimer); this._deadlineTimer = null; }
    const text = toText(data);
    if (text === null) return;
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      let msg;
      try { msg = JSON.parse(line); } catch {
        this._emit("error", { code: "bad_server_message", message: "unparsable line from server" });
        continue;
      }
      if (!msg || typeof msg !== "object") continue;
      this._dispatch(msg);
      if (ws !== this._ws) return; // a listener closed the client
    }
  }

  _dispatch(msg) {
    this._emit("message", msg);
    switch (msg.type) {
      case "welcome":
        this._welcome = msg;
        this._emit("welcome", msg);
        break;
      case "subscribed":
        this._serverCategories = Array.isArray(msg.categories) ? msg.categories : [];
        this._serverTrending = Array.isArray(msg.trending) ? msg.trending : [];
        // The first position we learn: resuming from here loses nothing we asked for.
        if (this._cursor === null && typeof msg.cursor === "string" && msg.cursor !== "") {
          this._cursor = msg.cursor;
        }
        this._emit("subscribed", msg);
        break;
      case "article": {
        if (!this._accept(msg)) break;
        const event = {
          category: msg.category, breaking: msg.breaking === true, article: msg.article || {},
          cursor: msg.cursor, update: msg.update === true, replayed: this._resuming,
        };
        this._emit("article", event);
        if (event.breaking) this._emit("breaking", event);
        break;
      }
      case "retract":
        if (!this._accept(msg)) break;
        this._emit("retract", {
          id: msg.id, category: msg.category, breaking: msg.breaking === true,
          cursor: msg.cursor, replayed: this._resuming,
        });
        break;
      case "trending":
        // The server's message as is: { type, category ("*" or a slug), items (best first), at? }.
        if (!Array.isArray(msg.items)) break;
        this._emit("trending", msg);
        break;
      case "resumed":
        this._resuming = false;
        if (typeof msg.cursor === "string" && msg.cursor !== "") this._cursor = msg.cursor;
        this._setStatus({ state: "resumed", replayed: Number(msg.replayed) || 0, cursor: this._cursor });
        break;
      case "reset":
        this._resuming = false;
        if (typeof msg.cursor === "string" && msg.cursor !== "") this._cursor = msg.cursor;
        this._setStatus({ state: "reset", reason: msg.reason, cursor: this._cursor });
        break;
      case "pong":
        this._emit("pong", msg);
        break;
      case "error":
        if (msg.code === "unknown_op" && this._pendingViewErrors > 0) {
          // This server does not count views: stop spending its error budget on them.
          this._viewsSupported = false;
          this._pendingViewErrors--;
          break;
        }
        this._emit("error", { code: msg.code, message: msg.message, server: true });
        break;
      default:
        break; // forward compatibility: ignore what we do not know
    }
  }

  // Dedupe by cursor and remember the position. Events without a cursor always pass.
  _accept(msg) {
    const cursor = msg.cursor;
    if (typeof cursor !== "string" || cursor === "") return true;
    if (this._seen.has(cursor)) return false;
    this._seen.add(cursor);
    if (this._seen.size > this._opts.dedupeSize) {
      this._seen.delete(this._seen.values().next().value);
    }
    this._cursor = cursor;
    return true;
  }

  // ---- sending ----

  // Adds `categories` and/or `trending` on this connection. Its first subscribe carries everything
  // the app asked for (and `since` when resuming). `categories` may be empty when `trending` is not.
  _sendSubscribe({ categories = [], trending = [] }) {
    if (!this._subscribedOnce) {
      categories = [...this._wanted];
      trending = [...this._trending];
    }
    const cmd = { op: "subscribe", categories };
    if (trending.length > 0) cmd.trending = trending;
    if (!this._subscribedOnce && this._cursor !== null) {
      cmd.since = this._cursor;
      this._resuming = true;
    }
    this._subscribedOnce = true;
    this._send(cmd);
  }

  _send(obj) {
    if (!this._isOpen()) return false;
    try {
      this._ws.send(JSON.stringify(obj));
      return true;
    } catch (err) {
      this._emit("error", { code: "send_failed", message: String(err && err.message || err) });
      return false;
    }
  }

  _isOpen() { return this._ws !== null && this._ws.readyState === OPEN && this._state !== "connecting"; }

  _clearTimers() {
    clearTimeout(this._retryTimer); this._retryTimer = null;
    clearTimeout(this._heartbeatTimer); this._heartbeatTimer = null;
    clearTimeout(this._deadlineTimer); this._deadlineTimer = null;
  }

  _setStatus(status) {
    if (status.state === "connecting" || status.state === "open" || status.state === "reconnecting" ||
        status.state === "closed") {
      this._state = status.state;
    }
    this._emit("status", status);
  }

  _emit(name, payload) {
    const set = this._listeners.get(name);
    if (!set || set.size === 0) {
      if (name === "error" && typeof console !== "undefined") console.warn("newspush:", payload.code, payload.message);
      return;
    }
    for (const fn of [...set]) {
      try { fn(payload); } catch (err) {
        if (typeof console !== "undefined") console.error("newspush: listener for", name, "threw", err);
      }
    }
  }
}

function utf8Length(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { n += 4; i++; }
    else n += 3; // the rest of the BMP, and a lone surrogate (sent as U+FFFD)
  }
  return n;
}

function normalize(categories) {
  const list = Array.isArray(categories) ? categories : [categories];
  return [...new Set(list.filter((c) => typeof c === "string" && c !== ""))];
}

function pickUrl(url, n) {
  if (typeof url === "function") return url(n);
  if (Array.isArray(url)) {
    if (url.length === 0) throw new Error("empty URL list");
    return url[n % url.length];
  }
  return url;
}

// "/ws" or "ws" in a page becomes ws(s)://host/ws; http(s):// becomes ws(s)://.
function resolveUrl(url) {
  if (typeof url !== "string" || url === "") throw new Error("no URL");
  if (/^wss?:\/\//i.test(url)) return url;
  if (/^https?:\/\//i.test(url)) return url.replace(/^http/i, "ws");
  const loc = globalThis.location;
  if (loc && loc.href) {
    const u = new URL(url, loc.href);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    return u.href;
  }
  throw new Error(`relative URL ${url} needs a page location`);
}

function parseReason(reason) {
  if (!reason) return "";
  try {
    const obj = JSON.parse(String(reason));
    if (obj && typeof obj.code === "string") return obj.code;
  } catch { /* plain text reason */ }
  return "";
}

let decoder = null;
function toText(data) {
  if (typeof data === "string") return data;
  if (!decoder) decoder = new TextDecoder("utf-8");
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return decoder.decode(data);
  return null; // a Blob would mean a binary frame: the protocol has none
}

// No-ops rather than null: Node's `ws` throws on an 'error' event nobody listens to.
function noop() {}
function detach(ws) {
  ws.onopen = ws.onmessage = ws.onerror = ws.onclose = noop;
}
