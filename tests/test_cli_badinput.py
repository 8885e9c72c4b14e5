"""The CLI on bad input: each case exits 2 with one line naming the thing, within a time bound
(the subprocess is killed past it) and a memory bound (RLIMIT_AS in the subprocess), never with
a traceback. Caps are set tight through the settings' environment variables, so bombs stay small.
"""

from __future__ import annotations

import gzip
import os
import resource
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from rnnviz.store import RunStore

MEMORY_BOUND = 3 * 2**30  # address space: TensorFlow alone reserves ~1.2 GB of it
TIME_BOUND = 60  # seconds; cases that load no TensorFlow take ~2 s
LAYER = '[[layers]]\ncell = "lstm"\nunits = 8\n'


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    def bound() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BOUND, MEMORY_BOUND))

    return subprocess.run(
        [sys.executable, "-m", "rnnviz.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIME_BOUND,
        preexec_fn=bound,
        env={**os.environ, "RNNVIZ_MAX_DATA_MB": "2", **env},
    )


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return path.name


def _npz(path: Path, **arrays: np.ndarray) -> str:
    np.savez(path, **arrays)
    return str(path)


def _images(n: int, m: int | None = None) -> dict[str, np.ndarray]:
    m = n if m is None else m
    return {
        "x_train": np.zeros((n, 4, 4), np.uint8),
        "y_train": np.zeros(m, np.uint8),
        "x_test": np.zeros((3, 4, 4), np.uint8),
        "y_test": np.zeros(3, np.uint8),
    }


def _idx_bomb(folder: Path) -> str:
    """An IDX folder whose train images unpack to 8 MB (over the 2 MB cap) from ~8 kB."""
    folder.mkdir()
    header = b"\x00\x00\x08\x03" + struct.pack(">3I", 8 * 2**20 // 784, 28, 28)
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(header)
        for _ in range(8):
            fh.write(bytes(2**20))
    return str(folder)


def _corrupt_checkpoint_run(tmp: Path) -> str:
    store = RunStore(tmp / "runs")
    spec = {"name": "c", "layers": [{"cell": "gru", "units": 4}], "unroll": "dynamic",
            "time_steps": 8, "input_size": 8}  # fmt: skip
    run_id = store.create_run(spec, "digits", {"data": "digits", "steps": 5})
    bad = tmp / "runs" / run_id / "ckpt"
    bad.mkdir()
    (bad / "model.ckpt-3.index").write_bytes(b"not a checkpoint")
    store.write_progress(run_id, steps_done=3, checkpoint=(str(bad / "model.ckpt-3"), 3))
    store.set_status(run_id, "failed", error="killed")
    return run_id


def _write_bytes(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _empty_store(path: Path) -> str:
    RunStore(path)
    return str(path)


def _folder(path: Path) -> str:
    path.mkdir()
    return str(path)


def _symlink(path: Path) -> str:
    path.symlink_to(path.with_name("target.pb"))
    return str(path)


def _fifo(path: Path) -> str:
    os.mkfifo(path)
    return str(path)


Case = tuple[str, Callable[[Path], list[str]], str]
CASES: list[Case] = [
    ("toml nested 5,000 deep", lambda t: ["build", _write(t / "d.toml", "v = " + "[" * 5000 + "]" * 5000), "--out", "o.pb"], "nested too deeply"),
    ("parallel_iterations 2**63-1", lambda t: ["build", _write(t / "p.toml", f"parallel_iterations = {2**63 - 1}\n{LAYER}"), "--out", "o.pb"], "parallel_iterations"),
    ("forget_bias nan", lambda t: ["build", _write(t / "f.toml", LAYER + "forget_bias = nan\n"), "--out", "o.pb"], "forget_bias"),
    ("learning_rate inf", lambda t: ["build", _write(t / "l.toml", "learning_rate = inf\n" + LAYER), "--out", "o.pb"], "learning_rate"),
    ("cell_clip inf", lambda t: ["build", _write(t / "c.toml", LAYER + "cell_clip = inf\n"), "--out", "o.pb"], "cell_clip"),
    ("description a table", lambda t: ["build", _write(t / "s.toml", "description = {a = 1}\n" + LAYER), "--out", "o.pb"], "description"),
    ("huge units", lambda t: ["build", _write(t / "u.toml", LAYER.replace("8", "1000000000")), "--out", "o.pb"], "units"),
    ("spec not UTF-8", lambda t: ["build", _write_bytes(t / "b.toml", b"name = '\xff'"), "--out", "o.pb"], "TOML"),
    ("spec a FIFO", lambda t: ["build", _fifo(t / "q.toml"), "--out", "o.pb"], "not a regular file"),
    ("spec a folder", lambda t: ["build", _folder(t / "dir.toml"), "--out", "o.pb"], "not a regular file"),
    ("spec of 2 MB", lambda t: ["build", _write(t / "big.toml", "#" * (2 << 20)), "--out", "o.pb"], "too big"),
    ("--out /dev/null", lambda t: ["build", "single_dynamic_gru", "--out", "/dev/null"], "not a regular file"),
    ("--out a folder", lambda t: ["build", "single_dynamic_gru", "--out", str(t)], "folder"),
    ("--out a symlink", lambda t: ["build", "single_dynamic_gru", "--out", _symlink(t / "ln.pb")], "not a regular file"),
    ("--out a FIFO", lambda t: ["build", "single_dynamic_gru", "--out", _fifo(t / "o.fifo")], "not a regular file"),
    ("--out in a missing folder", lambda t: ["build", "single_dynamic_gru", "--out", str(t / "no" / "o.pb")], "does not exist"),
    ("build --steps -1", lambda t: ["build", "single_dynamic_gru", "--steps", "-1", "--out", "o.pb"], "time_steps"),
    ("unknown model", lambda t: ["train", "no_such_model"], "unknown model"),
    ("train --seed -1", lambda t: ["train", "single_dynamic_gru", "--seed", "-1", "--runs", str(t / "r")], "seed"),
    ("train --steps 0", lambda t: ["train", "single_dynamic_gru", "--steps", "0", "--runs", str(t / "r")], "steps"),
    ("train --batch 0", lambda t: ["train", "single_dynamic_gru", "--batch", "0", "--runs", str(t / "r")], "batch_size"),
    ("data a FIFO", lambda t: ["train", "single_dynamic_gru", "--data", _fifo(t / "d.npz")], "not a regular file"),
    ("data /dev/zero", lambda t: ["train", "single_dynamic_gru", "--data", "/dev/zero"], "not a regular file"),
    ("data over the size cap", lambda t: ["train", "single_dynamic_gru", "--data", _npz(t / "big.npz", **{**_images(4), "x_train": np.zeros((40_000, 8, 8), np.uint8)})], "data limit"),
    ("gzip-bombed IDX folder", lambda t: ["train", "single_dynamic_gru", "--data", _idx_bomb(t / "idx")], "data limit"),
    ("empty data set", lambda t: ["train", "single_dynamic_gru", "--data", _npz(t / "e.npz", **_images(0))], "empty"),
    ("npz mismatched arrays", lambda t: ["train", "single_dynamic_gru", "--data", _npz(t / "m.npz", **_images(10, 7))], "labels"),
    ("huge labels", lambda t: ["train", "single_dynamic_gru", "--data", _npz(t / "h.npz", **{**_images(5), "y_train": np.full(5, 2**40, np.int64)})], "labels"),
    ("npz with object arrays", lambda t: ["train", "single_dynamic_gru", "--data", _npz(t / "o.npz", **{**_images(5), "y_train": np.array([{}] * 5, dtype=object)})], "npz"),
    ("--resume a missing run", lambda t: ["train", "--resume", "nope", "--runs", _empty_store(t / "r")], "no run 'nope'"),
    ("--resume an invalid checkpoint", lambda t: ["train", "--resume", _corrupt_checkpoint_run(t), "--runs", str(t / "runs")], "cannot be restored"),
    ("--runs a file", lambda t: ["runs", "--runs", _write(t / "f", "x")], "run store"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "make", "expect"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, name: str, make, expect: str) -> None:
    args = make(tmp_path)
    result = _cli(args, tmp_path)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.returncode == 2, (name, result.returncode, result.stderr[-800:])
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-800:]
    assert expect in lines[0], lines[0]
    assert Path("/dev/null").is_char_device()  # nothing replaced it


def test_runs_lists_every_run_when_one_row_is_corrupt(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    good = store.create_run({"name": "good", "layers": []}, "digits", {"steps": 5})
    bad = store.create_run({"name": "bad", "layers": []}, "digits", {"steps": 5})
    with sqlite3.connect(tmp_path / "rnnviz.sqlite") as conn:
        conn.execute("UPDATE runs SET spec_json = '{broken' WHERE id = ?", (bad,))
    result = _cli(["runs", "--runs", str(tmp_path)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert good in result.stdout and bad in result.stdout
    row = next(r for r in RunStore(tmp_path).list_runs() if r.id == bad)
    assert row.status == "failed" and "corrupt" in row.error


def test_runs_reads_a_read_only_store(tmp_path: Path) -> None:
    src, ro = tmp_path / "src", tmp_path / "ro"
    store = RunStore(src / "runs")
    run_id = store.create_run({"name": "m", "layers": []}, "digits", {"steps": 5})
    store.close()
    ro.mkdir()
    # A read-only bind mount: root ignores file modes, a read-only file system it does not.
    subprocess.run(["mount", "--bind", "-o", "ro", str(src), str(ro)], check=True)
    try:
        result = _cli(["runs", "--runs", str(ro / "runs")], tmp_path)
    finally:
        subprocess.run(["umount", str(ro)], check=True)
    assert result.returncode == 0, result.stderr
    assert run_id in result.stdout
