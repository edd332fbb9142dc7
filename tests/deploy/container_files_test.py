#!/usr/bin/python3
"""container_files_test.py REPO BUILD_DIR NEWSPUSHD NEWSPUSH

deploy/Dockerfile and deploy/docker-compose.yml checked without Docker (none runs here, and a
pristine Debian has none): the stages the compose file builds exist; the build stage runs the
project's own scripts; the runtime stage is not root, has a HEALTHCHECK on /healthz at the port it
listens on, EXPOSEs it, starts newspushd, and installs the package of every library the built
binaries link to; every file, script and path named exists in the repository (and is not left out
of the build context); the compose file parses, and its services, ports, volumes, healthchecks,
trusted proxy and environment agree with each other, with the Dockerfile, with deploy/nginx.conf
and with the options newspushd and `newspush demo-feed` really have.
"""
import ipaddress
import os
import re
import shlex
import subprocess
import sys
import urllib.parse

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploylib import check, main, newspushd_options  # noqa: E402

repo, build_dir, newspushd_bin, newspush_bin = sys.argv[1:5]
deploy = os.path.join(repo, "deploy")
# In debian:bookworm-slim already (Essential, or needed by apt itself).
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}


def read(path):
    with open(os.path.join(repo, path)) as f:
        return f.read()


class Stage:
    def __init__(self, base, name):
        self.base, self.name = base, name
        self.instructions = []  # (KEYWORD, arguments)

    def all(self, keyword):
        return [args for kw, args in self.instructions if kw == keyword]

    def one(self, keyword):
        found = self.all(keyword)
        check(len(found) == 1, f"stage {self.name}: expected one {keyword}, found {len(found)}")
        return found[0]


def parse_dockerfile(text):
    """Stages in order, each with its instructions (continuation lines joined, comments out)."""
    logical, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    check(not current, "Dockerfile ends inside a continued line")
    stages = []
    for line in logical:
        keyword, _, args = line.strip().partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)\s+AS\s+(\S+)", args, re.IGNORECASE)
            check(match, f"every stage is named (FROM IMAGE AS NAME): FROM {args}")
            stages.append(Stage(match[1], match[2]))
        else:
            check(stages, f"{keyword} before any FROM")
            stages[-1].instructions.append((keyword, args))
    return stages


def exec_form(args):
    """The JSON array of an exec-form instruction (ENTRYPOINT, CMD)."""
    check(args.startswith("["), f"exec form expected (JSON array), got {args}")
    return yaml.safe_load(args)


def needed_packages(binary):
    """The Debian packages of the shared libraries the binary names (DT_NEEDED)."""
    dynamic = subprocess.run(["readelf", "-d", binary], check=True, capture_output=True,
                             text=True).stdout
    libraries = re.findall(r"\(NEEDED\).*\[(.+)\]", dynamic)
    check(libraries, f"no NEEDED libraries read from {binary}")
    resolved = {}
    for line in subprocess.run(["ldd", binary], check=True, capture_output=True,
                               text=True).stdout.splitlines():
        match = re.match(r"\s*(\S+) => (\S+)", line)
        if match:
            resolved[match[1]] = match[2]
    paths = {}
    for library in libraries:
        check(library in resolved, f"ldd does not resolve {library} of {binary}")
        paths[library] = os.path.realpath(resolved[library])
    # One dpkg -S for all (each call reads the whole package database); with merged /usr a
    # package may list the /lib path instead.
    candidates = set(paths.values()) | {p.replace("/usr/lib/", "/lib/", 1) for p in paths.values()}
    owners = {}
    listing = subprocess.run(["dpkg", "-S", *sorted(candidates)], capture_output=True, text=True)
    for line in listing.stdout.splitlines():
        package, _, path = line.partition(": ")
        owners[path] = package.split(":")[0]
    packages = {}
    for library, path in paths.items():
        owner = owners.get(path) or owners.get(path.replace("/usr/lib/", "/lib/", 1))
        check(owner, f"no Debian package owns {path} ({library} of {binary})")
        packages[library] = owner
    return packages


