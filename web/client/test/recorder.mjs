// Records a client's events and waits on them (event-driven, bounded; no sleeps).
const NAMES = ["article", "breaking", "trending", "retract", "status", "error", "subscribed", "welcome", "pong",
  "authenticated", "token_expiring", "forbidden", "invalid_token", "token_expired"];

export function record(client) {
  const events = [];
  const waiters = new Set();
  for (const name of NAMES) {
    client.on(name, (payload) => {
      events.push({ name, payload });
      for (const w of [...waiters]) w.check();
    });
  }
  return {
    events,
    /** Index to pass as `after` so that only later events count. */
    mark: () => events.length,
    all: (name, after = 0) => events.slice(after).filter((e) => e.name === name).map((e) => e.payload),
    articles: (after = 0) => events.slice(after).filter((e) => e.name === "article").map((e) => e.payload),
    states: (after = 0) => events.slice(after).filter((e) => e.name === "status").map((e) => e.payload.state),
    /** Resolves with the first `name` event (from index `after`) matching `pred`. */
    waitFor(name, pred = () => true, { after = 0, timeoutMs = 10000 } = {}) {
      return new Promise((resolve, reject) => {
        const w = {
          check() {
            for (let i = after; i < events.length; i++) {
              const e = events[i];
              if (e.name === name && pred(e.payload)) {
                waiters.delete(w);
                clearTimeout(w.timer);
                resolve(e.payload);
                return;
              }
            }
          },
        };
        w.timer = setTimeout(() => {
          waiters.delete(w);
          const seen = events.slice(after).map((e) => `${e.name} ${JSON.stringify(e.payload)}`).join("\n  ");
          reject(new Error(`no matching '${name}' event within ${timeoutMs} ms; events seen:\n  ${seen}`));
        }, timeoutMs);
        waiters.add(w);
        w.check();
      });
    },
  };
}

/** Resolves with the id of an article whose event arrived. */
export const byId = (id) => (e) => e.article && e.article.id === id;
