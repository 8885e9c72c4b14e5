"""The default spec's build, shipped with the package: a fresh install shows its first view at once.

`app/prebuilt/<key>/*.json.gz` holds what the Structure page reads of a cache entry (partitions,
cheap reports, the comparison, the meta), JSON only, gzip-compressed, made by
`python -m app.jobs.shipped` from a real build job. tests/test_shipped.py builds it again and
checks the result is the same, so it cannot go stale; the key (spec hash and CACHE_VERSION
included) names exactly the build it stands for, and a changed spec or format makes a new key
that the shipped folder simply does not match.

At server start `install_shipped` copies each shipped entry the cache lacks into it, marked
`"shipped": true` in its meta. What only a real build gives, the GraphDefs behind the op details
and the build times, the entry's figures job adds later (bodies.job_figures).
"""

from __future__ import annotations

import argparse
import fcntl
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from app.jobs.cache import KEY_PATTERN, entry_dir, open_lock_path, private_dir, write_private

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "prebuilt"
FILES = (
    "meta.json",
    "static.partition.json",
    "dynamic.partition.json",
    "static.report.json",
    "dynamic.report.json",
    "compare.json",
)
# Measured on the machine that made the files: not shipped (the figures job measures them here).
UNSHIPPED_META = ("build_seconds",)


def shipped_keys(folder: Path = SHIPPED_DIR) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if KEY_PATTERN.fullmatch(p.name))


def read_shipped(key: str, folder: Path = SHIPPED_DIR) -> dict[str, Any]:
    """File name -> parsed JSON of one shipped entry."""
    return {name: json.loads(gzip.decompress((folder / key / f"{name}.gz").read_bytes()))
            for name in FILES}  # fmt: skip


def install_shipped(cache_dir: Path, folder: Path = SHIPPED_DIR) -> list[str]:
    """Copy every shipped entry the cache lacks into it; the keys installed. An entry whose lock
    is held (a job is building it) is left to that job."""
    installed = []
    for key in shipped_keys(folder):
        final = entry_dir(cache_dir, key)
        if (final / "meta.json").is_file():
            continue
        private_dir(final.parent)
        with open_lock_path(final.parent / f"{final.name}.lock") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            if (final / "meta.json").is_file():
                continue
            tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
            try:
                for name, data in read_shipped(key, folder).items():
                    write_private(tmp / name, json.dumps(data))
                if final.exists():  # left by a killed job: not complete
                    shutil.rmtree(final)
                tmp.rename(final)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
        installed.append(key)
    return installed


def make_shipped(spec_name: str, steps: int, folder: Path = SHIPPED_DIR) -> str:
    """Run the build job of `spec_name` at `steps` and write its shipped files; the key."""
    from app.jobs.runner import job_command

    with tempfile.TemporaryDirectory(prefix="rnnviz-ship-") as tmp:
        out = Path(tmp)
        cmd = [*job_command(["build", spec_name, "--steps", str(steps)]), "--out", str(out)]
        subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)
        meta = json.loads((out / "meta.json").read_text())
        key = meta["key"]
        for unroll in ("static", "dynamic"):
            for name in UNSHIPPED_META:
                meta[unroll].pop(name, None)
        meta["shipped"] = True
        (out / "meta.json").write_text(json.dumps(meta))
        dest = folder / key
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        for name in FILES:
            raw = json.dumps(json.loads((out / name).read_text()), sort_keys=True).encode()
            (dest / f"{name}.gz").write_bytes(gzip.compress(raw, 9, mtime=0))
    for old in shipped_keys(folder):  # one shipped build per default: older keys go
        if old != key and old.split("-T")[0] == key.split("-T")[0]:
            shutil.rmtree(folder / old)
    return key


def main(argv: list[str] | None = None) -> int:
    from app.pages.structure import DEFAULT_SPEC, DEFAULT_STEPS

    parser = argparse.ArgumentParser(prog="python -m app.jobs.shipped", description=__doc__)
    parser.add_argument("--spec", default=DEFAULT_SPEC)
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    args = parser.parse_args(argv)
    key = make_shipped(args.spec, args.steps)
    print(f"wrote {SHIPPED_DIR / key}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
