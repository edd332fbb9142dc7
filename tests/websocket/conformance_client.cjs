// Drives the echo harness with Node's `ws` (the devDependency in package.json), loaded from the
// node_modules directory given: messages of every length encoding, fragmented sends, ping, the
// close handshake from either side. Prints "ok <case>" per case; exits 1 at the first mismatch.
//
//   node conformance_client.cjs NODE_MODULES_DIR PORT
'use strict';
const path = require('path');
const WebSocket = require(path.join(process.argv[2], 'ws'));
const url = `ws://127.0.0.1:${process.argv[3]}/`;

function check(condition, what) {
  if (!condition) {
    console.log(`FAILED ${what}`);
    process.exit(1);
  }
}

function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 0 });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    // A close the case did not ask for (a failed connection) ends the run at once.
    ws.on('close', (code) => check(ws.closeExpected, `closed unexpectedly with ${code}`));
  });
}

function next(ws) {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data, isBinary })));
}

function closed(ws) {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

async function echo(ws, message, options = {}) {
  const reply = next(ws);
  ws.send(message, options);
  return reply;
}

async function main() {
  const ws = await open();
  for (const text of ['hello', '', 'κόσμε 𝄞 €']) {
    const { data, isBinary } = await echo(ws, text);
    check(!isBinary && data.toString() === text, `text echo ${text}`);
  }
  console.log('ok text');
  for (const size of [0, 125, 126, 65535, 65536, 1 << 20]) {
    const bytes = Buffer.alloc(size, 0xfe);
    const { data, isBinary } = await echo(ws, bytes);
    check(isBinary && Buffer.compare(data, bytes) === 0, `binary of ${size} bytes`);
  }
  console.log('ok lengths');
  const whole = next(ws);
  ws.send('frag1', { fin: false });
  ws.send('κόσμε', { fin: false });
  ws.send('', { fin: true });
  const fragmented = await whole;
  check(fragmented.data.toString() === 'frag1κόσμε', 'fragmented text');
  console.log('ok fragmented');
  const pong = new Promise((resolve) => ws.once('pong', resolve));
  ws.ping(Buffer.from('probe'));
  check((await pong).toString() === 'probe', 'pong payload');
  console.log('ok ping');
  const end = closed(ws);
  ws.closeExpected = true;
  ws.close(4001, 'done');
  const { code } = await end;
  check(code === 4001, `echoed close code ${code}`);
  console.log('ok client close');

  const second = await open();
  const serverEnd = closed(second);
  second.closeExpected = true;
  second.send('close-me');
  const server = await serverEnd;
  check(server.code === 1000 && server.reason === 'bye', `server close ${server.code} ${server.reason}`);
  console.log('ok server close');
}

setTimeout(() => check(false, 'timed out'), 60000);
main().then(() => process.exit(0), (error) => check(false, String(error)));
