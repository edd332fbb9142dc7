// The newspush demo front page: recent articles over HTTP first, then live over WebSocket (or
// Server-Sent Events where a proxy blocks WebSockets: the client falls back by itself), and the
// "Tendance" box (the overall most-read list, "*"): loaded over HTTP, then live. Opening an
// article reports a view (client.view), which feeds those lists (over WebSocket only: this demo
// has no backend to take views from an SSE page).
// The "enquêtes" category (premium-enquetes) is subscriber-only: newspushd (run with
// --restricted-category premium-*) pushes it only with a connection token. A site's page gets
// that token from its own backend; this demo has none, so the page takes it from its address,
// after the "#": /#token=<JWT> (scripts/demo.sh signs one and prints that address). The part after
// "#" never leaves the browser: it is not in the server's requests nor in its logs. Without a
// token the category stays locked; with one it goes live once the server accepts it.
// Plain ES module, no build step. Served by newspushd at "/", the client library at /client/.
import { connect } from "/client/newspush.js";

const CATEGORIES = {
  politique: "politique",
  societe: "société",
  economie: "économie",
  sports: "sports",
  culture: "culture",
  international: "international",
  sante: "santé",
  technologie: "technologie",
  "premium-enquetes": "enquêtes",
};
// The categories this site sells (newspushd restricts premium-*).
const PREMIUM = new Set(["premium-enquetes"]);
const MAX_ARTICLES = 100;
const TRENDING_MAX = 10;    // rows in the Tendance box
const TRENDING_PHONE = 5;   // rows shown on a phone before "Voir tout le classement"
const STORAGE_KEY = "newspush.categories";

// ?server=http://host:port points the page at another newspushd (development).
const params = new URLSearchParams(location.search);
const serverBase = params.get("server") ? new URL(params.get("server")) : new URL(location.href);
const apiBase = new URL("/api/v1/", serverBase);
const wsUrl = new URL("/ws", serverBase);
wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";

// ---- the reader's connection token (demo: from the address, #token=...) ----

const demoToken = new URLSearchParams(location.hash.slice(1)).get("token") || null;

/** The token's exp (seconds), read without checking it (the server does), or 0. */
function tokenExp(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(part + "=".repeat((4 - part.length % 4) % 4))).exp;
    return typeof exp === "number" ? exp : 0;
  } catch {
    return 0;
  }
}

/** The token while it runs, else null (an expired one would only be refused). */
function currentToken() {
  return demoToken && tokenExp(demoToken) * 1000 > Date.now() ? demoToken : null;
}

const $ = (id) => document.getElementById(id);
const list = $("articles");
const empty = $("empty");
const statusEl = $("status");
const statusText = $("status-text");
const byId = new Map(); // article id -> <li>
let client = null;      // connected once the recent list is in

// ---- categories (chips) ----

function loadSelection() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
    if (Array.isArray(saved)) return new Set(saved.filter((c) => c in CATEGORIES));
  } catch { /* private mode, bad JSON: defaults */ }
  return new Set(Object.keys(CATEGORIES));
}

const selected = loadSelection();

function saveSelection() {
  try { localStorage.setItem(STORAGE_KEY, JSON.stringify([...selected])); } catch { /* ignore */ }
}

// The premium chip's state: "locked" (no token), "pending" (a token, not yet accepted), "live",
// "refused" (the server refused the token, or it does not allow the category), "expired".
const premiumChip = document.querySelector(".chip-premium");
const premiumNote = $("premium-note");
let premiumState = currentToken() ? "pending" : "locked";

const PREMIUM_NOTES = {
  locked: "Les enquêtes sont réservées aux abonnés. Dans la démo : ouvrez l’adresse « abonné » affichée par scripts/demo.sh.",
  pending: "Vérification de votre abonnement…",
  refused: "Votre jeton d’abonné a été refusé : les enquêtes restent verrouillées.",
  expired: demoToken ? "Votre jeton d’abonné a expiré : les enquêtes ne sont plus mises à jour." : "",
};

function setPremium(state, { note = false, detail = "" } = {}) {
  premiumState = state;
  const live = state === "live";
  premiumChip.dataset.premium = state;
  premiumChip.setAttribute("aria-pressed", String(live && selected.has(premiumChip.dataset.category)));
  premiumChip.title = live ? "Rubrique réservée aux abonnés" : "Réservé aux abonnés";
  if (live || !note) {
    premiumNote.hidden = true;
  } else {
    premiumNote.textContent = (PREMIUM_NOTES[state] || PREMIUM_NOTES.locked) + (detail ? ` (${detail})` : "");
    premiumNote.hidden = false;
  }
  applyFilter();
}

/** What the page subscribes to: the chips, the premium one only with a token. */
function wantedCategories() {
  return [...selected].filter((c) => !PREMIUM.has(c) || premiumState === "pending" || premiumState === "live");
}

