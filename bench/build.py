"""Benchmark: what static_rnn and dynamic_rnn cost to build (issue 2, claims 1 and 3).

The 3-layer LSTM(128) training graph with Adam (sample `multi_static_lstm` and its dynamic twin),
at T = 28, 200, 784: build time, nodes (plus nodes inside loop functions), GraphDef bytes and the
process's peak RSS. Each build runs in a fresh subprocess so one build's memory does not colour the
next. The last column is the ratio static / dynamic (v2), the baseline measured in the same run.

    .venv/bin/python bench/build.py            # T = 28, 200, 784 (about 2 minutes)
    .venv/bin/python bench/build.py --steps 28 200
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def measure_one(name: str, steps: int, control_flow: str) -> dict:
    from rnnviz.builder import build
    from rnnviz.spec import load_spec

    spec = load_spec(name).with_steps(steps)
    if not spec.is_static:
        spec = spec.replace(control_flow=control_flow)
    started = time.perf_counter()
    model = build(spec)
    graph_def = model.graph_def()
    seconds = time.perf_counter() - started  # build + serialisation to a GraphDef
    return {
        "graph": f"{spec.unroll}" + ("" if spec.is_static else f" ({control_flow})"),
        "T": steps,
        "build_s": seconds,
        "nodes": len(graph_def.node),
        "function_nodes": sum(len(f.node_def) for f in graph_def.library.function),
        "graphdef_bytes": graph_def.ByteSize(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_in_subprocess(name: str, steps: int, control_flow: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", name, str(steps), control_flow],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, nargs="+", default=[28, 200, 784])
    parser.add_argument("--one", nargs=3, metavar=("MODEL", "T", "CF"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        name, steps, cf = args.one
        print(json.dumps(measure_one(name, int(steps), cf)))
        return

    rows = []
    for steps in args.steps:
        dyn = run_in_subprocess("multi_dynamic_lstm", steps, "v2")
        dyn_v1 = run_in_subprocess("multi_dynamic_lstm", steps, "v1")
        static = run_in_subprocess("multi_static_lstm", steps, "v2")
        for row in (static, dyn, dyn_v1):
            row["ratio"] = {
                k: row[k] / dyn[k] for k in ("build_s", "nodes", "graphdef_bytes", "peak_rss_mb")
            }
            rows.append(row)

    header = "| graph | T | build s | nodes (+in functions) | GraphDef bytes | peak RSS MB | static/dynamic: build, nodes, bytes, RSS |"
    print("3-layer LSTM(128) + Adam training graph; ratio against dynamic (v2) at the same T\n")
    print(header)
    print("|" + "---|" * 7)
    for r in rows:
        ratio = r["ratio"]
        print(
            f"| {r['graph']} | {r['T']} | {r['build_s']:.2f} | {r['nodes']:,} (+{r['function_nodes']:,}) | "
            f"{r['graphdef_bytes']:,} | {r['peak_rss_mb']:,.0f} | "
            f"{ratio['build_s']:.1f}x, {ratio['nodes']:.1f}x, {ratio['graphdef_bytes']:.1f}x, {ratio['peak_rss_mb']:.2f}x |"
        )


if __name__ == "__main__":
    main()
