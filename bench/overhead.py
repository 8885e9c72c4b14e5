"""Benchmark: what rnnviz's training loop and its activation recording cost (issue 4, items 2 and 4).

On the same graph, same batches, same number of steps:
  bare     a plain `session.run(train_op, feed_dict)` loop: the baseline, measured in the same run;
  loop     `rnnviz.train` with activation recording off (metrics to SQLite, train accuracy at
           intervals, checkpoints at the data's recipe interval, progress callback);
  +acts    `rnnviz.train` recording the probe batch's activations at the recipe's interval
           (Fashion-MNIST: every 100 steps; a dynamic model copies its weights into the
           unrolled twin each time).
Targets: loop / bare <= 1.05, +acts / loop <= 1.10. The three variants run interleaved, `--repeats`
times each. Ratios are given of the fastest repeat (load from other processes on this shared
machine only ever adds time, so the minimum is the least disturbed figure) and of the median.

    .venv/bin/python bench/overhead.py                        # Fashion-MNIST, 600 steps, 3 repeats
    .venv/bin/python bench/overhead.py --models multi_dynamic_lstm --steps 300 --data digits
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

DEFAULT_MODELS = ("single_static_lstm", "single_dynamic_lstm")


def bare_loop(spec, data, steps: int, batch: int, seed: int = 0) -> float:
    """The baseline: the same graph and batches, nothing but session.run."""
    from rnnviz.builder import build
    from rnnviz.training import Batches

    model = build(spec, seed=seed)
    batches = Batches(len(data.x_train), batch, seed)
    with model.session() as sess:
        sess.run(model.init_op)
        started = time.perf_counter()
        for step in range(steps):
            idx = batches.indices(step)
            sess.run(
                model.train_op, {model.inputs: data.x_train[idx], model.labels: data.y_train[idx]}
            )
        return time.perf_counter() - started


def rnnviz_loop(spec, data, steps: int, batch: int, activation_every: int) -> float:
    from rnnviz.training import train

    run = train(
        spec,
        data,
        steps=steps,
        batch_size=batch,
        runs_dir=tempfile.mkdtemp(prefix="rnnviz-overhead-"),
        activation_every=activation_every,
        progress=lambda *a: None,
    )
    return run.train_seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--data", default="fashion-mnist")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--activation-every", type=int, default=None, help="default: the data's recipe"
    )
    args = parser.parse_args()

    from rnnviz.data import fit_spec, load_data
    from rnnviz.recipes import recipe_for
    from rnnviz.spec import load_spec

    data = load_data(args.data)
    every = args.activation_every or recipe_for(data).activation_every
    rows = []
    for name in args.models:
        spec, _ = fit_spec(load_spec(name), data)
        times: dict[str, list[float]] = {"bare": [], "loop": [], "acts": []}
        for _ in range(args.repeats):  # interleaved: a load spike hits all three alike
            times["bare"].append(bare_loop(spec, data, args.steps, args.batch))
            times["loop"].append(rnnviz_loop(spec, data, args.steps, args.batch, 0))
            times["acts"].append(rnnviz_loop(spec, data, args.steps, args.batch, every))
        med = {k: statistics.median(v) for k, v in times.items()}
        best = {k: min(v) for k, v in times.items()}
        rows.append((name, best, med, times))

    print(
        f"{args.data}, batch {args.batch}, {args.steps} steps, {args.repeats} repeats; "
        f"activations every {every} steps; seconds: fastest repeat (median)"
    )
    head = (
        f"{'model':<22} {'bare s':>14} {'loop s':>14} {'+acts s':>14} "
        f"{'loop/bare':>14} {'+acts/loop':>14}"
    )
    print(head)
    print("-" * len(head))
    for name, best, med, _ in rows:
        cells = [f"{best[k]:.2f} ({med[k]:.2f})" for k in ("bare", "loop", "acts")]
        ratios = [
            f"{best['loop'] / best['bare']:.3f} ({med['loop'] / med['bare']:.3f})",
            f"{best['acts'] / best['loop']:.3f} ({med['acts'] / med['loop']:.3f})",
        ]
        print(f"{name:<22} " + " ".join(f"{c:>14}" for c in cells + ratios))
    print("targets: loop/bare <= 1.05, +acts/loop <= 1.10")
    for name, _, _, times in rows:
        print(
            f"  {name} raw: "
            + ", ".join(f"{k}={[round(t, 2) for t in v]}" for k, v in times.items())
        )


if __name__ == "__main__":
    main()