for (const chip of document.querySelectorAll(".chip")) {
  const premium = PREMIUM.has(chip.dataset.category);
  chip.setAttribute("aria-pressed", String(!premium && selected.has(chip.dataset.category)));
  chip.addEventListener("click", () => {
    const category = chip.dataset.category;
    if (premium && premiumState !== "live") {
      setPremium(premiumState, { note: true }); // say why it is locked
      return;
    }
    const on = !selected.has(category);
    if (on) selected.add(category); else selected.delete(category);
    chip.setAttribute("aria-pressed", String(on));
    saveSelection();
    if (client) {
      if (on) client.subscribe([category]); else client.unsubscribe([category]);
    }
    applyFilter();
  });
}
premiumChip.dataset.premium = premiumState;

// Breaking articles reach everyone; they stay visible whatever the chips say. Premium ones show
// only while the category is live (the page never asks for them without a token; this also covers
// a recent list fetched before the token was refused).
function visible(li) {
  if (PREMIUM.has(li.dataset.category) && premiumState !== "live") return false;
  return li.dataset.breaking === "true" || selected.has(li.dataset.category);
}

function applyFilter() {
  for (const li of list.children) li.hidden = !visible(li);
  updateEmpty();
}

function updateEmpty() {
  const any = [...list.children].some((li) => !li.hidden);
  empty.hidden = any;
}

// ---- articles ----

const timeFormat = new Intl.DateTimeFormat("fr-FR", { hour: "2-digit", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat("fr-FR", { dateStyle: "full", timeStyle: "short" });

function safeUrl(url) {
  try {
    const u = new URL(url, location.href);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch { return null; }
}

function renderArticle(event, { fresh }) {
  const a = event.article || {};
  const li = document.createElement("li");
  const premium = PREMIUM.has(event.category);
  li.className = "article" + (event.breaking ? " is-breaking" : "") + (premium ? " is-premium" : "") +
    (fresh ? " is-fresh" : "");
  li.dataset.id = a.id;
  li.dataset.category = event.category;
  li.dataset.breaking = String(event.breaking === true);
  if (event.cursor) li.dataset.cursor = event.cursor;

  const art = document.createElement("article");
  const meta = document.createElement("p");
  meta.className = "meta";
  const when = a.published_at && !Number.isNaN(Date.parse(a.published_at)) ? new Date(a.published_at) : new Date();
  const time = document.createElement("time");
  time.dateTime = when.toISOString();
  time.title = fullFormat.format(when);
  time.textContent = timeFormat.format(when);
  const cat = document.createElement("span");
  cat.className = "category";
  cat.textContent = CATEGORIES[event.category] || event.category;
  meta.append(time, " ", cat);
  if (event.breaking) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "urgent";
    meta.append(" ", badge);
  }
  if (premium) {
    const badge = document.createElement("span");
    badge.className = "badge badge-premium";
    badge.textContent = "abonnés";
    meta.append(" ", badge);
  }
  if (event.update) {
    const badge = document.createElement("span");
    badge.className = "badge badge-update";
    badge.textContent = "mis à jour";
    meta.append(" ", badge);
  }

  const h3 = document.createElement("h3");
  const href = safeUrl(a.url);
  if (href) {
    const link = document.createElement("a");
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = a.title;
    link.dataset.articleId = a.id; // a click reports a view (see "views" below)
    h3.append(link);
  } else {
    h3.textContent = a.title;
  }
  art.append(meta, h3);
  if (typeof a.summary === "string" && a.summary) {
    const p = document.createElement("p");
    p.className = "summary";
    p.textContent = a.summary;
    art.append(p);
  }
  li.append(art);
  li.hidden = !visible(li);
  return li;
}

/** Adds (or, for a correction, replaces) an article; `atTop` for live ones. */
function addArticle(event, { atTop = true, fresh = true } = {}) {
  const a = event.article;
  if (!a || typeof a.id !== "string") return;
  const existing = byId.get(a.id);
  if (existing && !event.update) return; // already shown (recent list + replay overlap)
  const li = renderArticle(event, { fresh });
  if (existing) {
    existing.replaceWith(li);
  } else if (atTop) {
    list.prepend(li);
  } else {
    list.append(li);
  }
  byId.set(a.id, li);
  while (list.children.length > MAX_ARTICLES) {
    const last = list.lastElementChild;
    byId.delete(last.dataset.id);
    last.remove();
  }
  updateEmpty();
}

function removeArticle(id) {
  const li = byId.get(id);
  if (li) { li.remove(); byId.delete(id); updateEmpty(); }
  if (banner.dataset.id === id) hideBanner();
}

// ---- breaking banner ----

const banner = $("breaking");
function showBanner(event) {
  const a = event.article || {};
  banner.dataset.id = a.id;
  $("breaking-category").textContent = CATEGORIES[event.category] || event.category;
  const link = $("breaking-link");
  link.textContent = a.title;
  const href = safeUrl(a.url);
  if (href) { link.href = href; link.removeAttribute("aria-disabled"); } else { link.removeAttribute("href"); }
  if (typeof a.id === "string") link.dataset.articleId = a.id; else delete link.dataset.articleId;
  banner.hidden = false;
}
function hideBanner() {
  banner.hidden = true;
  delete banner.dataset.id;
}
$("breaking-close").addEventListener("click", hideBanner);

// ---- trending ("Tendance": the overall list "*") ----

const trendingBox = $("trending-box");
const trendingList = $("trending");
const trendingEmpty = $("trending-empty");
const trendingMore = $("trending-more");
const scoreFormat = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });
let trendingAt = -1; // `at` of the list shown: an older one (a slow HTTP answer) never replaces it

