// End-to-end: the demo page's "Recevoir les alertes" (web/static/alerts.js) and its service worker
// (web/static/sw.js) in Debian's headless Chromium, served by a real newspushd. Offline, headless
// Chromium has no push service to subscribe to, so the service worker's push handler is driven
// through the DevTools protocol (ServiceWorker.deliverPushMessage, the notifications permission
// granted first) with payloads built as newspush-bridge builds them (bridge/push/web_push_payload:
// title, body, url, tag = article id, category, breaking, image); what it shows is read back with
// registration.getNotifications(). The button without a bridge, and with one that does not
// answer, only says so. With a real newspush-bridge (--cors-origin the page's origin), the button
// registers the subscription through the bridge's device API from the browser; there only
// PushManager.subscribe, which needs the browser vendor's push service, is stood in for by the
// page's init script (a subscription with a real P-256 key and auth secret made here).
//   node --test tests/browser/push_alerts.test.mjs
//   (NEWSPUSHD_BIN, CHROMIUM_BIN as usual; NEWSPUSH_BRIDGE_BIN, default build/release's)
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";

import { Newspushd, Redis, repoRoot, waitUntil } from "../../web/client/test/support.mjs";
import { launch, screenshotSteps } from "./browser.mjs";

const WAIT = { timeout: 15000 };
const artifacts = path.join(repoRoot, "build", "artifacts");
const staticArgs = ["--static-dir", path.join(repoRoot, "web", "static")];

/** The JSON newspush-bridge encrypts for a browser, fields in its order. */
function bridgePayload({ id, category, title, summary, url, breaking = false, image }) {
  const payload = { title };
  if (summary) payload.body = summary;
  if (url) payload.url = url;
  payload.tag = id;
  payload.category = category;
  payload.breaking = breaking;
  if (image) payload.image = image;
  return JSON.stringify(payload);
}

/** A loopback port nothing listens on (taken, then released). */
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function stack(t) {
  const redis = await Redis.start();
  t.after(() => redis.stop());
  const server = await Newspushd.start({ redis, args: staticArgs });
  t.after(() => server.stop("SIGKILL"));
  return server;
}

async function openPage(context, url) {
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (err) => page.errors.push(String(err)));
  await page.goto(url);
  await page.waitForSelector("#push-button", WAIT);
  return page;
}

test("the alerts button without a bridge, or with one that does not answer", async (t) => {
  mkdirSync(artifacts, { recursive: true });
  const server = await stack(t);
  const context = await launch(t);

  const plain = await openPage(context, `${server.http}/`);
  const step = screenshotSteps(t, plain, artifacts, "push-alerts");
  await step("no bridge in the address: the note says how to get one", async () => {
    assert.equal(await plain.isVisible("#push-note"), false);
    await plain.click("#push-button");
    await plain.waitForSelector('#push-button[data-state="unavailable"]', WAIT);
    assert.match(await plain.textContent("#push-note"), /scripts\/demo\.sh/);
    assert.equal(await plain.isEnabled("#push-button"), true);
    // Nothing was asked of the browser: no service worker registered.
    assert.equal(await plain.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length), 0);
    assert.deepEqual(plain.errors, []);
  });

  const port = await closedPort();
  const away = await openPage(context,
    `${server.http}/#bridge=http://127.0.0.1:${port}&key=demo-key-0123456789&vapid=BAAA`);
  await step("a bridge that does not answer: said, and the button can be tried again", async () => {
    await away.click("#push-button");
    await away.waitForSelector('#push-button[data-state="unreachable"]', WAIT);
    assert.match(await away.textContent("#push-note"), new RegExp(`127\\.0\\.0\\.1:${port}.*ne répond pas`));
    assert.equal(await away.isEnabled("#push-button"), true);
    assert.equal(await away.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length), 0);
    assert.deepEqual(away.errors, []);
  });
});

