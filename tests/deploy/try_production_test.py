#!/usr/bin/python3
"""try_production_test.py nginx|haproxy REPO

README's production layout on one machine is what scripts/try-production.sh runs, and it works:
every command `try-production.sh print` lists is in README.md word for word; `start` (on shifted
ports, in a private directory) brings up the Redis primary, replica, three Sentinels, two
newspushd and the balancer; a reader through the balancer gets an article; the Redis primary is
SIGKILLed, the Sentinels promote the replica, newspushd follows them, and the same reader gets
the next article on the same connection; `stop` leaves no process behind.
"""
import asyncio
import json
import os
import random
import signal
import ssl
import subprocess
import sys
import tempfile
import time

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploylib import TestFailure, check, http_request, main  # noqa: E402

balancer, repo = sys.argv[1], sys.argv[2]
script = os.path.join(repo, "scripts/try-production.sh")


def readme_lists_the_commands():
    printed = subprocess.run([script, "print", "--balancer", balancer], check=True,
                             capture_output=True, text=True).stdout.splitlines()
    check(len(printed) >= 8, f"try-production.sh print gave {printed}")
    with open(os.path.join(repo, "README.md")) as f:
        readme = f.read()
    for command in printed:
        check(command in readme, f"README.md does not show the command try-production.sh runs:\n"
                                 f"{command}")


def start(directory):
    """Starts on free shifted ports; returns the offset."""
    for _ in range(5):
        # Every port below 32768, out of the kernel's ephemeral range (32768-60999), where a
        # connection of another test could take one between the script's check and its bind.
        offset = random.randrange(1000, 6300)
        run = subprocess.run([script, "start", "--balancer", balancer, "--dir", directory,
                              "--port-offset", str(offset)], capture_output=True, text=True,
                             timeout=120)
        if run.returncode == 0:
            return offset
        if run.returncode != 3:  # 3: a port in use, try others
            raise TestFailure(f"try-production.sh start exited {run.returncode}:\n"
                              f"{run.stdout}\n{run.stderr}")
    raise TestFailure("no free set of ports found")


def pids(directory):
    found = {}
    for name in os.listdir(directory):
        if name.endswith(".run.pid"):
            with open(os.path.join(directory, name)) as f:
                found[name[:-len(".run.pid")]] = int(f.read())
    return found


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


async def reader_through_failover(url, tls, admin_port, key, primary_pid):
    def publish(article_id):
        return http_request(admin_port, "POST", "/api/v1/articles",
                            json.dumps({"id": article_id, "category": "try-check",
                                        "title": "Essai " + article_id}),
                            {"Authorization": "Bearer " + key})

    async def next_article(ws, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
            for line in frame.split("\n"):
                message = json.loads(line) if line else {}
                if message.get("type") == "reset":
                    raise TestFailure(f"reader got reset: {message}")
                if message.get("type") == "article" and \
                        message["article"]["id"].startswith("try-"):
                    return message["article"]["id"]
        raise TestFailure("no article within the bound")

    loop = asyncio.get_running_loop()
    async with websockets.connect(url, ssl=tls, open_timeout=10) as ws:
        await ws.send(json.dumps({"op": "subscribe", "categories": ["try-check"]}))
        status, body = await loop.run_in_executor(None, publish, "try-1")
        check(status == 201, f"publish before the failover: {status} {body}")
        check(await next_article(ws, 10) == "try-1", "first article not delivered")

        os.kill(primary_pid, signal.SIGKILL)
        # Publishes fail (503) until the Sentinels have promoted the replica and the node has
        # asked them again; then the reader, still on its connection, gets the article.
        deadline = time.monotonic() + 40
        while True:
            status, body = await loop.run_in_executor(None, publish, "try-2")
            if status == 201:
                break
            check(time.monotonic() < deadline, f"no publish accepted after the failover: "
                                               f"{status} {body}")
            await asyncio.sleep(0.5)
        check(await next_article(ws, 15) == "try-2", "article after the failover not delivered")

    # The demo feed found the primary through the Sentinels too: a new reader of every category
    # gets one of its articles, published on the promoted replica. The balancer may still count
    # the nodes down (their /readyz said 503 during the failover) until its checks pass again.
    deadline = time.monotonic() + 30
    while True:
        try:
            ws = await websockets.connect(url, ssl=tls, open_timeout=10)
            break
        except websockets.exceptions.InvalidStatusCode as e:
            check(e.status_code == 503 and time.monotonic() < deadline,
                  f"no new reader after the failover: {e}")
            await asyncio.sleep(0.5)
    try:
        await ws.send(json.dumps({"op": "subscribe", "categories": ["*"]}))
        while True:
            check(time.monotonic() < deadline, "no demo-feed article after the failover")
            frame = await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
            ids = [json.loads(line)["article"]["id"] for line in frame.split("\n")
                   if line and json.loads(line).get("type") == "article"]
            if any(not i.startswith("try-") for i in ids):
                break
    finally:
        await ws.close()


def deploy_files():
    contents = {}
    for name in sorted(os.listdir(os.path.join(repo, "deploy"))):
        path = os.path.join(repo, "deploy", name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                contents[name] = f.read()
    return contents


def test():
    readme_lists_the_commands()
    # The servers must run copies: a failover makes Redis rewrite its configuration file.
    before = deploy_files()
    directory = os.path.join(tempfile.mkdtemp(prefix="newspush-try-test-"), "run")
    started = {}
    try:
        offset = start(directory)
        started = pids(directory)
        check({"redis-primary", "redis-replica", "sentinel-1", "sentinel-2", "sentinel-3",
               "newspushd-1", "newspushd-2", balancer, "demo-feed"} <= set(started),
              f"not everything started: {sorted(started)}")
        with open(os.path.join(directory, "publish-key")) as f:
            key = f.read().strip()
        if balancer == "nginx":
            tls = ssl.create_default_context(cafile=os.path.join(directory, "cert.pem"))
            url = f"wss://127.0.0.1:{8443 + offset}/ws"
        else:
            tls, url = None, f"ws://127.0.0.1:{8080 + offset}/ws"
        asyncio.run(reader_through_failover(url, tls, 9091 + offset, key,
                                            started["redis-primary"]))
    finally:
        if os.path.isdir(directory):
            stop = subprocess.run([script, "stop", "--dir", directory], capture_output=True,
                                  text=True, timeout=60)
            left = [name for name, pid in started.items() if alive(pid)]
            subprocess.run(["rm", "-rf", os.path.dirname(directory)])
            check(stop.returncode == 0, f"try-production.sh stop failed: {stop.stderr}")
            check(not left, f"still running after stop: {left}")
    changed = [name for name, text in deploy_files().items() if before.get(name) != text]
    check(not changed, f"the run wrote into the repository's deploy/: {changed}")
    print(f"try-production.sh with {balancer}: README's commands, a reader through the "
          "balancer across a Sentinel failover, nothing left after stop")


if __name__ == "__main__":
    main(test)
