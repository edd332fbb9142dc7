// End-to-end: the demo front page's subscriber-only category ("enquêtes", premium-enquetes) with a
// newspushd run as scripts/demo.sh runs it (--restricted-category premium-*, --token-secret), in
// Debian's headless Chromium: locked without a token, live with one (the page takes it from its
// address, /#token=<JWT>, as demo.sh prints it), refused with a forged one, locked again when it
// lapses. Tokens are signed here with Node's HMAC.
//   node --test tests/browser/premium_page.test.mjs     (NEWSPUSHD_BIN, CHROMIUM_BIN as usual)
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

import { Newspushd, Redis, article, repoRoot } from "../../web/client/test/support.mjs";
import { readerToken, tokenArgs } from "../../web/client/test/tokens.mjs";
import { launch, screenshotSteps } from "./browser.mjs";

const WAIT = { timeout: 15000 };
const artifacts = path.join(repoRoot, "build", "artifacts");
const staticArgs = ["--static-dir", path.join(repoRoot, "web", "static")];
const PREMIUM = "premium-enquetes";
const chip = ".chip-premium";
const li = (id) => `#articles > li[data-id="${id}"]`;

async function stack(t, more = []) {
  const redis = await Redis.start();
  t.after(() => redis.stop());
  const server = await Newspushd.start({ redis, args: [...staticArgs, ...tokenArgs(...more)] });
  t.after(() => server.stop("SIGKILL"));
  return { redis, server };
}

/** A page of the demo, with what its WebSockets sent and received and its script errors. */
async function demoPage(context, url) {
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (err) => page.errors.push(String(err)));
  page.sockets = [];
  page.on("websocket", (ws) => {
    const entry = { url: ws.url(), sent: [], received: [] };
    page.sockets.push(entry);
    ws.on("framesent", (f) => entry.sent.push(String(f.payload)));
    ws.on("framereceived", (f) => {
      for (const line of String(f.payload).split("\n")) if (line) entry.received.push(JSON.parse(line));
    });
  });
  await page.goto(url);
  await page.waitForSelector('#status[data-state="open"], #status[data-state="resumed"]', WAIT);
  return page;
}

const received = (page, pred) => page.sockets.flatMap((s) => s.received).filter(pred);
const sentCommands = (page) => page.sockets.flatMap((s) => s.sent.map((p) => JSON.parse(p)));

