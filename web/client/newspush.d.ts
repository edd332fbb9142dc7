// TypeScript declarations for newspush.js (the newspush browser and Node.js client: WebSocket,
// with a fallback to Server-Sent Events).

/** An article as the newsroom published it; unknown fields pass through. */
export interface Article {
  id: string;
  category: string;
  title: string;
  breaking?: boolean;
  url?: string;
  summary?: string;
  published_at?: string;
  image?: string;
  tags?: string[];
  [field: string]: unknown;
}

export interface ArticleEvent {
  category: string;
  breaking: boolean;
  article: Article;
  /** Opaque position in the stream (absent for articles published with a bare PUBLISH). */
  cursor?: string;
  /** A correction of an article already sent (same id): replace it. */
  update: boolean;
  /** Delivered by a resume replay rather than live. */
  replayed: boolean;
}

export interface RetractEvent {
  id: string;
  category: string;
  breaking: boolean;
  cursor?: string;
  replayed: boolean;
}

/** One entry of a trending list. */
export interface TrendingItem {
  /** The article's id (pass it to `view()` when a reader opens it). */
  id: string;
  title: string;
  /** Absent when the article has none. */
  url?: string;
  category: string;
  /** Views weighted by age (a view now counts 1, one half-life ago 0.5...), 2 decimals. */
  score: number;
}

/**
 * The server's `trending` message as is (also the body of GET /api/v1/trending). Replaces the
 * whole list of `category`; a newer one can arrive at any time, never a backlog of old ones.
 */
export interface TrendingEvent {
  type: "trending";
  /** "*" for the overall list (every category), else a category slug. */
  category: string;
  /** Best first, at most the server's --trending-size (10); may be empty. */
  items: TrendingItem[];
  /** When the list was computed, ms since the Unix epoch (absent when the node knows no list yet). */
  at?: number;
}

/** How a connection reaches the server: WebSocket (/ws) or Server-Sent Events (/sse, receive only). */
export type Transport = "websocket" | "sse";

/**
 * "idle": on SSE with nothing to stream (no categories and no trending lists; a stream needs one):
 * subscribe() or subscribeTrending() starts it.
 */
export type ConnectionState = "idle" | "connecting" | "open" | "reconnecting" | "resumed" | "reset" | "closed";

export interface StatusEvent {
  state: ConnectionState;
  /** connecting, open, reconnecting, closed, idle: the transport of the connection concerned. */
  transport?: Transport;
  /** connecting: failed attempts so far; reconnecting: the attempt about to be made (1, 2, ...). */
  attempt?: number;
  /** reconnecting: milliseconds before the next attempt. */
  delay?: number;
  /**
   * reconnecting, closed: the WebSocket close code (1001 drain, 1006 lost, 1013 slow consumer...).
   * Absent on SSE, which has none (see `reason`).
   */
  code?: number;
  /**
   * reconnecting, closed: the server's reason code ("shutdown", "slow_consumer", "history_busy",
   * "history_unavailable", "token_expired" (WebSocket code 4001: the connection had only
   * subscriber-only subscriptions and its token lapsed; the client reconnects, asking getToken
   * again); on SSE the code of its `close` event); reset: why.
   */
  reason?: string;
  /** resumed: how many events the server replayed. */
  replayed?: number;
  /** resumed, reset: the cursor the client now stands at. */
  cursor?: string | null;
  /** connecting: the URL being tried (a token in it shows as `token=***`). */
  url?: string;
}

export interface ErrorEvent {
  /**
   * A server error code (bad_category, bad_trending, too_many_categories, forbidden,
   * invalid_token, token_expired...; `server` is true), a close reason
   * ("too_many_errors", "policy_violation", "unsupported_data", "invalid_payload",
   * "message_too_big"; `closeCode` is set and the client has stopped), or a client-side code:
   * "heartbeat_timeout", "connect_timeout", "connect_failed", "send_failed", "bad_server_message",
   * "bad_url", "token_failed" (getToken threw, rejected, timed out or gave something unusable: it
   * is asked again with backoff). On SSE the client itself reports "bad_category" / "bad_trending" (once per name) for
   * a name it leaves out of the stream's URL, since the server would refuse the whole stream.
   */
  code: string;
  message?: string;
  server?: boolean;
  closeCode?: number;
}

