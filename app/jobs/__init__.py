"""The dashboard's long work and its disk cache: build a spec's static + dynamic graphs, analyse an
uploaded file, compute the costly figures later; results land in a cache directory that every
server process and worker shares.

`ensure_built` / `ensure_analysed` run a job process (runner.py) unless the entry is cached and
return the entry's meta. The entry holds the GraphDefs (`*.pb`), the reports (`*.report.json`),
the structure partitions (`*.partition.json`, see `rnnviz.structure`) and, for a pair,
`compare.json`; `meta.json` is written last and marks the entry complete. The memory trace and
SavedModel sizes (`figures.json`) come from a detached job started after the build.

Modules: cache.py (keys, private files, reading entries), runner.py (processes, locks, limits),
uploads.py (uploaded files and zips), bodies.py (the job process itself).
Not here: drawing (app/figures.py) or callbacks (app/pages/*).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.jobs.cache import (
    CACHE_VERSION,
    UNROLLS,
    JobError,
    build_key,
    entry_dir,
    file_key,
    known_entry,
    load_partition,
    private_dir,
    read_json,
    read_meta,
)
from app.jobs.runner import Progress, Ready, run_job, start_detached, sweep_stale
from app.jobs.uploads import UPLOAD_SUFFIXES, discard_upload, store_upload, upload_digest
from rnnviz.errors import InputFileError
from rnnviz.settings import Settings, settings


def _cfg(cache_dir: Path | None) -> Settings:
    import dataclasses

    cfg = settings()
    return cfg if cache_dir is None else dataclasses.replace(cfg, cache_dir=Path(cache_dir))


def ensure_built(
    spec_name: str,
    steps: int,
    *,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    figures: bool = True,
    ready: Ready | None = None,
) -> dict[str, Any]:
    """Meta of the cache entry of `spec_name` (a sample name) built static and dynamic at `steps`
    (built if new). `figures`: then start the costly figures' job, detached, if they are missing."""
    from app.validate import checked_spec, checked_steps

    cfg = _cfg(cache_dir)
    steps = checked_steps(steps, cfg)
    spec = checked_spec(spec_name).with_steps(steps)
    key = build_key(spec, steps)
    meta = read_meta(cfg.cache_dir, key)
    if meta is None:
        argv = ["build", spec_name, "--steps", str(steps)]
        run_job(argv, entry_dir(cfg.cache_dir, key), progress, cfg, ready)
        meta = read_meta(cfg.cache_dir, key) or {}
    if figures and not meta.get("figures"):
        start_figures(cfg, key, spec_name, steps)
    return meta


def start_figures(cfg: Settings, key: str, spec_name: str, steps: int) -> None:
    """Start the job of an entry's memory trace and SavedModel sizes (it skips if done)."""
    if figures_running(cfg, key):
        return
    argv = ["figures", key, spec_name, "--steps", str(steps), "--cache", str(cfg.cache_dir)]
    start_detached(argv, cfg, private_dir(cfg.cache_dir / "logs") / "figures.log", nice=10)


def figures_running(cfg: Settings, key: str) -> bool:
    """Whether a figures job holds this entry's figures lock now."""
    import fcntl

    from app.jobs.cache import open_lock_path

    with open_lock_path(private_dir(cfg.cache_dir / "entries") / f"{key}.figures.lock") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False


def ensure_figures(spec_name: str, steps: int, *, cache_dir: Path | None = None) -> dict:
    """Meta with the costly figures, computed here (waits) if missing: for tests and scripts."""
    from app.jobs.bodies import job_figures

    meta = ensure_built(spec_name, steps, cache_dir=cache_dir, figures=False)
    cfg = _cfg(cache_dir)
    if not meta.get("figures"):
        job_figures(meta["key"], spec_name, int(steps), cfg.cache_dir, wait=True)
    return read_meta(cfg.cache_dir, meta["key"]) or meta


def prebuild(spec_name: str, steps: int) -> None:
    """Build the default spec in the background when a server starts (first view from cache)."""
    cfg = settings()
    start_detached(
        ["prebuild", spec_name, "--steps", str(steps)],
        cfg,
        private_dir(cfg.cache_dir / "logs") / "prebuild.log",
    )


def ensure_analysed(
    path: Path, *, cache_dir: Path | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Meta of the cache entry of an uploaded file's report and structure. The upload itself is
    deleted afterwards (kept with RNNVIZ_KEEP_UPLOADS=1)."""
    cfg = _cfg(cache_dir)
    key = file_key(upload_digest(path))
    try:
        meta = read_meta(cfg.cache_dir, key)
        if meta is not None:
            return meta
        return run_job(
            ["file", str(path), "--key", key], entry_dir(cfg.cache_dir, key), progress, cfg
        )
    except JobError as exc:
        raise InputFileError(str(exc)) from None
    finally:
        discard_upload(cfg, path)


__all__ = [
    "CACHE_VERSION",
    "UNROLLS",
    "UPLOAD_SUFFIXES",
    "JobError",
    "Settings",
    "build_key",
    "ensure_analysed",
    "ensure_built",
    "ensure_figures",
    "entry_dir",
    "known_entry",
    "load_partition",
    "prebuild",
    "read_json",
    "read_meta",
    "settings",
    "store_upload",
    "sweep_stale",
]
