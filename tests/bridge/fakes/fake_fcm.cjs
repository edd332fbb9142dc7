// A fake Firebase Cloud Messaging for the bridge's tests and demo (Node built-ins only): the
// OAuth2 token endpoint and the HTTP v1 send endpoint over plain HTTP/1.1 on loopback.
//
// It checks what Google checks: the assertion's RS256 signature (with the service account's
// public key) and claims, the Bearer token, the message's fields and size. It prints a line per
// notification a phone would show ("notify fcm token=... title=... body=..."), answers
// GET /__stats, and plays errors chosen by the token's prefix:
//   dead-   404 NOT_FOUND, errorCode UNREGISTERED    bad-   400 INVALID_ARGUMENT
//   flaky-  503 UNAVAILABLE (Retry-After: 1) the first --flaky-failures times, then accepted
//   quota-  429 QUOTA_EXCEEDED (Retry-After: 2)       slow-  answered after --slow-ms
//   drop-   the connection closed unanswered           hang-  never answered
// POST /__revoke makes every access token issued so far invalid (401: the bridge must renew).
//
// node fake_fcm.cjs --public-key FILE --client-email E --project-id P [--token-lifetime S]
//   [--flaky-failures N] [--slow-ms MS] [--port N]      prints "listening http=PORT"
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const publicKey = crypto.createPublicKey(fs.readFileSync(args['public-key']));
const clientEmail = args['client-email'];
const projectId = args['project-id'];
const tokenLifetime = Number(args['token-lifetime'] || 3600);
const flakyFailures = Number(args['flaky-failures'] || 2);
const slowMs = Number(args['slow-ms'] || 3000);
const scope = 'https://www.googleapis.com/auth/firebase.messaging';
const maxMessageBytes = 4096;

const stats = { connections: 0, tokenRequests: 0, tokensIssued: 0, tokenRefusals: [], sends: 0,
                accepted: 0, unauthorized: 0, invalid: [], byToken: {}, notifications: [] };
const tokens = new Map();  // access token -> expiry (ms)
const flakyCounts = new Map();
let port = 0;
let nextId = 1;

function b64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

function json(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
  res.end(JSON.stringify(body));
}

function fcmError(res, status, statusName, message, errorCode, headers) {
  const error = { code: status, message, status: statusName };
  if (errorCode) error.details = [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }];
  json(res, status, { error }, headers);
}

// RFC 7523 assertion: what Google's token endpoint checks.
function checkAssertion(assertion) {
  const parts = (assertion || '').split('.');
  if (parts.length !== 3) return 'not a compact JWT';
  let header;
  let claims;
  try {
    header = b64urlJson(parts[0]);
    claims = b64urlJson(parts[1]);
  } catch (e) {
    return 'undecodable JWT';
  }
  if (header.alg !== 'RS256' || header.typ !== 'JWT') return `header ${JSON.stringify(header)}`;
  const ok = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), publicKey,
                           Buffer.from(parts[2], 'base64url'));
  if (!ok) return 'bad signature';
  const now = Math.floor(Date.now() / 1000);
  if (claims.iss !== clientEmail) return `iss ${claims.iss}`;
  if (claims.scope !== scope) return `scope ${claims.scope}`;
  if (claims.aud !== `http://127.0.0.1:${port}/token`) return `aud ${claims.aud}`;
  if (!Number.isInteger(claims.iat) || Math.abs(claims.iat - now) > 300) return `iat ${claims.iat}`;
  if (!Number.isInteger(claims.exp) || claims.exp <= now || claims.exp - claims.iat > 3600) return `exp ${claims.exp}`;
  return null;
}

function onToken(req, res, body) {
  stats.tokenRequests++;
  if (!/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] || '')) {
    stats.tokenRefusals.push('content-type');
    return json(res, 400, { error: 'invalid_request', error_description: 'content-type' });
  }
  const form = new URLSearchParams(body);
  if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
    stats.tokenRefusals.push('grant_type');
    return json(res, 400, { error: 'unsupported_grant_type' });
  }
  const problem = checkAssertion(form.get('assertion'));
  if (problem) {
    stats.tokenRefusals.push(problem);
    return json(res, 400, { error: 'invalid_grant', error_description: problem });
  }
  const token = `fake-access-${++stats.tokensIssued}-${crypto.randomBytes(6).toString('hex')}`;
  tokens.set(token, Date.now() + tokenLifetime * 1000);
  json(res, 200, { access_token: token, expires_in: tokenLifetime, token_type: 'Bearer' });
}

