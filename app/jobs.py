"""The dashboard's long work and its disk cache: build a spec's static + dynamic graphs, analyse an
uploaded file; results land in a cache directory that every server process and worker shares.

Why a subprocess: TensorFlow is not fork-safe, Dash's local background manager forks, and a
230k-node static build takes ~45 s and GBs of RAM. So the web process never imports TensorFlow:
`ensure_built` / `ensure_analysed` run `python -m app.jobs ...` in a fresh interpreter, follow its
progress file and return the cache entry. The entry holds the GraphDef (`*.pb`), the report
(`*.report.json`), the structure partition (`*.partition.pkl`, see `rnnviz.structure`) and, for a
pair, `compare.json`; `meta.json` is written last and marks the entry complete. Concurrent
requests for one entry wait on a file lock instead of building twice.

Not here: drawing (app/figures.py) or callbacks (app/pages/*).
"""

from __future__ import annotations

import argparse
import fcntl
import functools
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnviz.errors import InputFileError, RnnvizError

Progress = Callable[[int, int, str], None]  # (done, total, stage)
UNROLLS = ("static", "dynamic")
UPLOAD_SUFFIXES = (".pb", ".pbtxt", ".meta", ".zip")
# Part of every cache key: bump it when what a job writes changes (report or partition format).
CACHE_VERSION = 5


class JobError(RnnvizError):
    """A build or analysis job failed; the message is the job's one-line error."""


@dataclass(frozen=True)
class Settings:
    """Where the dashboard keeps things; read from the environment so every process agrees."""

    cache_dir: Path
    runs_dir: Path
    max_steps: int
    max_upload_bytes: int


def settings() -> Settings:
    """Settings from RNNVIZ_CACHE_DIR, RNNVIZ_RUNS_DIR, RNNVIZ_MAX_STEPS, RNNVIZ_MAX_UPLOAD_MB."""
    default_cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rnnviz"
    return Settings(
        cache_dir=Path(os.environ.get("RNNVIZ_CACHE_DIR", default_cache)),
        runs_dir=Path(os.environ.get("RNNVIZ_RUNS_DIR", "runs")),
        max_steps=int(os.environ.get("RNNVIZ_MAX_STEPS", "200")),
        max_upload_bytes=int(float(os.environ.get("RNNVIZ_MAX_UPLOAD_MB", "64")) * 2**20),
    )


# ------------------------------------------------------------------------------------------------
# Cache entries


def build_key(spec: Any, steps: int) -> str:
    """Cache key of a spec built at `steps`: readable name + hash of the whole spec."""
    digest = hashlib.sha1(
        json.dumps([CACHE_VERSION, spec.to_dict()], sort_keys=True).encode(),
        usedforsecurity=False,
    ).hexdigest()
    return f"{spec.name}-T{steps}-{digest[:10]}"


def entry_dir(cache_dir: Path, key: str) -> Path:
    """Directory of one cache entry (keys are generated here, never taken from a browser raw)."""
    if not key or "/" in key or key.startswith("."):
        raise JobError(f"invalid cache key {key!r}")
    return Path(cache_dir) / "entries" / key


def read_meta(cache_dir: Path, key: str) -> dict[str, Any] | None:
    path = entry_dir(cache_dir, key) / "meta.json"
    return json.loads(path.read_text()) if path.is_file() else None


def read_json(cache_dir: Path, key: str, name: str) -> Any:
    return _read_json_cached(str(entry_dir(cache_dir, key) / name))


@functools.lru_cache(maxsize=32)
def _read_json_cached(path: str) -> Any:
    # Entries are immutable once meta.json exists, so a per-process memo is safe.
    return json.loads(Path(path).read_text())


@functools.lru_cache(maxsize=8)
def _load_partition_cached(path: str) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def load_partition(cache_dir: Path, key: str, which: str) -> Any:
    """The `rnnviz.structure.Partition` of `which` ("static", "dynamic" or "file")."""
    return _load_partition_cached(str(entry_dir(cache_dir, key) / f"{which}.partition.pkl"))


