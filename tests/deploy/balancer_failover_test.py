#!/usr/bin/python3
"""balancer_failover_test.py nginx|haproxy NEWSPUSHD REPO

Debian's nginx (wss, deploy/nginx.conf) or haproxy (ws, deploy/haproxy.cfg with send-proxy-v2)
runs the repository's file in front of two real newspushd nodes sharing a real redis-server, all
on loopback. Readers connect through the balancer, each from its own loopback address; articles
are published without pause; one node is SIGKILLed mid-stream. Its readers must come back through
the balancer on the other node, resume with their last cursor as `since`, and every reader must
end with every acknowledged article exactly once, in publish order, with no `reset`.

The nodes run with --max-connections-per-ip 2 and trust only the balancer: the readers get in
only if the nodes see each reader's own address (X-Forwarded-For from nginx, the PROXY v2 header
from haproxy), not the balancer's.
"""
import asyncio
import json
import os
import signal
import ssl
import sys
import time
import urllib.parse

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploylib import (Newspushd, Processes, TestFailure, accepts, check, free_port, main,  # noqa: E402
                       self_signed_certificate, start_redis, substitute, wait_for)

WS_READERS = 6
SSE_READERS = 4  # GET /sse through the balancer (nginx: unbuffered), resuming with Last-Event-ID
READERS = WS_READERS + SSE_READERS
BEFORE_KILL = 25  # acknowledged articles before the SIGKILL
TOTAL = 80
PUBLISH_PAUSE = 0.04
KEY = "deploy-test-publish-key"

balancer, newspushd_bin, repo = sys.argv[1], sys.argv[2], sys.argv[3]
# As for the C++ integration tests: scripts/sanitizer-test.sh names a sanitized newspushd here,
# and the surviving node's exit code then carries any report.
newspushd_bin = os.environ.get("NEWSPUSHD_BIN") or newspushd_bin


def start_nginx(processes, node_a, node_b):
    port, http_port = free_port(), free_port()
    cert, key = self_signed_certificate(processes)
    source = os.path.join(repo, "deploy/nginx.conf")
    with open(source) as f:
        text = substitute(f.read(), [
            ("10.0.0.11:8080", f"127.0.0.1:{node_a.port}", 1),
            ("10.0.0.12:8080", f"127.0.0.1:{node_b.port}", 1),
            ("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;", 1),
            ("listen 80;", f"listen 127.0.0.1:{http_port};", 1),
            ("/etc/ssl/newspush/fullchain.pem", cert, 1),
            ("/etc/ssl/newspush/privkey.pem", key, 1),
        ], source)
    with open(processes.path("newspush.conf"), "w") as f:
        f.write(text)
    # The main file, as Debian's /etc/nginx/nginx.conf includes conf.d/*.conf, with everything
    # nginx writes kept in the test's directory.
    d = processes.dir
    with open(processes.path("nginx.conf"), "w") as f:
        f.write(f"""daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log stderr notice;
events {{ worker_connections 1024; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/newspush.conf;
}}
""")
    nginx = processes.start("nginx", ["nginx", "-e", "stderr", "-p", d,
                                      "-c", processes.path("nginx.conf")])
    nginx.wait_for_output(r"start worker process", 15)
    context = ssl.create_default_context(cafile=cert)
    return f"wss://127.0.0.1:{port}/ws", context


def start_haproxy(processes, node_a, node_b):
    port = free_port()
    source = os.path.join(repo, "deploy/haproxy.cfg")
    with open(source) as f:
        text = substitute(f.read(), [
            ("10.0.0.11:8080", f"127.0.0.1:{node_a.port}", 1),
            ("10.0.0.12:8080", f"127.0.0.1:{node_b.port}", 1),
            ("bind :80", f"bind 127.0.0.1:{port}", 1),
        ], source)
    with open(processes.path("haproxy.cfg"), "w") as f:
        f.write(text)
    haproxy = processes.start("haproxy", ["haproxy", "-db", "-f", processes.path("haproxy.cfg")])
    wait_for(lambda: accepts(port) or not haproxy.running(), 15, "haproxy to listen")
    check(haproxy.running(), f"haproxy exited:\n{haproxy.output()}")
    return f"ws://127.0.0.1:{port}/ws", None


