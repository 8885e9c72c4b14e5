"""`rnnviz report`, `rnnviz compare` and `rnnviz export`: the graph report on the command line.

MODEL is a sample model's name or a spec .toml (rnnviz builds it); FILE is any graph file or
SavedModel directory (only parsed, never run). Output is the readable table or, with --json,
the report's `to_dict()`. Bad input is an `RnnvizError`, which cli.py turns into one line + exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rnnviz.errors import InputFileError, SpecError, StepsError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="walk a model's or a file's graph: ops, params, steps, loops, cost"
    )
    p.add_argument(
        "source", metavar="MODEL|FILE", help="sample name, spec .toml, graph file or SavedModel dir"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON (to_dict)")
    _steps_option(p)
    p.add_argument(
        "--memory", action="store_true", help="also run one traced training step (MODEL only)"
    )
    p.add_argument("--tfprof", action="store_true", help="also compute tfprof's float-op count")
    p.add_argument(
        "--html",
        metavar="OUT.html",
        type=Path,
        help="write one self-contained HTML file (tables, charts, structure view; works offline)",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="two reports side by side with the ratio of every figure")
    p.add_argument("a", metavar="A", help="MODEL or FILE")
    p.add_argument("b", metavar="B", help="MODEL or FILE")
    p.add_argument("--json", action="store_true")
    _steps_option(p)
    p.add_argument("--memory", action="store_true", help="also measure peak memory (MODELs only)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "export", help="write a model as a SavedModel plus a TensorBoard graph event file"
    )
    p.add_argument("model", metavar="MODEL", help="sample name or spec .toml")
    p.add_argument("out", metavar="DIR", help="directory to create (must not exist or be empty)")
    p.add_argument("--steps", type=int, default=None)
    p.set_defaults(func=cmd_export)


def _steps_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--steps",
        action="append",
        metavar="T|LOOP=T",
        help="MODEL: build it with T steps. FILE: trip count of every loop whose length the graph "
        "does not fix (T), or of one loop (LOOP=T, the name or its end); repeatable",
    )


def _model_steps(text: str, steps: Any) -> int | None:
    """A MODEL is built with one T: a per-loop `LOOP=T` only means something for a FILE."""
    if steps is None or isinstance(steps, int):
        return steps
    raise StepsError(f"{text}: --steps LOOP=T names a loop of a graph file; give MODEL one T")


def _is_file_source(text: str) -> bool:
    path = Path(text)
    return path.exists() and path.suffix != ".toml"


def resolve(text: str, steps: Any) -> tuple[Any, Any]:
    """A MODEL name/spec is built (returns the BuiltModel); a FILE is returned as a Path.

    `steps`: a number, a list of `--steps` values as typed, or a parsed `{loop: T}`."""
    if isinstance(steps, list):
        from rnnviz.reporting.trips import parse_steps

        steps = parse_steps(steps)
    if _is_file_source(text):
        return Path(text), steps
    steps = _model_steps(text, steps)
    from rnnviz.spec import load_spec

    try:
        spec = load_spec(text)
    except SpecError as exc:
        if Path(text).suffix in (".pb", ".pbtxt", ".meta") or "/" in text:
            raise InputFileError(f"{text}: no such file or directory; check the path") from None
        raise exc from None
    if steps is not None:
        spec = spec.with_steps(steps)
    from rnnviz.builder import build

    return build(spec), None


def _report(
    text: str, args: argparse.Namespace, resolved: tuple[Any, int | None] | None = None
) -> Any:
    from rnnviz.reporting.api import report

    source, trip = resolved or resolve(text, args.steps)
    built = not isinstance(getattr(source, "source", source), Path)  # an Analysis: what it read
    if getattr(args, "memory", False) and not built:
        raise InputFileError(
            f"{text}: --memory runs a training step, only for models rnnviz builds"
        )
    return report(
        source,
        steps=trip,
        memory=getattr(args, "memory", False),
        tfprof=True if getattr(args, "tfprof", False) else None,
    )


def cmd_report(args: argparse.Namespace) -> int:
    from rnnviz.reporting.text import render

    if args.html is not None:
        return write_html(args)
    return _emit(_report(args.source, args), args.json, render)


def write_html(args: argparse.Namespace) -> int:
    """`--html OUT.html`: the report and the graph's structure view in one offline HTML file."""
    from rnnviz.html import render_html
    from rnnviz.reporting.analysis import analyse
    from rnnviz.structure import make_view, partition

    out = Path(args.html)
    if not out.parent.is_dir():
        raise InputFileError(f"{out}: the folder {out.parent} does not exist; create it first")
    source, trip = resolve(args.source, args.steps)
    analysis = analyse(source, steps=trip)  # once: the report and the partition both read it
    rep = _report(args.source, args, (analysis, None))
    part = partition(analysis)
    view = make_view(part)  # the collapsed view, as the Structure page first shows it
    out.write_text(render_html(rep, view), encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB; opens offline in any browser)")
    return 0


def _emit(result: Any, as_json: bool, render: Any) -> int:
    """Print a report or comparison: its to_dict() as JSON, or the readable table."""
    if as_json:
        json.dump(result.to_dict(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render(result))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from rnnviz.reporting.compare import compare_reports
    from rnnviz.reporting.text import render_comparison

    return _emit(
        compare_reports(_report(args.a, args), _report(args.b, args)), args.json, render_comparison
    )


def export(model: Any, out: Path) -> dict[str, Any]:
    """SavedModel (TF1 builder, variables initialised) + a TensorBoard event file with the graph."""

    if out.exists() and any(out.iterdir()):
        raise InputFileError(f"{out}: exists and is not empty; give a new directory")
    if not out.parent.exists():
        raise InputFileError(f"{out}: the folder {out.parent} does not exist; create it first")
    saved_dir = out / "saved_model"
    # Both writers refuse to work eagerly: everything happens with the model's graph as default.
    with model.graph.as_default():
        return _export_in_graph(model, out, saved_dir)


def _export_in_graph(model: Any, out: Path, saved_dir: Path) -> dict[str, Any]:
    from rnnviz.tfcompat import v1

    builder = v1.saved_model.Builder(str(saved_dir))
    with model.session() as sess:
        sess.run(model.init_op)
        signature = v1.saved_model.predict_signature_def(
            inputs={"x": model.inputs}, outputs={"logits": model.logits}
        )
        builder.add_meta_graph_and_variables(
            sess,
            [v1.saved_model.SERVING],
            signature_def_map={"serving_default": signature},
            saver=model.saver,
        )
    builder.save()
    writer = v1.summary.FileWriter(str(out / "tensorboard"), graph=model.graph)
    writer.flush()
    writer.close()
    events = sorted((out / "tensorboard").glob("events.out.tfevents.*"))
    return {"saved_model": saved_dir, "events": events[-1] if events else None}


def cmd_export(args: argparse.Namespace) -> int:
    source, _ = resolve(args.model, args.steps)
    if isinstance(source, Path):
        raise InputFileError(
            f"{args.model}: export takes a MODEL (sample name or spec .toml), not a graph file"
        )
    paths = export(source, Path(args.out))
    print(f"SavedModel: {paths['saved_model']}")
    print(
        f"TensorBoard graph: {paths['events']}  (tensorboard --logdir {Path(args.out) / 'tensorboard'})"
    )
    return 0
