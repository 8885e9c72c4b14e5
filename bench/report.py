"""Benchmark of the graph report (a benchmark, not a test): a small file, and the big unrolled graph.

Part 1, reading a small graph: `rnnviz report FILE` on a ~5 kB static RNN .pb in a fresh
process, against `python -c "import tensorflow"` in a fresh process, best of 3 each: CPU seconds
(user + system) and peak RSS (VmHWM). Reading a file never imports TensorFlow, so the report
should cost at most a tenth of the import's CPU and stay under 150 MB.

Part 2, the big graph: the static 3-layer LSTM(128) MNIST training graph at T=784 (about 230k
nodes, 60 MB). Built once in a subprocess (~1 min, ~6 GB) and cached with the small graph under
$RNNVIZ_BENCH_DIR (default /tmp/rnnviz_bench). Then, in one process, with TensorFlow imported
(tfprof needs it; the report does not):

  * the full report from the .pb (everything but the memory run), best and first of 3 runs,
    and the CPU time of runs 2 and 3 (the target is on CPU: the machine may be shared);
  * its peak memory: the process RSS sampled every 2 ms during the first run, minus RSS before
    (what the OS saw: includes the parsed protobuf, which lives outside Python's allocator),
    and tracemalloc's peak (Python objects only), both against the .pb's size;
  * tf.compat.v1.profiler's trainable-parameter count on the same graph (imported from the
    .meta, import time reported apart), and its float-op count next to ours;
  * our forward FLOPs for the static graph vs the dynamic build of the same spec.

Run: .venv/bin/python bench/report.py   (add --rebuild to rebuild the cached graphs)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import psutil

SPEC, STEPS = "multi_static_lstm", 784
OUT = Path(os.environ.get("RNNVIZ_BENCH_DIR", "/tmp/rnnviz_bench"))
PB, META = OUT / f"{SPEC}_T{STEPS}.pb", OUT / f"{SPEC}_T{STEPS}.meta"
SMALL = OUT / "small_static_rnn.pb"


def build_cache() -> None:
    """Runs in a child process: build the graphs, write GraphDefs and the MetaGraphDef."""
    from rnnviz.builder import build
    from rnnviz.spec import load_spec

    OUT.mkdir(parents=True, exist_ok=True)
    SMALL.write_bytes(_small_graph().SerializeToString())
    model = build(load_spec(SPEC).with_steps(STEPS))
    PB.write_bytes(model.graph_def().SerializeToString())
    with model.graph.as_default():
        model.saver.export_meta_graph(str(META))
    print(f"built {SPEC} T={STEPS} in {model.build_seconds:.1f} s -> {PB}")


def _small_graph() -> object:
    """A forward-only static BasicRNN(8) over 2 steps of 4 features: a graph file of ~5 kB."""
    from rnnviz.tfcompat import tf, v1

    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 2, 4], name="x")
        cell = v1.nn.rnn_cell.BasicRNNCell(8)
        v1.nn.static_rnn(cell, tf.unstack(x, axis=1), dtype=tf.float32)
    return graph.as_graph_def()


# ---- part 1: fresh processes ---------------------------------------------------------------------
# Each child reports its own CPU time and peak RSS. VmHWM, not getrusage's ru_maxrss: that keeps
# the forking parent's peak across exec, and this parent may have imported TensorFlow.
_CHILD = """
import contextlib, json, os, re, resource, sys
what = sys.argv[1]
with open(os.devnull, "w") as out, contextlib.redirect_stdout(out):
    if what == "import":
        import tensorflow
    else:
        from rnnviz.cli import main
        assert main(["report", what]) == 0
        assert "tensorflow" not in sys.modules
use = resource.getrusage(resource.RUSAGE_SELF)
hwm = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
print(json.dumps({"cpu": use.ru_utime + use.ru_stime, "rss": hwm * 1024}))
"""


def fresh_process(what: str, runs: int = 3) -> tuple[float, int]:
    """(best CPU seconds, peak RSS bytes of that run) of a child doing `what`."""
    import json

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    results = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, what],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = min(results, key=lambda r: r["cpu"])
    return best["cpu"], best["rss"]


def small_graph_rows() -> tuple[list[tuple[str, str]], list[tuple[str, bool]]]:
    report_cpu, report_rss = fresh_process(str(SMALL))
    tf_cpu, tf_rss = fresh_process("import")
    rows = [
        ("small graph (.pb)", f"{SMALL.stat().st_size / 1e3:.1f} kB, static BasicRNN(8), T=2"),
        (
            "rnnviz report FILE, fresh process",
            f"{report_cpu:.2f} s CPU, {report_rss / 1e6:.0f} MB peak",
        ),
        ("import tensorflow, fresh process", f"{tf_cpu:.2f} s CPU, {tf_rss / 1e6:.0f} MB peak"),
        (
            "ratio report / import TF",
            f"CPU {report_cpu / tf_cpu:.3f}, peak RSS {report_rss / tf_rss:.3f}",
        ),
    ]
    checks = [
        ("small report <= 1/10 of import TF's CPU", report_cpu <= tf_cpu / 10),
        ("small report peak RSS < 150 MB", report_rss < 150e6),
    ]
    return rows, checks


class RssSampler:
    """Peak RSS of this process while a block runs, sampled every 2 ms."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self) -> RssSampler:
        self.before = self.proc.memory_info().rss
        self.peak = self.before
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.002)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--build-cache", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_cache:
        build_cache()
        return 0
    if args.rebuild or not (PB.is_file() and META.is_file() and SMALL.is_file()):
        subprocess.run([sys.executable, __file__, "--build-cache"], check=True)

    small_rows, small_checks = small_graph_rows()  # before this process imports TensorFlow
    rows, checks = big_graph_rows()
    rows, checks = small_rows + rows, small_checks + checks
    width = max(len(k) for k, _ in rows) + 2
    print(f"{'figure':<{width}}value")
    print("-" * (width + 60))
    for key, value in rows:
        print(f"{key:<{width}}{value}")
    print("-" * (width + 60))
    for label, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}  {label}")
    print(
        "note: tfprof counts a v1 loop body once and a v2 loop body not at all; ours counts it per step"
    )
    return 0


