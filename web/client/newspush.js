// newspush client: live articles from newspushd over WebSocket, for browsers and Node.js, with a
// fallback to Server-Sent Events (GET /sse) where WebSockets cannot get through (a proxy that
// refuses upgrades).
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
// Subscriber-only categories: give `getToken`, an async function that returns the reader's
// connection token (a JWT from the site's backend) or null; the client asks for it before each
// connection and again when the server says the token is expiring.
//
// In Node.js 18 and 20 (no global WebSocket) pass one: connect(url, { WebSocket: (await import("ws")).WebSocket }).

const OPEN = 1;

const TRANSPORTS = ["websocket", "sse"];

const DEFAULTS = {
  categories: [],
  trending: [],
  since: null,
  transports: TRANSPORTS,
  sseUrl: null,
  connectTimeoutMs: 10000,
  viewFallback: null,
  initialDelayMs: 500,
  maxDelayMs: 30000,
  stableAfterMs: 10000,
  heartbeatIntervalMs: 25000,
  heartbeatTimeoutMs: 10000,
  dedupeSize: 1000,
  viewedSize: 1000,
  reconnect: true,
  random: Math.random,
  getToken: null,
  tokenTimeoutMs: 10000,
};

// The server refuses tokens over 8 KiB unread.
const MAX_TOKEN_BYTES = 8192;
// Refreshes (token_expiring) start at least this far apart, whatever the tokens' lifetimes.
const MIN_REFRESH_SPACING_MS = 1000;
// Retries of a failed getToken wait at least this long for their first step (the server counts
// a refused token against the connection's error budget).
const MIN_TOKEN_RETRY_MS = 1000;

// The server takes article ids of 1..128 bytes (UTF-8); anything else would cost an error.
const MAX_ID_BYTES = 128;

// What the server takes in /sse's query (and in a subscribe): a slug or "*". A name it would refuse
// is left out of the stream's URL rather than having every connection answered 400.
const SLUG = /^(?:[a-z0-9-]{1,32}|\*)$/;

// The events of GET /sse: `event: <type>`, the data being the WebSocket message of that type;
// the server's errors come as "notice" (EventSource fires its own `error` events on a lost stream).
const SSE_EVENTS = ["subscribed", "article", "retract", "trending", "resumed", "reset", "close",
  "authenticated", "token_expiring", "notice"];

// Close codes after which reconnecting would only repeat the mistake: report and stop.
const FATAL_CLOSE = {
  1003: "unsupported_data",
  1007: "invalid_payload",
  1008: "policy_violation",
  1009: "message_too_big",
};

/**
 * Opens a client. `url` is a ws(s):// URL, a path such as "/ws" (resolved against the page's
 * location in a browser), an array of URLs tried in turn, or a function (attempt) => URL. The SSE
 * fallback's URL is derived from it (ws://host/ws -> http://host/sse) unless `sseUrl` is given.
 */
export function connect(url, options = {}) {
  return new NewsPushClient(url, options);
}