test("the demo page: enquêtes locked without a token, live with one", async (t) => {
  mkdirSync(artifacts, { recursive: true });
  const { redis, server } = await stack(t);
  const context = await launch(t);
  const token = readerToken({ ttl: 3600, sub: "demo-reader" });
  const anonymous = await demoPage(context, `${server.http}/`);
  const subscriber = await demoPage(context, `${server.http}/#token=${token}`);
  const step = screenshotSteps(t, subscriber, artifacts, "premium-page");

  await step("without a token the chip is locked and says why when clicked", async () => {
    assert.equal(await anonymous.getAttribute(chip, "data-premium"), "locked");
    assert.equal(await anonymous.getAttribute(chip, "aria-pressed"), "false");
    assert.equal(await anonymous.isVisible(`${chip} .chip-lock`), true);
    assert.equal(await anonymous.isVisible("#premium-note"), false);
    await anonymous.click(chip);
    await anonymous.waitForSelector("#premium-note", { state: "visible", ...WAIT });
    assert.match(await anonymous.textContent("#premium-note"), /réservées aux abonnés/);
    assert.equal(await anonymous.getAttribute(chip, "data-premium"), "locked", "a click does not unlock it");
    // It never asks for the category, so the server never has to refuse it.
    const [socket] = anonymous.sockets;
    assert.ok(!new URL(socket.url).searchParams.has("token"));
    const subscribe = sentCommands(anonymous).find((m) => m.op === "subscribe");
    assert.ok(!subscribe.categories.includes(PREMIUM), JSON.stringify(subscribe));
    assert.ok(subscribe.categories.includes("politique"));
    assert.deepEqual(received(anonymous, (m) => m.type === "error"), []);
  });

  await step("with the token in the address the chip goes live once the server accepts it", async () => {
    await subscriber.waitForSelector(`${chip}[data-premium="live"]`, WAIT);
    assert.equal(await subscriber.getAttribute(chip, "aria-pressed"), "true");
    assert.equal(await subscriber.isVisible(`${chip} .chip-lock`), false);
    assert.equal(await subscriber.isVisible("#premium-note"), false);
    const [socket] = subscriber.sockets;
    assert.equal(new URL(socket.url).searchParams.get("token"), token, "on the connection's URL");
    assert.equal(received(subscriber, (m) => m.type === "authenticated").length, 1);
    const subscribe = sentCommands(subscriber).find((m) => m.op === "subscribe");
    assert.ok(subscribe.categories.includes(PREMIUM), JSON.stringify(subscribe));
    assert.ok(!sentCommands(subscriber).some((m) => m.op === "auth"), "no auth command: the URL carried it");
    assert.deepEqual(received(subscriber, (m) => m.type === "error"), [], "no forbidden");
  });

  await step("a premium article appears only on the subscriber's page", async () => {
    const p1 = article(PREMIUM, { title: "Enquête : où sont passés les 4 millions du contrat des eaux ?" });
    const s1 = article("politique", { title: "Le Sénat adopte la réforme" });
    await redis.publish(p1);
    await redis.publish(s1);
    await subscriber.waitForSelector(`${li(p1.id)}.is-premium`, WAIT);
    assert.equal(await subscriber.textContent(`${li(p1.id)} h3`), p1.title);
    assert.equal(await subscriber.textContent(`${li(p1.id)} .badge-premium`), "abonnés");
    assert.equal(await subscriber.textContent(`${li(p1.id)} .category`), "enquêtes");
    await subscriber.waitForSelector(li(s1.id), WAIT);
    // The public article came after the premium one on the same connection: had the premium one
    // been sent to the anonymous page, it would be there by now.
    await anonymous.waitForSelector(li(s1.id), WAIT);
    assert.equal(await anonymous.locator(li(p1.id)).count(), 0);
    assert.equal(received(anonymous, (m) => m.type === "article" && m.article.id === p1.id).length, 0);
  });

  await step("breaking news in the premium category: the subscriber's banner only", async () => {
    const b = article(PREMIUM, { title: "Révélations : la carrière exploitée sans autorisation", breaking: true });
    const s2 = article("sports", { title: "Victoire à Lyon", breaking: true });
    await redis.publish(b);
    await redis.publish(s2);
    await subscriber.waitForSelector(`${li(b.id)}.is-breaking.is-premium`, WAIT);
    await subscriber.waitForSelector(li(s2.id), WAIT);
    await anonymous.waitForSelector(li(s2.id), WAIT);
    assert.equal(await anonymous.textContent("#breaking-link"), s2.title);
    assert.equal(await anonymous.locator(li(b.id)).count(), 0);
    assert.equal(received(anonymous, (m) => m.type === "article" && m.article.id === b.id).length, 0);
  });

  await step("the subscriber can switch the category off and on like the others", async () => {
    const off = await subscriber.evaluate((category) => new Promise((resolve) => {
      const stop = window.newspush.on("subscribed", (m) => { if (!m.categories.includes(category)) { stop(); resolve(m.categories); } });
      document.querySelector(".chip-premium").click();
    }), PREMIUM);
    assert.ok(!off.includes(PREMIUM));
    assert.equal(await subscriber.getAttribute(chip, "aria-pressed"), "false");
    const on = await subscriber.evaluate((category) => new Promise((resolve) => {
      const stop = window.newspush.on("subscribed", (m) => { if (m.categories.includes(category)) { stop(); resolve(m.categories); } });
      document.querySelector(".chip-premium").click();
    }), PREMIUM);
    assert.ok(on.includes(PREMIUM));
    assert.deepEqual(received(subscriber, (m) => m.type === "error"), []);
  });

  await step("screenshots", async () => {
    await subscriber.screenshot({ path: path.join(artifacts, "premium-page-subscriber.png") });
    await anonymous.screenshot({ path: path.join(artifacts, "premium-page-anonymous.png") });
    await subscriber.setViewportSize({ width: 390, height: 844 });
    const overflow = await subscriber.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling on a phone (${overflow}px)`);
    assert.deepEqual(anonymous.errors, []);
    assert.deepEqual(subscriber.errors, []);
  });
});

test("the demo page: a forged token leaves the category locked, with the server's reason", async (t) => {
  const { redis, server } = await stack(t);
  const context = await launch(t);
  const forged = readerToken({ secret: "not-the-demo-secret-at-all-0123456789" });
  const page = await demoPage(context, `${server.http}/#token=${forged}`);
  await page.waitForSelector(`${chip}[data-premium="refused"]`, WAIT);
  assert.match(await page.textContent("#premium-note"), /refusé.*bad_signature/);
  assert.equal(await page.getAttribute(chip, "aria-pressed"), "false");
  // The page stops asking for it; public news carries on.
  await page.waitForFunction((c) => !window.newspush.categories.includes(c), PREMIUM, WAIT);
  const p1 = article(PREMIUM);
  const s1 = article("culture");
  await redis.publish(p1);
  await redis.publish(s1);
  await page.waitForSelector(li(s1.id), WAIT);
  assert.equal(await page.locator(li(p1.id)).count(), 0);
  assert.deepEqual(page.errors, []);
});

test("the demo page: a token that lapses locks the category again", async (t) => {
  const { redis, server } = await stack(t, ["--token-expiry-lead", "1"]);
  const context = await launch(t);
  const page = await demoPage(context, `${server.http}/#token=${readerToken({ ttl: 3 })}`);
  await page.waitForSelector(`${chip}[data-premium="live"]`, WAIT);
  const p1 = article(PREMIUM);
  await redis.publish(p1);
  await page.waitForSelector(li(p1.id), WAIT);

  // The demo cannot renew its token: at exp the server stops the category (token_expired).
  await page.waitForSelector(`${chip}[data-premium="expired"]`, WAIT);
  assert.match(await page.textContent("#premium-note"), /expiré/);
  assert.equal(received(page, (m) => m.type === "token_expiring").length, 1);
  assert.equal(received(page, (m) => m.type === "error" && m.code === "token_expired").length, 1);
  assert.equal(await page.isVisible(li(p1.id)), false, "what came while it was live is hidden too");
  const p2 = article(PREMIUM);
  const s1 = article("economie");
  await redis.publish(p2);
  await redis.publish(s1);
  await page.waitForSelector(li(s1.id), WAIT);
  assert.equal(await page.locator(li(p2.id)).count(), 0);
  assert.equal(await page.textContent("#status-text"), "connecté", "the connection itself carried on");
  assert.deepEqual(page.errors, []);
});
