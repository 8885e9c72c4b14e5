"""`rnnviz list` and `rnnviz build`: the sample models and their GraphDefs."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnviz.errors import InputFileError
from rnnviz.spec import load_spec, sample_names


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the sample models, one name a line")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("build", help="build a model's full training graph and write its GraphDef")
    p.add_argument("model", help="a sample model's name (rnnviz list) or a path to a spec .toml")
    p.add_argument(
        "--out", required=True, help="where to write the GraphDef (.pb binary, .pbtxt text)"
    )
    p.add_argument("--steps", type=int, default=None, help="override the spec's time steps")
    p.set_defaults(func=cmd_build)


def cmd_list(args: argparse.Namespace) -> int:
    for name in sample_names():
        print(name)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    spec = load_spec(args.model)
    if args.steps is not None:
        spec = spec.with_steps(args.steps)  # validates: a SpecError names the field
    out = Path(args.out)
    if not out.parent.exists():
        raise InputFileError(
            f"{out}: the folder {out.parent} does not exist; create it or pick another --out"
        )

    from rnnviz.builder import build  # TensorFlow loads only for commands that need it

    model = build(spec)
    graph_def = model.graph_def()
    tmp = out.with_name(out.name + ".tmp")
    if out.suffix == ".pbtxt":
        from google.protobuf import text_format

        tmp.write_text(text_format.MessageToString(graph_def), encoding="utf-8")
    else:
        tmp.write_bytes(graph_def.SerializeToString())
    tmp.replace(out)  # atomic: a failed build never leaves half a file where a good one was
    print(
        f"{spec.name}: {spec.unroll}, T={spec.time_steps}, {len(graph_def.node)} nodes, "
        f"{out.stat().st_size} bytes -> {out} ({model.build_seconds:.2f} s)"
    )
    return 0
