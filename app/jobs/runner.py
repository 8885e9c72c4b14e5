"""Running a job: `python -m app.jobs ...` in a fresh interpreter, limited, locked and followed.

Why a subprocess: TensorFlow is not fork-safe, Dash's local background manager forks, and a
230k-node static build takes ~45 s and GBs of RAM. So the web process never imports TensorFlow.

Each job
* runs under the entry's file lock: a second request for the same entry waits and reads the
  first one's result (however many ask at once, each gets it);
* takes one of `max_jobs` slots per cache dir (file locks too, so every server process and worker
  on the machine counts), so a burst of requests cannot start unbounded builds;
* gets `RLIMIT_CPU` and `RLIMIT_AS` from the settings and dies with its parent
  (`PR_SET_PDEATHSIG`): a cancelled request (Dash kills its process) leaves no job behind;
* writes into a private temporary folder renamed into place when complete, so a killed job
  leaves nothing a reader could take for a result (`sweep_stale` removes its leftovers).

Not here: what a job computes (bodies.py) or the cache layout (cache.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from app.jobs.cache import UNROLLS, JobError, partial_of, private_dir, write_private
from app.jobs.cache import open_lock_path as open_lock
from rnnviz.settings import MB, Settings

Progress = Callable[[int, int, str], None]  # (done, total, stage)
Ready = Callable[[list[str]], None]  # the graphs of the entry whose files can be read already
_PR_SET_PDEATHSIG = 1


def _limits(cfg: Settings, *, die_with_parent: bool = True, nice: int = 0) -> Callable[[], None]:
    cpu, memory = int(cfg.job_cpu_seconds), int(cfg.job_memory_mb) * MB

    def apply() -> None:  # runs in the child between fork and exec: keep it to syscalls
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if nice:  # the late figures: after whatever a user waits for
            os.nice(nice)
        if die_with_parent:
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return apply


def job_command(argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "app.jobs", *argv]


def run_job(
    argv: list[str],
    final: Path,
    progress: Progress | None,
    cfg: Settings,
    ready: Ready | None = None,
) -> dict[str, Any]:
    """Run `python -m app.jobs argv --out TMP` under the entry's lock; move TMP to `final`.

    Each graph's partition and report are published (cache.partial_dir) as soon as the job has
    written them, and `ready` told which graphs can be read, also while waiting for another
    process's job on the same entry."""
    private_dir(final.parent)
    early = partial_of(final)
    with open_lock(final.parent / f"{final.name}.lock") as lock:
        why = "another request is building this; waiting for it"
        _wait_lock(lock, why, progress, cfg, lambda: _tell_ready(early, ready))
        if (final / "meta.json").is_file():
            return json.loads((final / "meta.json").read_text())
        for stale in final.parent.glob(f".{final.name}.*"):  # left by a job that was killed
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))  # 0700
        try:
            with job_slot(cfg, progress):
                _follow(argv, tmp, progress, cfg, lambda: _publish(tmp, early, ready))
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(early, ignore_errors=True)  # complete (or failed): read the entry
    return json.loads((final / "meta.json").read_text())


def _publish(tmp: Path, early: Path, ready: Ready | None) -> None:
    """Copy each graph's partition and report, once the job wrote both, where readers look."""
    for which in UNROLLS:
        names = (f"{which}.partition.json", f"{which}.report.json")
        # The job writes the report after the partition, each file atomically.
        if (early / names[1]).is_file() or not (tmp / names[1]).is_file():
            continue
        private_dir(early)
        for name in names:
            write_private(early / name, (tmp / name).read_bytes())
    _tell_ready(early, ready)


def _tell_ready(early: Path, ready: Ready | None) -> None:
    if ready is not None:
        ready([w for w in UNROLLS if (early / f"{w}.report.json").is_file()])


