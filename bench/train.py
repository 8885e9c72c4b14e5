"""Benchmark: train the 14 source variants with the defaults a user gets, and check the targets.

Every run goes through `rnnviz.train` with no option but the seed (and activation recording off:
`bench/overhead.py` measures it), so steps, batch, learning rate and schedule are the data's
recipe (`rnnviz.recipes`): the figures are what `rnnviz train MODEL --data D` gives. For each
(model, data, seed): build time, median step time, samples/s, train seconds, test accuracy.
Static and dynamic twins are paired; the last column is the ratio static / dynamic step time, the
baseline measured in the same run. Targets: every one of the 14 variants >= 0.95 test accuracy
on digits, on seed 0 and as the mean over the seeds run; the single-layer LSTM(128) >= 0.85 on
Fashion-MNIST; each within 5 minutes of training on this 2-core machine.

Each training runs in a fresh subprocess (one graph's memory does not colour the next) and its
result is appended to a JSON-lines file as it finishes (with the load average at that moment),
so a long run can be interrupted and resumed, and the table printed from what is there.

    .venv/bin/python bench/train.py --data digits --seeds 0 1 2 3     # the digits table
    .venv/bin/python bench/train.py --data fashion-mnist --models single_static_lstm
    .venv/bin/python bench/train.py --table --out bench/results/train_digits.jsonl
    .venv/bin/python bench/train.py --lr 5e-3 --schedule constant ...   # try another recipe
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rnnviz.recipes import SCHEDULES
from rnnviz.spec import SOURCE_VARIANTS

CAP_SECONDS = 300.0
TARGETS = {"digits": 0.95, "fashion-mnist": 0.85}
TARGET_MODELS = {
    "digits": set(SOURCE_VARIANTS),
    "fashion-mnist": {"single_static_lstm", "single_dynamic_lstm"},
}
RESULTS = Path(__file__).resolve().parent / "results"


def measure_one(
    model: str, data: str, seed: int, seconds: float, overrides: dict[str, Any]
) -> dict:
    """Train one model in this process with the recipe's defaults (plus `overrides`)."""
    import numpy as np

    from rnnviz.data import load_data
    from rnnviz.spec import load_spec
    from rnnviz.store import RunStore
    from rnnviz.training import train

    dataset = load_data(data)
    runs = tempfile.mkdtemp(prefix="rnnviz-bench-")
    spec = load_spec(model)
    if "learning_rate" in overrides:
        spec = spec.replace(learning_rate=overrides["learning_rate"])
    run = train(
        spec,
        dataset,
        steps=overrides.get("steps"),
        batch_size=overrides.get("batch_size"),
        schedule=overrides.get("schedule"),
        seed=seed,
        runs_dir=runs,
        activation_every=0,
        max_seconds=seconds,
    )
    store = RunStore(runs)
    config = store.get_run(run.run_id).config
    walls = np.array([r.wall_seconds for r in store.metrics(run.run_id)])
    step_s = float(np.median(np.diff(walls[10:]))) if len(walls) > 20 else float("nan")
    return {
        "model": model,
        "data": data,
        "unroll": run.spec.unroll,
        "T": run.spec.time_steps,
        "build_s": run.build_seconds,
        "step_ms": step_s * 1000,
        "samples_per_s": config["batch_size"] / step_s,
        "steps": run.steps,
        "train_s": run.train_seconds,
        "test_accuracy": run.test_accuracy,
        "capped": run.steps < run.target_steps,
        "seed": seed,
        "batch": config["batch_size"],
        "learning_rate": run.spec.learning_rate,
        "schedule": config["schedule"],
        "load_average": os.getloadavg()[0],
    }