// The fields the bridge sends (bridge/push/fcm.hpp), checked as FCM would refuse them.
function checkMessage(body) {
  if (Buffer.byteLength(body) > maxMessageBytes) return 'message larger than 4096 bytes';
  let doc;
  try {
    doc = JSON.parse(body);
  } catch (e) {
    return 'body is not JSON';
  }
  const m = doc.message;
  if (!m || typeof m !== 'object') return 'no message';
  if ((m.token === undefined) === (m.topic === undefined)) return 'exactly one of token and topic';
  const n = m.notification;
  if (!n || typeof n.title !== 'string' || n.title === '') return 'notification.title';
  if (n.body !== undefined && typeof n.body !== 'string') return 'notification.body';
  if (m.data) {
    for (const [k, v] of Object.entries(m.data)) if (typeof v !== 'string') return `data.${k} must be a string`;
  }
  const a = m.android;
  if (!a || !['high', 'normal'].includes(a.priority)) return 'android.priority';
  if (typeof a.collapse_key !== 'string' || a.collapse_key === '') return 'android.collapse_key';
  if (typeof a.ttl !== 'string' || !/^\d+(\.\d{1,9})?s$/.test(a.ttl)) return 'android.ttl';
  return null;
}

function onSend(req, res, body) {
  stats.sends++;
  const auth = req.headers.authorization || '';
  const bearer = auth.startsWith('Bearer ') ? auth.slice(7) : '';
  const expiry = tokens.get(bearer);
  if (!expiry || expiry < Date.now()) {
    stats.unauthorized++;
    return fcmError(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
  }
  const problem = checkMessage(body);
  if (problem) {
    stats.invalid.push(problem);
    return fcmError(res, 400, 'INVALID_ARGUMENT', problem, 'INVALID_ARGUMENT');
  }
  const m = JSON.parse(body).message;
  const target = m.token || `/topics/${m.topic}`;
  stats.byToken[target] = (stats.byToken[target] || 0) + 1;
  const accept = () => {
    stats.accepted++;
    const shown = { token: target, title: m.notification.title, body: m.notification.body || '',
                    collapse_key: m.android.collapse_key, priority: m.android.priority, data: m.data || {} };
    stats.notifications.push(shown);
    console.log(`notify fcm token=${target} priority=${shown.priority} collapse=${shown.collapse_key} ` +
                `title=${JSON.stringify(shown.title)} body=${JSON.stringify(shown.body)}`);
    json(res, 200, { name: `projects/${projectId}/messages/${nextId++}` });
  };
  if (target.startsWith('dead-')) {
    return fcmError(res, 404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED');
  }
  if (target.startsWith('bad-')) {
    return fcmError(res, 400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token',
                    'INVALID_ARGUMENT');
  }
  if (target.startsWith('quota-')) {
    return fcmError(res, 429, 'RESOURCE_EXHAUSTED', 'Quota exceeded.', 'QUOTA_EXCEEDED', { 'retry-after': '2' });
  }
  if (target.startsWith('flaky-')) {
    const seen = flakyCounts.get(target) || 0;
    flakyCounts.set(target, seen + 1);
    if (seen < flakyFailures) {
      return fcmError(res, 503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE',
                      { 'retry-after': '1' });
    }
  }
  if (target.startsWith('drop-')) return req.socket.destroy();
  if (target.startsWith('hang-')) return;
  if (target.startsWith('slow-')) return setTimeout(accept, slowMs);
  accept();
}

const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size <= 65536) chunks.push(c);
  });
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    if (req.method === 'GET' && req.url === '/__stats') return json(res, 200, stats);
    if (req.method === 'POST' && req.url === '/__revoke') {
      tokens.clear();
      return json(res, 200, {});
    }
    if (req.method === 'POST' && req.url === '/token') return onToken(req, res, body);
    if (req.method === 'POST' && req.url === `/v1/projects/${projectId}/messages:send`) return onSend(req, res, body);
    fcmError(res, 404, 'NOT_FOUND', `no such path ${req.method} ${req.url}`);
  });
});
server.on('connection', () => stats.connections++);
server.listen(Number(args.port || 0), '127.0.0.1', () => {
  port = server.address().port;
  console.log(`listening http=${port}`);
});
process.on('SIGTERM', () => process.exit(0));
