// What each client test starts: a redis-server + newspushd pair, and clients, all stopped when
// the test ends.
import { WebSocket } from "ws";

import { connect } from "../newspush.js";
import { record } from "./recorder.mjs";
import { Newspushd, Redis } from "./support.mjs";

/** Short reconnect delays: a test waits for a reconnect, never for the defaults. */
export const FAST = { WebSocket, initialDelayMs: 50, maxDelayMs: 400 };

/** redis-server + newspushd for one test, stopped when it ends. */
export async function stack(t, args = []) {
  const redis = await Redis.start();
  t.after(() => redis.stop());
  const server = await Newspushd.start({ redis, args });
  t.after(() => server.stop("SIGKILL"));
  return { redis, server };
}

/** A client with FAST settings and a recorder of what it emits, closed when the test ends. */
export function open(t, url, options = {}) {
  const client = connect(url, { ...FAST, ...options });
  t.after(() => client.close());
  const rec = record(client);
  return { client, rec };
}