export interface SubscribedEvent {
  type: "subscribed";
  /** The connection's article categories, sorted (may be empty when `trending` is not). */
  categories: string[];
  cursor?: string;
  /** The trending lists asked for explicitly, sorted; absent when none. */
  trending?: string[];
}

export interface WelcomeEvent {
  type: "welcome";
  protocol: number;
  server: string;
  max_frame_bytes: number;
  max_categories: number;
  [field: string]: unknown;
}

/** Why getToken is called. */
export interface TokenRequest {
  /**
   * "connect": before a connection (each one, reconnects included); "refresh": the server said
   * the token expires soon (`exp`): return a fresh one, not a cached copy of it; "retry": an
   * earlier call failed, or its token was refused.
   */
  reason: "connect" | "refresh" | "retry";
  /** refresh: the `exp` of the token about to expire. */
  exp?: number | null;
}

/** The server accepted the connection's token. */
export interface AuthenticatedEvent {
  /** Its expiry, Unix seconds. */
  exp: number | null;
}

/** The token expires soon (the server's --token-expiry-lead before `exp`); the client refreshes it. */
export interface TokenExpiringEvent {
  exp: number | null;
}

/** A subscriber-only category (or its trending list) that the connection's token does not allow. */
export interface ForbiddenEvent {
  category: string;
  /** True when it is the category's trending list that was refused. */
  trending: boolean;
  message?: string;
}

/** The server refused the token; the connection carries on as it was (anonymous, or its previous token). */
export interface InvalidTokenEvent {
  /**
   * "malformed", "too_large", "alg_not_allowed", "unknown_key", "bad_signature", "expired",
   * "not_yet_valid", "missing_exp", "bad_issuer", "bad_audience", "bad_claims".
   */
  reason: string;
  message?: string;
}

/** The token lapsed (or a fresh one allows less): these subscriptions stopped. */
export interface TokenExpiredEvent {
  categories: string[];
  trending: string[];
  message?: string;
}

export interface EventMap {
  article: ArticleEvent;
  breaking: ArticleEvent;
  retract: RetractEvent;
  trending: TrendingEvent;
  status: StatusEvent;
  error: ErrorEvent;
  subscribed: SubscribedEvent;
  welcome: WelcomeEvent;
  pong: { type: "pong" };
  authenticated: AuthenticatedEvent;
  token_expiring: TokenExpiringEvent;
  forbidden: ForbiddenEvent;
  invalid_token: InvalidTokenEvent;
  token_expired: TokenExpiredEvent;
  /** Every message from the server, parsed, before any other event. */
  message: { type: string; [field: string]: unknown };
}

/** What the client needs of a WebSocket class: the browser's, or npm `ws`'s in Node.js. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** What the client needs of an EventSource class: the browser's (Node.js 18-20 have none). */
export interface EventSourceLike {
  readonly readyState: number;
  close(): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: string; lastEventId?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  addEventListener(type: string, listener: (event: { data: string; lastEventId?: string }) => void): void;
}
export type EventSourceConstructor = new (url: string) => EventSourceLike;

