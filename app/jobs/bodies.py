"""What a job process computes (this is the side that imports TensorFlow).

* `build SPEC --steps T`: both graphs of a spec (the dynamic one first: it is quick), each
  partitioned for its panel and given a cheap report; `compare.json` and `meta.json` last. This is
  all the Structure page waits for.
* `figures KEY SPEC --steps T`: the costly figures of an entry (one traced training step for the
  peak memory, two SavedModel exports for their size), run after the build, detached; it
  rewrites the reports with memory, `compare.json`, and writes `figures.json`.
* `file PATH --key KEY`: report and partition of one uploaded file.

Every file is written private (cache.write_private). Not here: locks, limits (runner.py).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from app.jobs.cache import UNROLLS, build_key, entry_dir, open_lock_path, write_private
from rnnviz.errors import RnnvizError


class _ProgressFile:
    def __init__(self, out: Path, total: int):
        self.out, self.total, self.done = out, total, 0

    def __call__(self, stage: str) -> None:
        data = json.dumps({"done": self.done, "total": self.total, "stage": stage})
        write_private(self.out / "progress.json", data)
        self.done += 1


def _twin(spec: Any, unroll: str) -> Any:
    twin = spec.twin(unroll) if spec.unroll != unroll else spec
    if twin.is_static and twin.variable_length and twin.control_flow == "v2":
        # static_rnn with sequence_length under v2 puts each step in a StatelessIf function:
        # the steps leave the graph. v1 keeps them inline (as the static samples do).
        twin = twin.replace(control_flow="v1")
    return twin


def _load(spec_name: str, steps: int) -> Any:
    from app.validate import checked_spec

    return checked_spec(spec_name).with_steps(steps)


def job_build(spec_name: str, steps: int, out: Path) -> None:
    """Both graphs, partitions and cheap reports (no memory trace, no SavedModel)."""
    from rnnviz.builder import build
    from rnnviz.reporting import compare, report
    from rnnviz.reporting.analysis import analyse
    from rnnviz.structure import partition

    spec = _load(spec_name, steps)
    tick = _ProgressFile(out, 2 * len(UNROLLS) + 1)
    reports = {}
    meta: dict[str, Any] = {"key": build_key(spec, steps), "spec": spec.name, "steps": steps}
    for unroll in ("dynamic", "static"):
        tick(f"building the {unroll} graph (T={steps})")
        model = build(_twin(spec, unroll))
        graph_def = model.graph_def()
        data = graph_def.SerializeToString()
        write_private(out / f"{unroll}.pb", data)
        tick(f"laying out the {unroll} graph ({len(graph_def.node):,} nodes)")
        analysis = analyse(model)  # once: the partition and the report both read it
        part = partition(analysis)
        write_private(out / f"{unroll}.partition.json", json.dumps(part.to_dict()))
        rep = report(analysis, memory=False, tfprof=False)
        write_private(out / f"{unroll}.report.json", json.dumps(rep.to_dict()))
        reports[unroll] = rep
        meta[unroll] = {
            "spec": model.spec.name,
            "nodes": len(graph_def.node),
            "bytes": len(data),
            "build_seconds": model.build_seconds,
        }
        del model, graph_def, part, analysis
    tick("comparing")
    result = compare(reports["static"], reports["dynamic"])
    write_private(out / "compare.json", json.dumps(result.to_dict()))
    write_private(out / "meta.json", json.dumps(meta))


def job_figures(
    key: str, spec_name: str, steps: int, cache_dir: Path, *, wait: bool = False
) -> None:
    """The costly figures of a built entry, once: a second caller finds the lock taken, or the
    figures there, and leaves at once (before TensorFlow loads); with `wait`, it waits for the
    caller holding the lock instead, so the figures are there when it returns."""
    import fcntl

    folder = entry_dir(cache_dir, key)
    with open_lock_path(folder.parent / f"{key}.figures.lock") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return
        if (folder / "figures.json").is_file() or not (folder / "meta.json").is_file():
            return
        _write_figures(folder, _load(spec_name, steps))


def _write_figures(folder: Path, spec: Any) -> None:
    from rnnviz.builder import build
    from rnnviz.reporting import compare, report

    late: dict[str, Any] = {}
    reports = {}
    for unroll in UNROLLS:
        model = build(_twin(spec, unroll))
        late[unroll] = {}
        if not (folder / f"{unroll}.pb").is_file():
            # A shipped entry (app/jobs/shipped.py) has no GraphDefs (the op details read
            # them) and no build times: first thing, they are made here.
            write_private(folder / f"{unroll}.pb", model.graph_def().SerializeToString())
            late[unroll]["build_seconds"] = model.build_seconds
        reports[unroll] = rep = report(model, memory=True, tfprof=False)
        write_private(folder / f"{unroll}.report.json", json.dumps(rep.to_dict()))
        export_dir = folder / f".export-{unroll}"
        late[unroll]["saved_model_bytes"] = _saved_model_bytes(model, export_dir)
        del model
    result = compare(reports["static"], reports["dynamic"])
    write_private(folder / "compare.json", json.dumps(result.to_dict()))
    write_private(folder / "figures.json", json.dumps(late))


def _saved_model_bytes(model: Any, folder: Path) -> int:
    """Bytes of the model's SavedModel (graph + variables), exported by the CLI's `export`."""
    from rnnviz.commands.report import export

    shutil.rmtree(folder, ignore_errors=True)
    try:
        with model.graph.as_default():  # export also writes a TF1 event file: graph mode only
            paths = export(model, folder)
        return sum(p.stat().st_size for p in Path(paths["saved_model"]).rglob("*") if p.is_file())
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # only its size is shown; keep the cache small


def job_file(path: str, key: str, out: Path) -> None:
    """Report and structure of one uploaded file."""
    from rnnviz.reporting import report
    from rnnviz.reporting.analysis import analyse
    from rnnviz.structure import partition

    tick = _ProgressFile(out, 2)
    tick("reading the file")
    analysis = analyse(path)  # once: the report and the partition both read it
    nodes = len(analysis.index.names)
    tick(f"reporting on {nodes:,} nodes")
    rep = report(analysis, memory=False, tfprof=False)
    write_private(out / "file.report.json", json.dumps(rep.to_dict()))
    write_private(out / "file.partition.json", json.dumps(partition(analysis).to_dict()))
    meta = {"key": key, "kind": analysis.source_info.kind, "nodes": nodes}
    write_private(out / "meta.json", json.dumps(meta))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.jobs")
    sub = parser.add_subparsers(dest="job", required=True)
    b = sub.add_parser("build")
    b.add_argument("spec")
    b.add_argument("--steps", type=int, required=True)
    b.add_argument("--out", type=Path, required=True)
    g = sub.add_parser("figures")
    g.add_argument("key")
    g.add_argument("spec")
    g.add_argument("--steps", type=int, required=True)
    g.add_argument("--cache", type=Path, required=True)
    p = sub.add_parser("prebuild")
    p.add_argument("spec")
    p.add_argument("--steps", type=int, required=True)
    f = sub.add_parser("file")
    f.add_argument("path")
    f.add_argument("--key", required=True)
    f.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.job == "build":
            job_build(args.spec, args.steps, args.out)
        elif args.job == "figures":
            job_figures(args.key, args.spec, args.steps, args.cache)
        elif args.job == "prebuild":
            from app.jobs import ensure_built, start_figures
            from rnnviz.settings import settings

            meta = ensure_built(
                args.spec, args.steps, cache_dir=settings().cache_dir, figures=False
            )
            if meta.get("shipped") and not meta.get("figures"):
                # Its GraphDefs come with the figures job: start it now (ensure_built's path).
                start_figures(settings(), meta["key"], args.spec, args.steps)
        else:
            job_file(args.path, args.key, args.out)
    except RecursionError:
        print("rnnviz: error: the graph is nested too deeply to read", file=sys.stderr)
        return 2
    except RnnvizError as exc:
        print(f"rnnviz: error: {str(exc).splitlines()[0] if str(exc) else exc}", file=sys.stderr)
        return 2
    return 0
