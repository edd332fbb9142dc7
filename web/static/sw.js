// The demo page's service worker (registered by alerts.js at scope "/"): shows the notifications
// newspush-bridge sends through the browser's push service, even with every tab closed.
// The payload is bridge/push/web_push_payload's JSON: {title, body?, url?, tag, category,
// breaking, image?}. `tag` is the article id, so a push repeated for one article (a retry, or a
// second bridge after a crash) replaces its notification instead of adding one.
"use strict";

function readPayload(data) {
  if (!data) return {};
  try {
    const payload = data.json();
    return payload && typeof payload === "object" ? payload : {};
  } catch {
    return { body: data.text() }; // not JSON: still show what came
  }
}

/** Only http(s) addresses are opened; anything else falls back to the front page. */
function safeUrl(url) {
  try {
    const parsed = new URL(url, self.location.origin);
    if (parsed.protocol === "https:" || parsed.protocol === "http:") return parsed.href;
  } catch { /* not a URL */ }
  return new URL("/", self.location.origin).href;
}

self.addEventListener("push", (event) => {
  const payload = readPayload(event.data);
  const options = {
    body: typeof payload.body === "string" ? payload.body : "",
    data: { url: safeUrl(payload.url || "/"), category: payload.category || "" },
    lang: "fr",
  };
  if (typeof payload.tag === "string" && payload.tag) options.tag = payload.tag;
  if (typeof payload.image === "string" && payload.image) options.image = payload.image;
  // Breaking news stays on screen until the reader acts on it.
  if (payload.breaking === true) options.requireInteraction = true;
  const title = typeof payload.title === "string" && payload.title ? payload.title : "newspush";
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || safeUrl("/");
  event.waitUntil(self.clients.openWindow(url));
});
