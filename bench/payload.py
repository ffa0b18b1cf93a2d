#!/usr/bin/env python3
"""A large file through the link protocol beside curl and a plain file
server on loopback, in the same run.

Three `koalja-agent` processes (the gateway and two tasks, `pass` and
`keep`, each copying its input to its output) talk real HTTP on loopback,
as pods do. Per trial:

- drop: `curl -T FILE` into the gateway (`PUT /v1/drop/in/NAME`), against
  `curl -T FILE` to nginx (WebDAV PUT to disk): the floor;
- through: from the drop's answer until the gateway has collected the
  output: two link downloads (digest-checked) and two copies by the tasks'
  commands, against the floor of two `curl` downloads and two `cat`s;
- fetch: `curl` of the collected output from the gateway
  (`GET /v1/outputs/ID`), against `curl` of the file from nginx.

Medians of RUNS trials, interleaved with the floor; the peak resident
memory of each agent (VmHWM) after all trials: no body is buffered whole.

    bench/payload.py AGENT KOALJAC WORK [SIZE_MB] [RUNS]   (defaults: 1024, 3)

KOALJA_BENCH_RUNS=1 also prints when each drop was answered and each task
run's assembled, started and finished times: where "through" spends its time.
"""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

PIPELINE = """\
[bench/payload]
(in)  pass (mid)
(mid) keep (out)

task pass { shell: "cat {in} > {mid}" }
task keep { shell: "cat {mid} > {out}" }
"""

TOKEN = "be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4"

NGINX = """\
daemon off;
user root;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx.log;
events {{}}
http {{
  access_log off;
  sendfile on;
  client_max_body_size 0;
  client_body_temp_path {work}/nginx-body;
  server {{
    listen 127.0.0.1:{port};
    root {work}/www;
    location / {{ dav_methods PUT; create_full_put_path on; }}
  }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, headers=None, limit=30):
    start = time.time()
    while True:
        try:
            request = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(request, timeout=2) as answer:
                return answer.read()
        except Exception:
            if time.time() - start > limit:
                sys.exit(f"{url} never answered")
            time.sleep(0.05)


def wait_port(port, limit=10):
    start = time.time()
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.time() - start > limit:
                sys.exit(f"nothing listens on port {port}")
            time.sleep(0.05)


def curl(*args):
    """Seconds curl took for one transfer (it must succeed)."""
    out = subprocess.run(
        ["curl", "-sS", "--fail", "-o", "/dev/null", "-w", "%{time_total}", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out)


def peak_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    agent, koaljac, work = sys.argv[1], sys.argv[2], sys.argv[3]
    size_mb = int(sys.argv[4]) if len(sys.argv) > 4 else 1024
    runs = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(f"{work}/www")
    os.makedirs(f"{work}/nginx-body")
    with open(f"{work}/pipeline.kja", "w") as f:
        f.write(PIPELINE)
    ir = subprocess.run(
        [koaljac, "check", "--emit", "ir", f"{work}/pipeline.kja"], check=True, capture_output=True
    ).stdout
    with open(f"{work}/ir.json", "wb") as f:
        f.write(ir)
    with open(f"{work}/token", "w") as f:
        f.write(TOKEN)
    data = f"{work}/data.bin"
    with open(data, "wb") as f:
        block = os.urandom(1 << 20)
        for _ in range(size_mb):
            f.write(block)

    nginx_port = free_port()
    with open(f"{work}/nginx.conf", "w") as f:
        f.write(NGINX.format(work=work, port=nginx_port))
    nginx = subprocess.Popen(["nginx", "-c", f"{work}/nginx.conf"])

    names = ["gateway", "pass", "keep"]
    ports = {name: free_port() for name in names}
    peers = [arg for name in names for arg in ("--peer", f"{name}=http://127.0.0.1:{ports[name]}")]
    agents = {}
    for name in names:
        role = ["gateway"] if name == "gateway" else ["task", "--task", name]
        agents[name] = subprocess.Popen(
            [agent, *role, "--ir", f"{work}/ir.json", "--state", f"{work}/state/{name}",
             "--listen", f"127.0.0.1:{ports[name]}", "--token-file", f"{work}/token", *peers],
            stderr=open(f"{work}/{name}.log", "w"),
        )
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    header = ["-H", f"Authorization: Bearer {TOKEN}"]
    wait_for(f"{gateway}/healthz")
    wait_port(nginx_port)

    drop, drop_floor, through, through_floor, fetch, fetch_floor = [], [], [], [], [], []
    try:
        for trial in range(1, runs + 1):
            # The floor first, then the same bytes through the agents.
            drop_floor.append(curl("-T", data, f"http://127.0.0.1:{nginx_port}/t{trial}.bin"))
            start = time.perf_counter()
            for _ in range(2):
                curl(f"http://127.0.0.1:{nginx_port}/t{trial}.bin")
            subprocess.run(f"cat {data} > {work}/copy1 && cat {work}/copy1 > {work}/copy2", shell=True, check=True)
            through_floor.append(time.perf_counter() - start)
            fetch_floor.append(curl(f"http://127.0.0.1:{nginx_port}/t{trial}.bin"))
            os.remove(f"{work}/www/t{trial}.bin")

            drop.append(curl(*header, "-T", data, f"{gateway}/v1/drop/in/t{trial}.bin"))
            dropped = time.perf_counter()
            output = f"keep.{trial}.out"
            while True:
                listed = json.loads(wait_for(f"{gateway}/v1/outputs", auth))
                if any(av["id"] == output for av in listed):
                    break
                time.sleep(0.05)
            through.append(time.perf_counter() - dropped)
            if os.environ.get("KOALJA_BENCH_RUNS"):
                print("dropped at", time.strftime("%H:%M:%S", time.gmtime(time.time() - through[-1])), f"+{through[-1]:.2f}s")
            fetch.append(curl(*header, f"{gateway}/v1/outputs/{output}"))
        peaks = {name: peak_kb(process.pid) for name, process in agents.items()}
        if os.environ.get("KOALJA_BENCH_RUNS"):
            for name in ("pass", "keep"):
                for run in json.loads(wait_for(f"http://127.0.0.1:{ports[name]}/v1/runs?after=0", auth)):
                    print(name, run["run"], run["assembled"], run["started"], run["finished"])
    finally:
        for process in [*agents.values(), nginx]:
            process.terminate()
            process.wait()

    mb = size_mb
    print(f"payload: {mb} MB, {runs} trial(s), medians; floor: curl and nginx on loopback, same run")
    for label, ours, floor in [("drop", drop, drop_floor), ("through 2 tasks", through, through_floor), ("fetch", fetch, fetch_floor)]:
        o, f = statistics.median(ours), statistics.median(floor)
        print(f"  {label:<16} {o:7.2f} s  {mb / o:7.0f} MB/s   floor {f:7.2f} s  {mb / f:7.0f} MB/s   {f / o:5.0%} of the floor's throughput")
    print("  peak memory: " + ", ".join(f"{name} {kb / 1024:.0f} MiB" for name, kb in peaks.items()))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