def run_in_subprocess(
    model: str, data: str, seed: int, seconds: float, overrides: dict[str, Any]
) -> dict:
    cmd = [sys.executable, __file__, "--one", json.dumps([model, data, seed, seconds, overrides])]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def load_results(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def summarise(rows: list[dict]) -> list[dict]:
    """One entry per (model, data): seed 0's run and the accuracy over every seed run."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["data"]), []).append(r)
    out = []
    for runs in groups.values():
        first = next((r for r in runs if r["seed"] == 0), runs[0])
        accs = [r["test_accuracy"] for r in runs]
        out.append({**first, "mean": statistics.fmean(accs), "min": min(accs), "seeds": len(accs)})
    return out


def verdict(s: dict) -> str:
    target = TARGETS.get(s["data"])
    if target is None or s["model"] not in TARGET_MODELS.get(s["data"], ()):
        return ""
    ok = s["test_accuracy"] >= target and s["mean"] >= target and s["train_s"] <= CAP_SECONDS
    return f"{'ok' if ok else 'MISS'} {target}"


def table(rows: list[dict]) -> str:
    summary = summarise(rows)
    by_key = {(s["model"], s["data"]): s for s in summary}
    head = (
        f"{'model':<22} {'data':<13} {'T':>3} {'build s':>8} {'step ms':>8} {'samples/s':>10} "
        f"{'steps':>6} {'train s':>8} {'acc seed 0':>10} {'mean (n)':>12} {'min':>7} "
        f"{'target':>8} {'step static/dynamic':>20}"
    )
    lines = [head, "-" * len(head)]
    for s in summary:
        ratio = ""
        twin = by_key.get((s["model"].replace("static", "dynamic"), s["data"]))
        if s["unroll"] == "static" and twin:
            ratio = f"{s['step_ms'] / twin['step_ms']:.2f}"
        lines.append(
            f"{s['model']:<22} {s['data']:<13} {s['T']:>3} {s['build_s']:>8.2f} "
            f"{s['step_ms']:>8.1f} {s['samples_per_s']:>10.0f} {s['steps']:>6} "
            f"{s['train_s']:>8.1f} {s['test_accuracy']:>10.4f} "
            f"{s['mean']:>8.4f} ({s['seeds']}) {s['min']:>7.4f} {verdict(s):>8} {ratio:>20}"
            + (" (capped)" if s["capped"] else "")
        )
    loads = [r["load_average"] for r in rows if "load_average" in r]
    if loads:
        lines.append(
            f"load average (1 min) at the end of each run: {min(loads):.1f}-{max(loads):.1f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=list(SOURCE_VARIANTS))
    parser.add_argument("--data", nargs="+", default=["digits", "fashion-mnist"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one run per seed")
    parser.add_argument("--seconds", type=float, default=CAP_SECONDS, help="cap per run")
    parser.add_argument("--steps", type=int, help="override the recipe's steps")
    parser.add_argument("--batch", type=int, help="override the recipe's batch size")
    parser.add_argument("--lr", type=float, help="override the learning rate (as a spec would)")
    parser.add_argument("--schedule", choices=SCHEDULES, help="override the recipe's schedule")
    parser.add_argument("--out", type=Path, help="JSON-lines file (default: per data set)")
    parser.add_argument("--table", action="store_true", help="only print the saved results")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        model, data, seed, seconds, overrides = json.loads(args.one)
        print(json.dumps(measure_one(model, data, seed, seconds, overrides)))
        return
    overrides = {
        k: v
        for k, v in (
            ("steps", args.steps),
            ("batch_size", args.batch),
            ("learning_rate", args.lr),
            ("schedule", args.schedule),
        )
        if v is not None
    }
    for data in args.data:
        out = args.out or RESULTS / f"train_{data}.jsonl"
        if not args.table:
            out.parent.mkdir(parents=True, exist_ok=True)
            for seed in args.seeds:  # seed by seed: a partial run already covers every model
                for model in args.models:
                    row = run_in_subprocess(model, data, seed, args.seconds, overrides)
                    with out.open("a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(
                        f"{model} on {data}, seed {seed}: {row['test_accuracy']:.4f} in "
                        f"{row['train_s']:.1f} s (load {row['load_average']:.1f})",
                        file=sys.stderr,
                        flush=True,
                    )
        print(table(load_results(out)))


if __name__ == "__main__":
    main()
