// A fake Apple Push Notification service for the bridge's tests and demo (Node built-ins only):
// HTTP/2 over TLS (no HTTP/1.1), its certificate signed by a test CA the bridge is given with
// --provider-ca; a plain HTTP/1.1 admin port for GET /__stats.
//
// It checks what APNs checks: the ES256 provider token (signature with the .p8 key's public
// half, kid, iss = team id, iat at most an hour old; a new token within --min-token-interval-ms
// of the previous one is refused with 429 TooManyProviderTokenUpdates), apns-topic,
// apns-push-type, apns-priority, apns-collapse-id (<= 64 bytes), apns-expiration, the payload
// (JSON with aps.alert, <= 4096 bytes). It prints a line per notification a phone would show
// ("notify apns token=... title=... body=...") and plays errors chosen by the token's prefix:
//   dead-    410 Unregistered           bad-     400 BadDeviceToken
//   topic-   400 DeviceTokenNotForTopic  expired- 403 ExpiredProviderToken
//   flaky-   503 ServiceUnavailable (Retry-After: 1) the first --flaky-failures times
//   quota-   429 TooManyRequests         slow-    answered after --slow-ms
//   drop-    the connection closed (every stream on it) hang-  never answered
//
// node fake_apns.cjs --cert FILE --key FILE --public-key FILE --key-id K --team-id T --topic B
//   [--min-token-interval-ms MS] [--flaky-failures N] [--slow-ms MS] [--quiet 1]
// prints "listening h2=PORT admin=PORT"
// --quiet 1 (the benchmark, loadtest/bridge/): no line and no /__stats entry per notification,
// only the counts of GET /__counts (which any run answers): {requests, accepted, distinct,
// duplicates, refusals, refusedStreams, firstAcceptedAtMs, lastAcceptedAtMs} (Unix epoch
// milliseconds).
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const http2 = require('http2');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const publicKey = crypto.createPublicKey(fs.readFileSync(args['public-key']));
const keyId = args['key-id'];
const teamId = args['team-id'];
const topic = args.topic;
const minTokenIntervalMs = Number(args['min-token-interval-ms'] || 20 * 60 * 1000);
const flakyFailures = Number(args['flaky-failures'] || 2);
const slowMs = Number(args['slow-ms'] || 3000);
const quiet = args.quiet === '1';

const stats = { connections: 0, requests: 0, inFlight: 0, maxInFlight: 0, maxStreamsPerConnection: 0,
                accepted: 0, providerTokens: 0, tooManyTokenUpdates: 0, refusals: [], byToken: {},
                notifications: [] };
const verifiedTokens = new Set();
let lastNewTokenAt = 0;
const flakyCounts = new Map();
const counts = { requests: 0, accepted: 0, distinct: 0, duplicates: 0, refusals: 0, refusedStreams: 0,
                 firstAcceptedAtMs: 0, lastAcceptedAtMs: 0 };
const acceptedPerToken = new Map();

