"""Uploaded files: saved privately under the cache, zips checked and extracted with hard limits.

A zip is checked from its central directory before anything is written (member count, declared
sizes, compression ratio, names: absolute, `..`, too long, too deep, clashing, symlinks,
encryption, compression method), then each member is streamed out with a running byte cap, since
a declared size can lie. Any refusal is one `InputFileError` line and removes the upload's folder:
nothing stays on disk. `discard_upload` deletes an upload once its analysis is cached.

Not here: reading the graph (rnnviz.reporting.sources) or the HTTP request cap (app/main.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from app.jobs.cache import private_dir, write_private
from rnnviz.errors import InputFileError
from rnnviz.settings import MB, Settings, settings

UPLOAD_SUFFIXES = (".pb", ".pbtxt", ".meta", ".zip")
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
_CHUNK = MB


def store_upload(cache_dir: Path, filename: str, data: bytes, max_bytes: int | None = None) -> Path:
    """Save an upload under `<cache>/uploads/<digest>/`; a zip is extracted as a SavedModel dir.
    Limits come from the settings; `max_bytes` overrides the upload limit."""
    cfg = dataclasses.replace(settings(), cache_dir=Path(cache_dir))
    if max_bytes is not None:
        cfg = dataclasses.replace(cfg, max_upload_mb=max_bytes / MB)
    suffix = Path(str(filename)).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise InputFileError(
            f"{filename}: not a graph file; upload a .pb, .pbtxt, .meta or a zipped SavedModel"
        )
    if len(data) > cfg.max_upload_bytes:
        raise InputFileError(
            f"{filename}: {len(data) / MB:.1f} MB is over the {cfg.max_upload_mb:g} MB upload "
            "limit (RNNVIZ_MAX_UPLOAD_MB)"
        )
    digest = hashlib.sha256(data).hexdigest()[:16]
    folder = private_dir(Path(cfg.cache_dir) / "uploads") / digest
    shutil.rmtree(folder, ignore_errors=True)  # a half-written earlier attempt
    private_dir(folder)
    path = folder / f"upload{suffix}"
    try:
        write_private(path, data)
        if suffix != ".zip":
            return path
        return _extract_saved_model(path, folder / "saved_model", filename, cfg)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def upload_digest(path: Path) -> str:
    """The content digest an upload was stored under (its folder's name)."""
    parts = Path(path).parts
    return parts[parts.index("uploads") + 1]


def discard_upload(cfg: Settings, path: Path) -> None:
    """Delete an upload once analysed (unless RNNVIZ_KEEP_UPLOADS): only its report is kept."""
    if cfg.keep_uploads:
        return
    shutil.rmtree(Path(cfg.cache_dir) / "uploads" / upload_digest(path), ignore_errors=True)


def _extract_saved_model(zpath: Path, target: Path, filename: str, cfg: Settings) -> Path:
    try:
        with zipfile.ZipFile(zpath) as zf:
            members = _checked_members(zf, filename, cfg)
            private_dir(target)
            budget = int(cfg.zip_max_mb * MB)
            for info in members:
                budget = _extract_one(zf, info, target, budget, filename, cfg)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise InputFileError(
            f"{filename}: not a valid zip file ({reason}); zip a SavedModel directory"
        ) from None
    found = sorted(target.rglob("saved_model.pb*"), key=lambda p: len(p.parts))
    if not found:
        raise InputFileError(
            f"{filename}: the zip holds no saved_model.pb; zip a SavedModel directory"
        )
    return found[0].parent


def _checked_members(zf: zipfile.ZipFile, filename: str, cfg: Settings) -> list[zipfile.ZipInfo]:
    """The members to extract, after every check that needs no decompression."""
    infos = zf.infolist()
    if len(infos) > cfg.zip_max_members:
        _refuse(filename, f"{len(infos):,} members, more than {cfg.zip_max_members:,}")
    total = sum(i.file_size for i in infos)
    if total > cfg.zip_max_mb * MB:
        _refuse(filename, f"unpacks to {total / MB:,.0f} MB, more than {cfg.zip_max_mb:g} MB")
    seen: set[str] = set()
    for info in infos:
        _check_member(info, filename, cfg)
        key = info.filename.rstrip("/").lower()
        if key in seen:
            _refuse(filename, f"two members named {info.filename[:60]!r}")
        seen.add(key)
    return infos


def _check_member(info: zipfile.ZipInfo, filename: str, cfg: Settings) -> None:
    name = info.filename
    if len(name) > cfg.zip_max_name:
        _refuse(filename, f"a member name of {len(name)} characters (at most {cfg.zip_max_name})")
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or ":" in name or "\x00" in name:
        _refuse(filename, f"an unsafe member path {name[:60]!r}")
    if len(path.parts) > cfg.zip_max_depth:
        _refuse(filename, f"folders {len(path.parts)} deep (at most {cfg.zip_max_depth})")
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0: the zip says nothing (not from Unix)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        _refuse(filename, f"{name[:60]!r} is a link or special file")
    if info.flag_bits & 0x1:
        _refuse(filename, f"{name[:60]!r} is encrypted")
    if info.compress_type not in _METHODS:
        _refuse(
            filename, f"{name[:60]!r} uses an unsupported compression (method {info.compress_type})"
        )
    if info.file_size > MB and info.file_size > cfg.zip_max_ratio * max(info.compress_size, 1):
        _refuse(
            filename,
            f"{name[:60]!r} expands {info.file_size // max(info.compress_size, 1):,} times",
        )


def _extract_one(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    target: Path,
    budget: int,
    filename: str,
    cfg: Settings,
) -> int:
    """Stream one member out under `target`, counting bytes against `budget`; what is left."""
    dest = target.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)
    if info.is_dir():
        private_dir(dest)
        return budget
    private_dir(dest.parent)
    written = 0
    with zf.open(info) as src, open(dest, "xb") as out:  # "x": never through an existing path
        dest.chmod(0o600)
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            if written > budget or written > info.file_size:
                _refuse(filename, f"unpacks to more than {cfg.zip_max_mb:g} MB or than declared")
            out.write(chunk)
    return budget - written


def _refuse(filename: str, why: str) -> None:
    raise InputFileError(f"{filename}: refused zip: {why}; zip a plain SavedModel directory")


__all__ = ["UPLOAD_SUFFIXES", "discard_upload", "store_upload"]