def check_dockerfile(stages, ignored):
    names = [s.name for s in stages]
    for wanted in ("build", "runtime", "redis", "nginx"):
        check(wanted in names, f"Dockerfile: no stage '{wanted}' (stages: {names})")
    check(names[-1] == "runtime", f"Dockerfile: the default (last) stage must be runtime: {names}")
    for stage in stages:
        check(stage.base == "debian:bookworm-slim",
              f"Dockerfile: stage {stage.name} is FROM {stage.base}, not debian:bookworm-slim")
    by_name = {s.name: s for s in stages}

    # Files from the build context exist and are not left out of it; scripts run exist.
    for stage in stages:
        for args in stage.all("COPY"):
            words = shlex.split(args)
            if any(w.startswith("--from=") for w in words):
                continue
            sources = [w for w in words if not w.startswith("--")][:-1]
            for source in sources:
                if source == ".":
                    continue
                check(os.path.exists(os.path.join(repo, source)),
                      f"Dockerfile: COPY {source}: no such path in the repository")
                check(not any(source == i or source.startswith(i + "/") for i in ignored),
                      f"Dockerfile: COPY {source} is excluded by Dockerfile.dockerignore")
        for args in stage.all("RUN"):
            for script in re.findall(r"(?<![\w/])(scripts/[\w.-]+)", args):
                check(os.access(os.path.join(repo, script), os.X_OK),
                      f"Dockerfile: RUN names {script}, not an executable file of the repository")

    build = by_name["build"]
    runs = " && ".join(build.all("RUN"))
    check("scripts/deps.sh" in runs, "Dockerfile: the build stage does not run scripts/deps.sh")
    check(re.search(r"scripts/build\.sh release\b", runs),
          "Dockerfile: the build stage does not run scripts/build.sh release")
    workdir = build.one("WORKDIR")

    runtime = by_name["runtime"]
    user = runtime.one("USER").split(":")[0]
    check(user not in ("root", "0"), f"Dockerfile: the runtime stage runs as {user}")
    check(re.search(rf"useradd\b.*\b{re.escape(user)}\b", " ".join(runtime.all("RUN"))),
          f"Dockerfile: the runtime stage's user {user} is never created")
    # What the runtime copies from the build stage is what scripts/build.sh release builds.
    copied = {}
    for args in runtime.all("COPY"):
        words = shlex.split(args)
        if "--from=build" in words:
            source, destination = [w for w in words if not w.startswith("--")]
            copied[destination] = source
    for binary, name in ((newspushd_bin, "newspushd"), (newspush_bin, "newspush")):
        expected = os.path.join(workdir, "build/release", os.path.relpath(binary, build_dir))
        check(copied.get(f"/usr/local/bin/{name}") == expected,
              f"Dockerfile: runtime should COPY --from=build {expected} /usr/local/bin/{name} "
              f"(copies: {copied})")
    entrypoint = exec_form(runtime.one("ENTRYPOINT"))
    check(entrypoint[0] == "/usr/local/bin/newspushd",
          f"Dockerfile: runtime ENTRYPOINT {entrypoint} does not start newspushd")
    env = dict(re.findall(r"(NEWSPUSH_[A-Z_]+)=(\S+)", " ".join(runtime.all("ENV"))))
    listen_port = env.get("NEWSPUSH_LISTEN", "").rpartition(":")[2]
    admin_port = env.get("NEWSPUSH_ADMIN_LISTEN", "").rpartition(":")[2]
    exposed = " ".join(runtime.all("EXPOSE")).split()
    check(listen_port and listen_port in exposed and admin_port in exposed,
          f"Dockerfile: runtime EXPOSE {exposed} vs NEWSPUSH_LISTEN/ADMIN_LISTEN {env}")
    health = runtime.one("HEALTHCHECK")
    check(f"http://127.0.0.1:{listen_port}/healthz" in health,
          f"Dockerfile: HEALTHCHECK does not ask /healthz on port {listen_port}: {health}")
    installed = set()
    for args in runtime.all("RUN"):
        for match in re.finditer(r"apt-get install((?:\s+[\w.+-]+)+)", args):
            installed |= {w for w in match[1].split() if not w.startswith("-")}
    check("curl" in installed, "Dockerfile: the HEALTHCHECK's curl is not installed")
    for binary in (newspushd_bin, newspush_bin):
        for library, package in needed_packages(binary).items():
            check(package in installed or package in BASE_IMAGE_PACKAGES,
                  f"Dockerfile: {os.path.basename(binary)} needs {library} from {package}, "
                  f"which the runtime stage does not install ({sorted(installed)})")
    return by_name, listen_port, admin_port


