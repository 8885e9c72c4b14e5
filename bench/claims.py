"""Benchmark: the source texts' claims about static_rnn vs dynamic_rnn, measured in one table.

SEEDS.md "Claims to measure", on the 3-layer LSTM(128) training graph with Adam (samples
`multi_static_lstm` / `multi_dynamic_lstm`), batch 128, at T = 28 and 200:
  1 build time                         5 fixed-length rule (static needs its T, dynamic does not)
  2 peak memory of one training step   6 swap_memory (no GPU here: only the loop attribute)
  3 SavedModel bytes                   7 state[-1].h == outputs[:, -1] (stacked LSTM)
  4 fetchable per-step states          8 transposes saved by time_major
Peak memory, GraphDef/SavedModel sizes and state counts come from the report API
(`rnnviz.report(model, memory=True)`: FULL_TRACE allocation records replayed in time order).
Each (model, T) runs in a fresh subprocess so one graph's memory does not colour the next; the
ratio column is static / dynamic, the baseline measured in the same run.

    .venv/bin/python bench/claims.py                 # T = 28 and 200 (a few minutes)
    .venv/bin/python bench/claims.py --steps 28
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PAIR = ("multi_static_lstm", "multi_dynamic_lstm")
BATCH = 128


def _step_ms(model, steps: int, batch: int = BATCH, repeats: int = 5) -> float:
    rng = np.random.default_rng(0)
    x = rng.random((batch, steps, model.spec.input_size), dtype=np.float32)
    if model.spec.time_major:
        x = x.transpose(1, 0, 2)
    y = rng.integers(0, model.spec.num_classes, batch)
    with model.session() as sess:
        sess.run(model.init_op)
        feed = model.feed(x, y)
        sess.run(model.train_op, feed)  # warm-up: the first run prunes and optimises the graph
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            sess.run(model.train_op, feed)
            times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def measure_graph(name: str, steps: int) -> dict:
    """Claims 1-4 for one model at one T (run in a subprocess)."""
    import rnnviz
    from rnnviz.builder import build
    from rnnviz.commands.report import export
    from rnnviz.spec import load_spec

    spec = load_spec(name).with_steps(steps)
    started = time.perf_counter()
    model = build(spec)
    build_s = time.perf_counter() - started
    r = rnnviz.report(model, memory=True, batch=BATCH)
    with tempfile.TemporaryDirectory() as tmp:
        paths = export(model, Path(tmp) / "export")
        saved_bytes = rnnviz.report(str(paths["saved_model"])).sizes.saved_model_bytes
    return {
        "model": name,
        "unroll": spec.unroll,
        "T": steps,
        "build_s": build_s,
        "nodes": r.ops.total,
        "function_nodes": r.ops.function_ops,
        "graphdef_bytes": r.sizes.graphdef_bytes,
        "saved_model_bytes": saved_bytes,
        "peak_step_bytes": r.memory.peak_bytes if r.memory else None,
        "naive_sum_bytes": r.memory.naive_sum_bytes if r.memory else None,
        "step_ms": _step_ms(model, steps),
        "per_step_states": r.states.per_step,
        "loop_exits": len(r.states.loop_exits),
    }


def fixed_length_rule() -> list[tuple[str, str]]:
    """Claim 5: a static graph takes only its own T; a dynamic one any T."""
    from rnnviz.builder import build
    from rnnviz.errors import SequenceLengthError
    from rnnviz.spec import load_spec

    out = []
    rng = np.random.default_rng(0)
    for name in ("single_static_lstm", "single_dynamic_lstm"):
        model = build(load_spec(name), with_train_op=False)
        with model.session() as sess:
            sess.run(model.init_op)
            for t in (28, 10, 50):
                x = rng.random((2, t, 28), dtype=np.float32)
                try:
                    sess.run(model.logits, model.feed(x))
                    verdict = "runs"
                except SequenceLengthError:
                    # and without rnnviz's check, TF itself refuses the placeholder's shape
                    try:
                        sess.run(model.logits, {model.inputs: x})
                        verdict = "rnnviz refuses; TF runs (!)"
                    except ValueError as exc:
                        verdict = f"refused: {str(exc).splitlines()[0][:60]}..."
                out.append((f"{name} fed T={t}", verdict))
    return out


def last_state_equals_last_output() -> list[tuple[str, str]]:
    """Claim 7: the top layer's final h is the last output, bit for bit (static and dynamic)."""
    from rnnviz.builder import build
    from rnnviz.spec import load_spec

    out = []
    x = np.random.default_rng(1).random((16, 28, 28), dtype=np.float32)
    for name in PAIR:
        model = build(load_spec(name), with_train_op=False)
        with model.session() as sess:
            sess.run(model.init_op)
            outputs, state = sess.run([model.outputs, model.final_state], model.feed(x))
        diff = float(np.abs(state[-1].h - outputs[:, -1, :]).max())
        out.append(
            (
                f"{name}: {len(state)} LSTMStateTuple(c, h), max |state[-1].h - outputs[:, -1]|",
                f"{diff:g}" + (" (exactly equal)" if diff == 0 else ""),
            )
        )
    return out


