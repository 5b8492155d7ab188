"""Where in a bulk the stall bench's slow answers fall, and who had the core meanwhile.

    .venv/bin/python -m bench.stall_timeline [--bucket-s 0.5]

The stall bench's bulk through this process (``bench.stalls``: SQLite, 100k rules, the server
on CPU 1, wrk ``-t1 -c8`` on CPU 0, a 100k-item bulk 3 s in), with a probe beside wrk: one
more connection, from a process on CPU 0, that sends one ``GET /visible`` at a time, 0.5 ms
apart, and notes when it sent each and how long the answer took. Prints the probe's
p50 / p90 / p99 / longest per bucket of ``--bucket-s`` (the bulk's span marked), and how the
server's and the write process's threads shared CPU 1 during the run
(``/proc/<pid>/task/*/schedstat`` and ``status``: CPU time, time waiting for the CPU,
switches). The write process is started by a 10-item bulk before the run.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bench import stalls
from bench._data import lookup_paths

RULES = 100_000
PROBE_PAUSE_S = 0.0005


class Threads(NamedTuple):
    cpu_s: float
    waited_s: float
    voluntary: int
    involuntary: int


def _threads_of(pid: int) -> dict[tuple[int, int], Threads]:
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        task = Path(f"/proc/{pid}/task/{tid}")
        try:
            run_ns, wait_ns, _ = map(int, (task / "schedstat").read_text().split())
            status = (task / "status").read_text()
        except FileNotFoundError:  # the thread ended
            continue
        switches = {
            key: int(value)
            for key, value in (line.split(":") for line in status.splitlines() if "ctxt" in line)
        }
        found[(pid, int(tid))] = Threads(
            run_ns / 1e9,
            wait_ns / 1e9,
            switches["voluntary_ctxt_switches"],
            switches["nonvoluntary_ctxt_switches"],
        )
    return found


def _process_tree(pid: int) -> dict[tuple[int, int], Threads]:
    found = _threads_of(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in children:
        found |= _threads_of(int(child))
    return found


def probe(port: int, path: str, duration_s: float, out: Path) -> None:
    """The probe's process: one request at a time; writes "sent latency_ms" lines, ``sent`` on
    ``time.perf_counter``'s clock (the system's monotonic clock, shared by processes)."""
    os.sched_setaffinity(0, {stalls.CLIENT_CPU})
    conn = socket.create_connection(("127.0.0.1", port))
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    lines = []
    started = time.perf_counter()
    while (sent := time.perf_counter()) < started + duration_s:
        conn.sendall(request)
        answer = b""
        while True:
            answer += conn.recv(65536)
            head_end = answer.find(b"\r\n\r\n")
            if head_end >= 0:
                length = int(answer.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(answer) >= head_end + 4 + length:
                    break
        lines.append(f"{sent:.6f} {(time.perf_counter() - sent) * 1000:.3f}")
        time.sleep(PROBE_PAUSE_S)
    out.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bucket-s", type=float, default=0.5)
    parser.add_argument("--probe", nargs=4, help=argparse.SUPPRESS)  # the probe's own process
    args = parser.parse_args()
    if args.probe:
        port, path, duration, out = args.probe
        probe(int(port), path, float(duration), Path(out))
        return
    stalls.keep_to_client_cpu()
    with tempfile.TemporaryDirectory(prefix="withheld-timeline-") as folder:
        bench = stalls.Bench(Path(folder), RULES, None)
        here = bench.server(bench.database("timeline", RULES), stalls.SERVER_CPU)
        try:
            fresh = iter(stalls._fresh_ids(stalls.BULK_ITEMS + 10, stalls.SEED + 7))
            warm_up = stalls._bulk_body([next(fresh) for _ in range(10)])
            stalls._post(f"{here.url}/withholdings/bulk", warm_up)  # spawns the write process
            body = stalls._bulk_body([next(fresh) for _ in range(stalls.BULK_ITEMS)])
            samples = Path(folder) / "probe.txt"
            path = lookup_paths(bench.work)[0][0]
            command = [sys.executable, "-m", "bench.stall_timeline", "--probe"]
            command += [str(here.port), path, str(stalls.RUN_S), str(samples)]
            prober = subprocess.Popen(command)
            before = _process_tree(here.process.pid)
            started = time.perf_counter()
            span: list[float] = []

            def bulk() -> None:
                span.append(time.perf_counter() - started)
                stalls._post(f"{here.url}/withholdings/bulk", body)
                span.append(time.perf_counter() - started)

            figure = bench.measure("bulk_here", here, bulk)
            after = _process_tree(here.process.pid)
            prober.wait(timeout=60)
        finally:
            here.stop()
        print(f"wrk: p99 {figure.p99_ms} ms, longest {figure.max_ms} ms, {figure.rps:,} req/s")
        print(f"bulk from {span[0]:.2f} s to {span[1]:.2f} s into the run")
        rows = np.loadtxt(samples)
        rows[:, 0] -= started
        buckets = (rows[:, 0] // args.bucket_s).astype(int)
        print("  from s  answers   p50 ms   p90 ms   p99 ms  longest")
        for bucket in np.unique(buckets):
            latency = rows[buckets == bucket, 1]
            start = bucket * args.bucket_s
            mark = " *" if span[0] - args.bucket_s < start < span[1] else ""
            p50, p90, p99 = np.percentile(latency, [50, 90, 99])
            print(
                f"{start:8.2f} {len(latency):8d} {p50:8.2f} {p90:8.2f} {p99:8.2f} "
                f"{latency.max():8.2f}{mark}"
            )
        print("threads on CPU 1 during the run (pid, tid: CPU s, waited s, switches vol/invol):")
        for key, now in sorted(after.items()):
            then = before.get(key, Threads(0.0, 0.0, 0, 0))
            cpu, waited = now.cpu_s - then.cpu_s, now.waited_s - then.waited_s
            if cpu >= 0.01:
                print(
                    f"  {key[0]}, {key[1]}: {cpu:.2f}, {waited:.2f}, "
                    f"{now.voluntary - then.voluntary}/{now.involuntary - then.involuntary}"
                )


if __name__ == "__main__":
    main()
