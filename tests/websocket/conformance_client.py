"""Drives the echo harness with python3-websockets (Debian's, run by /usr/bin/python3): messages
of every length encoding, UTF-8 beyond ASCII, fragmented sends, ping, the close handshake from
either side, and invalid text sent through the library's frame writer. Prints "ok <case>" per
case; exits 1 at the first mismatch.

    conformance_client.py PORT
"""
import asyncio
import sys

import websockets
from websockets.exceptions import ConnectionClosed


def check(condition, what):
    if not condition:
        print(f"FAILED {what}", flush=True)
        sys.exit(1)


def ok(case):
    print(f"ok {case}", flush=True)


async def echo(ws, message):
    await ws.send(message)
    return await asyncio.wait_for(ws.recv(), 30)


async def main(port):
    uri = f"ws://127.0.0.1:{port}/"
    async with websockets.connect(uri, max_size=None, compression=None) as ws:
        for message in ["hello", "", "κόσμε 𝄞 € \u0000 \U0010ffff"]:
            check(await echo(ws, message) == message, f"text echo {message!r}")
        ok("text")
        for message in [b"", b"\x00\xff\x80\xfe", bytes(range(256))]:
            check(await echo(ws, message) == message, "binary echo")
        ok("binary")
        for size in [125, 126, 127, 65535, 65536, 1 << 20]:
            text = ("é" * size)[: size // 2] + "x" * (size - 2 * (size // 2))
            check(await echo(ws, text) == text, f"text of {len(text.encode())} bytes")
            data = bytes(i % 251 for i in range(size))
            check(await echo(ws, data) == data, f"binary of {size} bytes")
        ok("lengths")
        # An iterable is sent as one fragmented message; the echo comes back whole.
        check(await echo(ws, ["frag1", "κό", "σμε", ""]) == "frag1κόσμε", "fragmented text")
        check(await echo(ws, [b"\x01", b"", b"\x02\x03"]) == b"\x01\x02\x03", "fragmented binary")
        ok("fragmented")
        pong = await ws.ping(b"probe")
        await asyncio.wait_for(pong, 30)
        ok("ping")
        await ws.close(code=4001, reason="done")
        check(ws.close_code == 4001, f"echoed close code {ws.close_code}")
        ok("client close")

    async with websockets.connect(uri) as ws:
        await ws.send("close-me")
        try:
            await asyncio.wait_for(ws.recv(), 30)
            check(False, "server close expected")
        except ConnectionClosed:
            pass
        check(ws.close_code == 1000 and ws.close_reason == "bye",
              f"server close {ws.close_code} {ws.close_reason!r}")
        ok("server close")

    async with websockets.connect(uri) as ws:
        # The library's own frame writer (its public send() never sends bad text).
        await ws.write_frame(True, 0x1, b"\xce\xba\xed\xa0\x80")
        try:
            await asyncio.wait_for(ws.recv(), 30)
            check(False, "failure expected")
        except ConnectionClosed:
            pass
        check(ws.close_code == 1007, f"close code for bad UTF-8 {ws.close_code}")
        ok("invalid utf8")


asyncio.run(main(int(sys.argv[1])))
