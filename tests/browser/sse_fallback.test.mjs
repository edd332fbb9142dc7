// The demo front page behind a proxy that passes plain HTTP (streaming) but refuses WebSocket
// upgrades, as some corporate proxies do: the client falls back to Server-Sent Events by itself
// and the page works as usual (recent list, live articles, breaking banner, chips, an outage).
//   node --test tests/browser/sse_fallback.test.mjs     (NEWSPUSHD_BIN, CHROMIUM_BIN as usual)
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

import { Newspushd, Redis, article, repoRoot } from "../../web/client/test/support.mjs";
import { launch, noUpgradeProxy, screenshotSteps } from "./browser.mjs";

const WAIT = { timeout: 20000 };
const artifacts = path.join(repoRoot, "build", "artifacts");
const staticArgs = ["--static-dir", path.join(repoRoot, "web", "static")];
const li = (id) => `#articles > li[data-id="${id}"]`;

test("the front page with WebSocket blocked by a proxy: live over SSE", async (t) => {
  mkdirSync(artifacts, { recursive: true });
  const redis = await Redis.start();
  t.after(() => redis.stop());
  let server = await Newspushd.start({ redis, args: staticArgs });
  t.after(() => server.stop("SIGKILL"));
  const proxy = await noUpgradeProxy(t, server.http);

  const early = article("economie", { title: "L’inflation ralentit en avril" });
  await redis.publish(early);

  const context = await launch(t);
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  const step = screenshotSteps(t, page, artifacts, "sse-fallback");

  await step("the page loads through the proxy; its WebSocket is refused and it goes live over SSE", async () => {
    const res = await page.goto(`${proxy.url}/`);
    assert.equal(res.status(), 200);
    await page.waitForSelector('#status[data-state="open"], #status[data-state="resumed"]', WAIT);
    assert.ok(proxy.stats.upgradesRefused >= 1, "the page tried WebSocket first");
    assert.ok(proxy.stats.sse >= 1, "then /sse");
    assert.equal(await page.evaluate(() => window.newspush.transport), "sse");
    assert.equal(await page.getAttribute("#status", "data-transport"), "sse");
    assert.equal(await page.textContent("#transport"), "Server-Sent Events");
    assert.match(await page.textContent("#status"), /connecté|repris/);
    await page.waitForSelector(li(early.id), WAIT); // the recent list, over HTTP through the proxy
  });

  await step("a published article appears at the top", async () => {
    const a = article("politique", { title: "Le Sénat adopte la réforme" });
    await redis.publish(a);
    await page.waitForSelector(li(a.id), WAIT);
    assert.equal(await page.$eval("#articles > li", (e) => e.dataset.id), a.id);
    assert.equal(await page.textContent(`${li(a.id)} h3`), a.title);
  });

  await step("a breaking article raises the banner", async () => {
    const b = article("international", { title: "Séisme majeur au large du Japon", breaking: true });
    await redis.publish(b);
    await page.waitForSelector("#breaking:not([hidden])", WAIT);
    assert.equal(await page.textContent("#breaking-link"), b.title);
  });

  await step("chips filter: the set changes over SSE (a new stream)", async () => {
    const set = await page.evaluate(() => new Promise((resolve) => {
      const off = window.newspush.on("subscribed", (m) => {
        if (!m.categories.includes("sports")) { off(); resolve(m.categories); }
      });
      document.querySelector('.chip[data-category="sports"]').click();
    }));
    assert.ok(!set.includes("sports") && set.includes("politique"));
    const filtered = article("sports");
    const marker = article("politique");
    await redis.publish(filtered);
    await redis.publish(marker);
    await page.waitForSelector(li(marker.id), WAIT);
    assert.equal(await page.locator(li(filtered.id)).count(), 0, "an unselected category does not arrive");
    assert.equal(await page.getAttribute("#status", "data-state"), "open", "a set change is no reconnection");
  });

  await step("an outage: the page resumes over SSE, the outage's article exactly once", async () => {
    const port = server.port;
    await server.stop("SIGTERM");
    await page.waitForSelector('#status[data-state="reconnecting"]', WAIT);
    const during = article("societe", { title: "Grève pendant la coupure" });
    await redis.publish(during);
    server = await Newspushd.start({ redis, port, args: staticArgs });
    // Not the first "resumed": the page may have come back to the draining node in the moment
    // before its listener closed (a resume of nothing, then `close` again).
    await page.waitForFunction(() => document.getElementById("status-text").textContent === "repris 1", null, WAIT);
    assert.equal(await page.getAttribute("#status", "data-state"), "resumed");
    const after = article("societe");
    await redis.publish(after);
    await page.waitForSelector(li(after.id), WAIT);
    assert.equal(await page.locator(li(during.id)).count(), 1);
    const ids = await page.$$eval("#articles > li", (els) => els.map((e) => e.dataset.id));
    assert.ok(ids.indexOf(after.id) < ids.indexOf(during.id), "replayed before the live one");
    assert.equal(await page.evaluate(() => window.newspush.transport), "sse", "still on SSE");
  });

  await step("views do nothing on SSE (no error); screenshot", async () => {
    assert.equal(await page.evaluate(() => window.newspush.view("any-article")), false);
    await page.screenshot({ path: path.join(artifacts, "front-page-sse.png") });
    assert.deepEqual(pageErrors, []);
  });
});