test("the service worker shows the bridge's payload, a repeated tag replaces", async (t) => {
  mkdirSync(artifacts, { recursive: true });
  const server = await stack(t);
  const context = await launch(t);
  const page = await openPage(context, `${server.http}/`);
  const step = screenshotSteps(t, page, artifacts, "push-sw");

  await step("sw.js is served as JavaScript at the root", async () => {
    const reply = await fetch(`${server.http}/sw.js`);
    assert.equal(reply.status, 200);
    assert.match(reply.headers.get("content-type"), /^text\/javascript/);
    assert.match(await reply.text(), /addEventListener\("push"/);
  });

  await context.grantPermissions(["notifications"], { origin: server.http });
  const cdp = await context.newCDPSession(page);
  const registrations = new Map(); // scope -> registration id
  cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations: updated }) => {
    for (const r of updated) if (!r.isDeleted) registrations.set(r.scopeURL, r.registrationId);
  });
  // The browser drops a push for a registration whose worker it does not yet count as activated
  // (the page's `ready` can resolve first): the versions it reports say when.
  const activated = new Set(); // registration ids
  cdp.on("ServiceWorker.workerVersionUpdated", ({ versions }) => {
    for (const v of versions) if (v.status === "activated") activated.add(v.registrationId);
  });
  await cdp.send("ServiceWorker.enable");
  const scope = await page.evaluate(async () => {
    const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    await navigator.serviceWorker.ready;
    return registration.scope;
  });
  assert.equal(scope, `${server.http}/`);
  await waitUntil(() => registrations.has(scope) && activated.has(registrations.get(scope)), 10000,
    "the registration and its activated worker seen over CDP");
  const push = (data) => cdp.send("ServiceWorker.deliverPushMessage",
    { origin: server.http, registrationId: registrations.get(scope), data });
  const shown = () => page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    return (await registration.getNotifications()).map((n) => ({
      title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url, image: n.image,
      requireInteraction: n.requireInteraction,
    }));
  });
  const waitShown = async (pred, what) => {
    let last = [];
    await waitUntil(async () => pred(last = await shown()), 10000, what).catch(() => {
      throw new Error(`${what}: shown ${JSON.stringify(last)}`);
    });
    return last;
  };

  // In a fresh headless profile the first push's notification was sometimes not shown (3 runs in
  // 10), every later one always was; one shown from the page first (then closed) made the first
  // push reliable. Chromium's notification service, not sw.js: the steps below test sw.js.
  await step("the page itself can show and close a notification", async () => {
    await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      await registration.showNotification("newspush", { tag: "page-check" });
    });
    await waitShown((list) => list.some((n) => n.tag === "page-check"), "the page's notification");
    await page.evaluate(async () => {
      for (const n of await (await navigator.serviceWorker.ready).getNotifications()) n.close();
    });
    await waitShown((list) => list.length === 0, "no notification left");
  });

  await step("a push shows the article's title, summary, tag and url", async () => {
    const first = bridgePayload({ id: "eco-1", category: "economie", title: "La BCE baisse ses taux",
      summary: "Première baisse depuis 2019 : l’euro recule.", url: "https://news.example.org/eco-1" });
    // Even so, headless Chromium still drops the very first push of a fresh profile now and then
    // (2 runs in 10 on a loaded machine; every later push always arrives). A push service
    // redelivers what was not acknowledged; here the same push (same tag: it can only replace)
    // is delivered again, at most twice, before the check below, which still wants exactly one.
    for (let attempt = 0; attempt < 3; ++attempt) {
      await push(first);
      const arrived = await waitUntil(async () => (await shown()).length > 0, 3000, "a notification")
        .then(() => true, () => false);
      if (arrived) break;
    }
    const [n, ...more] = await waitShown((list) => list.length === 1, "one notification");
    assert.deepEqual(more, []);
    assert.equal(n.title, "La BCE baisse ses taux");
    assert.equal(n.body, "Première baisse depuis 2019 : l’euro recule.");
    assert.equal(n.tag, "eco-1");
    assert.equal(n.url, "https://news.example.org/eco-1");
    assert.equal(n.requireInteraction, false);
  });

  await step("the same article again replaces its notification", async () => {
    await push(bridgePayload({ id: "eco-1", category: "economie", title: "La BCE baisse ses taux de 0,25 point",
      summary: "Première baisse depuis 2019.", url: "https://news.example.org/eco-1" }));
    const list = await waitShown((l) => l.length === 1 && l[0].title.endsWith("0,25 point"), "eco-1 replaced");
    assert.equal(list[0].tag, "eco-1");
  });

  await step("another article adds one; breaking news stays until acted on; a bad url opens the front page", async () => {
    await push(bridgePayload({ id: "alerte-1", category: "international", title: "Séisme au Japon",
      url: "javascript:alert(1)", breaking: true, image: "https://news.example.org/seisme.jpg" }));
    const list = await waitShown((l) => l.length === 2, "two notifications");
    const alert = list.find((n) => n.tag === "alerte-1");
    assert.ok(alert, JSON.stringify(list));
    assert.equal(alert.title, "Séisme au Japon");
    assert.equal(alert.body, "");
    assert.equal(alert.requireInteraction, true);
    assert.equal(alert.image, "https://news.example.org/seisme.jpg");
    assert.equal(alert.url, `${server.http}/`);
    assert.deepEqual(page.errors, []);
  });
});

