"""Load test: N concurrent sessions building and training through a real `rnnviz serve`.

Starts the server on a free loopback port with a fresh cache and run store, then runs N sessions
at once, each as a browser tab speaks (app/client.py): load the page, ask for a build (half of
the sessions the same spec and T, so identical requests race), draw both panels, start a
training run, watch the runs table a few times, stop the run. Reports failures, p50/p95 latency
per kind of request, and the peak memory of the server's whole process tree (web workers, job
and training processes), sampled every 0.2 s. Bounded: at most 16 sessions, loopback only,
`--timeout` seconds in all. Prints a table; nothing is asserted.

    PYTHONPATH=. .venv/bin/python bench/load.py --sessions 4
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import psutil

from app import ids
from app.client import Tab

SPECS = [("single_dynamic_gru", 8), ("single_static_gru", 8), ("single_static_lstm", 12)]


class Recorder:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.failures: list[str] = []
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def timed(self, kind: str) -> Any:
        started = time.monotonic()
        try:
            yield
        except Exception as exc:  # a failure is a result here, not a crash of the bench
            with self.lock:
                self.failures.append(f"{kind}: {type(exc).__name__}: {str(exc)[:120]}")
            raise
        with self.lock:
            self.latency[kind].append(time.monotonic() - started)


def session(base: str, n: int, rec: Recorder, train_steps: int) -> None:
    spec, steps = SPECS[0] if n % 2 == 0 else SPECS[(n // 2) % len(SPECS)]
    with rec.timed("page load"):
        tab = Tab(base, timeout=600).open()
    with rec.timed("build (to result)"):
        request = {"spec": spec, "steps": steps, "nonce": tab.prop(ids.NONCE, "data")}
        built = tab.call(ids.BUILD_KEY, [(ids.BUILD_REQUEST, "data", request)])
        key = built[ids.BUILD_KEY]["data"]
    for which in ("static", "dynamic"):
        with rec.timed("panel"):
            panel = tab.call(
                ids.GRAPH[which], [(ids.BUILD_KEY, "data", key), (ids.EXPANDED[which], "data", [])]
            )
            if not panel[ids.GRAPH[which]]["elements"]:
                raise RuntimeError(f"empty {which} panel")
    with rec.timed("start run"):
        reply = tab.call(
            ids.TRAIN_MESSAGE,
            [(ids.TRAIN_START, "n_clicks", 1), (ids.TRAIN_STOP, "n_clicks", None)],
            [
                (ids.SPEC, "value", spec),
                (ids.TRAIN_STEPS, "value", train_steps),
                (ids.RUNS, "value", []),
                (ids.HEAT_RUN, "value", None),
            ],
        )
        message = reply[ids.TRAIN_MESSAGE]["children"]
        if "started run" not in message:
            raise RuntimeError(message)
        run_id = message.split()[2]
    for _ in range(5):
        with rec.timed("runs table"):
            tab.call(
                ids.RUNS_TABLE,
                [(ids.TICK, "n_intervals", 1)],
                [(ids.RUNS, "value", [run_id]), (ids.HEAT_RUN, "value", run_id)],
            )
        time.sleep(1.5)
    with rec.timed("stop run"):
        tab.call(
            ids.TRAIN_MESSAGE,
            [(ids.TRAIN_START, "n_clicks", 1), (ids.TRAIN_STOP, "n_clicks", 1)],
            [(ids.SPEC, "value", spec), (ids.TRAIN_STEPS, "value", train_steps), (ids.RUNS, "value", [run_id]), (ids.HEAT_RUN, "value", run_id)],
            changed=[ids.TRAIN_STOP],
        )  # fmt: skip


def _tree_rss(pid: int) -> int:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def _runs_rss(runs: Path) -> int:
    """Training processes run in their own session: found through the run store's pids."""
    from rnnviz.store import RunStore

    if not (runs / "rnnviz.sqlite").exists():
        return 0
    return sum(
        _tree_rss(r.pid) for r in RunStore(runs).list_runs() if r.status == "running" and r.pid
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--train-steps", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    sessions = max(1, min(args.sessions, 16))
    root = Path(tempfile.mkdtemp(prefix="rnnviz-load-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RNNVIZ_MAX_RUNS": str(sessions), "RNNVIZ_MAX_JOBS": "2"}
    cmd = [sys.executable, "-m", "rnnviz.cli", "serve", "--port", str(port), "--no-prebuild",
           "--workers", str(args.workers), "--cache-dir", str(root / "cache"),
           "--runs-dir", str(root / "runs")]  # fmt: skip
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # fmt: skip
    rec, peak, done = Recorder(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(server.pid) + _runs_rss(root / "runs"))
            time.sleep(0.2)

    try:
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        threading.Thread(target=sample, daemon=True).start()
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(sessions) as pool:
            futures = [pool.submit(session, f"http://127.0.0.1:{port}", n, rec, args.train_steps)
                       for n in range(sessions)]  # fmt: skip
            concurrent.futures.wait(futures, timeout=args.timeout)
        wall = time.monotonic() - started
    finally:
        done.set()
        from rnnviz.store import RunStore

        if (root / "runs" / "rnnviz.sqlite").exists():
            for r in RunStore(root / "runs").list_runs():
                if r.status == "running" and r.pid:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(r.pid, signal.SIGTERM)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        shutil.rmtree(root, ignore_errors=True)
    print(f"{sessions} concurrent sessions, {args.workers} server workers, {wall:.1f} s in all")
    print(f"{'request':<18} {'n':>3} {'p50 s':>7} {'p95 s':>7}")
    for kind, values in rec.latency.items():
        values = sorted(values)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        print(f"{kind:<18} {len(values):>3} {statistics.median(values):>7.2f} {p95:>7.2f}")
    print(f"failures: {len(rec.failures)}")
    for failure in rec.failures:
        print(f"  {failure}")
    print(f"peak memory of the server's process tree and its runs: {peak[0] / 2**30:.2f} GB")


if __name__ == "__main__":
    main()