function trendingRow(item) {
  const li = document.createElement("li");
  li.className = "trend";
  li.dataset.id = item.id;
  const rank = document.createElement("span");
  rank.className = "trend-rank";
  const body = document.createElement("div");
  body.className = "trend-body";
  const meta = document.createElement("p");
  meta.className = "trend-meta";
  const cat = document.createElement("span");
  cat.className = "category";
  const score = document.createElement("span");
  score.className = "trend-score";
  score.title = "Lectures récentes, les plus fraîches comptent davantage";
  meta.append(cat, " ", score);
  body.append(document.createElement("span"), meta); // the title goes first (see fillTrendingRow)
  li.append(rank, body);
  return li;
}

// Updates a row in place (a live region announces changed text, not a whole new row).
function fillTrendingRow(li, item, rank) {
  const previous = Number(li.dataset.rank) || 0;
  li.dataset.rank = String(rank);
  li.dataset.category = item.category || "";
  setText(li.querySelector(".trend-rank"), String(rank));
  const body = li.querySelector(".trend-body");
  const href = safeUrl(item.url);
  let title = body.firstElementChild;
  if ((title.tagName === "A") !== Boolean(href)) {
    const replacement = document.createElement(href ? "a" : "span");
    title.replaceWith(replacement);
    title = replacement;
  }
  title.className = "trend-title";
  if (href) {
    if (title.getAttribute("href") !== href) title.href = href;
    title.target = "_blank";
    title.rel = "noopener";
    title.dataset.articleId = item.id;
  }
  setText(title, typeof item.title === "string" && item.title ? item.title : item.id);
  setText(li.querySelector(".category"), CATEGORIES[item.category] || item.category || "");
  const score = Number(item.score);
  setText(li.querySelector(".trend-score"), Number.isFinite(score) ? `score ${scoreFormat.format(score)}` : "");
  // A row that climbed flashes once.
  li.classList.remove("is-up");
  if (previous > rank) { void li.offsetWidth; li.classList.add("is-up"); }
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** Shows a `trending` message (live, or the body of GET /api/v1/trending) if it is the overall list. */
function showTrending(msg) {
  if (!msg || msg.category !== "*" || !Array.isArray(msg.items)) return; // category lists: not shown
  const at = typeof msg.at === "number" ? msg.at : 0;
  if (at < trendingAt) return;
  trendingAt = at;
  const items = msg.items
    .filter((i) => i && typeof i.id === "string" && i.id !== "")
    .filter((i) => !PREMIUM.has(i.category) || premiumState === "live") // as the list: locked, hidden
    .slice(0, TRENDING_MAX);
  const rows = new Map([...trendingList.children].map((li) => [li.dataset.id, li]));
  items.forEach((item, i) => {
    let li = rows.get(item.id);
    rows.delete(item.id);
    if (!li) li = trendingRow(item);
    fillTrendingRow(li, item, i + 1);
    // Move only what is out of place.
    if (trendingList.children[i] !== li) trendingList.insertBefore(li, trendingList.children[i] || null);
  });
  for (const li of rows.values()) li.remove();
  trendingList.dataset.at = String(at);
  trendingEmpty.hidden = items.length > 0;
  trendingMore.hidden = items.length <= TRENDING_PHONE;
}

trendingMore.addEventListener("click", () => {
  const expanded = trendingBox.dataset.expanded !== "true";
  trendingBox.dataset.expanded = String(expanded);
  trendingMore.setAttribute("aria-expanded", String(expanded));
  trendingMore.textContent = expanded ? "Réduire le classement" : "Voir tout le classement";
});

async function fetchTrending() {
  const url = new URL("trending", apiBase);
  url.searchParams.set("category", "*");
  try {
    const res = await fetch(url, { headers: { accept: "application/json" }, cache: "no-store" });
    if (!res.ok) return null; // an older server: the live lists will do
    const body = await res.json();
    return body && body.type === "trending" ? body : null;
  } catch {
    return null;
  }
}

// ---- views: opening an article (left or middle click, keyboard) feeds the trending lists ----

function reportView(event) {
  const link = event.target instanceof Element ? event.target.closest("a[data-article-id]") : null;
  if (link && client) client.view(link.dataset.articleId); // once per id; never answered
}
document.addEventListener("click", reportView);
document.addEventListener("auxclick", (event) => { if (event.button === 1) reportView(event); });

// ---- connection status ----

let connections = 0;
function setStatus(state, text) {
  statusEl.dataset.state = state;
  statusText.textContent = text;
}

// ---- recent list over HTTP, then live ----

async function fetchRecent() {
  const url = new URL("articles", apiBase);
  url.searchParams.set("category", "*");
  url.searchParams.set("limit", "30");
  const headers = { accept: "application/json" };
  // The subscriber's list includes what the token allows (GET takes it as a Bearer token).
  const token = currentToken();
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    const res = await fetch(url, { headers, cache: "no-store" });
    if (!res.ok) return null; // 404 until the server has the endpoint: just go live
    const body = await res.json();
    return body && Array.isArray(body.events) ? body : null;
  } catch {
    return null;
  }
}

