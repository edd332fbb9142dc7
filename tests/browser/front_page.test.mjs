// End-to-end: the demo front page, served by newspushd itself (--static-dir web/static, the client
// library at /client/), in Debian's headless Chromium driven by playwright-core.
//   node --test tests/browser/           (scripts/browser-test.sh installs what is missing)
// Env: NEWSPUSHD_BIN (binary), CHROMIUM_BIN (default /usr/bin/chromium),
//      NEWSPUSH_BROWSER_DEV_STATIC=1 serves the page from a throwaway Node server instead (only to
//      develop the page against a newspushd that cannot serve files yet).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { test } from "node:test";

import { Newspushd, Redis, article, repoRoot, waitUntil } from "../../web/client/test/support.mjs";
import { launch, screenshotSteps } from "./browser.mjs";

const WAIT = { timeout: 10000 };
const artifacts = path.join(repoRoot, "build", "artifacts");

// Development only: the page from disk, pointed at newspushd with ?server=.
function devStaticServer(t) {
  const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css" };
  const srv = http.createServer((req, res) => {
    const p = new URL(req.url, "http://x").pathname;
    const file = p === "/" ? "web/static/index.html"
      : p.startsWith("/client/") ? path.join("web/client", path.basename(p)) : path.join("web/static", path.basename(p));
    try {
      const body = readFileSync(path.join(repoRoot, file));
      res.writeHead(200, { "content-type": types[path.extname(file)] || "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => srv.listen(0, "127.0.0.1", () => {
    t.after(() => new Promise((r) => srv.close(r)));
    resolve(`http://127.0.0.1:${srv.address().port}`);
  }));
}

const staticArgs = ["--static-dir", path.join(repoRoot, "web", "static")];
const li = (id) => `#articles > li[data-id="${id}"]`;

test("the front page: recent list, live articles, breaking banner, chips, outage and resume", async (t) => {
  mkdirSync(artifacts, { recursive: true });
  const dev = process.env.NEWSPUSH_BROWSER_DEV_STATIC === "1";
  const redis = await Redis.start();
  t.after(() => redis.stop());
  let server = await Newspushd.start({ redis, args: dev ? [] : staticArgs });
  t.after(() => server.stop("SIGKILL"));
  const pageUrl = dev ? `${await devStaticServer(t)}/?server=${server.http}` : `${server.http}/`;

  // Published before the page opens: the recent list (GET /api/v1/articles) shows them.
  const early = [article("economie", { title: "L’inflation ralentit en avril" }), article("culture")];
  for (const a of early) await redis.publish(a);

  const context = await launch(t);
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  const step = screenshotSteps(t, page, artifacts, "front-page");

  await step("the page loads, served by newspushd, and connects", async () => {
    const res = await page.goto(pageUrl);
    assert.equal(res.status(), 200);
    assert.match(res.headers()["content-type"], /^text\/html/);
    assert.equal(await page.title(), "newspush — À la une");
    await page.waitForSelector('#status[data-state="open"], #status[data-state="resumed"]', WAIT);
    assert.match(await page.textContent("#status"), /connecté|repris/);
    assert.equal(await page.getAttribute("#status", "data-transport"), "websocket");
    assert.equal(await page.textContent("#transport"), "WebSocket");
    assert.equal(await page.locator(".chip").count(), 9);
    assert.equal(await page.getAttribute(".chip-premium", "data-premium"), "locked", "no token: enquêtes locked");
    assert.match(await page.textContent("#trending-empty"), /apparaîtront/);
    const lib = await page.request.get(new URL("/client/newspush.js", pageUrl).href);
    assert.equal(lib.status(), 200);
    assert.match(lib.headers()["content-type"], /^text\/javascript/);
  });

  await step("the recent list comes over HTTP first", async (st) => {
    const api = await page.request.get(`${server.http}/api/v1/articles?category=*&limit=20`);
    if (api.status() === 404) {
      st.skip("GET /api/v1/articles is not served by this newspushd yet: the page goes live only");
      return;
    }
    assert.equal(api.status(), 200);
    for (const a of early) await page.waitForSelector(li(a.id), WAIT);
    // Newest first.
    const ids = await page.$$eval("#articles > li", (els) => els.map((e) => e.dataset.id));
    assert.ok(ids.indexOf(early[1].id) < ids.indexOf(early[0].id));
  });

  await step("a published article appears at the top with its time", async () => {
    const a = article("politique", { title: "Le Sénat adopte la réforme", summary: "Vote à 201 voix contre 120." });
    await redis.publish(a);
    await page.waitForSelector(li(a.id), WAIT);
    assert.equal(await page.$eval("#articles > li", (e) => e.dataset.id), a.id, "at the top");
    assert.match(await page.textContent(`${li(a.id)} time`), /^\d{2}:\d{2}$/);
    assert.equal(await page.textContent(`${li(a.id)} h3`), a.title);
    assert.equal(await page.isVisible("#empty"), false);
  });

  await step("a breaking article raises the banner", async () => {
    assert.equal(await page.isVisible("#breaking"), false);
    const b = article("international", { title: "Séisme majeur au large du Japon", breaking: true });
    await redis.publish(b);
    await page.waitForSelector("#breaking:not([hidden])", WAIT);
    assert.equal(await page.textContent("#breaking-link"), b.title);
    assert.equal(await page.getAttribute("#breaking-region", "aria-live"), "assertive");
    await page.waitForSelector(`${li(b.id)}.is-breaking`, WAIT);
  });

  await step("chips filter, live", async () => {
    const shown = article("sports", { title: "Victoire à Lyon" });
    await redis.publish(shown);
    await page.waitForSelector(li(shown.id), WAIT);

    // Unselect sports and wait for the server to confirm the new set.
    const set = await page.evaluate(() => new Promise((resolve) => {
      const off = window.newspush.on("subscribed", (m) => {
        if (!m.categories.includes("sports")) { off(); resolve(m.categories); }
      });
      document.querySelector('.chip[data-category="sports"]').click();
    }));
    assert.ok(!set.includes("sports") && set.includes("politique"));
    assert.equal(await page.getAttribute('.chip[data-category="sports"]', "aria-pressed"), "false");
    await page.waitForSelector(li(shown.id), { state: "hidden", ...WAIT });

    const filtered = article("sports");
    const marker = article("politique");
    await redis.publish(filtered);
    await redis.publish(marker);
    await page.waitForSelector(li(marker.id), WAIT);
    assert.equal(await page.locator(li(filtered.id)).count(), 0, "an unselected category does not arrive");

    await page.evaluate(() => new Promise((resolve) => {
      const off = window.newspush.on("subscribed", (m) => {
        if (m.categories.includes("sports")) { off(); resolve(); }
      });
      document.querySelector('.chip[data-category="sports"]').click();
    }));
    await page.waitForSelector(li(shown.id), { state: "visible", ...WAIT });
    const back = article("sports");
    await redis.publish(back);
    await page.waitForSelector(li(back.id), WAIT);
  });

  await step("stopping newspushd shows reconnexion; restarting resumes, the outage's article once", async () => {
    const port = server.port;
    await server.stop("SIGTERM");
    await page.waitForSelector('#status[data-state="reconnecting"]', WAIT);
    assert.match(await page.textContent("#status"), /reconnexion/);

    const during = article("societe", { title: "Grève à la SNCF pendant la coupure" });
    const { via } = await redis.publish(during);

    server = await Newspushd.start({ redis, port, args: dev ? [] : staticArgs });
    await page.waitForSelector('#status[data-state="resumed"], #status[data-state="open"]', WAIT);
    const after = article("societe");
    await redis.publish(after);
    await page.waitForSelector(li(after.id), WAIT);

    // Needs the server's resume support (cursors + subscribe `since`) and a history publish.
    assert.equal(via, "fcall", "this Redis has no newspush_publish function: newspushd has no history yet");
    await page.waitForSelector('#status[data-state="resumed"]', WAIT);
    assert.match(await page.textContent("#status"), /repris 1/);
    assert.equal(await page.locator(li(during.id)).count(), 1, "the outage's article, exactly once");
    const ids = await page.$$eval("#articles > li", (els) => els.map((e) => e.dataset.id));
    assert.ok(ids.indexOf(after.id) < ids.indexOf(during.id), "replayed before the live one");
  });

  await step("screenshots", async () => {
    await page.screenshot({ path: path.join(artifacts, "front-page.png"), fullPage: false });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(artifacts, "front-page-phone.png") });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling on a phone (${overflow}px)`);
    assert.deepEqual(pageErrors, []);
  });
});

const PUBLISH_KEY = "browser-test-publish-key-0123456789";
// Trending lists recomputed every 200 ms, so that the page's box follows views within a second.
const trendingArgs = [...staticArgs, "--publish-key", PUBLISH_KEY, "--trending-interval", "200ms"];
const TREND_WAIT = { timeout: 20000 };
const trendRows = "#trending > li";
const trendIds = (page) => page.$$eval(trendRows, (els) => els.map((e) => e.dataset.id));

test("the Tendance box: current list over HTTP at load, live reordering, views on click", async (t) => {
  mkdirSync(artifacts, { recursive: true });
  const redis = await Redis.start();
  t.after(() => redis.stop());
  const server = await Newspushd.start({ redis, args: trendingArgs });
  t.after(() => server.stop("SIGKILL"));

  const a = article("economie", { title: "La BCE baisse ses taux directeurs" });
  const b = article("sports", { title: "Le PSG qualifié pour la finale" });
  const c = article("culture", { title: "Le Louvre ouvre une nouvelle aile" });
  for (const x of [a, b, c]) {
    const { via } = await redis.publish(x);
    assert.equal(via, "fcall", "views count only articles published through the history");
  }
  const posted = await server.postViews(PUBLISH_KEY, [a.id, a.id, a.id, b.id, b.id, c.id]);
  assert.equal(posted.status, 200, JSON.stringify(posted.body));
  assert.deepEqual(posted.body, { counted: 6, unknown: 0 });
  // The node has the list once the leader computed it (a few intervals).
  await waitUntil(async () => {
    const { status, body } = await server.trending("*");
    return status === 200 && body.items.map((i) => i.id).join() === [a.id, b.id, c.id].join();
  }, 20000, "GET /api/v1/trending?category=* to list a, b, c");

  const context = await launch(t);
  // Article links open https://exemple.fr/... in a new tab: answer them locally.
  await context.route("https://exemple.fr/**", (route) => route.fulfill({ contentType: "text/html", body: "<title>article</title>" }));
  const pageErrors = [];
  const step = (page, name, fn) => t.test(name, async (st) => {
    try {
      await fn(st);
    } catch (err) {
      const file = `trending-failure-${name.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}.png`;
      await page.screenshot({ path: path.join(artifacts, file), fullPage: true }).catch(() => {});
      throw err;
    }
  });

  // A page whose WebSocket reaches no server: whatever the box shows came over HTTP.
  const offline = await context.newPage();
  offline.on("pageerror", (err) => pageErrors.push(String(err)));
  const apiCalls = [];
  offline.on("request", (req) => { if (req.url().includes("/api/v1/trending")) apiCalls.push(req.url()); });
  await offline.routeWebSocket(/\/ws$/, () => { /* accepted, never answered */ });
  await step(offline, "at load the box shows the current list from GET /api/v1/trending?category=*", async () => {
    await offline.goto(`${server.http}/`);
    await offline.waitForSelector(`${trendRows}:nth-child(3)`, TREND_WAIT);
    assert.deepEqual(await trendIds(offline), [a.id, b.id, c.id]);
    assert.equal(apiCalls.length, 1);
    assert.equal(new URL(apiCalls[0]).searchParams.get("category"), "*");
    assert.equal(await offline.isVisible("#trending-empty"), false);
  });
  await offline.close();

  const page = await context.newPage();
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  const sent = [];
  page.on("websocket", (ws) => ws.on("framesent", (f) => sent.push(String(f.payload))));
  const viewFrames = (id) => sent.filter((p) => { try { const m = JSON.parse(p); return m.op === "view" && m.article === id; } catch { return false; } });

  await step(page, "live: rank, title link, category and score; the subscribe asks for trending '*'", async () => {
    await page.goto(`${server.http}/`);
    await page.waitForSelector('#status[data-state="open"], #status[data-state="resumed"]', WAIT);
    await page.waitForSelector(`${trendRows}:nth-child(3)`, TREND_WAIT);
    assert.deepEqual(await trendIds(page), [a.id, b.id, c.id]);
    const subscribe = sent.map((p) => JSON.parse(p)).find((m) => m.op === "subscribe");
    assert.deepEqual(subscribe.trending, ["*"]);
    assert.ok(subscribe.categories.includes("sports"), "and the chips' categories");

    const first = `${trendRows}:nth-child(1)`;
    assert.equal((await page.textContent(`${first} .trend-rank`)).trim(), "1");
    assert.equal((await page.textContent(`${trendRows}:nth-child(3) .trend-rank`)).trim(), "3");
    assert.equal(await page.textContent(`${first} a.trend-title`), a.title);
    assert.equal(await page.getAttribute(`${first} a.trend-title`, "href"), a.url);
    assert.equal(await page.textContent(`${first} .category`), "économie");
    assert.match(await page.textContent(`${first} .trend-score`), /^score 3(,0)?$/);
    assert.equal(await page.getAttribute("#trending", "aria-live"), "polite");
  });

  await step(page, "more views make another article first: the box reorders live", async () => {
    await page.evaluate(() => { window.__sameDocument = true; });
    const live = page.evaluate((id) => new Promise((resolve) => {
      const off = window.newspush.on("trending", (m) => {
        if (m.category === "*" && m.items[0] && m.items[0].id === id) { off(); resolve(m.items.map((i) => i.id)); }
      });
    }), c.id);
    const more = await server.postViews(PUBLISH_KEY, Array(5).fill(c.id)); // c: 6, a: 3, b: 2
    assert.equal(more.status, 200);
    assert.deepEqual(await live, [c.id, a.id, b.id], "a trending event over the WebSocket");
    await page.waitForSelector(`${trendRows}:nth-child(1)[data-id="${c.id}"]`, TREND_WAIT);
    assert.deepEqual(await trendIds(page), [c.id, a.id, b.id]);
    assert.equal((await page.textContent(`${trendRows}[data-id="${c.id}"] .trend-rank`)).trim(), "1");
    assert.equal((await page.textContent(`${trendRows}[data-id="${b.id}"] .trend-rank`)).trim(), "3");
    assert.equal(await page.evaluate(() => window.__sameDocument), true, "no reload");
  });

  await step(page, "clicking an article link reports one view", async () => {
    const counted = () => server.metric('newspush_views_total{result="counted"}');
    const before = (await counted()) || 0;
    await page.click(`${trendRows}[data-id="${b.id}"] a.trend-title`);
    await waitUntil(() => viewFrames(b.id).length === 1, 10000, `a view frame for ${b.id}`);
    await page.click(`${trendRows}[data-id="${b.id}"] a.trend-title`);
    await page.click(`#articles > li[data-id="${a.id}"] h3 a`);
    // Frames go out in click order: once a's is out, a second one for b would be too.
    await waitUntil(() => viewFrames(a.id).length === 1, 10000, `a view frame for ${a.id}`);
    assert.equal(viewFrames(b.id).length, 1, "once per article");
    await waitUntil(async () => (await counted()) === before + 2, 10000, "the server to count both views");
  });

  await step(page, "on a phone", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const box = await page.locator("#trending-box").boundingBox();
    const latest = await page.locator("#latest").boundingBox();
    assert.ok(box.y < latest.y, "the Tendance box comes first");
    assert.equal(await page.isVisible("#trending-more"), false, "three rows: nothing to unfold");
    await page.screenshot({ path: path.join(artifacts, "front-page-trending-phone.png") });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling on a phone (${overflow}px)`);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: path.join(artifacts, "front-page-trending.png") });
    assert.deepEqual(pageErrors, []);
  });
});
