"""`rnnviz list` and `rnnviz build`: the sample models and their GraphDefs."""

from __future__ import annotations

import argparse
import contextlib
import os
import stat
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
    out = checked_out(Path(args.out))

    from rnnviz.builder import build  # TensorFlow loads only for commands that need it

    model = build(spec)
    graph_def = model.graph_def()
    if out.suffix == ".pbtxt":
        from google.protobuf import text_format

        write_atomic(out, text_format.MessageToString(graph_def).encode("utf-8"))
    else:
        write_atomic(out, graph_def.SerializeToString())
    print(
        f"{spec.name}: {spec.unroll}, T={spec.time_steps}, {len(graph_def.node)} nodes, "
        f"{out.stat().st_size} bytes -> {out} ({model.build_seconds:.2f} s)"
    )
    return 0


def checked_out(out: Path) -> Path:
    """An `--out` target that may be replaced: absent, or an existing regular file (never a
    device, FIFO, symlink or folder: renaming over one would replace it with a file)."""
    try:
        st = out.lstat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise InputFileError(f"{out}: cannot use it as --out ({exc.strerror})") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise InputFileError(f"{out}: is {kind}; give --out a file path (it is never replaced)")
    parent = out.parent
    if not parent.is_dir():
        raise InputFileError(
            f"{out}: the folder {parent} does not exist; create it or pick another --out"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputFileError(f"{out}: cannot write in {parent}; pick another --out")
    return out


def write_atomic(out: Path, data: bytes) -> None:
    """Write next to `out`, then rename over it: a failed write never leaves half a file, and
    the temporary file is created new (O_EXCL), never through an existing path."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        checked_out(out)  # still not a device or link (it could have changed meanwhile)
        tmp.replace(out)
    except OSError as exc:
        raise InputFileError(f"{out}: cannot write ({exc.strerror})") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
