// Shared by the Chromium tests: Debian's headless Chromium through playwright-core, and a plain
// HTTP proxy that refuses WebSocket upgrades.
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

/**
 * A page's steps, run in order as subtests of `t`: a failing one leaves a screenshot of the moment
 * in `artifacts`, named after `prefix` and the step. Returns step(name, fn).
 */
export function screenshotSteps(t, page, artifacts, prefix) {
  return (name, fn) => t.test(name, async (st) => {
    try {
      await fn(st);
    } catch (err) {
      const file = `${prefix}-failure-${name.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}.png`;
      await page.screenshot({ path: path.join(artifacts, file), fullPage: true }).catch(() => {});
      throw err;
    }
  });
}

/** A fresh headless Chromium profile, closed and removed when the test ends. */
export async function launch(t) {
  const profile = mkdtempSync(path.join(os.tmpdir(), "newspush-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_BIN || "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    locale: "fr-FR",
    timezoneId: "Europe/Paris",
  });
  t.after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

// Hop-by-hop headers (RFC 9110 7.6.1): a proxy does not forward them.
const HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"]);

function endToEnd(headers) {
  const out = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP.has(name.toLowerCase())) out[name] = value;
  return out;
}

/**
 * A reverse proxy in front of `target` (http://host:port) as some corporate proxies are: plain
 * HTTP passes, each response streamed as it comes (so an SSE stream flows through), but every
 * WebSocket upgrade is answered 403 and the connection closed. `upstream` can be changed to point
 * at another node. Counts what it did in `stats`. Closed, with every connection, when the test ends.
 */
export async function noUpgradeProxy(t, target) {
  const stats = { requests: 0, sse: 0, upgradesRefused: 0 };
  const proxy = {
    upstream: new URL(target),
    stats,
    url: null,
  };
  const server = http.createServer((req, res) => {
    stats.requests++;
    if (req.url.startsWith("/sse")) stats.sse++;
    const up = http.request({
      host: proxy.upstream.hostname,
      port: proxy.upstream.port,
      method: req.method,
      path: req.url,
      headers: endToEnd(req.headers),
    }, (upRes) => {
      res.writeHead(upRes.statusCode, endToEnd(upRes.headers));
      res.flushHeaders();
      upRes.pipe(res);
      upRes.on("error", () => res.destroy());
    });
    up.on("error", () => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }).end("bad gateway");
      else res.destroy();
    });
    // The browser went away (an EventSource closed): so does the upstream request.
    res.on("close", () => up.destroy());
    req.pipe(up);
  });
  server.on("upgrade", (req, socket) => {
    stats.upgradesRefused++;
    socket.end("HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 26\r\nconnection: close\r\n\r\nWebSocket upgrades blocked");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${server.address().port}`;
  t.after(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return proxy;
}
