// Registers devices with newspush-bridge through its device API (PUT /api/v1/devices/{id}), many
// requests in flight over kept-alive connections, every one opted in to breaking news and to no
// category. Node built-ins only.
//
// node register.cjs --port BRIDGE_PORT --api-key KEY --platform apns|webpush --count N
//   [--prefix ID_PREFIX] [--concurrency 64]
//   webpush: --endpoint-base http://127.0.0.1:FAKE/push/ --p256dh B64URL --auth B64URL
// Prints "registered N in S s (R/s)"; exits 1 at the first refused registration.
'use strict';
const http = require('http');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const count = Number(args.count);
const concurrency = Number(args.concurrency || 64);
const prefix = args.prefix || `${args.platform}-`;
if (!['apns', 'webpush'].includes(args.platform) || !(count > 0) || !args.port || !args['api-key']) {
  console.error('register.cjs: --port, --api-key, --platform apns|webpush and --count N are required');
  process.exit(2);
}
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function body(index) {
  const device = { categories: [], breaking: true, locale: 'fr' };
  if (args.platform === 'apns') {
    device.platform = 'apns';
    device.token = `${index.toString(16).padStart(8, '0')}${'ab'.repeat(28)}`;  // 64 hex digits
  } else {
    device.platform = 'webpush';
    device.subscription = { endpoint: `${args['endpoint-base']}${prefix}${index}`, expirationTime: null,
                            keys: { p256dh: args.p256dh, auth: args.auth } };
  }
  return JSON.stringify(device);
}

function put(index) {
  return new Promise((resolve, reject) => {
    const payload = body(index);
    const req = http.request({ host: '127.0.0.1', port: Number(args.port), method: 'PUT', agent,
                               path: `/api/v1/devices/${prefix}${index}`, timeout: 30000,
                               headers: { authorization: `Bearer ${args['api-key']}`,
                                          'content-type': 'application/json',
                                          'content-length': Buffer.byteLength(payload) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode === 201 || res.statusCode === 200) resolve();
        else reject(new Error(`${prefix}${index}: ${res.statusCode} ${Buffer.concat(chunks)}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${prefix}${index}: timeout`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function main() {
  const started = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < count) await put(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`registered ${count} in ${seconds.toFixed(2)} s (${Math.round(count / seconds)}/s)`);
  agent.destroy();
}
main().catch((e) => {
  console.error(`register.cjs: ${e.message}`);
  process.exit(1);
});
