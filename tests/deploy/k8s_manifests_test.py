#!/usr/bin/python3
"""k8s_manifests_test.py REPO NEWSPUSHD

deploy/k8s/ checked for structure (python3-yaml), without a cluster: the objects refer to each
other correctly (selectors, names, port names, the HPA's target, the ConfigMap and Secret the pods
read); every NEWSPUSH_* variable and flag they set is one `newspushd --help` lists; the ports
are the ones the settings listen on; terminationGracePeriodSeconds exceeds preStop plus the drain
timeout; the pod runs as the image's user. Then newspushd really starts with the ConfigMap's and
the Secret's settings (only the listen addresses moved to loopback), and the probes' paths answer
on the probes' port: /healthz 200, /readyz an answer (503 here: no Redis), not 404.
"""
import glob
import os
import re
import signal
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploylib import Processes, check, http_request, main, newspushd_options  # noqa: E402

repo, newspushd_bin = sys.argv[1], sys.argv[2]
# scripts/sanitizer-test.sh names a sanitized newspushd here; its exit code carries any report.
newspushd_bin = os.environ.get("NEWSPUSHD_BIN") or newspushd_bin


def load_objects():
    objects = {}
    for path in sorted(glob.glob(os.path.join(repo, "deploy/k8s/*.yaml"))):
        with open(path) as f:
            for document in yaml.safe_load_all(f):
                if document:
                    key = (document["kind"], document["metadata"]["name"])
                    check(key not in objects, f"{key} defined twice")
                    objects[key] = document
    return objects


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def parse_seconds(text):
    match = re.fullmatch(r"(\d+)s?", str(text))
    check(match, f"not a number of seconds: {text}")
    return int(match[1])


