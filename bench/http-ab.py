#!/usr/bin/env python3
"""A/B of strata server builds on one HTTP workload: the server CPU each request costs.

Copy each build's `target/release/strata` aside, then name the copies. Rounds alternate the
builds. In a round each build starts fresh in memory, gets the `--setup` workloads (not
measured), then `--runs` runs of `--workload`. For each run the script reports requests/s
(from `http-load`) and the server's user + system CPU per request (from /proc/PID/stat), which
moves less than throughput on a shared machine. Prints each build's medians and every run.

    cp target/release/strata /tmp/strata-a   # ...change, rebuild...
    cp target/release/strata /tmp/strata-b
    python3 bench/http-ab.py /tmp/strata-a /tmp/strata-b --rounds 6
"""
import argparse
import importlib.util
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("http_peers", os.path.join(HERE, "http-peers.py"))
peers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peers)


def requests_per_run(workload, items, clients):
    """How many requests one `http-load` run of `workload` sends (as http-load counts them)."""
    return {"query": max(items // 10, clients),
            "batchwrite": max(items // 25, clients)}.get(workload, items)


def serve(binary):
    """Starts `binary` in memory on a free port and waits until it answers ListTables."""
    port = peers.free_port()
    proc = subprocess.Popen([binary, "serve", "--in-memory", "--port", str(port), "--log", "warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    while True:
        try:
            if peers.list_tables(port):
                return proc, port
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() - started > 30:
            peers.stop(proc)
            raise RuntimeError(f"{binary} did not start")
        time.sleep(0.001)


def load(args, port, workloads):
    out = subprocess.run([args.load, "--endpoint", f"http://127.0.0.1:{port}", "--clients",
                          str(args.clients), "--items", str(args.items), "--workloads", workloads],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"http-load failed: {out.stderr}")
    return out.stdout


def round_of(binary, args):
    """`--runs` (requests/s, server CPU µs per request) of one fresh server."""
    proc, port = serve(binary)
    try:
        if args.setup:
            load(args, port, args.setup)
        runs = []
        per_run = requests_per_run(args.workload, args.items, args.clients)
        for _ in range(args.runs):
            before = peers.cpu_seconds(proc.pid)
            out = load(args, port, args.workload)
            cpu = peers.cpu_seconds(proc.pid) - before
            rate = re.search(rf"\| {args.workload} \| {args.clients} \| (\d+)", out)
            runs.append((float(rate.group(1)), cpu / per_run * 1e6))
        return runs
    finally:
        peers.stop(proc)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("binaries", nargs="+", help="strata server builds to compare")
    p.add_argument("--workload", default="query")
    p.add_argument("--setup", default="put,update",
                   help="workloads run first, unmeasured (update leaves two versions of each item)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--runs", type=int, default=3, help="measured runs per build and round")
    p.add_argument("--items", type=int, default=20000)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--load", default=os.path.join(peers.ROOT, "target", "release", "http-load"))
    args = p.parse_args()
    if not os.path.exists(args.load):
        sys.exit(f"{args.load} is missing: cargo build --release -p strata-bench --bin http-load")

    results = {b: [] for b in args.binaries}
    for rnd in range(args.rounds):
        for binary in args.binaries:
            print(f"round {rnd + 1}: {binary} ...", file=sys.stderr, flush=True)
            results[binary] += round_of(binary, args)
    print(f"{args.workload}, {args.clients} clients, {args.items} items, after {args.setup}; "
          f"{args.rounds} rounds x {args.runs} runs")
    for binary, runs in results.items():
        print(f"{binary}: {statistics.median(r for r, _ in runs):.0f} req/s, "
              f"{statistics.median(c for _, c in runs):.0f} server CPU µs/req (medians); runs: "
              + " ".join(f"{r:.0f}/{c:.0f}" for r, c in runs))


if __name__ == "__main__":
    main()
