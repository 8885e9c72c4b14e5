"""The dashboard's disk cache: entry keys, private folders and files, and reading entries back.

An entry (`<cache>/entries/<key>/`) is written by one job and read by every server process. What
is read from disk is JSON only (no pickle: a planted file must never run code), keys are checked
against the pattern the server makes and must name an entry that exists, and everything is created
private to the server's user (folders 0700, files 0600): the cache also holds Dash's job-signing
secret.

Not here: running jobs (app/jobs/runner.py) or what a job computes (app/jobs/bodies.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from pathlib import Path
from typing import IO, Any

from rnnviz.errors import RnnvizError

UNROLLS = ("static", "dynamic")
PANELS = (*UNROLLS, "file")
# Part of every cache key: bump it when what a job writes changes (report or partition format).
CACHE_VERSION = 7
# <spec name>-T<steps>-<10 hex> for builds, file-<16 hex> for uploads: nothing else is a key.
KEY_PATTERN = re.compile(r"(?:[A-Za-z0-9_]{1,80}-T[0-9]{1,6}-[0-9a-f]{10}|file-[0-9a-f]{16})")


class JobError(RnnvizError):
    """A build or analysis job failed; the message is the job's one-line error."""


def private_dir(path: Path) -> Path:
    """`path` (and missing parents) created 0700; an existing one is tightened to 0700."""
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def open_lock_path(path: Path) -> IO[str]:
    """A lock file (private, never through a symlink) to flock."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    return os.fdopen(fd, "w")


def write_private(path: Path, data: bytes | str) -> None:
    """Write a file readable by this user only, atomically (a reader never sees half of it)."""
    raw = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(raw)
    tmp.replace(path)


def build_key(spec: Any, steps: int) -> str:
    """Cache key of a spec built at `steps`: readable name + hash of the whole spec."""
    digest = hashlib.sha1(
        json.dumps([CACHE_VERSION, spec.to_dict()], sort_keys=True).encode(),
        usedforsecurity=False,
    ).hexdigest()
    name = re.sub(r"[^A-Za-z0-9_]", "_", spec.name)[:80] or "spec"
    return f"{name}-T{steps}-{digest[:10]}"


def file_key(content_digest: str) -> str:
    return "file-" + hashlib.sha256(f"{CACHE_VERSION}:{content_digest}".encode()).hexdigest()[:16]


def entry_dir(cache_dir: Path, key: Any) -> Path:
    """Directory of one cache entry; `JobError` for anything that is not a key this server makes."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise JobError(f"invalid cache key {str(key)[:40]!r}")
    return Path(cache_dir) / "entries" / key


def known_entry(cache_dir: Path, key: Any) -> Path:
    """The folder of an entry this server completed (a browser may only name those)."""
    folder = entry_dir(cache_dir, key)
    if not (folder / "meta.json").is_file():
        raise JobError(f"no cache entry {key!r}; build or upload it again")
    return folder


def read_meta(cache_dir: Path, key: str) -> dict[str, Any] | None:
    """The entry's meta.json (None until complete), with the late figures merged in."""
    folder = entry_dir(cache_dir, key)
    path = folder / "meta.json"
    if not path.is_file():
        return None
    meta = _read_json_at(str(path), path.stat().st_mtime_ns)
    figures = folder / "figures.json"
    if figures.is_file():
        late = _read_json_at(str(figures), figures.stat().st_mtime_ns)
        meta = {**meta, **{w: {**meta.get(w, {}), **late.get(w, {})} for w in UNROLLS}}
        meta["figures"] = True
    return meta


def partial_dir(cache_dir: Path, key: Any) -> Path:
    """Where a build in progress puts each graph's partition and report as soon as they are
    made (runner.py), so its panel is drawn before the other graph is done; removed once the
    entry is complete."""
    return partial_of(entry_dir(cache_dir, key))


def partial_of(entry: Path) -> Path:
    """`partial_dir` of the entry folder `entry` (`<cache>/entries/<key>`)."""
    return entry.parent.parent / "partial" / entry.name


def entry_file(cache_dir: Path, key: Any, name: str) -> Path:
    """A file of a complete entry, or of a build in progress when it has that file already."""
    if "/" in name or name.startswith(".") or not name.endswith(".json"):
        raise JobError(f"invalid cache file name {name!r}")
    folder = entry_dir(cache_dir, key)
    if (folder / "meta.json").is_file():
        return folder / name
    early = partial_dir(cache_dir, key) / name
    if early.is_file():
        return early
    known_entry(cache_dir, key)  # says what is missing
    return folder / name


def read_json(cache_dir: Path, key: str, name: str) -> Any:
    """One JSON file of a complete entry (`name` is a plain file name the server writes), or of
    a build in progress that has written it."""
    path = entry_file(cache_dir, key, name)
    return _read_json_at(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _read_json_at(path: str, mtime_ns: int) -> Any:
    # Keyed by mtime: the late figures job replaces a report in place.
    return json.loads(Path(path).read_text())


def load_partition(cache_dir: Path, key: str, which: str) -> Any:
    """The `rnnviz.structure.Partition` of `which` ("static", "dynamic" or "file")."""
    if which not in PANELS:
        raise JobError(f"invalid panel {which!r}")
    path = entry_file(cache_dir, key, f"{which}.partition.json")
    return _load_partition_at(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _load_partition_at(path: str, mtime_ns: int) -> Any:
    from rnnviz.structure import Partition

    return Partition.from_dict(json.loads(Path(path).read_text()))


__all__ = [
    "CACHE_VERSION",
    "UNROLLS",
    "JobError",
    "build_key",
    "entry_dir",
    "entry_file",
    "file_key",
    "known_entry",
    "load_partition",
    "partial_dir",
    "partial_of",
    "private_dir",
    "read_json",
    "read_meta",
    "write_private",
]