function renderRecent(body) {
  // Newest first, as the server sends them.
  for (const event of body.events) {
    if (event.type === "article") addArticle(event, { atTop: false, fresh: false });
  }
}

// The current Tendance list in parallel with the recent articles; whichever of it and the live
// lists is newer (`at`) stays.
fetchTrending().then(showTrending);
const recent = await fetchRecent();
if (recent) renderRecent(recent);

client = connect(wsUrl.href, {
  categories: wantedCategories(),
  trending: ["*"], // the Tendance box, whatever the chips
  since: recent && typeof recent.cursor === "string" && recent.cursor ? recent.cursor : undefined,
  // A site's page would fetch it from its backend here (see /client/README.md). The demo's token
  // cannot be renewed: on token_expiring ("refresh") there is none, and it lapses at its exp.
  getToken: demoToken ? async ({ reason }) => (reason === "connect" ? currentToken() : null) : null,
});
window.newspush = client; // for the curious, from the console

// ---- the premium category follows what the server says of the token ----

client.on("authenticated", () => {
  if (premiumState === "pending" || premiumState === "live") setPremium("live");
});
client.on("invalid_token", ({ reason }) => {
  client.unsubscribe([...PREMIUM]); // no other token will come: stop asking
  setPremium("refused", { note: true, detail: reason });
});
client.on("forbidden", ({ category }) => {
  if (!PREMIUM.has(category)) return;
  client.unsubscribe([category]);
  // After invalid_token (which said why) the subscribe that followed is refused too.
  if (premiumState !== "refused") setPremium("refused", { note: true });
});
client.on("token_expired", ({ categories }) => {
  if (!categories.some((c) => PREMIUM.has(c))) return;
  client.unsubscribe([...PREMIUM]);
  setPremium("expired", { note: true });
});
client.on("status", (s) => {
  // A reconnect after the token ran out goes anonymous: the category is locked again.
  if (s.state === "connecting" && premiumState === "live" && !currentToken()) {
    client.unsubscribe([...PREMIUM]);
    setPremium("expired", { note: true });
  }
});

client.on("article", (event) => {
  addArticle(event);
  if (event.breaking) showBanner(event);
});
client.on("retract", (event) => removeArticle(event.id));
client.on("trending", showTrending);
client.on("status", async (s) => {
  switch (s.state) {
    case "connecting":
      if (connections === 0) setStatus("connecting", "connexion…");
      break;
    case "open":
      connections++;
      setStatus("open", "connecté");
      // WebSocket, or Server-Sent Events where a proxy blocks WebSockets (the client falls back).
      statusEl.dataset.transport = s.transport || "websocket";
      $("transport").textContent = s.transport === "sse" ? "Server-Sent Events" : "WebSocket";
      break;
    case "reconnecting":
      setStatus("reconnecting", "reconnexion…");
      break;
    case "resumed":
      // Caught up after an outage (or since the recent list was fetched): say how much came in.
      if (connections > 1 || s.replayed > 0) setStatus("resumed", `repris ${s.replayed}`);
      break;
    case "reset": {
      // Too far behind to replay: reload the recent list and carry on live.
      setStatus("reset", "rechargé");
      const fresh = await fetchRecent();
      if (fresh) {
        list.replaceChildren();
        byId.clear();
        renderRecent(fresh);
        applyFilter();
      }
      break;
    }
    case "closed":
      setStatus("closed", s.reason ? `arrêté (${s.reason})` : "déconnecté");
      break;
  }
});