def check_compose(stages, listen_port, admin_port):
    compose_path = os.path.join(deploy, "docker-compose.yml")
    with open(compose_path) as f:
        compose = yaml.safe_load(f)
    services = compose["services"]
    for wanted in ("redis", "newspushd-1", "newspushd-2", "nginx", "demo-feed"):
        check(wanted in services, f"compose: no service {wanted}")
    flags = newspushd_options(newspushd_bin)
    known_env = {env for env, _ in flags.values()}

    images = {}
    for name, service in services.items():
        build = service.get("build")
        if build:
            context = os.path.normpath(os.path.join(deploy, build["context"]))
            check(context == os.path.normpath(repo),
                  f"compose: {name} builds from {context}, not the repository's root")
            dockerfile = os.path.join(context, build["dockerfile"])
            check(os.path.isfile(dockerfile), f"compose: {name}: no {dockerfile}")
            check(build.get("target") in stages,
                  f"compose: {name} builds target {build.get('target')}, not a Dockerfile stage")
            image = service.get("image")
            check(images.setdefault(image, build["target"]) == build["target"],
                  f"compose: image {image} is built from two different stages")
        else:
            check(service.get("image") in images, f"compose: {name} uses an image nothing builds")
        for dependency, condition in (service.get("depends_on") or {}).items():
            check(dependency in services, f"compose: {name} depends on unknown {dependency}")
            if condition.get("condition") == "service_healthy":
                other = services[dependency]
                has_check = "healthcheck" in other and not other["healthcheck"].get("disable")
                has_check = has_check or (other.get("build", {}).get("target") == "runtime")
                check(has_check, f"compose: {name} waits for {dependency} to be healthy, "
                                 "which has no healthcheck")
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                check(os.path.exists(os.path.normpath(os.path.join(deploy, source))),
                      f"compose: {name} mounts {source}, not in the repository")
            else:
                check(source in (compose.get("volumes") or {}),
                      f"compose: {name} mounts volume {source}, not declared")

    # Redis: AOF on in the file the redis stage installs, its data dir is the volume.
    redis_stage = stages["redis"]
    check(re.search(r"^appendonly yes$", read("deploy/redis.conf"), re.MULTILINE),
          "deploy/redis.conf: AOF is off")
    check("deploy/redis.conf" in " ".join(redis_stage.all("COPY")),
          "Dockerfile: the redis stage does not install deploy/redis.conf")
    redis_dir = exec_form(redis_stage.one("ENTRYPOINT"))
    data_dir = redis_dir[redis_dir.index("--dir") + 1]
    check(f"redis-data:{data_dir}" in services["redis"]["volumes"],
          f"compose: the redis-data volume is not mounted at Redis' --dir {data_dir}")
    redis_port = " ".join(redis_stage.all("EXPOSE"))

    # The nodes: known variables, one listen port everywhere, trusted proxy = nginx's address.
    nginx_address = services["nginx"]["networks"]["newspush"]["ipv4_address"]
    subnet = ipaddress.ip_network(compose["networks"]["newspush"]["ipam"]["config"][0]["subnet"])
    check(ipaddress.ip_address(nginx_address) in subnet,
          f"compose: nginx's {nginx_address} is outside the network {subnet}")
    for node in ("newspushd-1", "newspushd-2"):
        service = services[node]
        env = service["environment"]
        for variable in env:
            check(variable in known_env, f"compose: {node} sets {variable}, which newspushd "
                                         "--help does not list")
        check(env["NEWSPUSH_LISTEN"].rpartition(":")[2] == listen_port,
              f"compose: {node} listens on {env['NEWSPUSH_LISTEN']}, the image on {listen_port}")
        check(env["NEWSPUSH_ADMIN_LISTEN"].rpartition(":")[2] == admin_port,
              f"compose: {node} admin port differs from the image's {admin_port}")
        check(env["NEWSPUSH_TRUSTED_PROXIES"] == nginx_address,
              f"compose: {node} trusts {env['NEWSPUSH_TRUSTED_PROXIES']}, nginx is at "
              f"{nginx_address}")
        redis_url = urllib.parse.urlparse(env["NEWSPUSH_REDIS"].replace("${", "").replace("}", ""))
        check(redis_url.hostname == "redis" and str(redis_url.port) == redis_port,
              f"compose: {node} Redis URL {env['NEWSPUSH_REDIS']} is not the redis service's "
              f"port {redis_port}")
        health = " ".join(service["healthcheck"]["test"])
        check(re.search(rf"127\.0\.0\.1:({listen_port}|{admin_port})/readyz", health),
              f"compose: {node} healthcheck {health} does not ask /readyz on its ports")
        drain = int(env["NEWSPUSH_DRAIN_TIMEOUT"])
        grace = int(service["stop_grace_period"].rstrip("s"))
        check(grace > drain, f"compose: {node} stop_grace_period {grace}s is not longer than "
                             f"its drain timeout {drain}s")
        check(not service.get("ports"), f"compose: {node} publishes ports: only nginx should")

    # nginx: the stage's placeholders are in deploy/nginx.conf and name the node services on
    # their listen port; its published ports are the ones nginx.conf listens on.
    nginx_stage = stages["nginx"]
    nginx_conf = read("deploy/nginx.conf")
    seds = re.findall(r"s/([\d\\.]+:\d+)/([\w-]+):(\d+)/", " ".join(nginx_stage.all("RUN")))
    check(len(seds) == 2, f"Dockerfile: nginx stage should rewrite the two nodes, found {seds}")
    for placeholder, host, port in seds:
        literal = placeholder.replace("\\", "")
        check(f"server {literal} " in nginx_conf,
              f"Dockerfile: nginx stage rewrites {literal}, not a server of deploy/nginx.conf")
        check(host in services and port == listen_port,
              f"Dockerfile: nginx stage points at {host}:{port}, not a node service on "
              f"{listen_port}")
    for path in re.findall(r"ssl_certificate(?:_key)?\s+(\S+);", nginx_conf):
        check(path in " ".join(nginx_stage.all("RUN")),
              f"Dockerfile: nginx stage makes no {path} (deploy/nginx.conf's certificate)")
    listens = set(re.findall(r"^\s*listen (\d+)", nginx_conf, re.MULTILINE))
    published = {p.split(":")[-1] for p in services["nginx"]["ports"]}
    exposed = set(" ".join(nginx_stage.all("EXPOSE")).split())
    check(listens == published == exposed,
          f"nginx ports: nginx.conf listens {listens}, compose publishes {published}, "
          f"Dockerfile exposes {exposed}")

    # The demo feed: a real subcommand and flags, on the nodes' admin port with their key.
    feed = services["demo-feed"]
    check(exec_form(str(feed["entrypoint"]).replace("'", '"'))[0] == "/usr/local/bin/newspush",
          "compose: demo-feed does not run the newspush CLI")
    command = feed["command"]
    usage = subprocess.run([newspush_bin, command[0], "--help"], capture_output=True,
                           text=True)
    check(usage.returncode == 0, f"newspush {command[0]} --help failed: {usage.stderr}")
    for word in command[1:]:
        if word.startswith("--"):
            check(word in usage.stdout, f"compose: demo-feed uses {word}, not an option of "
                                        f"newspush {command[0]}")
    views = command[command.index("--views-url") + 1]
    url = urllib.parse.urlparse(views)
    check(url.hostname in services and str(url.port) == admin_port,
          f"compose: demo-feed posts views to {views}, not a node's admin port {admin_port}")
    check(feed["environment"]["NEWSPUSH_PUBLISH_KEY"] ==
          services["newspushd-1"]["environment"]["NEWSPUSH_PUBLISH_KEYS"],
          "compose: demo-feed's key is not the nodes' publish key")
    check(feed["environment"]["NEWSPUSH_REDIS"] ==
          services["newspushd-1"]["environment"]["NEWSPUSH_REDIS"],
          "compose: demo-feed and the nodes use different Redis URLs")
    check(feed.get("healthcheck", {}).get("disable") is True,
          "compose: demo-feed serves no /healthz: the image's HEALTHCHECK must be disabled")


def test():
    stages = parse_dockerfile(read("deploy/Dockerfile"))
    ignored = [line.strip().rstrip("/") for line in read("deploy/Dockerfile.dockerignore")
               .splitlines() if line.strip() and not line.startswith("#")]
    check("build" in ignored, "Dockerfile.dockerignore should leave build/ out of the context")
    by_name, listen_port, admin_port = check_dockerfile(stages, ignored)
    check_compose(by_name, listen_port, admin_port)
    print(f"Dockerfile stages {[s.name for s in stages]} and docker-compose.yml services agree")


if __name__ == "__main__":
    main(test)