export class NewsPushClient {
  constructor(url, options = {}) {
    this._url = url;
    this._opts = { ...DEFAULTS, ...options };
    this._WebSocket = options.WebSocket || globalThis.WebSocket;
    this._EventSource = options.EventSource || globalThis.EventSource;
    this._transports = pickTransports(this._opts.transports, {
      websocket: typeof this._WebSocket === "function",
      sse: typeof this._EventSource === "function",
    });
    this._listeners = new Map();
    this._wanted = new Set();
    for (const c of normalize(this._opts.categories || [])) this._wanted.add(c);
    this._trending = new Set(normalize(this._opts.trending || []));
    this._viewed = new Set();     // article ids already reported by view(): once each per client
    this._cursor = this._opts.since || null;
    this._seen = new Set();
    this._ws = null;
    this._es = null;              // the EventSource of the current SSE connection
    this._transport = null;       // "websocket" or "sse": the current (or last) connection's
    this._transportIndex = 0;     // in _transports: the one the next connection uses
    this._roundFailures = 0;      // transports that failed to open in a row (one round: each once)
    this._established = false;    // has the current connection heard from the server?
    this._quiet = false;          // an SSE stream re-opened for a new set: no connecting/open status
    this._restreamQueued = false;
    this._sseBase = null;         // the /sse URL of the current connection, without the query
    this._sseRefused = new Set(); // names left out of /sse's URL (reported once each)
    this._connectTimer = null;
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
    // Connection tokens (options.getToken): the one connections use, what the server said of it,
    // and the names it refused or stopped (to subscribe again once a token allows them).
    this._token = null;
    this._tokenExp = null;        // `exp` of the connection's accepted token (seconds), or null
    this._tokenSeq = 0;           // identifies the latest getToken call: older answers are dropped
    this._openSeq = 0;            // identifies the latest _open(): a slower getToken is dropped
    this._refreshing = false;     // a getToken for token_expiring (or a retry) is under way
    this._refreshStartedAt = 0;
    this._tokenRetryTimer = null;
    this._tokenAttempt = 0;       // consecutive failed getToken calls, drives their backoff
    this._lockedOut = new Set();  // categories answered `forbidden` or ended by `token_expired`
    this._lockedOutTrending = new Set();
    this._sentToken = null;       // the token given on this connection (URL or auth), if any
    this._refusedToken = null;    // the last token the server answered invalid_token to
    this._authOnOpen = false;     // a token came while the WebSocket was opening: send it on open
    this._expiringExp = null;     // the `exp` token_expiring warned of, until a later one is accepted

    this._onOnline = () => {
      if (this._stopped) return;
      if (this._retryTimer !== null) {
        clearTimeout(this._retryTimer);
        this._retryTimer = null;
        this._open();
      } else if (this._ws && this._ws.readyState === OPEN) {
        this._sendPing(); // the network changed: check this socket still works
      } else if (this._es) {
        this._restream(); // an SSE stream cannot be pinged: open a fresh one (resuming, quietly)
      }
    };
    if (typeof globalThis.addEventListener === "function") {
      globalThis.addEventListener("online", this._onOnline);
    }
    // Let the caller attach listeners before the first status event.
    queueMicrotask(() => { if (!this._stopped) this._open(); });
  }

