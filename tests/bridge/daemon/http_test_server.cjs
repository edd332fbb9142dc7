// A loopback server for HttpClient's tests, with Node's built-ins only: plain HTTP/1.1, HTTP/2
// over TLS (no HTTP/1.1 fallback) and HTTP/1.1 over TLS, all answering the same paths.
// Usage: node http_test_server.cjs CERT KEY. Prints "listening http1=P h2=P https1=P".
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const http2 = require('http2');

const [certFile, keyFile] = process.argv.slice(2);
const tls = { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };

function makeStats() {
  return { connections: 0, requests: 0, inFlight: 0, maxInFlight: 0 };
}

function handler(stats) {
  return (req, res) => {
    if (req.url === '/__stats') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(stats));
      return;
    }
    stats.requests++;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    let finished = false;
    const finish = () => {
      if (!finished) {
        finished = true;
        stats.inFlight--;
      }
    };
    res.on('close', finish);
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const parts = req.url.split('/');  // ['', 'name', 'arg']
      const name = parts[1];
      const arg = Number(parts[2] || 0);
      if (name === 'echo') {
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-echo', 'yes');
        res.end(JSON.stringify({ method: req.method, path: req.url, headers: req.headers, body,
                                 httpVersion: req.httpVersion }));
      } else if (name === 'status') {
        res.statusCode = arg;
        res.setHeader('retry-after', '7');
        res.end(`status ${arg}`);
      } else if (name === 'delay') {
        setTimeout(() => res.end(`waited ${arg}`), arg);
      } else if (name === 'hang') {
        // never answers; the client's timeout ends it
      } else if (name === 'drop') {
        // The connection closes with the request unanswered.
        if (req.stream) req.stream.session.destroy();
        else req.socket.destroy();
      } else if (name === 'big') {
        res.end(Buffer.alloc(arg, 'x'));
      } else {
        res.statusCode = 404;
        res.end('no such path');
      }
    });
  };
}

function listen(server, stats) {
  server.on('connection', () => stats.connections++);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

(async () => {
  const s1 = makeStats();
  const s2 = makeStats();
  const s3 = makeStats();
  const p1 = await listen(http.createServer(handler(s1)), s1);
  const p2 = await listen(http2.createSecureServer({ ...tls, allowHTTP1: false }, handler(s2)), s2);
  const p3 = await listen(https.createServer(tls, handler(s3)), s3);
  console.log(`listening http1=${p1} h2=${p2} https1=${p3}`);
})();
process.on('SIGTERM', () => process.exit(0));
