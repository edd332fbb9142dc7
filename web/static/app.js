// The newspush demo front page: recent articles over HTTP first, then live over WebSocket (or
// Server-Sent Events where a proxy blocks WebSockets: the client falls back by itself), and the
// "Tendance" box (the overall most-read list, "*"): loaded over HTTP, then live. Opening an
// article reports a view (client.view), which feeds those lists (over WebSocket only: this demo
// has no backend to take views from an SSE page).
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
};
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

for (const chip of document.querySelectorAll(".chip")) {
  chip.setAttribute("aria-pressed", String(selected.has(chip.dataset.category)));
  chip.addEventListener("click", () => {
    const category = chip.dataset.category;
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

// Breaking articles reach everyone; they stay visible whatever the chips say.
function visible(li) {
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
  li.className = "article" + (event.breaking ? " is-breaking" : "") + (fresh ? " is-fresh" : "");
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
  const items = msg.items.filter((i) => i && typeof i.id === "string" && i.id !== "").slice(0, TRENDING_MAX);
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
  try {
    const res = await fetch(url, { headers: { accept: "application/json" }, cache: "no-store" });
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
  categories: [...selected],
  trending: ["*"], // the Tendance box, whatever the chips
  since: recent && typeof recent.cursor === "string" && recent.cursor ? recent.cursor : undefined,
});
window.newspush = client; // for the curious, from the console

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
