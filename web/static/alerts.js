// "Recevoir les alertes": notifications from newspush-bridge (Web Push) for the categories the
// reader picked on the page, and breaking news, even with the tab closed.
// The bridge's device API takes an API key, which a real site keeps on its backend (the page
// would ask the backend to register the subscription). This demo has no backend: scripts/demo.sh
// prints an address of the page whose part after "#" carries the bridge's URL, a demo-only key
// and the bridge's VAPID public key: /#bridge=http://127.0.0.1:8090&key=...&vapid=... (never sent
// to newspushd; the bridge is run with --cors-origin for this page's origin).
// Without those, or when the bridge does not answer, the button says so and nothing else happens.
const STORAGE_CATEGORIES = "newspush.categories"; // app.js's chips
const STORAGE_DEVICE = "newspush.push-device";
const ALL = ["politique", "societe", "economie", "sports", "culture", "international", "sante", "technologie"];

const fragment = new URLSearchParams(location.hash.slice(1));
const bridge = {
  url: fragment.get("bridge"),
  key: fragment.get("key"),
  vapid: fragment.get("vapid"),
};

const button = document.getElementById("push-button");
const note = document.getElementById("push-note");

function say(state, text) {
  button.dataset.state = state;
  note.textContent = text;
  note.hidden = !text;
}

/** The chips the reader kept on; subscriber-only ones never (the bridge knows no tokens). */
function pickedCategories() {
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem(STORAGE_CATEGORIES) || "null"); } catch { /* defaults */ }
  const picked = Array.isArray(saved) ? saved : ALL;
  return picked.filter((c) => ALL.includes(c));
}

function deviceId() {
  let id = null;
  try { id = localStorage.getItem(STORAGE_DEVICE); } catch { /* private mode */ }
  if (!id) {
    id = `web-${crypto.getRandomValues(new Uint32Array(2)).join("-")}`;
    try { localStorage.setItem(STORAGE_DEVICE, id); } catch { /* a new id next time */ }
  }
  return id;
}

function vapidKeyBytes(base64url) {
  const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

async function bridgeAnswers() {
  try {
    const reply = await fetch(new URL("/healthz", bridge.url), { cache: "no-store" });
    return reply.ok;
  } catch {
    return false; // not listening, or no CORS for this origin
  }
}

async function enable() {
  if (!bridge.url || !bridge.key || !bridge.vapid) {
    say("unavailable", "Les alertes passent par newspush-bridge : lancez scripts/demo.sh et ouvrez l’adresse « alertes » qu’il affiche.");
    return;
  }
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say("unsupported", "Ce navigateur ne sait pas recevoir de notifications push.");
    return;
  }
  button.disabled = true;
  say("pending", "Connexion à la passerelle d’alertes…");
  try {
    if (!(await bridgeAnswers())) {
      say("unreachable", `La passerelle d’alertes (${bridge.url}) ne répond pas : réessayez plus tard.`);
      return;
    }
    const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    if ((await Notification.requestPermission()) !== "granted") {
      say("denied", "Notifications refusées : autorisez-les pour ce site dans le navigateur.");
      return;
    }
    await navigator.serviceWorker.ready;
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: vapidKeyBytes(bridge.vapid),
    });
    const categories = pickedCategories();
    const reply = await fetch(new URL(`/api/v1/devices/${encodeURIComponent(deviceId())}`, bridge.url), {
      method: "PUT",
      headers: { authorization: `Bearer ${bridge.key}`, "content-type": "application/json" },
      body: JSON.stringify({ platform: "webpush", subscription: subscription.toJSON(), categories, breaking: true, locale: "fr" }),
    });
    if (!reply.ok) {
      const detail = await reply.json().catch(() => ({}));
      say("failed", `La passerelle a refusé l’inscription (${reply.status} ${detail.error || ""}).`);
      return;
    }
    say("on", `Alertes activées : dernière minute et ${categories.length} rubrique(s).`);
  } catch (err) {
    say("failed", `Impossible d’activer les alertes : ${err.message || err}`);
  } finally {
    button.disabled = false;
  }
}

button.addEventListener("click", () => { enable(); });
