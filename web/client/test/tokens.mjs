// Connection tokens for the tests (JWT, HS256), signed here with Node's own HMAC, never with the
// client or the server: a mistake on either side cannot hide behind the same one here.
import { createHmac } from "node:crypto";

/** The HS256 secret the tests' newspushd is given (at least 32 bytes). */
export const TOKEN_SECRET = "newspush-test-token-secret-0123456789abcdef";

/** newspushd's flags for subscriber-only categories: premium-* needs a token signed with TOKEN_SECRET. */
export const tokenArgs = (...more) => [
  "--restricted-category", "premium-*", "--token-secret", TOKEN_SECRET, ...more,
];

const b64url = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** A JWT of `claims` signed with `secret` (HS256). */
export function signToken(claims, { secret = TOKEN_SECRET, header = { alg: "HS256", typ: "JWT" } } = {}) {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

/** A reader's token: `categories` (default premium-*) for `ttl` seconds from now. */
export function readerToken({ ttl = 3600, categories = ["premium-*"], sub = "reader-1", secret } = {}) {
  const exp = Math.floor(Date.now() / 1000) + ttl;
  return signToken({ sub, exp, categories }, { secret });
}

/** The claims of a token (no check of its signature). */
export function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
}