def _follow(
    argv: list[str],
    tmp: Path,
    progress: Progress | None,
    cfg: Settings,
    poll: Callable[[], None] = lambda: None,
) -> None:
    """Start the job process and follow its progress file until it exits."""
    # stderr to a file, not a pipe: TF's warnings could fill a pipe nobody reads yet.
    with open(tmp / "job.log", "wb") as log:
        proc = subprocess.Popen(
            [*job_command(argv), "--out", str(tmp)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_limits(cfg),  # the server is single-threaded
        )
    started = time.monotonic()
    seen = None
    try:
        while proc.poll() is None:
            if time.monotonic() - started > cfg.job_timeout:
                raise JobError(f"job {argv[0]} took more than {cfg.job_timeout:.0f} s; stopped")
            seen = _report_progress(tmp, progress, seen)
            poll()
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _check_exit(argv[0], proc.returncode, tmp / "job.log", cfg)


def _check_exit(job: str, code: int, log: Path, cfg: Settings) -> None:
    if code == 0:
        return
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        raise JobError(
            f"job {job} was stopped at its limit of {cfg.job_cpu_seconds} CPU-seconds "
            "(RNNVIZ_JOB_CPU_SECONDS); choose a smaller T"
        )
    lines = [ln for ln in log.read_text(errors="replace").strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else ""
    if "MemoryError" in last or "bad_alloc" in last or "Resource exhausted" in last:
        raise JobError(
            f"job {job} ran out of its {cfg.job_memory_mb} MB memory limit "
            "(RNNVIZ_JOB_MEMORY_MB); choose a smaller T"
        )
    if not last.startswith("rnnviz: error: "):  # a crash: its traceback stays in the log only
        raise JobError(f"job {job} failed ({last[-200:] or f'exit code {code}'})")
    raise JobError(last.removeprefix("rnnviz: error: "))


def _wait_lock(
    lock: IO[str],
    why: str,
    progress: Progress | None,
    cfg: Settings,
    poll: Callable[[], None] = lambda: None,
) -> None:
    """Take `lock`, waiting (and saying so) while another process holds it."""
    deadline = time.monotonic() + cfg.job_timeout
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise JobError(f"waited more than {cfg.job_timeout:.0f} s; {why}") from None
            if progress is not None:
                progress(0, 1, why)
            poll()
            time.sleep(0.25)


@contextlib.contextmanager
def job_slot(cfg: Settings, progress: Progress | None) -> Iterator[None]:
    """Hold one of the `max_jobs` job slots of this cache dir while the block runs."""
    folder = private_dir(cfg.cache_dir / "slots")
    deadline = time.monotonic() + cfg.job_timeout
    while True:
        for i in range(cfg.max_jobs):
            lock = open_lock(folder / f"slot-{i}.lock")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            try:
                yield
            finally:
                lock.close()
            return
        if time.monotonic() > deadline:
            raise JobError(f"all {cfg.max_jobs} job slots stayed busy; try again later")
        if progress is not None:
            progress(0, 1, f"{cfg.max_jobs} jobs are running; waiting for a free slot")
        time.sleep(0.25)


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


def sweep_stale(cache_dir: Path) -> int:
    """Remove the temporary folders, and the early-published graphs (`partial/`), of jobs that
    were killed (their entry lock is free)."""
    entries = Path(cache_dir) / "entries"
    removed = 0
    early = [(p, p.name) for p in (Path(cache_dir) / "partial").glob("*")]
    for tmp, name in [*((t, t.name[1:].rsplit(".", 1)[0]) for t in entries.glob(".*")), *early]:
        lock_path = entries / f"{name}.lock"
        if not tmp.is_dir() or not lock_path.is_file():
            continue
        with open_lock(lock_path) as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its job is still running
            shutil.rmtree(tmp, ignore_errors=True)
            removed += 1
    return removed


def start_detached(
    argv: list[str], cfg: Settings, log: Path, *, nice: int = 0
) -> subprocess.Popen[bytes]:
    """Start a job that nobody waits for (the late figures, the prebuild at server start); a
    thread reaps it so it never lingers as a zombie."""
    import threading

    with open(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as out:
        proc = subprocess.Popen(
            job_command(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_limits(cfg, die_with_parent=False, nice=nice),
            start_new_session=True,
        )
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{proc.pid}").start()
    return proc


__all__ = ["Progress", "Ready", "job_slot", "run_job", "start_detached", "sweep_stale"]