def time_major_transposes() -> list[tuple[str, str]]:
    """Claim 8: Transpose ops in the RNN's forward and backward scopes, batch- vs time-major."""
    from rnnviz.builder import build
    from rnnviz.spec import load_spec

    out = []
    base = load_spec("time_major_lstm")
    for spec in (base.replace(time_major=False, name="batch_major_lstm"), base):
        model = build(spec)
        nodes = model.graph_def().node
        fwd = sum(1 for n in nodes if n.op == "Transpose" and n.name.startswith("rnn/"))
        bwd = sum(1 for n in nodes if n.op == "Transpose" and n.name.startswith("gradients/rnn/"))
        everywhere = sum(1 for n in nodes if n.op == "Transpose")
        ms = _step_ms(model, spec.time_steps)
        out.append(
            (
                f"{spec.name}: Transpose ops in rnn/ (forward), gradients/rnn/, whole graph; step",
                f"{fwd}, {bwd}, {everywhere}; {ms:.1f} ms",
            )
        )
    return out


def swap_memory() -> list[tuple[str, str]]:
    """Claim 6: swap_memory only matters with a GPU; here we can only show the loop carries it."""
    import rnnviz
    from rnnviz.builder import build
    from rnnviz.spec import load_spec

    r = rnnviz.report(build(load_spec("swap_memory_lstm")))
    flags = sorted({str(loop.swap_memory) for loop in r.loops})
    return [
        (
            "swap_memory_lstm: swap_memory of its loops (report)",
            f"{', '.join(flags)}; not measurable here (CPU only: nothing to swap to)",
        )
    ]


def run_in_subprocess(name: str, steps: int) -> dict:
    cmd = [sys.executable, __file__, "--one", name, str(steps)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, nargs="+", default=[28, 200])
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_graph(args.one[0], int(args.one[1]))))
        return

    print(f"3-layer LSTM(128) + Adam training graph, batch {BATCH}; ratio = static / dynamic")
    figures = [
        ("1 build s", "build_s", "{:.2f}"),
        ("  nodes (+ in loop functions)", None, None),
        ("  GraphDef MB", "graphdef_bytes", "mb"),
        ("2 peak step memory MB", "peak_step_bytes", "mb"),
        ("  (per-node sum would say) MB", "naive_sum_bytes", "mb"),
        ("3 SavedModel MB", "saved_model_bytes", "mb"),
        ("4 fetchable per-step states", "per_step_states", "{}"),
        ("  fetchable loop exits", "loop_exits", "{}"),
        ("  train step ms", "step_ms", "{:.1f}"),
    ]
    for steps in args.steps:
        static, dynamic = (run_in_subprocess(name, steps) for name in PAIR)
        print(f"\nT = {steps}")
        print(f"{'claim / figure':<34} {'static':>12} {'dynamic':>12} {'ratio':>8}")
        for label, key, fmt in figures:
            if key is None:
                a = str(static["nodes"])
                b = f"{dynamic['nodes']} (+{dynamic['function_nodes']})"
                ratio = static["nodes"] / (dynamic["nodes"] + dynamic["function_nodes"])
            else:
                va, vb = static[key], dynamic[key]
                a, b = ((_mb(v) if fmt == "mb" else fmt.format(v)) for v in (va, vb))
                ratio = va / vb if va is not None and vb else float("nan")
            ratio_text = "-" if ratio != ratio else f"{ratio:.2f}"
            print(f"{label:<34} {a:>12} {b:>12} {ratio_text:>8}")

    print()
    for title, rows in (
        ("5 fixed-length rule", fixed_length_rule()),
        ("6 swap_memory", swap_memory()),
        ("7 state[-1].h == outputs[:, -1]", last_state_equals_last_output()),
        ("8 time_major and transposes (dynamic LSTM(128), T=28)", time_major_transposes()),
    ):
        print(title)
        for what, value in rows:
            print(f"  {what}: {value}")


if __name__ == "__main__":
    main()
