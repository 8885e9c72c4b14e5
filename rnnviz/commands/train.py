"""`rnnviz train` and `rnnviz runs`: train a model into the run store, list what the store holds."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from typing import Any

from rnnviz.store import DEFAULT_RUNS_DIR


def register(sub: argparse._SubParsersAction) -> None:
    from rnnviz import recipes  # no TensorFlow there

    p = sub.add_parser(
        "train",
        help="train a model on real data, recording metrics, checkpoints and activations",
        description=textwrap.fill(
            "Train MODEL (a sample name or a spec .toml). The data sets the spec's steps, "
            "features and classes (digits: 8 steps of 8); the command says when it adapted "
            "the spec."
        ),
        epilog="Defaults come from the data's recipe (options given here win):\n"
        f"{recipes.describe()}\n"
        + textwrap.fill(
            "The learning rate is the spec's learning_rate when the spec file sets one, else "
            "the recipe's (the sample models set none); the recipe's schedule applies to either "
            "(cosine: the rate falls to 0 at the last step)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", nargs="?", help="a sample model (rnnviz list) or a spec .toml path")
    p.add_argument(
        "--data",
        default="digits",
        help="digits (default, scikit-learn), fashion-mnist (Debian dataset-fashion-mnist), "
        "synthetic (variable length), an MNIST-format IDX folder, or a Keras mnist.npz path",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="training steps (default: the data's recipe; with --resume: the new target)",
    )
    p.add_argument("--batch", type=int, default=None, help="batch size (default: the recipe's)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the batch order")
    p.add_argument("--runs", default=DEFAULT_RUNS_DIR, help="run store folder (default ./runs)")
    p.add_argument("--resume", metavar="RUN_ID", help="continue a run from its last checkpoint")
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="N",
        help="checkpoint every N steps (default: the recipe's)",
    )
    p.add_argument(
        "--activation-every",
        type=int,
        default=None,
        metavar="N",
        help="record the probe batch's activations every N steps (0: never; default: the recipe's)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("runs", help="list the runs in the run store")
    p.add_argument("--runs", default=DEFAULT_RUNS_DIR, help="run store folder (default ./runs)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_runs)


class _Bar:
    """tqdm progress bar fed by train()'s progress callback (stderr, so --json stays clean)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar: Any = None
        self.accuracy: float | None = None
        self._last = 0.0

    def __call__(self, step: int, total: int, loss: float, accuracy: float | None) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=step - 1, unit="step", file=sys.stderr)
        if accuracy is not None:
            self.accuracy = accuracy
        self.bar.update(step - self.bar.n)
        now = time.monotonic()
        if now - self._last > 0.2 or step == total:  # postfix formatting is not free
            acc = "-" if self.accuracy is None else f"{self.accuracy:.3f}"
            self.bar.set_postfix_str(f"loss {loss:.4f} acc {acc}", refresh=False)
            self._last = now

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_train(args: argparse.Namespace) -> int:
    from rnnviz.data import fit_spec, load_data
    from rnnviz.errors import SpecError
    from rnnviz.spec import load_spec

    if args.resume is None and args.model is None:
        raise SpecError("give a MODEL to train (rnnviz list shows the samples) or --resume RUN_ID")
    bar = _Bar(enabled=not args.json and sys.stderr.isatty())
    from rnnviz.training import train  # TensorFlow loads when the loop starts

    try:
        if args.resume is not None:
            run = train(
                "", None, steps=args.steps, runs_dir=args.runs, resume=args.resume, progress=bar
            )
        else:
            spec = load_spec(args.model)
            data = load_data(args.data)
            # Said before the (possibly long) run starts; train() does the adapting itself, so
            # the Run and the stored run record what the data changed.
            _, changes = fit_spec(spec, data)
            if changes and not args.json:
                print(f"adapted {spec.name} to {data.describe()}: {', '.join(changes)}")
            run = train(
                spec,
                data,
                steps=args.steps,
                batch_size=args.batch,
                seed=args.seed,
                runs_dir=args.runs,
                checkpoint_every=args.checkpoint_every,
                activation_every=args.activation_every,
                progress=bar,
            )
    finally:
        bar.close()
    if args.json:
        print(json.dumps(run.to_dict(), indent=2))
    else:
        acc = "-" if run.test_accuracy is None else f"{run.test_accuracy:.4f}"
        print(
            f"run {run.run_id}: {run.spec.name} on {run.data_source}, {run.status} at step "
            f"{run.steps}/{run.target_steps}, test accuracy {acc}, {run.train_seconds:.1f} s "
            f"training -> {run.runs_dir}"
        )
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from rnnviz.store import RunStore

    runs = RunStore(args.runs, create=False).list_runs()
    if args.json:
        print(json.dumps([r.to_dict() for r in runs], indent=2))
        return 0
    if not runs:
        print(f"no runs in {args.runs}")
        return 0
    rows = [("ID", "MODEL", "STEPS", "TEST ACC", "STATUS", "DATA")]
    for r in runs:
        target = r.target_steps
        rows.append(
            (
                r.id,
                r.model,
                f"{r.steps_done}/{target}" if target else str(r.steps_done),
                "-" if r.test_accuracy is None else f"{r.test_accuracy:.4f}",
                r.status,
                r.data_source,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])
    return 0
