// A Web Push service for the bridge benchmark (Node built-ins only), plain HTTP/1.1 on loopback
// (the bridge runs with --webpush-allow-http). Every push is checked as a push service would:
// VAPID (RFC 8292: the ES256 JWT's signature with the k= key, aud = this origin, exp in the
// future; a token already verified is not verified again), Content-Encoding aes128gcm, TTL, and
// the body decrypted (RFC 8291) and parsed as the notification's JSON. It counts pushes per
// subscription, so a duplicate shows, and prints nothing per push (100,000 lines would cost more
// than the pushes).
//
// Every subscription shares one key pair and auth secret (made at start, printed): a real service
// has one per browser, but the bridge encrypts each message anew with a fresh ephemeral key and
// salt whatever the subscription, so its work is the same; the fake is spared 100,000 keys.
//
// node fake_web_push.cjs
// prints "listening port=PORT p256dh=B64URL auth=B64URL"; subscriptions are
// {"endpoint":"http://127.0.0.1:PORT/push/NAME","keys":{"p256dh":...,"auth":...}}.
// GET /__stats: {requests, accepted, distinct, duplicates, errors, errorSamples, tags,
//                firstAcceptedAtMs, lastAcceptedAtMs} (Unix epoch milliseconds, fractional).
'use strict';
const crypto = require('crypto');
const http = require('http');

const ecdh = crypto.createECDH('prime256v1');
ecdh.generateKeys();
const uaPublic = ecdh.getPublicKey();  // 65 bytes, uncompressed
const authSecret = crypto.randomBytes(16);
let origin = '';

const perName = new Map();
const verifiedJwts = new Map();  // JWT -> exp (seconds)
const stats = { requests: 0, accepted: 0, distinct: 0, duplicates: 0, errors: 0, errorSamples: [],
                tags: {}, firstAcceptedAtMs: 0, lastAcceptedAtMs: 0 };

function nowMs() { return performance.timeOrigin + performance.now(); }

function checkVapid(authorization) {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization || '');
  if (!match) return 'vapid_missing';
  const [, jwt, k] = match;
  const now = Math.floor(Date.now() / 1000);
  const known = verifiedJwts.get(jwt);
  if (known !== undefined) return known > now ? null : 'vapid_expired';
  const parts = jwt.split('.');
  if (parts.length !== 3) return 'vapid_malformed';
  let claims;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (header.alg !== 'ES256') return 'vapid_alg';
    const point = Buffer.from(k, 'base64url');
    if (point.length !== 65 || point[0] !== 4) return 'vapid_key';
    const key = crypto.createPublicKey({ format: 'jwk', key: { kty: 'EC', crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') } });
    const ok = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`),
                             { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2], 'base64url'));
    if (!ok) return 'vapid_signature';
  } catch (e) {
    return 'vapid_malformed';
  }
  if (claims.aud !== origin) return 'vapid_audience';
  if (!Number.isInteger(claims.exp) || claims.exp <= now || claims.exp > now + 24 * 3600) return 'vapid_exp';
  if (typeof claims.sub !== 'string') return 'vapid_sub';
  verifiedJwts.set(jwt, claims.exp);
  return null;
}

// RFC 8291 / RFC 8188: one aes128gcm record; returns the plaintext or null.
function decrypt(body) {
  if (body.length < 21) return null;
  const salt = body.subarray(0, 16);
  const idlen = body[20];
  if (idlen !== 65 || body.length < 21 + 65 + 17) return null;
  const asPublic = body.subarray(21, 86);
  const ciphertext = body.subarray(86);
  let secret;
  try {
    secret = ecdh.computeSecret(asPublic);
  } catch (e) {
    return null;
  }
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = Buffer.from(crypto.hkdfSync('sha256', secret, authSecret, keyInfo, 32));
  const cek = Buffer.from(crypto.hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(crypto.hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  try {
    const decipher = crypto.createDecipheriv('aes-128-gcm', cek, nonce);
    decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
    const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
    let end = padded.length;
    while (end > 0 && padded[end - 1] === 0) end--;
    if (end === 0 || padded[end - 1] !== 2) return null;  // the last record's delimiter
    return padded.subarray(0, end - 1);
  } catch (e) {
    return null;
  }
}

function refuse(res, status, reason) {
  stats.errors++;
  if (stats.errorSamples.length < 20) stats.errorSamples.push(reason);
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(reason);
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/__stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size <= 8192) chunks.push(c);
  });
  req.on('end', () => {
    stats.requests++;
    const match = /^\/push\/([A-Za-z0-9._:-]+)$/.exec(req.url);
    if (req.method !== 'POST' || !match) return refuse(res, 404, 'not_found');
    if (size > 4096) return refuse(res, 413, 'too_large');
    const vapidError = checkVapid(req.headers.authorization);
    if (vapidError) return refuse(res, 403, vapidError);
    if (req.headers['content-encoding'] !== 'aes128gcm') return refuse(res, 415, 'content_encoding');
    if (!/^\d+$/.test(req.headers.ttl || '')) return refuse(res, 400, 'ttl');
    const plaintext = decrypt(Buffer.concat(chunks));
    if (!plaintext) return refuse(res, 400, 'decrypt');
    let doc;
    try {
      doc = JSON.parse(plaintext.toString('utf8'));
    } catch (e) {
      return refuse(res, 400, 'payload_json');
    }
    if (typeof doc.title !== 'string' || typeof doc.tag !== 'string') return refuse(res, 400, 'payload_fields');
    const name = match[1];
    const seen = perName.get(name) || 0;
    perName.set(name, seen + 1);
    if (seen === 0) stats.distinct++;
    else stats.duplicates++;
    stats.accepted++;
    stats.tags[doc.tag] = (stats.tags[doc.tag] || 0) + 1;
    const at = nowMs();
    if (!stats.firstAcceptedAtMs) stats.firstAcceptedAtMs = at;
    stats.lastAcceptedAtMs = at;
    res.writeHead(201, { location: `/message/${stats.accepted}` });
    res.end();
  });
});
server.keepAliveTimeout = 60000;

server.listen(0, '127.0.0.1', () => {
  origin = `http://127.0.0.1:${server.address().port}`;
  console.log(`listening port=${server.address().port} p256dh=${uaPublic.toString('base64url')} ` +
              `auth=${authSecret.toString('base64url')}`);
});
process.on('SIGTERM', () => process.exit(0));
