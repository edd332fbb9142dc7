#!/usr/bin/python3
"""What TLS costs newspushd, against the same thing in plain TCP: opens N WebSocket connections to
a running newspushd, subscribes each (one masked text frame), waits for every `subscribed`, holds
them, and reports the server's RSS growth per connection (from /proc/PID/status). With
--articles K it then publishes K articles (FCALL newspush_publish over a raw Redis connection,
paced at --rate per second, ~600-byte bodies), waits until every connection has read all K, and
reports the server's CPU time (user+system, /proc/PID/stat) per million deliveries.

A stop-gap until the C++ load generator (loadtest/) speaks TLS: standard library only
(asyncio, ssl), run with Debian's /usr/bin/python3. With --tls the server certificate is not
verified (loopback; the handshake and the record layer cost the same either way).

  tls_cost.py --pid PID --port PORT [--tls] [--connections 15000] [--hold 10]
              [--articles K --rate R --redis-port P]
"""
import argparse
import asyncio
import base64
import os
import ssl
import sys
import time


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resp(*parts):
    out = f"*{len(parts)}\r\n".encode()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        out += f"${len(data)}\r\n".encode() + data + b"\r\n"
    return out


async def publish(args):
    reader, writer = await asyncio.open_connection("127.0.0.1", args.redis_port)
    body = "x" * 500
    run = "%s-%d" % ("tls" if args.tls else "plain", time.time_ns())  # a re-run is not a retry
    started = time.monotonic()
    for i in range(args.articles):
        article = ('{"id":"%s-%d","category":"sports","title":"Titre %d","body":"%s"}'
                   % (run, i, i, body))
        writer.write(resp("FCALL", "newspush_publish", "1", "news:log", article))
        await writer.drain()
        reply = await reader.readuntil(b"\r\n")
        if reply.startswith(b"-"):
            raise RuntimeError(reply)
        if reply.startswith(b"*"):  # [cursor, status]
            for _ in range(2):
                await reader.readuntil(b"\r\n")
                await reader.readuntil(b"\r\n")
        delay = started + (i + 1) / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    writer.close()


MARKER = b'"type":"article"'


async def count_articles(reader, counts, index, wanted):
    # The tail kept between reads is shorter than the marker, so a marker split across two reads
    # is counted once and none twice.
    tail = b""
    while counts[index] < wanted:
        chunk = await reader.read(65536)
        if not chunk:
            return
        data = tail + chunk
        counts[index] += data.count(MARKER)
        tail = data[-(len(MARKER) - 1):]


def masked_text_frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    header = bytes([0x81, 0x80 | len(payload)])  # payloads here are < 126 bytes
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def open_one(args, context, held, failures):
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", args.port, ssl=context,
                                    server_hostname="localhost" if context else None), 60)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(head[:40])
        writer.write(masked_text_frame(b'{"op":"subscribe","categories":["sports","economie"]}'))
        received = b""
        while b'"subscribed"' not in received:
            chunk = await asyncio.wait_for(reader.read(4096), 60)
            if not chunk:
                raise RuntimeError("closed")
            received += chunk
        held.append((reader, writer))
    except Exception as error:  # counted and reported: a measurement with failures is void
        failures.append(repr(error))


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--connections", type=int, default=15000)
    parser.add_argument("--hold", type=float, default=10)
    parser.add_argument("--parallel", type=int, default=200)
    parser.add_argument("--articles", type=int, default=0)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--redis-port", type=int)
    args = parser.parse_args()
    context = None
    if args.tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    before = rss_kb(args.pid)
    held, failures = [], []
    started = time.monotonic()
    for start in range(0, args.connections, args.parallel):
        batch = range(start, min(args.connections, start + args.parallel))
        await asyncio.gather(*(open_one(args, context, held, failures) for _ in batch))
    opened = time.monotonic() - started
    await asyncio.sleep(args.hold)
    after = rss_kb(args.pid)
    per = (after - before) * 1024 / max(1, len(held))
    print(f"{'tls' if args.tls else 'plain'}: {len(held)} connections ({len(failures)} failed) "
          f"opened in {opened:.1f} s; server RSS {before / 1024:.1f} MB -> {after / 1024:.1f} MB: "
          f"{per:,.0f} bytes per idle connection")
    if failures:
        print("first failures:", failures[:3], file=sys.stderr)
    if args.articles and held:
        counts = [0] * len(held)
        cpu_before = cpu_seconds(args.pid)
        started = time.monotonic()
        readers = [asyncio.create_task(count_articles(r, counts, i, args.articles))
                   for i, (r, _) in enumerate(held)]
        await publish(args)
        try:
            await asyncio.wait_for(asyncio.gather(*readers), 600)
        except asyncio.TimeoutError:
            pass
        cpu = cpu_seconds(args.pid) - cpu_before
        elapsed = time.monotonic() - started
        delivered = sum(min(c, args.articles) for c in counts)
        expected = args.articles * len(held)
        print(f"{'tls' if args.tls else 'plain'}: {delivered:,} of {expected:,} deliveries in "
              f"{elapsed:.1f} s ({delivered / elapsed:,.0f}/s); server CPU {cpu:.2f} s: "
              f"{cpu / max(1, delivered) * 1e6:.2f} CPU-s per million deliveries")
        if delivered != expected:
            failures.append("lost deliveries")
    for _, writer in held:
        writer.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