class Reader:
    """Connects through the balancer from its own address, resumes with its last cursor."""

    def __init__(self, number, url, tls):
        self.address = f"127.0.1.{number + 1}"
        self.url, self.tls = url, tls
        self.cursor = None
        self.ids = []
        self.resets = []
        self.connects = 0
        self.subscribed = asyncio.Event()
        self.errors = []
        self.stop = False

    async def run(self):
        while not self.stop:
            try:
                async with websockets.connect(self.url, ssl=self.tls, open_timeout=5,
                                              close_timeout=1, max_size=2**22,
                                              local_addr=(self.address, 0)) as ws:
                    self.connects += 1
                    command = {"op": "subscribe", "categories": ["*"]}
                    if self.cursor:
                        command["since"] = self.cursor
                    await ws.send(json.dumps(command))
                    async for frame in ws:
                        for line in frame.split("\n"):
                            if line:
                                self.handle(json.loads(line))
            except (OSError, asyncio.TimeoutError, websockets.WebSocketException) as error:
                self.errors.append(f"{time.monotonic():.3f} {type(error).__name__}: {error}")
            if not self.stop:
                await asyncio.sleep(0.2)

    def handle(self, message):
        kind = message.get("type")
        if kind == "subscribed":
            if self.cursor is None:
                self.cursor = message["cursor"]
            self.subscribed.set()
        elif kind == "article":
            self.ids.append(message["article"]["id"])
            self.cursor = message["cursor"]
        elif kind in ("resumed", "retract"):
            self.cursor = message["cursor"]
        elif kind == "reset":
            self.resets.append(message)
            self.cursor = message["cursor"]
        elif kind == "error":
            self.errors.append(json.dumps(message))


class SseReader(Reader):
    """An EventSource's behaviour on a bare stream: GET /sse, and after a lost stream the same
    request again with Last-Event-ID: the id of the last event received."""

    async def run(self):
        parsed = urllib.parse.urlparse(self.url)
        while not self.stop:
            writer = None
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(
                    parsed.hostname, parsed.port, ssl=self.tls,
                    local_addr=(self.address, 0)), 5)
                # HTTP/1.0: the body is the stream until the connection ends, not chunked.
                request = f"GET /sse?categories=* HTTP/1.0\r\nHost: {parsed.netloc}\r\n"
                if self.cursor:
                    request += f"Last-Event-ID: {self.cursor}\r\n"
                writer.write((request + "\r\n").encode())
                status = (await asyncio.wait_for(reader.readline(), 5)).decode()
                if " 200 " not in status:
                    raise OSError(f"GET /sse answered {status.strip()}")
                while (await reader.readline()).strip():
                    pass  # the response head
                self.connects += 1
                data = []
                while True:
                    line = await reader.readline()
                    if not line:
                        break
                    line = line.decode().rstrip("\r\n")
                    if not line:
                        if data:
                            self.handle(json.loads("\n".join(data)))
                        data = []
                    elif line.startswith("data:"):
                        data.append(line[5:].removeprefix(" "))
            except (OSError, asyncio.TimeoutError, ssl.SSLError) as error:
                self.errors.append(f"{time.monotonic():.3f} {type(error).__name__}: {error}")
            finally:
                if writer:
                    writer.close()
            if not self.stop:
                await asyncio.sleep(0.2)