function checkProviderToken(authorization) {
  if (!authorization || !authorization.startsWith('bearer ')) return [403, 'MissingProviderToken'];
  const jwt = authorization.slice(7);
  if (verifiedTokens.has(jwt)) return expiredOrNull(jwt);
  const parts = jwt.split('.');
  if (parts.length !== 3) return [403, 'InvalidProviderToken'];
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch (e) {
    return [403, 'InvalidProviderToken'];
  }
  if (header.alg !== 'ES256' || header.kid !== keyId || claims.iss !== teamId || !Number.isInteger(claims.iat)) {
    return [403, 'InvalidProviderToken'];
  }
  const ok = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`),
                           { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2], 'base64url'));
  if (!ok) return [403, 'InvalidProviderToken'];
  const now = Date.now();
  if (lastNewTokenAt && now - lastNewTokenAt < minTokenIntervalMs) {
    stats.tooManyTokenUpdates++;
    return [429, 'TooManyProviderTokenUpdates'];
  }
  lastNewTokenAt = now;
  verifiedTokens.add(jwt);
  stats.providerTokens++;
  return expiredOrNull(jwt);
}

function expiredOrNull(jwt) {
  const claims = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
  const now = Math.floor(Date.now() / 1000);
  if (now - claims.iat > 3600 || claims.iat - now > 60) return [403, 'ExpiredProviderToken'];
  return null;
}

function checkNotification(headers, body) {
  if (headers[':method'] !== 'POST') return [405, 'MethodNotAllowed'];
  if (!headers['apns-topic']) return [400, 'MissingTopic'];
  if (headers['apns-topic'] !== topic) return [400, 'BadTopic'];
  if (headers['apns-push-type'] !== 'alert') return [400, 'InvalidPushType'];
  if (!['5', '10'].includes(headers['apns-priority'])) return [400, 'BadPriority'];
  const collapse = headers['apns-collapse-id'];
  if (collapse !== undefined && (collapse === '' || Buffer.byteLength(collapse) > 64)) return [400, 'BadCollapseId'];
  if (!/^\d+$/.test(headers['apns-expiration'] || '')) return [400, 'BadExpirationDate'];
  if (Buffer.byteLength(body) > 4096) return [413, 'PayloadTooLarge'];
  let doc;
  try {
    doc = JSON.parse(body);
  } catch (e) {
    return [400, 'BadPayload'];
  }
  if (!doc.aps || !doc.aps.alert || typeof doc.aps.alert.title !== 'string') return [400, 'PayloadEmpty'];
  return null;
}

function answer(stream, status, reason, extra = {}) {
  if (stream.destroyed || stream.closed) return;
  const headers = { ':status': status, 'apns-id': crypto.randomUUID(), ...extra };
  if (reason) {
    headers['content-type'] = 'application/json';
    const body = { reason };
    if (status === 410) body.timestamp = Date.now();
    stream.respond(headers);
    stream.end(JSON.stringify(body));
  } else {
    stream.respond(headers, { endStream: true });
  }
}

const server = http2.createSecureServer({ cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key),
                                          allowHTTP1: false });
server.on('session', (session) => {
  stats.connections++;
  session.activeStreams = 0;
  session.on('error', () => {});  // a client going away is not the fake's failure
});
server.on('stream', (stream, headers) => {
  const session = stream.session;
  stats.requests++;
  counts.requests++;
  stats.inFlight++;
  session.activeStreams++;
  stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
  stats.maxStreamsPerConnection = Math.max(stats.maxStreamsPerConnection, session.activeStreams);
  stream.on('error', () => {});  // reset by the client (its timeout): nothing to answer
  stream.on('close', () => {
    stats.inFlight--;
    session.activeStreams--;
  });
  const chunks = [];
  let size = 0;
  stream.on('data', (c) => {
    size += c.length;
    if (size <= 65536) chunks.push(c);
  });
  stream.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const match = /^\/3\/device\/([^/?]+)$/.exec(headers[':path'] || '');
    if (!match) return answer(stream, 404, 'BadPath');
    const token = match[1];
    const refusal = checkProviderToken(headers.authorization) || checkNotification(headers, body);
    if (refusal) {
      counts.refusals++;
      if (!quiet || stats.refusals.length < 20) stats.refusals.push(refusal[1]);
      return answer(stream, refusal[0], refusal[1]);
    }
    if (!quiet) stats.byToken[token] = (stats.byToken[token] || 0) + 1;
    // A notification accepted here is delivered unless its stream ends refused. Node's HTTP/2
    // server (nghttp2's rapid-reset limit: libcurl 7.88 resets every stream it has read, and
    // past 1,000 resets a session gets GOAWAY) hands streams to this handler and then closes
    // them with REFUSED_STREAM, which tells the client they were never processed; the client
    // rightly sends them again. APNs keeps that promise, so the fake does too: a refused stream
    // delivers nothing (counted in refusedStreams). Any other end (the client gave up, the
    // connection broke) counts as delivered, as a phone may well have shown it.
    const refused = () => stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM;
    const accept = () => {
      if (stream.closed || stream.destroyed) {
        if (refused()) counts.refusedStreams++;
        else deliver();
        return;
      }
      answer(stream, 200);
      stream.once('close', () => {
        if (refused()) counts.refusedStreams++;
        else deliver();
      });
    };
    const deliver = () => {
      const doc = JSON.parse(body);
      const shown = { token, title: doc.aps.alert.title, body: doc.aps.alert.body || '',
                      threadId: doc.aps['thread-id'], collapseId: headers['apns-collapse-id'],
                      priority: headers['apns-priority'], topic: headers['apns-topic'],
                      pushType: headers['apns-push-type'], expiration: Number(headers['apns-expiration']),
                      articleId: doc.article_id, url: doc.url };
      stats.accepted++;
      const seen = acceptedPerToken.get(token) || 0;
      acceptedPerToken.set(token, seen + 1);
      if (seen === 0) counts.distinct++;
      else counts.duplicates++;
      counts.accepted++;
      counts.lastAcceptedAtMs = performance.timeOrigin + performance.now();
      if (!counts.firstAcceptedAtMs) counts.firstAcceptedAtMs = counts.lastAcceptedAtMs;
      if (quiet) return;
      stats.notifications.push(shown);
      console.log(`notify apns token=${token} priority=${shown.priority} collapse=${shown.collapseId} ` +
                  `title=${JSON.stringify(shown.title)} body=${JSON.stringify(shown.body)}`);
    };
    if (!/^[A-Za-z0-9-]+$/.test(token) || token.startsWith('bad-')) return answer(stream, 400, 'BadDeviceToken');
    if (token.startsWith('dead-')) return answer(stream, 410, 'Unregistered');
    if (token.startsWith('topic-')) return answer(stream, 400, 'DeviceTokenNotForTopic');
    if (token.startsWith('expired-')) return answer(stream, 403, 'ExpiredProviderToken');
    if (token.startsWith('quota-')) return answer(stream, 429, 'TooManyRequests');
    if (token.startsWith('flaky-')) {
      const seen = flakyCounts.get(token) || 0;
      flakyCounts.set(token, seen + 1);
      if (seen < flakyFailures) return answer(stream, 503, 'ServiceUnavailable', { 'retry-after': '1' });
    }
    if (token.startsWith('drop-')) return session.destroy();
    if (token.startsWith('hang-')) return;
    if (token.startsWith('slow-')) return setTimeout(accept, slowMs);
    accept();
  });
});

const admin = http.createServer((req, res) => {
  if (req.url === '/__counts') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(counts));
  }
  res.writeHead(req.url === '/__stats' ? 200 : 404, { 'content-type': 'application/json' });
  res.end(req.url === '/__stats' ? JSON.stringify(stats) : '{}');
});

server.listen(0, '127.0.0.1', () => {
  admin.listen(0, '127.0.0.1', () => {
    console.log(`listening h2=${server.address().port} admin=${admin.address().port}`);
  });
});
process.on('SIGTERM', () => process.exit(0));