def _run_job(
    argv: list[str], final: Path, progress: Progress | None, timeout: float
) -> dict[str, Any]:
    """Run `python -m app.jobs argv --out TMP` under the entry's lock; move TMP to `final`."""
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f"{final.name}.lock", "w") as lock:
        _lock(lock, final.name, progress, timeout)  # a second request for the entry waits here
        if (final / "meta.json").is_file():
            return json.loads((final / "meta.json").read_text())
        for stale in final.parent.glob(f".{final.name}.*"):  # left by a job that was killed
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
        try:
            cmd = [sys.executable, "-m", "app.jobs", *argv, "--out", str(tmp)]
            # stderr to a file, not a pipe: TF's warnings could fill a pipe nobody reads yet.
            with open(tmp / "job.log", "wb") as log:
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
            started = time.monotonic()
            seen = None
            while proc.poll() is None:
                if time.monotonic() - started > timeout:
                    proc.kill()
                    raise JobError(f"job {argv[0]} took more than {timeout:.0f} s and was stopped")
                seen = _report_progress(tmp, progress, seen)
                time.sleep(0.2)
            err = (tmp / "job.log").read_text(errors="replace")
            if proc.returncode != 0:
                lines = [ln for ln in err.strip().splitlines() if ln.strip()]
                raise JobError(lines[-1] if lines else f"job {argv[0]} failed ({proc.returncode})")
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return json.loads((final / "meta.json").read_text())


def _lock(lock: Any, name: str, progress: Progress | None, timeout: float) -> None:
    """Take the entry's lock, waiting (and saying so) while another request builds it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise JobError(
                    f"{name}: another request has been building it for too long"
                ) from None
            if progress is not None:
                progress(0, 1, "another request is building this; waiting for it")
            time.sleep(0.5)


def _report_progress(tmp: Path, progress: Progress | None, seen: Any) -> Any:
    path = tmp / "progress.json"
    if progress is None or not path.is_file():
        return seen
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):  # being rewritten
        return seen
    if state != seen:
        progress(int(state["done"]), int(state["total"]), str(state["stage"]))
    return state


def ensure_built(
    spec_name: str,
    steps: int,
    *,
    cache_dir: Path,
    progress: Progress | None = None,
    timeout: float = 3600,
) -> dict[str, Any]:
    """Meta of the cache entry of `spec_name` built static and dynamic at `steps` (built if new)."""
    from rnnviz.spec import load_spec

    spec = load_spec(spec_name).with_steps(int(steps))
    key = build_key(spec, int(steps))
    meta = read_meta(cache_dir, key)
    if meta is not None:
        return meta
    return _run_job(
        ["build", spec_name, "--steps", str(int(steps))],
        entry_dir(cache_dir, key),
        progress,
        timeout,
    )


def store_upload(cache_dir: Path, filename: str, data: bytes, max_bytes: int) -> Path:
    """Save an uploaded file under the cache (content-addressed); a zip is a SavedModel dir."""
    suffix = Path(filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise InputFileError(
            f"{filename}: not a graph file; upload a .pb, .pbtxt, .meta or a zipped SavedModel"
        )
    if len(data) > max_bytes:
        raise InputFileError(
            f"{filename}: {len(data) / 2**20:.1f} MB is over the {max_bytes / 2**20:.0f} MB upload limit"
        )
    digest = hashlib.sha256(data).hexdigest()[:16]
    folder = Path(cache_dir) / "uploads" / digest
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"upload{suffix}"
    path.write_bytes(data)
    if suffix != ".zip":
        return path
    target = folder / "saved_model"
    try:
        with zipfile.ZipFile(path) as zf:
            for member in zf.namelist():  # no absolute paths or '..' escaping the folder
                if member.startswith("/") or ".." in Path(member).parts:
                    raise InputFileError(f"{filename}: the zip has an unsafe path {member!r}")
            zf.extractall(target)
    except zipfile.BadZipFile:
        raise InputFileError(
            f"{filename}: not a valid zip file; zip a SavedModel directory"
        ) from None
    # The SavedModel may be the zip's root or its only top-level folder.
    found = sorted(target.rglob("saved_model.pb*"))
    if not found:
        raise InputFileError(
            f"{filename}: the zip holds no saved_model.pb; zip a SavedModel directory"
        )
    return found[0].parent


def ensure_analysed(
    path: Path, *, cache_dir: Path, progress: Progress | None = None, timeout: float = 600
) -> dict[str, Any]:
    """Meta of the cache entry of an uploaded file's report and structure."""
    digest = hashlib.sha256(f"{CACHE_VERSION}:{path}".encode()).hexdigest()[:16]
    key = f"file-{digest}"
    meta = read_meta(cache_dir, key)
    if meta is not None:
        return meta
    try:
        return _run_job(
            ["file", str(path), "--key", key], entry_dir(cache_dir, key), progress, timeout
        )
    except JobError as exc:
        raise InputFileError(str(exc).removeprefix("rnnviz: error: ")) from None


# ------------------------------------------------------------------------------------------------
# The job process (imports TensorFlow)