async def scenario(url, tls, nodes):
    readers = [Reader(n, url, tls) for n in range(WS_READERS)]
    readers += [SseReader(WS_READERS + n, url, tls) for n in range(SSE_READERS)]
    tasks = [asyncio.create_task(r.run()) for r in readers]
    try:
        try:
            await asyncio.wait_for(asyncio.gather(*(r.subscribed.wait() for r in readers)), 20)
        except asyncio.TimeoutError:
            raise TestFailure("not every reader subscribed through the balancer: " +
                              "; ".join(f"{r.address}: {r.errors[-3:]}" for r in readers))
        counts = [(n.metric("newspush_connections"), n.metric("newspush_sse_streams"))
                  for n in nodes]
        check(all(c[0] >= 1 for c in counts) and sum(c[0] for c in counts) == READERS,
              f"readers not spread over both nodes: (readers, SSE streams) {counts}")
        # The node to kill holds readers of both kinds (the one with more SSE streams if both
        # do), so that both transports are moved.
        both = [i for i, (total, sse) in enumerate(counts) if 1 <= sse < total]
        check(both, f"no node holds both WebSocket and SSE readers: (readers, SSE) {counts}")
        victim_index = max(both, key=lambda i: counts[i][1])
        victim, survivor = nodes[victim_index], nodes[1 - victim_index]
        victim_counts = counts[victim_index]

        acknowledged = []
        loop = asyncio.get_running_loop()
        killed_at = None
        for n in range(TOTAL):
            article = {"id": f"lb-{n:03d}", "category": "sports", "title": f"Dépêche {n}"}
            cursor = await loop.run_in_executor(None, survivor.publish, KEY, article)
            check(cursor is not None,
                  f"publish {n} on {survivor.name} failed:\n{survivor.process.output()}")
            acknowledged.append(article["id"])
            if len(acknowledged) == BEFORE_KILL:
                victim.process.signal_group(signal.SIGKILL)
                killed_at = time.monotonic()
            await asyncio.sleep(PUBLISH_PAUSE)

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if all(len(r.ids) >= TOTAL for r in readers):
                break
            await asyncio.sleep(0.05)
        moved = [r for r in readers if r.connects >= 2]
        check(len(moved) == victim_counts[0],
              f"{len(moved)} readers reconnected, {victim.name} held {victim_counts[0]}")
        check(sum(isinstance(r, SseReader) for r in moved) == victim_counts[1],
              f"not every SSE reader of {victim.name} came back ({victim_counts[1]} held)")
        for r in readers:
            detail = (f"reader {r.address} (connects {r.connects}): got {len(r.ids)} of {TOTAL}; "
                      f"resets {r.resets}; errors {r.errors[-5:]}")
            check(not r.resets, "reset: " + detail)
            check(r.ids == acknowledged,
                  "not every acknowledged article exactly once in order: " + detail +
                  f"\nmissing {sorted(set(acknowledged) - set(r.ids))}" +
                  f"\ntwice {sorted(i for i in set(r.ids) if r.ids.count(i) > 1)}")
        print(f"{balancer}: {len(moved)} of {READERS} readers ({victim_counts[1]:.0f} of them SSE) "
              f"moved from the killed {victim.name} and resumed; every reader got all {TOTAL} "
              "articles once, in order "
              f"({time.monotonic() - killed_at:.1f} s after the kill)")
        return survivor
    finally:
        for r in readers:
            r.stop = True
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def test():
    with Processes(f"newspush-{balancer}-") as processes:
        redis = start_redis(processes)
        redis_url = f"redis://127.0.0.1:{redis.port}"
        node_args = ["--publish-key", KEY, "--trusted-proxy", "127.0.0.1",
                     "--max-connections-per-ip", "2", "--drain-timeout", "2"]
        if balancer == "haproxy":
            node_args.append("--proxy-protocol")
        node_a = Newspushd(processes, newspushd_bin, "node-a", redis_url, node_args)
        node_b = Newspushd(processes, newspushd_bin, "node-b", redis_url, node_args)
        node_a.wait_ready()
        node_b.wait_ready()
        if balancer == "nginx":
            url, tls = start_nginx(processes, node_a, node_b)
        elif balancer == "haproxy":
            url, tls = start_haproxy(processes, node_a, node_b)
        else:
            raise TestFailure(f"unknown balancer '{balancer}'")
        survivor = asyncio.run(scenario(url, tls, [node_a, node_b]))
        # The surviving node must still shut down cleanly.
        code = survivor.process.terminate()
        check(code == 0, f"{survivor.name} exited {code} on SIGTERM:\n{survivor.process.output()}")


if __name__ == "__main__":
    main(test)
