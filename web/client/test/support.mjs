// Test support: real redis-server and newspushd processes on loopback, and a publisher.
// Shared by the client tests (web/client/test) and the browser tests (tests/browser).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export function newspushdBin() {
  if (process.env.NEWSPUSHD_BIN) return process.env.NEWSPUSHD_BIN;
  for (const kind of ["release", "dev"]) {
    const p = path.join(repoRoot, "build", kind, "server", "newspushd");
    if (existsSync(p)) return p;
  }
  throw new Error("newspushd not built: run scripts/build.sh or set NEWSPUSHD_BIN");
}

/** A free loopback TCP port (bind to 0, read it, release it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once `pattern` matches the child's output on `stream`; rejects on exit or timeout. */
function waitForOutput(child, stream, pattern, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => done(new Error(`${what}: no ${pattern} within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    const onData = (chunk) => {
      seen += chunk.toString();
      const m = seen.match(pattern);
      if (m) done(null, m);
    };
    const onExit = (code, signal) => done(new Error(`${what} exited (${code ?? signal}) before ready:\n${seen}`));
    function done(err, m) {
      clearTimeout(timer);
      child[stream].off("data", onData);
      child.off("exit", onExit);
      if (err) reject(err); else resolve(m);
    }
    child[stream].on("data", onData);
    child.on("exit", onExit);
  });
}

class Proc {
  constructor(child, name) {
    this.child = child;
    this.name = name;
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    // Keep draining output so the child never blocks on a full pipe; keep a tail for diagnostics.
    this.log = "";
    const keep = (chunk) => { this.log = (this.log + chunk.toString()).slice(-20000); };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
  }

  get running() { return this.child.exitCode === null && this.child.signalCode === null; }

  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
  async stop(signal = "SIGTERM", graceMs = 5000) {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => { if (this.running) this.child.kill("SIGKILL"); }, graceMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

const live = new Set();
// Never leave children behind, even when a test throws before its cleanup.
process.on("exit", () => { for (const p of live) if (p.running) p.child.kill("SIGKILL"); });

function track(proc) {
  live.add(proc);
  proc.exited.then(() => live.delete(proc));
  return proc;
}

export class Redis extends Proc {
  static async start() {
    const port = await freePort();
    const child = spawn("redis-server", [
      "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
      "--daemonize", "no", "--loglevel", "notice",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    const proc = track(new Redis(child, "redis-server"));
    proc.port = port;
    proc.url = `redis://127.0.0.1:${port}`;
    await waitForOutput(child, "stdout", /Ready to accept connections/, 10000, "redis-server");
    return proc;
  }

  /**
   * Publishes `article` (an object or a JSON string) the way the newsroom does: through the history
   * (FCALL newspush_publish, which gives it a cursor) when newspushd has loaded that function into
   * this Redis, else as a bare PUBLISH (no cursor). NEWSPUSH_TEST_PUBLISH=bare forces the latter.
   * Resolves to { via: "fcall" | "publish", reply }.
   */
  async publish(article) {
    const payload = typeof article === "string" ? article : JSON.stringify(article);
    if (process.env.NEWSPUSH_TEST_PUBLISH !== "bare") {
      try {
        const reply = await this.command(["FCALL", "newspush_publish", "1", "news:log", payload]);
        return { via: "fcall", reply };
      } catch (err) {
        if (!/function not found|no such function|unknown command/i.test(err.message)) throw err;
        // This Redis has no newspush library (a newspushd without history): bare PUBLISH.
      }
    }
    return { via: "publish", reply: await this.publishBare(payload) };
  }

  /** A bare PUBLISH on `channel` (legacy publishers); resolves to the receiver count. */
  publishBare(article, channel = "news:articles") {
    const payload = typeof article === "string" ? article : JSON.stringify(article);
    return this.command(["PUBLISH", channel, payload]);
  }

  /** One command over RESP; resolves to the reply (integer, string, or array of those). */
  command(args) {
    return new Promise((resolve, reject) => {
      const sock = net.connect(this.port, "127.0.0.1");
      let buf = Buffer.alloc(0);
      sock.on("connect", () => {
        let out = `*${args.length}\r\n`;
        for (const a of args) out += `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`;
        sock.write(out);
      });
      sock.on("data", (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        const parsed = parseResp(buf, 0);
        if (parsed) {
          sock.end();
          if (parsed.value instanceof Error) reject(parsed.value); else resolve(parsed.value);
        }
      });
      sock.on("error", reject);
    });
  }
}

function parseResp(buf, at) {
  const eol = buf.indexOf("\r\n", at);
  if (eol < 0) return null;
  const kind = String.fromCharCode(buf[at]);
  const line = buf.toString("utf8", at + 1, eol);
  const next = eol + 2;
  if (kind === "+") return { value: line, next };
  if (kind === "-") return { value: new Error(line), next };
  if (kind === ":") return { value: Number(line), next };
  if (kind === "$") {
    const n = Number(line);
    if (n < 0) return { value: null, next };
    if (buf.length < next + n + 2) return null;
    return { value: buf.toString("utf8", next, next + n), next: next + n + 2 };
  }
  if (kind === "*") {
    const n = Number(line);
    const items = [];
    let pos = next;
    for (let i = 0; i < n; i++) {
      const item = parseResp(buf, pos);
      if (!item) return null;
      items.push(item.value);
      pos = item.next;
    }
    return { value: items, next: pos };
  }
  return { value: new Error(`unexpected RESP ${kind}`), next };
}

export class Newspushd extends Proc {
  /**
   * Starts newspushd against `redis` on `port` (0: any) and waits until it listens and is
   * subscribed to Redis (/readyz 200), so that nothing published afterwards is missed.
   */
  static async start({ redis, port = 0, args = [] } = {}) {
    const child = spawn(newspushdBin(), [
      "--listen", `127.0.0.1:${port}`, "--redis", redis.url, "--threads", "1", ...args,
    ], { stdio: ["ignore", "pipe", "pipe"] });
    const proc = track(new Newspushd(child, "newspushd"));
    const m = await waitForOutput(
      child, "stderr", /listening address=127\.0\.0\.1:(\d+)/, 15000, "newspushd");
    proc.port = Number(m[1]);
    proc.http = `http://127.0.0.1:${proc.port}`;
    proc.ws = `ws://127.0.0.1:${proc.port}/ws`;
    await proc.waitReady();
    return proc;
  }

  /**
   * POST /api/v1/views with `key` (a --publish-key of this server): one view per id, repeats
   * allowed. Resolves to { status, body }.
   */
  async postViews(key, ids) {
    const res = await fetch(`${this.http}/api/v1/views`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(ids.map((id) => ({ article: id }))),
    });
    const text = await res.text();
    let body = null;
    try { body = JSON.parse(text); } catch { body = text; }
    return { status: res.status, body };
  }

  /** GET /api/v1/trending?category=...: { status, body }. */
  async trending(category = "*") {
    const res = await fetch(`${this.http}/api/v1/trending?category=${encodeURIComponent(category)}`);
    const text = await res.text();
    let body = null;
    try { body = JSON.parse(text); } catch { body = text; }
    return { status: res.status, body };
  }

  /** The value of one sample of GET /metrics (`name{labels}` exactly as printed), or null. */
  async metric(sample) {
    const res = await fetch(`${this.http}/metrics`);
    for (const line of (await res.text()).split("\n")) {
      if (line.startsWith(sample + " ")) return Number(line.slice(sample.length + 1));
    }
    return null;
  }

  async waitReady(timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const res = await fetch(`${this.http}/readyz`);
        if (res.status === 200) return;
      } catch { /* not yet */ }
      if (Date.now() > deadline) throw new Error(`newspushd not ready within ${timeoutMs} ms:\n${this.log}`);
      await delay(50);
    }
  }
}

export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `predicate` (an event-driven wait would need hooks everywhere; this is only used for
 * bounded waits on state that events have already updated) until it is truthy or `timeoutMs`.
 */
export async function waitUntil(predicate, timeoutMs = 10000, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(20);
  }
}

let counter = 0;
/** A valid article with a unique id. */
export function article(category, fields = {}) {
  counter++;
  return {
    id: `t-${process.pid}-${Date.now().toString(36)}-${counter}`,
    category,
    title: `Article ${counter} (${category})`,
    url: `https://exemple.fr/${category}/${counter}`,
    published_at: new Date().toISOString(),
    ...fields,
  };
}
