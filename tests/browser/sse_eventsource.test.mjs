// GET /sse with Chromium's own EventSource (no newspush client): the browser reconnects by itself
// with Last-Event-ID across a drain (event: close) and a crash of newspushd, and the page ends
// with every article exactly once, in publish order.
//   node --test tests/browser/sse_eventsource.test.mjs     (NEWSPUSHD_BIN, CHROMIUM_BIN as usual)
import assert from "node:assert/strict";
import { test } from "node:test";

import { Newspushd, Redis, article } from "../../web/client/test/support.mjs";
import { launch } from "./browser.mjs";

// EventSource waits `retry` (3 s) before each reconnect: bounds are generous.
const WAIT = { timeout: 30000 };

test("a raw EventSource resumes with Last-Event-ID across a drain and a crash: every article once, in order", async (t) => {
  const redis = await Redis.start();
  t.after(() => redis.stop());
  let server = await Newspushd.start({ redis });
  t.after(() => server.stop("SIGKILL"));
  const port = server.port;

  const context = await launch(t);
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  // Any page of newspushd's origin will do: the stream is same-origin, no CORS involved.
  const res = await page.goto(`${server.http}/healthz`);
  assert.equal(res.status(), 200);

  await page.evaluate(() => {
    const log = { articles: [], subscribed: [], resumed: [], resets: [], closes: [], opens: 0, errors: 0 };
    window.sseLog = log;
    const es = new EventSource("/sse?categories=sports");
    window.es = es;
    es.onopen = () => { log.opens++; };
    es.onerror = () => { log.errors++; };
    const parse = (e) => ({ msg: JSON.parse(e.data), id: e.lastEventId });
    es.addEventListener("article", (e) => {
      const { msg, id } = parse(e);
      log.articles.push({ id: msg.article.id, cursor: msg.cursor, lastEventId: id, breaking: msg.breaking === true });
    });
    es.addEventListener("subscribed", (e) => log.subscribed.push(parse(e)));
    es.addEventListener("resumed", (e) => log.resumed.push(parse(e)));
    es.addEventListener("reset", (e) => log.resets.push(parse(e)));
    es.addEventListener("close", (e) => log.closes.push(parse(e)));
  });
  const logOf = () => page.evaluate(() => window.sseLog);
  // Resolves once the page has received article `id` (as an SSE `article` event).
  const received = (id) => page.waitForFunction((want) => window.sseLog.articles.some((a) => a.id === want), id, WAIT);

  const published = [];
  async function publish(a) {
    const { via } = await redis.publish(a);
    assert.equal(via, "fcall", "published through the history (a cursor to resume from)");
    published.push(a.id);
  }

  // --- live ---
  await page.waitForFunction(() => window.sseLog.subscribed.length === 1, null, WAIT);
  let log = await logOf();
  assert.deepEqual(log.subscribed[0].msg.categories, ["sports"]);
  assert.ok(log.subscribed[0].id, "subscribed carries an id (the head cursor)");
  assert.equal(log.subscribed[0].id, log.subscribed[0].msg.cursor);
  await publish(article("sports"));
  await redis.publish(article("politique")); // another category: never arrives
  await publish(article("sports"));
  await received(published.at(-1));

  // --- drain: event: close "shutdown", the stream ends, the browser comes back with Last-Event-ID ---
  await server.stop("SIGTERM");
  await page.waitForFunction(() => window.sseLog.closes.length === 1, null, WAIT);
  log = await logOf();
  assert.equal(log.closes[0].msg.type, "close");
  assert.equal(log.closes[0].msg.code, "shutdown");
  assert.equal(log.closes[0].id, log.articles.at(-1).cursor, "close carries no id: Last-Event-ID stays the last article's");
  await publish(article("sports", { title: "Pendant l’arrêt" }));
  await publish(article("culture", { breaking: true, title: "Urgent pendant l’arrêt" })); // breaking reaches every stream
  await publish(article("sports"));
  server = await Newspushd.start({ redis, port });
  await page.waitForFunction(() => window.sseLog.resumed.length === 1, null, WAIT);
  log = await logOf();
  assert.equal(log.resumed[0].msg.replayed, 3, "the outage's two sports articles and the breaking one");
  assert.equal(log.subscribed.length, 2);
  assert.equal(log.subscribed[1].msg.cursor, log.articles[1].cursor, "resumed from the last article seen (Last-Event-ID)");
  await publish(article("sports"));
  await received(published.at(-1));

  // --- crash: no close event, the stream just breaks ---
  const errorsBefore = (await logOf()).errors;
  await server.stop("SIGKILL");
  await page.waitForFunction((n) => window.sseLog.errors > n, errorsBefore, WAIT);
  await publish(article("sports", { title: "Pendant la panne" }));
  await publish(article("sports"));
  server = await Newspushd.start({ redis, port });
  await page.waitForFunction(() => window.sseLog.resumed.length === 2, null, WAIT);
  await publish(article("sports"));
  await publish(article("international", { breaking: true }));
  await received(published.at(-1));

  log = await logOf();
  assert.deepEqual(log.articles.map((a) => a.id), published, "every article exactly once, in publish order");
  for (const a of log.articles) assert.equal(a.lastEventId, a.cursor, `the event id of ${a.id} is its cursor`);
  assert.equal(log.resumed[1].msg.replayed, 2);
  assert.deepEqual(log.resets, []);
  assert.equal(log.closes.length, 1, "a crash sends no close event");
  assert.equal(await page.evaluate(() => window.es.readyState), 1, "OPEN: the browser reconnected by itself each time");
  assert.deepEqual(pageErrors, []);
  await page.evaluate(() => window.es.close());
});