class _ProgressFile:
    def __init__(self, out: Path, total: int):
        self.out, self.total, self.done = out, total, 0

    def __call__(self, stage: str) -> None:
        data = json.dumps({"done": self.done, "total": self.total, "stage": stage})
        tmp = self.out / "progress.json.tmp"
        tmp.write_text(data)
        tmp.replace(self.out / "progress.json")
        self.done += 1


def _write_report(out: Path, prefix: str, source: Any, graph_def: Any, step_tensors: Any) -> Any:
    from rnnviz.reporting import report
    from rnnviz.structure import partition

    # memory: one traced training step gives the peak step memory (only a built model can run);
    # tfprof's own float-op count is left out: ~10 s on a big unrolled graph, and the report
    # counts FLOPs itself.
    rep = report(source, memory=step_tensors is not None, tfprof=False)
    (out / f"{prefix}.report.json").write_text(json.dumps(rep.to_dict()))
    part = partition(graph_def, step_tensors=step_tensors)
    with open(out / f"{prefix}.partition.pkl", "wb") as fh:
        pickle.dump(part, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return rep


def _saved_model_bytes(model: Any, folder: Path) -> int:
    """Bytes of the model's SavedModel (graph + variables), exported by the CLI's `export`."""
    from rnnviz.commands.report import export

    with model.graph.as_default():  # export also writes a TF1 event file: graph mode only
        paths = export(model, folder)
    size = sum(p.stat().st_size for p in Path(paths["saved_model"]).rglob("*") if p.is_file())
    shutil.rmtree(folder, ignore_errors=True)  # only its size is shown; keep the cache small
    return size


def job_build(spec_name: str, steps: int, out: Path) -> None:
    """Build the spec static and dynamic at `steps`; write graphs, reports, partitions, compare."""
    from rnnviz.builder import build
    from rnnviz.reporting import compare
    from rnnviz.spec import load_spec

    spec = load_spec(spec_name).with_steps(steps)
    tick = _ProgressFile(out, 7)
    reports = {}
    meta: dict[str, Any] = {"key": build_key(spec, steps), "spec": spec.name, "steps": steps}
    for unroll in UNROLLS:
        tick(f"building the {unroll} graph (T={steps})")
        twin = spec.twin(unroll) if spec.unroll != unroll else spec
        if twin.is_static and twin.variable_length and twin.control_flow == "v2":
            # static_rnn with sequence_length under v2 puts each step in a StatelessIf function:
            # the steps leave the graph. v1 keeps them inline (as the static samples do).
            twin = twin.replace(control_flow="v1")
        model = build(twin)
        graph_def = model.graph_def()
        data = graph_def.SerializeToString()
        (out / f"{unroll}.pb").write_bytes(data)
        tick(f"reporting on the {unroll} graph ({len(graph_def.node):,} nodes)")
        reports[unroll] = _write_report(out, unroll, model, graph_def, model.step_tensors)
        tick(f"exporting the {unroll} SavedModel")
        saved_bytes = _saved_model_bytes(model, out / f"export-{unroll}")
        meta[unroll] = {
            "spec": model.spec.name,
            "nodes": len(graph_def.node),
            "bytes": len(data),
            "build_seconds": model.build_seconds,
            "saved_model_bytes": saved_bytes,
        }
        del model, graph_def
    tick("comparing")
    result = compare(reports["static"], reports["dynamic"])
    (out / "compare.json").write_text(json.dumps(result.to_dict()))
    (out / "meta.json").write_text(json.dumps(meta))


def job_file(path: str, key: str, out: Path) -> None:
    """Report and structure of one uploaded file."""
    from rnnviz.reporting.sources import load_graph_def

    tick = _ProgressFile(out, 2)
    tick("reading the file")
    graph_def, info = load_graph_def(path)
    tick(f"reporting on {len(graph_def.node):,} nodes")
    _write_report(out, "file", path, graph_def, None)
    meta = {"key": key, "kind": info.kind, "nodes": len(graph_def.node)}
    (out / "meta.json").write_text(json.dumps(meta))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.jobs")
    sub = parser.add_subparsers(dest="job", required=True)
    b = sub.add_parser("build")
    b.add_argument("spec")
    b.add_argument("--steps", type=int, required=True)
    b.add_argument("--out", type=Path, required=True)
    f = sub.add_parser("file")
    f.add_argument("path")
    f.add_argument("--key", required=True)
    f.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.job == "build":
            job_build(args.spec, args.steps, args.out)
        else:
            job_file(args.path, args.key, args.out)
    except RnnvizError as exc:
        print(f"rnnviz: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
