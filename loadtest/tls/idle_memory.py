#!/usr/bin/python3
"""Idle memory per connection, plain vs TLS: opens N WebSocket connections to a running newspushd,
subscribes each (one masked text frame), waits for every `subscribed`, holds them, and reports
the server's RSS growth per connection (from /proc/PID/status).

A stop-gap until the C++ load generator (loadtest/) speaks TLS: standard library only
(asyncio, ssl), run with Debian's /usr/bin/python3. With --tls the server certificate is not
verified (loopback; the handshake and the record layer cost the same either way).

  idle_memory.py --pid PID --port PORT [--tls] [--connections 15000] [--hold 10]
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
    for _, writer in held:
        writer.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