  /**
   * Current state: "connecting", "open", "reconnecting" or "closed"; "idle" when the client is on
   * SSE and has nothing to stream (no categories, no trending lists: subscribe() starts it).
   */
  get state() { return this._state; }
  /** The transport of the current (or last) connection: "websocket", "sse", or null before any. */
  get transport() { return this._transport; }
  /** The last cursor received (opaque string) or null. Store it to resume later with `since`. */
  get cursor() { return this._cursor; }
  /** The categories the app asked for. */
  get categories() { return [...this._wanted].sort(); }
  /** The trending lists the app asked for explicitly (slugs or "*"). */
  get trending() { return [...this._trending].sort(); }
  /** The server's `welcome` message of the current connection, or null (always null on SSE). */
  get welcome() { return this._welcome; }
  /** The `exp` (Unix seconds) of the token the server accepted on this connection, or null. */
  get tokenExp() { return this._tokenExp; }

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
    else this._sseSetChanged();
    return this;
  }

  unsubscribe(categories) {
    const list = normalize(categories);
    if (list.length === 0) return this;
    for (const c of list) { this._wanted.delete(c); this._lockedOut.delete(c); }
    if (this._isOpen() && this._subscribedOnce) this._send({ op: "unsubscribe", categories: list });
    else this._sseSetChanged();
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
    else this._sseSetChanged();
    return this;
  }

  /** Stops asking for these trending lists (those of subscribed categories still come). */
  unsubscribeTrending(lists) {
    const list = normalize(lists);
    if (list.length === 0) return this;
    for (const c of list) { this._trending.delete(c); this._lockedOutTrending.delete(c); }
    if (this._isOpen() && this._subscribedOnce) this._send({ op: "unsubscribe", trending: list });
    else this._sseSetChanged();
    return this;
  }

  /**
   * Reports that the reader opened an article (feeds trending). Fire and forget: the server never
   * answers. Sent at most once per id for the life of this client, never queued: returns true
   * only when it went out now. An SSE connection carries nothing to the server: there the view
   * goes to `options.viewFallback(id)` if given (e.g. to the site's backend, which may post views
   * to POST /api/v1/views with its key), else it is dropped (false).
   */
  view(id) {
    if (typeof id !== "string" || id === "" || utf8Length(id) > MAX_ID_BYTES) return false;
    if (this._viewed.has(id)) return false;
    if (this._transport === "sse") {
      const fallback = this._opts.viewFallback;
      if (typeof fallback !== "function") return false;
      try {
        if (fallback(id) === false) return false;
      } catch (err) {
        if (typeof console !== "undefined") console.error("newspush: viewFallback threw", err);
        return false;
      }
      this._rememberView(id);
      return true;
    }
    if (!this._viewsSupported || !this._isOpen()) return false;
    if (!this._send({ op: "view", article: id })) return false;
    this._rememberView(id);
    // Only a server without views answers one (unknown_op); the first such answer settles it.
    this._pendingViewErrors++;
    return true;
  }

  _rememberView(id) {
    this._viewed.add(id);
    if (this._viewed.size > this._opts.viewedSize) this._viewed.delete(this._viewed.values().next().value);
  }

  close() {
    if (this._stopped) return;
    this._stopped = true;
    this._clearTimers();
    clearTimeout(this._tokenRetryTimer); this._tokenRetryTimer = null;
    if (typeof globalThis.removeEventListener === "function") {
      globalThis.removeEventListener("online", this._onOnline);
    }
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      detach(ws);
      try { ws.close(1000); } catch { /* already closing */ }
    }
    this._closeEventSource();
    this._setStatus({ state: "closed", code: 1000 });
  }

  // ---- connection lifecycle ----

  // A connection attempt: with getToken, the token first (a failed getToken does not hold up the
  // public news: the connection opens anonymous and the token is asked for again, with backoff).
  _open() {
    this._retryTimer = null;
    if (this._stopped) return;
    if (typeof this._opts.getToken !== "function") {
      this._openTransport();
      return;
    }
    // This connection's own getToken supersedes a refresh or retry of the previous one.
    clearTimeout(this._tokenRetryTimer); this._tokenRetryTimer = null;
    this._refreshing = false;
    this._expiringExp = null;
    const seq = ++this._openSeq;
    this._fetchToken({ reason: "connect" }).then((result) => {
      if (this._stopped || seq !== this._openSeq) return;
      if (!result.ok) {
        this._token = null;
        this._tokenFailed(result.message);
      } else if (result.token !== null && result.token === this._refusedToken) {
        this._token = null;
        this._tokenFailed("getToken gave back a token the server refused");
      } else {
        this._token = result.token;
        if (result.token === null) this._tokenAttempt = 0;
      }
      this._openTransport();
    });
  }

  _openTransport() {
    const attempt = this._attempt;
    const transport = this._transports[this._transportIndex];
    let url;
    try {
      const picked = pickUrl(this._url, this._connections);
      url = transport === "sse" ? this._sseUrlFor(picked) : resolveUrl(picked);
    } catch (err) {
      this._fail("bad_url", String(err && err.message || err));
      return;
    }
    this._transport = transport;
    this._established = false;
    this._quiet = false;
    this._subscribedOnce = false;
    this._resuming = false;
    this._welcome = null;
    this._viewsSupported = true;
    this._pendingViewErrors = 0;
    if (transport === "sse") {
      this._sseBase = url;
      this._openEventSource(attempt);
      return;
    }
    this._resetTokenState();
    // The token goes on the URL: the server checks it as the connection opens, before any
    // command, so the first subscribe (which may resume) comes after it, and no subscriber-only
    // breaking news slips by in between.
    if (this._token !== null) {
      url = withQuery(url, `token=${encodeURIComponent(this._token)}`);
      this._sentToken = this._token;
    }
    this._connections++;
    this._setStatus({ state: "connecting", attempt, url: redactToken(url), transport });
    let ws;
    try {
      ws = new this._WebSocket(url);
    } catch (err) {
      this._emit("error", { code: "connect_failed", message: String(err && err.message || err) });
      this._connectionEnded({ transport }, false);
      return;
    }
    this._ws = ws;
    ws.onopen = () => this._handleOpen(ws);
    ws.onmessage = (event) => this._handleMessage(ws, event.data);
    ws.onerror = () => { /* a close event always follows */ };
    ws.onclose = (event) => this._handleClose(ws, event.code, event.reason);
    this._armConnectTimeout();
  }

  _handleOpen(ws) {
    if (ws !== this._ws) return;
    this._openedAt = Date.now();
    this._lastRx = this._openedAt;
    this._setStatus({ state: "open", transport: "websocket" });
    if (this._wanted.size > 0 || this._trending.size > 0) this._sendSubscribe({});
    // The server holds a new connection's breaking news until its first command (it may be about
    // to resume): with nothing to subscribe to, say something at once.
    else this._send({ op: "ping" });
    // A token that came while this connection was opening (a retry of getToken).
    if (this._authOnOpen && this._token !== null) this._sendAuth();
    this._authOnOpen = false;
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
      this._setStatus({ state: "closed", code, reason: reasonCode || undefined, transport: "websocket" });
      return;
    }
    this._connectionEnded({ code, reason: reasonCode || undefined, transport: "websocket" }, this._established);
  }

  // The connection is gone (or never opened). A transport that failed before the server said
  // anything (WebSocket: no `welcome`; SSE: no first event) hands over to the next one in
  // `transports`, at once while this round has one left untried; after a whole round of failures,
  // or when an established connection is lost, the backoff decides when to try again (starting
  // with the transport that worked last).
  _connectionEnded(extra, established) {
    this._clearTimers();
    if (this._stopped) return;
    if (!established) {
      this._transportIndex = (this._transportIndex + 1) % this._transports.length;
      this._roundFailures++;
      if (this._roundFailures < this._transports.length) {
        this._retryTimer = setTimeout(() => this._open(), 0);
        return;
      }
    }
    this._roundFailures = 0;
    if (!this._opts.reconnect) {
      this._stopped = true;
      this._setStatus({ state: "closed", ...extra });
      return;
    }
    // A connection that lived a while resets the backoff: this is a new incident.
    if (this._openedAt && Date.now() - this._openedAt >= this._opts.stableAfterMs) this._attempt = 0;
    this._openedAt = 0;
    this._scheduleReconnect(extra);
  }

  // The server spoke on this connection (`welcome`, or SSE's first event): the transport works.
  _markEstablished() {
    if (this._established) return;
    this._established = true;
    this._roundFailures = 0;
    clearTimeout(this._connectTimer); this._connectTimer = null;
  }

  // A connection the server has not spoken on within connectTimeoutMs (a proxy that holds the
  // upgrade, or buffers the stream) counts as a failed attempt.
  _armConnectTimeout() {
    clearTimeout(this._connectTimer);
    this._connectTimer = null;
    const ms = this._opts.connectTimeoutMs;
    if (!(ms > 0)) return;
    this._connectTimer = setTimeout(() => {
      this._connectTimer = null;
      if (this._established || this._stopped) return;
      const transport = this._transport;
      this._emit("error", { code: "connect_timeout", message: `${transport}: the server said nothing within ${ms} ms` });
      if (transport === "sse") {
        if (!this._es) return;
        this._closeEventSource();
        this._connectionEnded({ transport }, false);
      } else {
        const ws = this._ws;
        if (!ws) return;
        detach(ws);
        this._ws = null;
        try { ws.close(); } catch { /* still connecting */ }
        this._connectionEnded({ code: 1006, transport }, false);
      }
    }, ms);
  }

  _scheduleReconnect(extra) {
    const attempt = this._attempt++;
    const cap = Math.min(this._opts.maxDelayMs, this._opts.initialDelayMs * 2 ** Math.min(attempt, 30));
    const delay = Math.floor(this._opts.random() * cap); // full jitter
    this._setStatus({ state: "reconnecting", attempt: attempt + 1, delay, ...extra });
    this._retryTimer = setTimeout(() => this._open(), delay);
  }

  // ---- Server-Sent Events (GET /sse): receive only; the set is in the URL ----

  // The /sse URL (without query) for a connection to `picked`, one of the `url` option's URLs.
  _sseUrlFor(picked) {
    const explicit = this._opts.sseUrl;
    if (explicit !== null && explicit !== undefined) return resolveHttpUrl(pickUrl(explicit, this._connections));
    return sseUrlFrom(resolveUrl(picked));
  }

  // Names the server would refuse (it answers the whole stream 400) are left out, reported once.
  _sseNames(set, code) {
    const ok = [];
    for (const name of [...set].sort()) {
      if (SLUG.test(name)) { ok.push(name); continue; }
      if (this._sseRefused.has(name)) continue;
      this._sseRefused.add(name);
      this._emit("error", { code, message: `"${name}" must match [a-z0-9-]{1,32} or be "*": left out of the SSE stream` });
    }
    return ok;
  }

  _openEventSource(attempt) {
    const categories = this._sseNames(this._wanted, "bad_category");
    const trending = this._sseNames(this._trending, "bad_trending");
    if (categories.length === 0 && trending.length === 0) {
      // A stream needs a category or a trending list: wait for subscribe() / subscribeTrending().
      this._roundFailures = 0;
      this._quiet = false;
      this._setStatus({ state: "idle", transport: "sse" });
      return;
    }
    const query = [];
    if (categories.length > 0) query.push(`categories=${categories.join(",")}`);
    if (trending.length > 0) query.push(`trending=${trending.join(",")}`);
    if (this._cursor !== null) query.push(`since=${encodeQueryValue(this._cursor)}`);
    // A stream cannot take a token once open: each one carries the current token in its URL.
    this._resetTokenState();
    if (this._token !== null) {
      query.push(`token=${encodeURIComponent(this._token)}`);
      this._sentToken = this._token;
    }
    const url = withQuery(this._sseBase, query.join("&"));
    this._established = false;
    this._resuming = this._cursor !== null;
    this._connections++;
    if (!this._quiet) this._setStatus({ state: "connecting", attempt, url: redactToken(url), transport: "sse" });
    let es;
    try {
      es = new this._EventSource(url);
    } catch (err) {
      this._emit("error", { code: "connect_failed", message: String(err && err.message || err) });
      this._connectionEnded({ transport: "sse" }, false);
      return;
    }
    this._es = es;
    es.onopen = () => this._handleSseOpen(es);
    // The server's errors (a token refused, a category forbidden) come as `event: notice`; only a
    // data-less `error` is EventSource's own: a lost stream.
    es.onerror = (event) => { if (!isMessageEvent(event)) this._handleSseError(es); };
    es.onmessage = (event) => this._handleSseEvent(es, event); // unnamed events: none today
    for (const name of SSE_EVENTS) es.addEventListener(name, (event) => this._handleSseEvent(es, event));
    this._armConnectTimeout();
  }

  _handleSseOpen(es) {
    if (es !== this._es) return;
    if (this._quiet) return;
    this._openedAt = Date.now();
    this._setStatus({ state: "open", transport: "sse" });
  }

  _handleSseEvent(es, event) {
    if (es !== this._es) return;
    this._lastRx = Date.now();
    this._markEstablished();
    if (typeof event.data !== "string") return;
    this._handleLines(event.data, () => es === this._es);
  }

  // EventSource would retry by itself after a lost stream (every 3 s, the server's `retry`, with
  // Last-Event-ID) but gives up for good on any non-200 answer: the client takes over in both
  // cases, with its own backoff (jittered, capped) and `since` = its cursor.
  _handleSseError(es) {
    if (es !== this._es) return;
    this._closeEventSource();
    this._connectionEnded({ transport: "sse" }, this._established);
  }

  // `event: close` (shutdown, slow_consumer, history_busy, history_unavailable): the server ends
  // the stream; come back with the backoff, as after WebSocket's 1001 and 1013.
  _handleSseClose(msg) {
    this._closeEventSource();
    const reason = typeof msg.code === "string" && msg.code !== "" ? msg.code : undefined;
    this._connectionEnded({ reason, transport: "sse" }, this._established);
  }

  _closeEventSource() {
    const es = this._es;
    this._es = null;
    if (!es) return;
    es.onopen = es.onerror = es.onmessage = noop;
    try { es.close(); } catch { /* ignore */ }
  }

  // The app changed its set while on SSE: a new stream with the new set, resuming from the cursor
  // (nothing lost in between). One per burst of changes. A client waiting to reconnect uses the
  // new set when it does.
  _sseSetChanged() {
    if (this._stopped || this._transport !== "sse") return;
    if (this._state === "idle") {
      if (this._wanted.size > 0 || this._trending.size > 0) queueMicrotask(() => { if (this._state === "idle") this._open(); });
      return;
    }
    if (!this._es || this._restreamQueued) return;
    this._restreamQueued = true;
    queueMicrotask(() => {
      this._restreamQueued = false;
      this._restream();
    });
  }

  _restream() {
    if (this._stopped || !this._es) return;
    this._closeEventSource();
    clearTimeout(this._connectTimer); this._connectTimer = null;
    // Quiet unless the stream had not opened yet: the app sees `subscribed`, maybe a replay and
    // `resumed`, not a reconnection.
    this._quiet = this._state === "open";
    this._openEventSource(this._attempt);
  }

  _fail(code, message) {
    this._stopped = true;
    this._clearTimers();
    this._closeEventSource();
    this._emit("error", { code, message });
    this._setStatus({ state: "closed" });
  }

  // ---- connection tokens (options.getToken) ----

  // Calls getToken(info) once, bounded by tokenTimeoutMs. Resolves (never rejects) to
  // { seq, ok: true, token: string | null } or { seq, ok: false, message }; `seq` tells the
  // latest call apart from older ones still answering.
  _fetchToken(info) {
    const seq = ++this._tokenSeq;
    return new Promise((resolve) => {
      let timer = null;
      const done = (result) => {
        if (timer === undefined) return;
        clearTimeout(timer);
        timer = undefined;
        resolve({ seq, ...result });
      };
      const ms = this._opts.tokenTimeoutMs;
      if (ms > 0) timer = setTimeout(() => done({ ok: false, message: `getToken did not answer within ${ms} ms` }), ms);
      let answer;
      try {
        answer = Promise.resolve(this._opts.getToken(info));
      } catch (err) {
        done({ ok: false, message: `getToken threw: ${errorText(err)}` });
        return;
      }
      answer.then((token) => {
        if (token === null || token === undefined) done({ ok: true, token: null });
        else if (typeof token !== "string" || token === "" || utf8Length(token) > MAX_TOKEN_BYTES) {
          done({ ok: false, message: "getToken must give a token (a string of 1 to 8192 bytes) or null" });
        } else done({ ok: true, token });
      }, (err) => done({ ok: false, message: `getToken failed: ${errorText(err)}` }));
    });
  }

  // getToken failed, timed out or gave a useless token: say so, and ask again later.
  _tokenFailed(message) {
    this._emit("error", { code: "token_failed", message });
    this._scheduleTokenRetry();
  }

  // Capped exponential backoff with half jitter (never at once: a refused token costs the
  // connection an error of its budget, and a token endpoint that fails should be given time).
  _scheduleTokenRetry() {
    if (this._stopped) return;
    const attempt = this._tokenAttempt++;
    const first = Math.max(this._opts.initialDelayMs, MIN_TOKEN_RETRY_MS);
    const cap = Math.min(this._opts.maxDelayMs, first * 2 ** Math.min(attempt, 30));
    const delay = Math.floor(cap / 2 + this._opts.random() * (cap / 2));
    clearTimeout(this._tokenRetryTimer);
    this._tokenRetryTimer = setTimeout(() => {
      this._tokenRetryTimer = null;
      this._refreshToken({ reason: "retry" });
    }, delay);
  }

  // A fresh token for the live connection (token_expiring, or a retry): WebSocket sends it in an
  // `auth` command; an SSE stream is re-opened with it, resuming from the cursor.
  _refreshToken(info) {
    if (this._stopped || typeof this._opts.getToken !== "function" || this._refreshing) return;
    clearTimeout(this._tokenRetryTimer); this._tokenRetryTimer = null;
    // Tokens that live less than the server's lead would be refreshed back to back: space them.
    const wait = this._refreshStartedAt + MIN_REFRESH_SPACING_MS - Date.now();
    if (wait > 0) {
      this._tokenRetryTimer = setTimeout(() => {
        this._tokenRetryTimer = null;
        this._refreshToken(info);
      }, wait);
      return;
    }
    this._refreshing = true;
    this._refreshStartedAt = Date.now();
    this._fetchToken(info).then((result) => {
      if (result.seq !== this._tokenSeq) return; // a new connection asked for its own
      this._refreshing = false;
      if (this._stopped) return;
      if (!result.ok) {
        this._tokenFailed(result.message);
        return;
      }
      if (result.token === null) {
        // The reader has no right any more: the current token lapses (token_expired).
        this._token = null;
        this._tokenAttempt = 0;
        return;
      }
      if (result.token === this._refusedToken || (result.token === this._sentToken && this._tokenExp !== null)) {
        this._tokenFailed("getToken gave back the token in use, or one the server refused");
        return;
      }
      this._token = result.token;
      if (this._transport === "sse") {
        if (this._es) this._restream();
      } else if (this._isOpen()) {
        this._sendAuth();
      } else if (this._ws) {
        this._authOnOpen = true;
      }
    });
  }

  _sendAuth() {
    if (this._send({ op: "auth", token: this._token })) this._sentToken = this._token;
  }

  // A new connection or stream: nothing accepted or refused on it yet.
  _resetTokenState() {
    this._tokenExp = null;
    this._sentToken = null;
    this._authOnOpen = false;
    this._lockedOut.clear();
    this._lockedOutTrending.clear();
  }

  // `authenticated` on a WebSocket: what the server refused or stopped for want of a token, and
  // the app still asks for, is asked for again (an SSE stream re-opens with everything anyway).
  _resubscribeLockedOut() {
    if (this._transport !== "websocket" || !this._isOpen() || !this._subscribedOnce) return;
    const categories = [...this._lockedOut].filter((c) => this._wanted.has(c));
    const trending = [...this._lockedOutTrending].filter((c) => this._trending.has(c));
    this._lockedOut.clear();
    this._lockedOutTrending.clear();
    if (categories.length > 0 || trending.length > 0) this._sendSubscribe({ categories, trending });
  }

  _handleTokenMessage(msg) {
    switch (msg.type) {
      case "authenticated": {
        this._tokenExp = Number.isFinite(msg.exp) ? msg.exp : null;
        this._refusedToken = null;
        this._emit("authenticated", { exp: this._tokenExp });
        const expiring = this._expiringExp;
        if (expiring !== null && this._tokenExp !== null && this._tokenExp <= expiring) {
          // The "fresh" token expires no later than the one it replaces: the server will warn
          // again at once; ask getToken again later rather than in a loop.
          this._tokenFailed("getToken gave a token that expires no later than the one it replaces");
        } else {
          this._expiringExp = null;
          this._tokenAttempt = 0;
        }
        this._resubscribeLockedOut();
        break;
      }
      case "token_expiring": {
        const exp = Number.isFinite(msg.exp) ? msg.exp : null;
        this._emit("token_expiring", { exp });
        if (exp !== null && (this._expiringExp === null || exp > this._expiringExp)) this._expiringExp = exp;
        if (this._tokenRetryTimer === null && !this._refreshing) this._refreshToken({ reason: "refresh", exp });
        break;
      }
      case "forbidden": {
        const trending = msg.trending === true;
        if (typeof msg.category === "string") (trending ? this._lockedOutTrending : this._lockedOut).add(msg.category);
        this._emit("forbidden", { category: msg.category, trending, message: msg.message });
        break;
      }
      case "invalid_token":
        // The connection stays as it was (anonymous, or its previous token until exp).
        if (this._sentToken !== null) this._refusedToken = this._sentToken;
        if (this._token === this._refusedToken) this._token = null;
        this._emit("invalid_token", { reason: msg.reason, message: msg.message });
        if (typeof this._opts.getToken === "function" && this._tokenRetryTimer === null && !this._refreshing) {
          this._scheduleTokenRetry();
        }
        break;
      case "token_expired": {
        const categories = Array.isArray(msg.categories) ? msg.categories : [];
        const trending = Array.isArray(msg.trending) ? msg.trending : [];
        for (const c of categories) this._lockedOut.add(c);
        for (const c of trending) this._lockedOutTrending.add(c);
        this._tokenExp = null;
        // Spent: a stream re-opened now must not carry it (a fresh one may still come).
        if (!this._refreshing) this._token = null;
        this._emit("token_expired", { categories, trending, message: msg.message });
        break;
      }
      default:
        break;
    }
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
    this._handleLines(text, () => ws === this._ws);
  }

  // One JSON message per line (a WebSocket frame may hold several; an SSE event holds one).
  _handleLines(text, current) {
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      let msg;
      try { msg = JSON.parse(line); } catch {
        this._emit("error", { code: "bad_server_message", message: "unparsable line from server" });
        continue;
      }
      if (!msg || typeof msg !== "object") continue;
      this._dispatch(msg);
      if (!current()) return; // a listener closed the client, or the stream ended
    }
  }

  _dispatch(msg) {
    this._emit("message", msg);
    switch (msg.type) {
      case "welcome":
        this._welcome = msg;
        this._markEstablished();
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
      case "authenticated":
      case "token_expiring":
        this._handleTokenMessage(msg);
        break;
      case "error":
        if (msg.code === "unknown_op" && this._pendingViewErrors > 0) {
          // This server does not count views: stop spending its error budget on them.
          this._viewsSupported = false;
          this._pendingViewErrors--;
          break;
        }
        if (msg.code === "forbidden" || msg.code === "invalid_token" || msg.code === "token_expired") {
          this._handleTokenMessage({ ...msg, type: msg.code });
        }
        this._emit("error", { code: msg.code, message: msg.message, server: true });
        break;
      case "close":
        if (this._transport === "sse" && this._es) this._handleSseClose(msg);
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
    clearTimeout(this._connectTimer); this._connectTimer = null;
    clearTimeout(this._heartbeatTimer); this._heartbeatTimer = null;
    clearTimeout(this._deadlineTimer); this._deadlineTimer = null;
  }

  _setStatus(status) {
    if (status.state === "connecting" || status.state === "open" || status.state === "reconnecting" ||
        status.state === "closed" || status.state === "idle") {
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

// The transports asked for (default: WebSocket, then SSE), in order, less those this environment
// lacks (Node.js has no EventSource); none left is an error that says what to pass.
function pickTransports(asked, have) {
  const list = Array.isArray(asked) ? asked : [asked];
  if (list.length === 0 || list.some((t) => !TRANSPORTS.includes(t))) {
    throw new TypeError(`newspush: transports must list "websocket" and/or "sse", got ${JSON.stringify(asked)}`);
  }
  const usable = [...new Set(list)].filter((t) => have[t]);
  if (usable.length > 0) return usable;
  const hints = [];
  if (list.includes("websocket")) hints.push("no WebSocket available; pass options.WebSocket (npm 'ws' in Node.js)");
  if (list.includes("sse")) hints.push("no EventSource available; pass options.EventSource");
  throw new TypeError(`newspush: ${hints.join(", and ")}`);
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

// "/sse" or an http(s):// URL (ws(s):// is turned into http(s)://).
function resolveHttpUrl(url) {
  if (typeof url !== "string" || url === "") throw new Error("no SSE URL");
  if (/^https?:\/\//i.test(url)) return url;
  if (/^wss?:\/\//i.test(url)) return url.replace(/^ws/i, "http");
  const loc = globalThis.location;
  if (loc && loc.href) return new URL(url, loc.href).href;
  throw new Error(`relative URL ${url} needs a page location`);
}

// The server's /sse next to its /ws: ws://host/ws -> http://host/sse, wss://host/push/ws ->
// https://host/push/sse; a path not ending in /ws gives /sse at the root. The query is kept.
function sseUrlFrom(wsUrl) {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === "wss:" ? "https:" : "http:";
  u.pathname = /\/ws\/?$/.test(u.pathname) ? u.pathname.replace(/ws\/?$/, "sse") : "/sse";
  u.hash = "";
  return u.href;
}

// Percent-encodes what a query value needs, leaving ":" "@" "/" as they are (RFC 3986 allows them
// there): today's cursors ("<epoch>:<stream id>") go out unchanged.
function encodeQueryValue(text) {
  return encodeURIComponent(text).replace(/%3A/gi, ":").replace(/%40/gi, "@").replace(/%2F/gi, "/");
}

// Appends `query` (already encoded) to `url`, keeping the query it may have.
function withQuery(url, query) {
  if (query === "") return url;
  const hash = url.indexOf("#");
  const base = hash < 0 ? url : url.slice(0, hash);
  return base + (base.includes("?") ? "&" : "?") + query;
}

// A URL as status events show it: a token is a credential, not something to log.
function redactToken(url) {
  return url.replace(/([?&]token=)[^&#]*/g, "$1***");
}

function isMessageEvent(event) {
  return Boolean(event) && typeof event.data === "string";
}

function errorText(err) {
  return String(err && err.message || err);
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