const bridgeBin = process.env.NEWSPUSH_BRIDGE_BIN ||
  path.join(repoRoot, "build", "release", "bridge", "daemon", "newspush-bridge");

/** newspush-bridge on a free port, Web Push only, the page's origin allowed; stopped with the test. */
async function startBridge(t, redis, origin, key) {
  assert.ok(existsSync(bridgeBin), `newspush-bridge not built (${bridgeBin}): run scripts/build.sh`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "newspush-bridge-page-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const vapid = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const vapidFile = path.join(dir, "vapid.pem");
  writeFileSync(vapidFile, vapid.privateKey.export({ type: "pkcs8", format: "pem" }));
  const child = spawn(bridgeBin, ["--redis", redis.url, "--listen", "127.0.0.1:0", "--api-key", key,
    "--vapid-key", vapidFile, "--cors-origin", origin], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  const exited = new Promise((resolve) => child.once("exit", resolve));
  t.after(async () => { child.kill("SIGKILL"); await exited; });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`newspush-bridge did not listen:\n${log}`)), 15000);
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const m = log.match(/bridge_listening address=127\.0\.0\.1 port=(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`newspush-bridge exited ${code}:\n${log}`)); });
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200, 15000,
    "the bridge ready");
  const publicKey = vapid.publicKey.export({ type: "spki", format: "der" }).subarray(-65).toString("base64url");
  return { url, publicKey };
}

test("the alerts button registers the subscription with a real bridge", async (t) => {
  mkdirSync(artifacts, { recursive: true });
  const redis = await Redis.start();
  t.after(() => redis.stop());
  const server = await Newspushd.start({ redis, args: staticArgs });
  t.after(() => server.stop("SIGKILL"));
  const key = `page-test-${crypto.randomBytes(8).toString("hex")}`;
  const bridge = await startBridge(t, redis, server.http, key);
  const context = await launch(t);
  await context.grantPermissions(["notifications"], { origin: server.http });

  const ecdh = crypto.createECDH("prime256v1");
  const subscription = {
    endpoint: "https://push.example.org/send/page-test-1",
    expirationTime: null,
    keys: { p256dh: ecdh.generateKeys().toString("base64url"), auth: crypto.randomBytes(16).toString("base64url") },
  };
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (err) => page.errors.push(String(err)));
  // The browser vendor's push service stands in here (none offline): subscribe answers this
  // subscription and keeps the applicationServerKey it was given.
  await page.addInitScript((sub) => {
    PushManager.prototype.subscribe = async function (options) {
      window.__applicationServerKey = Array.from(new Uint8Array(options.applicationServerKey));
      return { ...sub, toJSON: () => sub };
    };
  }, subscription);
  await page.goto(`${server.http}/#bridge=${bridge.url}&key=${key}&vapid=${bridge.publicKey}`);
  const step = screenshotSteps(t, page, artifacts, "push-bridge");

  await step("the reader drops sports, then turns alerts on", async () => {
    await page.click('.chip[data-category="sports"]');
    await page.click("#push-button");
    await page.waitForSelector('#push-button[data-state="on"]', WAIT).catch(async (err) => {
      throw new Error(`${err.message}\nnote: ${await page.textContent("#push-note")}`);
    });
    assert.match(await page.textContent("#push-note"), /Alertes activées/);
    const given = Buffer.from(await page.evaluate(() => window.__applicationServerKey)).toString("base64url");
    assert.equal(given, bridge.publicKey, "subscribed with the bridge's VAPID public key");
    assert.deepEqual(page.errors, []);
  });

  await step("the bridge stored it: webpush, the picked categories, breaking news", async () => {
    const id = await page.evaluate(() => localStorage.getItem("newspush.push-device"));
    assert.match(id, /^web-/);
    const reply = await fetch(`${bridge.url}/api/v1/devices/${id}`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(reply.status, 200);
    const device = await reply.json();
    assert.equal(device.platform, "webpush");
    assert.equal(device.breaking, true);
    assert.deepEqual([...device.categories].sort(),
      ["culture", "economie", "international", "politique", "sante", "societe", "technologie"]);
    const stored = typeof device.subscription === "string" ? JSON.parse(device.subscription) : device.subscription;
    assert.equal(stored.endpoint, subscription.endpoint);
  });
});
