"""Helpers for the deploy tests: real processes on loopback, never left behind.

Run by Debian's /usr/bin/python3 (python3-websockets, python3-yaml), not a pyenv python3 that
cannot see them. Every process is started in its own session and killed as a group when the
test ends, whatever way it ends.
"""
import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


class TestFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def wait_for(predicate, timeout, what):
    """Polls predicate until it returns something true; TestFailure naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def accepts(port, host="127.0.0.1"):
    """True if something accepts TCP connections there."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child before exec: SIGKILL when the test dies, even if killed (a ctest timeout)
    before it could stop its processes."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Process:
    def __init__(self, name, argv, log_path, env=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.popen = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True,
                                      env=env, preexec_fn=_die_with_parent)

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def running(self):
        return self.popen.poll() is None

    def wait_for_output(self, pattern, timeout):
        """The first match of the regex pattern in the process' output."""
        def find():
            match = re.search(pattern, self.output())
            if match:
                return match
            if not self.running():
                raise TestFailure(f"{self.name} exited ({self.popen.returncode}) before printing "
                                  f"/{pattern}/:\n{self.output()}")
            return None
        return wait_for(find, timeout, f"{self.name} to print /{pattern}/")

    def signal_group(self, sig):
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self):
        self.signal_group(signal.SIGKILL)
        self.popen.wait()
        self.log.close()

    def terminate(self, timeout=15):
        """SIGTERM, wait; the exit code, or None (then SIGKILLed) if it hung."""
        if self.running():
            self.popen.send_signal(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        return code


class Processes:
    """Owns every process of one test and a private directory; `with` stops them all."""

    def __init__(self, prefix):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        # nginx's workers drop root: they must reach the temp paths placed in here.
        os.chmod(self.dir, 0o755)
        self.processes = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for process in reversed(self.processes):
            process.kill()
        if not os.environ.get("NEWSPUSH_KEEP_TEST_DIR"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self, name, argv, env=None):
        process = Process(name, argv, self.path(name + ".log"), env)
        self.processes.append(process)
        return process


def http_request(port, method, path, body=None, headers=None, timeout=5, host="127.0.0.1"):
    """(status, body text); (None, error text) if the connection fails."""
    try:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        connection.close()
        return response.status, text
    except OSError as error:
        return None, str(error)


def start_redis(processes, name="redis"):
    port = free_port()
    redis = processes.start(name, ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no",
                                   "--dir", processes.dir, "--daemonize", "no"])
    redis.port = port

    def answers():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False
    wait_for(answers, 15, f"redis-server on {port} to answer PING")
    return redis


class Newspushd:
    """newspushd on 127.0.0.1:<any> with its operator endpoints on a separate admin port."""

    def __init__(self, processes, binary, name, redis_url, extra_args=()):
        argv = [binary, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                "--redis", redis_url, *extra_args]
        self.process = processes.start(name, argv)
        self.name = name
        self.port = int(self.process.wait_for_output(r"listening address=127\.0\.0\.1:(\d+)", 15)[1])
        self.admin_port = int(self.process.wait_for_output(
            r"listening.admin address=127\.0\.0\.1:(\d+)", 15)[1])

    def wait_ready(self, timeout=15):
        wait_for(lambda: http_request(self.admin_port, "GET", "/readyz")[0] == 200, timeout,
                 f"{self.name} /readyz 200:\n{self.process.output()}")

    def metric(self, name):
        status, text = http_request(self.admin_port, "GET", "/metrics")
        check(status == 200, f"{self.name} /metrics: {status} {text}")
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise TestFailure(f"{self.name} /metrics has no {name}")

    def publish(self, key, article):
        """The cursor of a published article (201), or None if the publish failed."""
        status, text = http_request(self.admin_port, "POST", "/api/v1/articles",
                                    json.dumps(article),
                                    {"Authorization": "Bearer " + key,
                                     "Content-Type": "application/json"})
        if status == 201:
            return json.loads(text)["cursor"]
        return None


def self_signed_certificate(processes):
    """(certificate, key) for 127.0.0.1 and localhost, made with Debian's openssl."""
    cert, key = processes.path("cert.pem"), processes.path("key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def substitute(text, replacements, source):
    """Replaces, outside comment lines, each literal exactly as often as expected (count), else
    TestFailure: the deploy file changed and the test must be told, rather than silently testing
    something else."""
    lines = text.split("\n")
    for old, new, count in replacements:
        found = 0
        for i, line in enumerate(lines):
            if not line.lstrip().startswith("#"):
                found += line.count(old)
                lines[i] = line.replace(old, new)
        check(found == count, f"{source}: expected '{old}' {count} time(s), found {found}")
    return "\n".join(lines)


def newspushd_options(binary):
    """{flag: (environment variable, default)} from `newspushd --help`, which server/config.cpp
    generates from its one table of options."""
    text = subprocess.run([binary, "--help"], check=True, capture_output=True, text=True).stdout
    options, flag = {}, None
    for line in text.splitlines():
        match = re.match(r"  (--[a-z0-9-]+)", line)
        if match:
            flag = match[1]
        env = re.search(r"\[env (NEWSPUSH_[A-Z0-9_]+), default (.*)\]", line)
        if env and flag:
            options[flag] = (env[1], env[2])
    check(len(options) > 20, f"could not read the options of {binary} --help:\n{text}")
    return options


def main(test):
    """Runs test() and exits 0, or prints the failure and exits 1."""
    try:
        test()
    except TestFailure as failure:
        print(f"FAIL: {failure}", file=sys.stderr)
        sys.exit(1)
    print("PASS")