export interface ConnectOptions {
  /** Categories to subscribe to from the start (slugs or "*"). */
  categories?: string[];
  /**
   * Trending lists to receive from the start, on top of those of `categories` ("*": the overall
   * list, or category slugs). `categories` may be empty when this is not.
   */
  trending?: string[];
  /** Resume after this cursor (for example the `cursor` of GET /api/v1/articles). */
  since?: string | null;
  /**
   * The transports to use, in order of preference (default ["websocket", "sse"]). A connection
   * that fails before the server says anything (WebSocket: no `welcome`; SSE: no first event)
   * hands over to the next at once; the one that worked is kept for reconnects. Those this
   * environment lacks are skipped (Node.js: no EventSource); none left throws a TypeError.
   */
  transports?: Transport[];
  /** The WebSocket class; required in Node.js 20 (`import { WebSocket } from "ws"`). */
  WebSocket?: WebSocketConstructor;
  /** The EventSource class (default: the global one, which browsers have). */
  EventSource?: EventSourceConstructor;
  /**
   * Where the SSE stream is: an http(s) URL or a path ("/sse"), several tried in turn, or a
   * function of the connection number. Default: next to the WebSocket URL (ws://host/ws ->
   * http://host/sse; a URL not ending in /ws -> /sse at its root). The client adds the query.
   */
  sseUrl?: UrlSource;
  /**
   * A connection the server has said nothing on within this (ms, default 10000; 0 disables) is
   * dropped and counts as failed (e.g. a proxy that holds the upgrade or buffers the stream).
   */
  connectTimeoutMs?: number;
  /**
   * Called by view() when the connection is SSE (which carries nothing to the server): report the
   * view some other way, e.g. to your backend, which may post it to POST /api/v1/views with its
   * key. Return false if it was not reported. Without it, view() does nothing on SSE.
   */
  viewFallback?: (articleId: string) => boolean | void;
  /** Backoff: the first cap (ms, default 500), doubled per failed attempt up to maxDelayMs (30000). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** A connection open this long (ms, default 10000) resets the backoff. */
  stableAfterMs?: number;
  /** Ping after this much silence (ms, default 25000; 0 disables)... */
  heartbeatIntervalMs?: number;
  /** ...and reconnect if nothing at all arrives within this (ms, default 10000). */
  heartbeatTimeoutMs?: number;
  /** How many recent cursors are remembered to drop duplicates (default 1000). */
  dedupeSize?: number;
  /** How many article ids `view()` remembers to report each only once (default 1000). */
  viewedSize?: number;
  /** Reconnect after losing the connection (default true). */
  reconnect?: boolean;
  /** Random source in [0, 1) for the jitter (tests). */
  random?: () => number;
  /**
   * The reader's connection token, for subscriber-only categories: a JWT from your site's
   * backend, or null for an anonymous connection. Called before each connection (the token goes
   * on the URL, so the server knows it before the first subscribe) and when the server warns
   * that it expires soon (WebSocket: sent on the live connection; SSE: the stream re-opens with
   * it, resuming from the cursor). A call that throws, rejects or times out is reported as an
   * `error` "token_failed" and made again with backoff; meanwhile the connection is anonymous
   * (or keeps its current token until it lapses).
   */
  getToken?: ((request: TokenRequest) => Promise<string | null> | string | null) | null;
  /** A getToken call that has not settled within this counts as failed (ms, default 10000; 0: no limit). */
  tokenTimeoutMs?: number;
}

/** A URL ("ws://host/ws", "/ws" in a page), several tried in turn (one per connection), or a function of the connection number. */
export type UrlSource = string | string[] | ((connection: number) => string);

export declare class NewsPushClient {
  constructor(url: UrlSource, options?: ConnectOptions);
  /** "connecting", "open", "reconnecting" or "closed"; "idle" before the first connection, or on SSE with nothing to stream. */
  readonly state: "idle" | "connecting" | "open" | "reconnecting" | "closed";
  /** The transport of the current (or last) connection; null before the first. */
  readonly transport: Transport | null;
  /** The last cursor received, to store and pass as `since` later; null before any. */
  readonly cursor: string | null;
  /** The categories the app asked for, sorted. */
  readonly categories: string[];
  /** The trending lists the app asked for explicitly, sorted. */
  readonly trending: string[];
  /** The current connection's welcome message, or null (always on SSE, which has none). */
  readonly welcome: WelcomeEvent | null;
  /** The `exp` (Unix seconds) of the token the server accepted on this connection, or null. */
  readonly tokenExp: number | null;

  on<K extends keyof EventMap>(name: K, listener: (event: EventMap[K]) => void): () => void;
  off<K extends keyof EventMap>(name: K, listener: (event: EventMap[K]) => void): this;
  /** Adds categories; kept across reconnects. On SSE, re-opens the stream with the new set (resuming). */
  subscribe(categories: string | string[]): this;
  /** Removes categories. */
  unsubscribe(categories: string | string[]): this;
  /** Asks for trending lists ("*" or slugs), delivered as `trending` events; kept across reconnects. */
  subscribeTrending(lists: string | string[]): this;
  /** Stops asking for these trending lists (those of subscribed categories still come). */
  unsubscribeTrending(lists: string | string[]): this;
  /**
   * Tells the server a reader opened this article (feeds trending). Fire and forget: no reply.
   * Sent at most once per id per client and never queued; false when not sent now (already
   * reported, not connected, or not an id of 1..128 bytes). On SSE it goes to `viewFallback`
   * (true when that took it), and without one does nothing (false).
   */
  view(articleId: string): boolean;
  /** Closes for good (no reconnect); emits status "closed". */
  close(): void;
}

export declare function connect(url: UrlSource, options?: ConnectOptions): NewsPushClient;