def test():
    objects = load_objects()
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler",
                 "ConfigMap", "Secret"):
        check(any(k == kind for k, _ in objects), f"deploy/k8s has no {kind}")
    options = newspushd_options(newspushd_bin)
    env_of_flag = {flag: env for flag, (env, _) in options.items()}
    default_of_env = {env: default for env, default in options.values()}

    (_, name), deployment = next((k, v) for k, v in objects.items() if k[0] == "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    check(matches(spec["selector"]["matchLabels"], labels),
          "Deployment: its selector does not match its pods' labels")
    containers = [c for c in pod["containers"] if c["name"] == "newspushd"]
    check(len(containers) == 1, "Deployment: no container named newspushd")
    container = containers[0]

    # Settings: the ConfigMap and Secret the pod reads exist, and name only real variables.
    settings = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            ref = ("ConfigMap", source["configMapRef"]["name"])
            check(ref in objects, f"Deployment reads {ref}, which deploy/k8s does not define")
            settings.update(objects[ref]["data"])
        elif "secretRef" in source:
            ref = ("Secret", source["secretRef"]["name"])
            check(ref in objects, f"Deployment reads {ref}, which deploy/k8s does not define")
            settings.update(objects[ref].get("stringData", {}))
    for variable in [e["name"] for e in container.get("env", [])] + list(settings):
        check(variable in default_of_env,
              f"k8s sets {variable}, which newspushd --help does not list")
    for word in container.get("args", []) + container.get("command", [])[1:]:
        if word.startswith("--"):
            check(word.split("=")[0] in env_of_flag,
                  f"k8s passes {word}, not a flag of newspushd --help")
    for word in ("NEWSPUSH_REDIS_SENTINELS", "NEWSPUSH_REDIS_MASTER"):
        check(word in settings, f"k8s settings have no {word} (the managed Redis' Sentinels)")
    secret_keys = set(next(v for k, v in objects.items() if k[0] == "Secret")["stringData"])
    for secret in ("NEWSPUSH_PUBLISH_KEYS", "NEWSPUSH_TOKEN_SECRET", "NEWSPUSH_REDIS"):
        check(secret in secret_keys, f"the Secret should hold {secret}")

    # Ports: the container's are the ones the settings listen on; probes and Services name them.
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    listen = settings.get("NEWSPUSH_LISTEN", default_of_env["NEWSPUSH_LISTEN"])
    admin = settings.get("NEWSPUSH_ADMIN_LISTEN", "")
    check(ports.get("http") == int(listen.rpartition(":")[2]),
          f"container port http {ports.get('http')} is not NEWSPUSH_LISTEN {listen}")
    check(not listen.startswith("127."), f"NEWSPUSH_LISTEN {listen}: unreachable from outside")
    check(ports.get("admin") == int(admin.rpartition(":")[2]),
          f"container port admin {ports.get('admin')} is not NEWSPUSH_ADMIN_LISTEN {admin}")
    readiness, liveness = container["readinessProbe"], container["livenessProbe"]
    check(readiness["httpGet"]["path"] == "/readyz", "readinessProbe is not /readyz")
    check(liveness["httpGet"]["path"] == "/healthz", "livenessProbe is not /healthz")
    for probe in (readiness, liveness):
        check(probe["httpGet"]["port"] in ports, f"probe port {probe['httpGet']['port']} is "
                                                 "not a container port name")
    services = [v for k, v in objects.items() if k[0] == "Service"]
    for service in services:
        check(matches(service["spec"]["selector"], labels),
              f"Service {service['metadata']['name']} selects no newspushd pod")
        for port in service["spec"]["ports"]:
            check(port["targetPort"] in ports,
                  f"Service {service['metadata']['name']}: targetPort {port['targetPort']} is "
                  "not a container port name")
    public = [s for s in services if s["spec"].get("type") == "LoadBalancer"]
    check(public and all(p["targetPort"] == "http" for s in public for p in s["spec"]["ports"]),
          "the public Service must lead to the readers' port only (the admin port has the "
          "write APIs)")
    if any(s["spec"].get("externalTrafficPolicy") != "Local" for s in public):
        check("NEWSPUSH_TRUSTED_PROXIES" in settings,
              "a public Service that hides readers' addresses needs NEWSPUSH_TRUSTED_PROXIES")

    # Shutdown: preStop, then SIGTERM and the 1001 drain, all within the grace period.
    drain = parse_seconds(settings.get("NEWSPUSH_DRAIN_TIMEOUT",
                                       default_of_env["NEWSPUSH_DRAIN_TIMEOUT"]))
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    check(pre_stop[0] == "sleep", f"preStop {pre_stop}: expected a sleep")
    pre_stop_seconds = parse_seconds(pre_stop[1])
    grace = pod["terminationGracePeriodSeconds"]
    check(grace > pre_stop_seconds + drain,
          f"terminationGracePeriodSeconds {grace} is not longer than preStop "
          f"{pre_stop_seconds} s + drain timeout {drain} s")

    # The image's user and entry point (deploy/Dockerfile's runtime stage).
    with open(os.path.join(repo, "deploy/Dockerfile")) as f:
        dockerfile = f.read()
    runtime = dockerfile[dockerfile.index("AS runtime"):]
    uid = re.search(r"useradd\b[^\n]*--uid (\d+)", runtime)
    check(uid and pod["securityContext"]["runAsUser"] == int(uid[1]),
          f"runAsUser {pod['securityContext'].get('runAsUser')} is not the image's uid")
    gid = re.search(r"groupadd\b[^\n]*--gid (\d+)", runtime)
    check(gid and pod["securityContext"].get("runAsGroup") == int(gid[1]),
          f"runAsGroup {pod['securityContext'].get('runAsGroup')} is not the image's gid")
    check(pod["securityContext"].get("runAsNonRoot") is True, "pods may run as root")
    check("command" not in container or container["command"][0] == "/usr/local/bin/newspushd",
          "the container does not run newspushd")
    check(re.search(r'ENTRYPOINT \["/usr/local/bin/newspushd"\]', runtime),
          "the runtime image's ENTRYPOINT is not newspushd")

    # Disruptions and scaling agree with the Deployment.
    pdb = next(v for k, v in objects.items() if k[0] == "PodDisruptionBudget")
    check(matches(pdb["spec"]["selector"]["matchLabels"], labels),
          "PodDisruptionBudget selects no newspushd pod")
    hpa = next(v for k, v in objects.items() if k[0] == "HorizontalPodAutoscaler")
    target = hpa["spec"]["scaleTargetRef"]
    check((target["kind"], target["name"], target["apiVersion"]) ==
          ("Deployment", name, deployment["apiVersion"]),
          f"HPA scales {target}, not the Deployment {name}")
    check(hpa["spec"]["minReplicas"] >= 2, "HPA minReplicas below 2: no second node")
    check(pdb["spec"].get("maxUnavailable", 0) >= 1 or
          pdb["spec"].get("minAvailable", 0) < hpa["spec"]["minReplicas"],
          "the PodDisruptionBudget would forbid every voluntary eviction")
    for metric in hpa["spec"]["metrics"]:
        resource = metric["resource"]["name"]
        check(resource in container["resources"]["requests"],
              f"HPA scales on {resource}, which the container does not request")

    # newspushd starts with these very settings; the probes' paths answer on their port.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSPUSH_")}
    environment.update(settings)
    environment["NEWSPUSH_LISTEN"] = "127.0.0.1:0"
    environment["NEWSPUSH_ADMIN_LISTEN"] = "127.0.0.1:0"
    with Processes("newspush-k8s-") as processes:
        node = processes.start("newspushd", [newspushd_bin], env=environment)
        port = int(node.wait_for_output(r"listening address=127\.0\.0\.1:(\d+)", 15)[1])
        admin_port = int(node.wait_for_output(r"listening.admin address=127\.0\.0\.1:(\d+)", 15)[1])
        probe_port = {"http": port, "admin": admin_port}
        health = http_request(probe_port[liveness["httpGet"]["port"]], "GET", "/healthz")
        check(health[0] == 200, f"liveness /healthz answered {health}")
        ready = http_request(probe_port[readiness["httpGet"]["port"]], "GET", "/readyz")
        check(ready[0] in (200, 503), f"readiness /readyz answered {ready}")
        node.popen.send_signal(signal.SIGTERM)
        code = node.popen.wait(drain + 10)
        check(code == 0, f"newspushd exited {code} on SIGTERM:\n{node.output()}")
    print(f"deploy/k8s: {len(objects)} objects agree; newspushd runs with their settings "
          f"(grace {grace} s > preStop {pre_stop_seconds} s + drain {drain} s); probes answer")


if __name__ == "__main__":
    main(test)