def big_graph_rows() -> tuple[list[tuple[str, str]], list[tuple[str, bool]]]:
    from rnnviz.reporting.api import report
    from rnnviz.reporting.flops import tfprof_flops, tfprof_params
    from rnnviz.tfcompat import tf, v1  # imported before timing: a one-off cost of any TF tool

    size = PB.stat().st_size
    times = []
    with RssSampler() as rss:
        t0 = time.perf_counter()
        r = report(PB, tfprof=False)
        times.append(time.perf_counter() - t0)
    rss_delta = rss.peak - rss.before
    cpu = []  # CPU seconds of this process: on a shared, overloaded machine closer to idle wall time
    for _ in range(2):
        t0, c0 = time.perf_counter(), time.process_time()
        report(PB, tfprof=False)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    tracemalloc.start()
    report(PB, tfprof=False)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    t0 = time.perf_counter()
    graph = tf.Graph()
    with graph.as_default():
        v1.train.import_meta_graph(str(META))
    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    prof_params = tfprof_params(graph)
    prof_params_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    prof_flops = tfprof_flops(graph)
    prof_flops_s = time.perf_counter() - t0
    del graph

    from rnnviz.builder import build
    from rnnviz.spec import load_spec

    dynamic = report(build(load_spec(SPEC).with_steps(STEPS).twin("dynamic")), tfprof=False)

    best = min(times)
    load = os.getloadavg()
    rows = [
        (
            "machine",
            f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} (1 / 5 min)",
        ),
        (
            "graph",
            f"{SPEC} static T={STEPS}: {r.ops.total:,} nodes, {r.ops.data_edges + r.ops.control_edges:,} edges",
        ),
        ("GraphDef (.pb)", f"{size / 1e6:.1f} MB"),
        ("full report from .pb, first / best of 3", f"{times[0]:.2f} s / {best:.2f} s"),
        ("  CPU time of runs 2 and 3", " / ".join(f"{c:.2f} s" for c in cpu)),
        (
            "peak RSS increase during report",
            f"{rss_delta / 1e6:.0f} MB = {rss_delta / size:.2f}x the GraphDef",
        ),
        (
            "tracemalloc peak (Python objects)",
            f"{traced_peak / 1e6:.0f} MB = {traced_peak / size:.2f}x the GraphDef",
        ),
        (
            "tfprof params (import .meta first)",
            f"{prof_params_s:.2f} s (+ {import_s:.1f} s import)",
        ),
        (
            "speed-up vs tfprof params",
            f"{prof_params_s / best:.1f}x (best), {prof_params_s / times[0]:.1f}x (first)",
        ),
        ("params: report / tfprof", f"{r.params.total:,} / {prof_params:,}"),
        ("forward FLOPs per sequence (ours)", f"{r.flops.forward_per_sequence:,}"),
        (
            "  dynamic build of the same spec",
            f"{dynamic.flops.forward_per_sequence:,} (ratio {dynamic.flops.forward_per_sequence / r.flops.forward_per_sequence:.4f})",
        ),
        ("tfprof float ops (batch unknown)", f"{prof_flops:,} in {prof_flops_s:.1f} s"),
        ("unrolled steps / per-step states", f"{r.unrolled_steps} / {r.states.per_step:,}"),
    ]
    checks = [
        # CPU, not wall: on a shared machine the wall time measures the other jobs as well.
        ("report <= 0.6 s of CPU (best of runs 2 and 3)", min(cpu) <= 0.6),
        (">= 15x faster than tfprof params", prof_params_s / best >= 15),
        ("peak memory <= 3x GraphDef (RSS)", rss_delta <= 3 * size),
        ("params equal tfprof", r.params.total == prof_params),
        (
            "static/dynamic FLOPs within 1%",
            abs(dynamic.flops.forward_per_sequence / r.flops.forward_per_sequence - 1) <= 0.01,
        ),
    ]
    return rows, checks


if __name__ == "__main__":
    sys.exit(main())
