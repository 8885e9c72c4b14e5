"""The run store: every training run, its metrics, checkpoints and activation snapshots, in SQLite.

One database file (`<runs>/rnnviz.sqlite`, WAL journal) holds all runs under a runs directory;
each run also gets a folder `<runs>/<run_id>/` for its TensorFlow checkpoints. The training process
is the only writer of a run; the dashboard and the CLI read at the same time. WAL lets readers see
the last committed state while the writer works, every transaction is short, and every connection
waits (`busy_timeout`) instead of failing when the other side holds the write lock.

No TensorFlow here: the dashboard imports this module without paying for TF.
Arrays (activations, probe inputs) are stored as `.npy` bytes, so they keep dtype and shape.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.errors import RunStoreError

DB_NAME = "rnnviz.sqlite"
DEFAULT_RUNS_DIR = "runs"
STATUSES = ("running", "finished", "failed", "stopped")
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 15_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    data_source TEXT NOT NULL,
    config_json TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    host TEXT,
    pid INTEGER,
    steps_done INTEGER NOT NULL DEFAULT 0,
    test_accuracy REAL,
    train_seconds REAL NOT NULL DEFAULT 0,
    checkpoint_path TEXT,
    checkpoint_step INTEGER,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    loss REAL,
    train_accuracy REAL,
    test_accuracy REAL,
    wall_seconds REAL NOT NULL,
    time REAL NOT NULL,
    PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS activations (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    layer INTEGER NOT NULL,
    direction TEXT NOT NULL,
    kind TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, step, layer, direction, kind)
);
CREATE TABLE IF NOT EXISTS probes (
    run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    x BLOB NOT NULL,
    y BLOB NOT NULL,
    lengths BLOB
);
"""


@dataclass(frozen=True)
class RunInfo:
    """One run as stored (plain data: JSON-serialisable through `to_dict`).

    `status` is one of `STATUSES`. A run whose row says "running" but whose process is gone
    (killed, machine rebooted) is reported as "failed" with `error` saying so: it can be resumed
    from `checkpoint_step` with `rnnviz train --resume ID`.
    """

    id: str
    model: str
    spec: dict[str, Any]
    data_source: str
    config: dict[str, Any]
    status: str
    created: float
    updated: float
    pid: int | None
    steps_done: int
    test_accuracy: float | None
    train_seconds: float
    checkpoint_path: str | None
    checkpoint_step: int | None
    stop_requested: bool = False
    error: str | None = None
    host: str | None = None

    @property
    def target_steps(self) -> int | None:
        """The number of steps the run was asked to train for (its config's `steps`)."""
        steps = self.config.get("steps")
        return steps if isinstance(steps, int) and not isinstance(steps, bool) else None

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True)
class MetricRow:
    """Metrics at one training step. `train_accuracy` is measured at intervals (None between),
    `test_accuracy` only at the end of a run; `wall_seconds` is training time since the run began
    (summed over resumes)."""

    step: int
    loss: float | None
    train_accuracy: float | None
    test_accuracy: float | None
    wall_seconds: float
    time: float = field(default=0.0, compare=False)


ActivationKey = tuple[int, str, str]  # (layer, direction "fw"/"bw", kind "h"/"c"/"i"/...)


def npy_bytes(array: np.ndarray) -> bytes:
    """An array as `.npy` file bytes (keeps dtype and shape; no pickle)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def npy_array(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def new_run_id() -> str:
    """A short, sortable, unique id: UTC time to the second plus 4 random hex digits."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


def _pid_alive(pid: int | None, host: str | None) -> bool:
    if pid is None or (host and host != socket.gethostname()):
        return True  # another machine's process: cannot tell, trust the row
    try:
        import psutil

        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE
    except ImportError:  # pragma: no cover - psutil is a dependency
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    except Exception:  # NoSuchProcess, AccessDenied on a gone pid
        return False


def _json_field(row: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """A JSON object column, or None when it is not one (a damaged row)."""
    try:
        value = json.loads(row[name])
    except (TypeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


class RunStore:
    """All runs under one runs directory. Cheap to create; safe to use from several threads.

    Each thread gets its own connection and every public call is one short transaction, so one
    `RunStore` may be shared by Dash's callback threads, and readers never hold a transaction
    open while the trainer writes.
    """

    def __init__(self, root: str | os.PathLike[str] = DEFAULT_RUNS_DIR, *, create: bool = True):
        self.root = Path(root)
        self.db_path = self.root / DB_NAME
        self._local: dict[tuple[int, int], sqlite3.Connection] = {}
        # A store on a read-only disk (or someone else's) is still readable: `rnnviz runs`.
        self.read_only = self.db_path.exists() and not os.access(self.root, os.W_OK)
        if not self.db_path.exists():
            if not create:
                raise RunStoreError(
                    f"{self.db_path}: no run store here; train a model first (rnnviz train MODEL "
                    f"--runs {self.root}) or pass the right --runs DIR"
                )
            try:
                self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise RunStoreError(
                    f"{self.root}: cannot create the runs folder ({exc.strerror}); pick another --runs DIR"
                ) from None
        with self._connect() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and self.read_only:
                raise RunStoreError(f"{self.db_path}: not a run store (empty, read-only)")
            if version == 0:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise RunStoreError(
                    f"{self.db_path}: run store schema {version}, this rnnviz reads {SCHEMA_VERSION}; "
                    "use a new --runs DIR"
                )

    # ---- connections -----------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        if self.read_only or not self._writable_fs():
            self.read_only = True
            return self._open_read_only()
        try:
            conn = sqlite3.connect(
                self.db_path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            # WAL is a property of the file (persistent); synchronous=NORMAL is safe with WAL:
            # a power cut may lose the last commits, never corrupt the database.
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise RunStoreError(f"{self.db_path}: cannot open the run store ({exc})") from None
        return conn

    def _writable_fs(self) -> bool:
        try:
            return not (os.statvfs(self.root).f_flag & os.ST_RDONLY)
        except OSError:
            return True

    def _open_read_only(self) -> sqlite3.Connection:
        """Read a store that cannot be written: `mode=ro` sees a live writer's WAL; a store
        with no WAL files beside it needs `immutable=1` (nothing can be writing it then)."""
        last: Exception | None = None
        for flags in ("mode=ro", "mode=ro&immutable=1"):
            try:
                conn = sqlite3.connect(
                    f"{self.db_path.resolve().as_uri()}?{flags}",
                    uri=True,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    check_same_thread=False,
                )
                conn.execute("PRAGMA user_version").fetchone()
                return conn
            except sqlite3.Error as exc:
                last = exc
        raise RunStoreError(f"{self.db_path}: cannot read the run store ({last})")

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, in one short transaction (committed, or rolled back on error).

        Connections are kept per thread (and per process): closing the last connection to a WAL
        database checkpoints and fsyncs it, which made every write cost ~17 ms when each call
        opened its own.
        """
        key = (os.getpid(), threading.get_ident())
        conn = self._local.get(key)
        if conn is None:
            conn = self._local[key] = self._open()
        try:
            with conn:
                yield conn
        except sqlite3.DatabaseError as exc:
            raise RunStoreError(f"{self.db_path}: run store error ({exc})") from None

    def close(self) -> None:
        """Close this thread's connection (others close when their threads' store is collected)."""
        conn = self._local.pop((os.getpid(), threading.get_ident()), None)
        if conn is not None:
            conn.close()

    def run_dir(self, run_id: str) -> Path:
        """The folder holding this run's checkpoints."""
        return self.root / run_id

    # ---- runs ------------------------------------------------------------------------------
    def create_run(
        self,
        spec: Mapping[str, Any] | Any,
        data_source: str,
        config: Mapping[str, Any],
        *,
        status: str = "running",
        pid: int | None = None,
    ) -> str:
        """Register a new run; returns its id. `spec` is a `ModelSpec` or its `to_dict()`."""
        spec_dict = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
        if status not in STATUSES:
            raise RunStoreError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        run_id = new_run_id()
        now = time.time()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO runs (id, model, spec_json, data_source, config_json, status, created,"
                " updated, host, pid) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    spec_dict.get("name", "?"),
                    json.dumps(spec_dict, sort_keys=True),
                    data_source,
                    json.dumps(dict(config), sort_keys=True),
                    status,
                    now,
                    now,
                    socket.gethostname(),
                    pid,
                ),
            )
        self.run_dir(run_id).mkdir(parents=True, exist_ok=True)
        return run_id

    def list_runs(self) -> list[RunInfo]:
        """All runs, newest first."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM runs ORDER BY created DESC, id DESC").fetchall()
            names = [d[0] for d in conn.execute("SELECT * FROM runs LIMIT 0").description]
        return [self._run_info(dict(zip(names, row, strict=True))) for row in rows]

    def get_run(self, run_id: str) -> RunInfo:
        """One run by id; `RunStoreError` naming the id when there is none."""
        with self._connect() as conn:
            cur = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,))
            row = cur.fetchone()
            names = [d[0] for d in cur.description]
        if row is None:
            raise RunStoreError(
                f"no run {run_id!r} in {self.db_path}; 'rnnviz runs --runs {self.root}' lists them"
            )
        return self._run_info(dict(zip(names, row, strict=True)))

    @staticmethod
    def _run_info(row: dict[str, Any]) -> RunInfo:
        status, error = row["status"], row["error"]
        spec, config, bad = _json_field(row, "spec_json"), _json_field(row, "config_json"), []
        for name, value in (("spec", spec), ("config", config)):
            if value is None:
                bad.append(name)
        if bad:  # one damaged row must not hide the others: show it, say what is wrong
            status = "failed"
            error = f"the stored {' and '.join(bad)} of this run is corrupt; delete the run"
        if status == "running" and not _pid_alive(row["pid"], row["host"]):
            status = "failed"
            error = error or (
                f"training process {row['pid']} is gone (killed?); resume with "
                f"'rnnviz train --resume {row['id']}'"
            )
        return RunInfo(
            id=row["id"],
            model=row["model"],
            spec=spec or {},
            data_source=str(row["data_source"]),
            config=config or {},
            status=status,
            created=row["created"],
            updated=row["updated"],
            pid=row["pid"],
            steps_done=row["steps_done"],
            test_accuracy=row["test_accuracy"],
            train_seconds=row["train_seconds"],
            checkpoint_path=row["checkpoint_path"],
            checkpoint_step=row["checkpoint_step"],
            stop_requested=bool(row["stop_requested"]),
            error=error,
            host=row["host"],
        )

    def set_status(
        self,
        run_id: str,
        status: str,
        *,
        error: str | None = None,
        pid: int | None = None,
        test_accuracy: float | None = None,
    ) -> None:
        """Set a run's status (one of `STATUSES`); optionally its error text, pid, test accuracy."""
        if status not in STATUSES:
            raise RunStoreError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        sets = ["status = ?", "updated = ?", "error = ?"]
        args: list[Any] = [status, time.time(), error]
        if status == "running":
            sets.append("stop_requested = 0")
        if pid is not None:
            sets += ["pid = ?", "host = ?"]
            args += [pid, socket.gethostname()]
        if test_accuracy is not None:
            sets.append("test_accuracy = ?")
            args.append(float(test_accuracy))
        self._update(run_id, sets, args)

    def update_config(self, run_id: str, config: Mapping[str, Any]) -> None:
        """Replace a run's config (a resume may extend its target steps)."""
        self._update(run_id, ["config_json = ?"], [json.dumps(dict(config), sort_keys=True)])

    def update_run(
        self, run_id: str, *, spec: Mapping[str, Any] | Any = None, data_source: str | None = None
    ) -> None:
        """Record the spec a run actually trains (fitted to its data) and where the data came from."""
        sets: list[str] = []
        args: list[Any] = []
        if spec is not None:
            spec_dict = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
            sets += ["spec_json = ?", "model = ?"]
            args += [json.dumps(spec_dict, sort_keys=True), spec_dict.get("name", "?")]
        if data_source is not None:
            sets.append("data_source = ?")
            args.append(data_source)
        if sets:
            self._update(run_id, sets, args)

    def request_stop(self, run_id: str) -> None:
        """Ask the training process to save a checkpoint and stop (it polls this flag)."""
        self._update(run_id, ["stop_requested = 1"], [])

    def stop_requested(self, run_id: str) -> bool:
        with self._connect() as conn:
            row = conn.execute("SELECT stop_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        return bool(row and row[0])

    def _update(self, run_id: str, sets: list[str], args: list[Any]) -> None:
        with self._connect() as conn:
            cur = conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", [*args, run_id])
            if cur.rowcount == 0:
                raise RunStoreError(f"no run {run_id!r} in {self.db_path}")

    # ---- writing progress (the training process) -------------------------------------------
    def write_progress(
        self,
        run_id: str,
        metrics: Sequence[MetricRow] = (),
        *,
        steps_done: int | None = None,
        train_seconds: float | None = None,
        checkpoint: tuple[str, int] | None = None,
        activations: tuple[int, Mapping[ActivationKey, np.ndarray]] | None = None,
    ) -> None:
        """Write a batch of metric rows, activation snapshots and the run's progress in ONE
        transaction, so a reader never sees a checkpoint without the metrics that led to it."""
        now = time.time()
        with self._connect() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO metrics (run_id, step, loss, train_accuracy, test_accuracy,"
                " wall_seconds, time) VALUES (?,?,?,?,?,?,?)",
                [
                    (
                        run_id,
                        m.step,
                        m.loss,
                        m.train_accuracy,
                        m.test_accuracy,
                        m.wall_seconds,
                        m.time or now,
                    )
                    for m in metrics
                ],
            )
            if activations is not None:
                step, arrays = activations
                conn.executemany(
                    "INSERT OR REPLACE INTO activations (run_id, step, layer, direction, kind, data)"
                    " VALUES (?,?,?,?,?,?)",
                    [
                        (run_id, step, layer, direction, kind, npy_bytes(a))
                        for (layer, direction, kind), a in arrays.items()
                    ],
                )
            sets, args = ["updated = ?"], [now]
            if steps_done is not None:
                sets.append("steps_done = ?")
                args.append(steps_done)
            if train_seconds is not None:
                sets.append("train_seconds = ?")
                args.append(train_seconds)
            if checkpoint is not None:
                sets += ["checkpoint_path = ?", "checkpoint_step = ?"]
                args += [checkpoint[0], checkpoint[1]]
            conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", [*args, run_id])

    def add_metrics(self, run_id: str, rows: Iterable[MetricRow]) -> None:
        self.write_progress(run_id, list(rows))

    def add_activations(
        self, run_id: str, step: int, arrays: Mapping[ActivationKey, np.ndarray]
    ) -> None:
        """Store one activation snapshot: {(layer, direction, kind): array [probe, T, units]}."""
        self.write_progress(run_id, activations=(step, arrays))

    def set_probe(
        self, run_id: str, x: np.ndarray, y: np.ndarray, lengths: np.ndarray | None = None
    ) -> None:
        """Store the fixed probe batch whose activations are recorded (x [P, T, F], y [P])."""
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO probes (run_id, x, y, lengths) VALUES (?,?,?,?)",
                (
                    run_id,
                    npy_bytes(x),
                    npy_bytes(y),
                    None if lengths is None else npy_bytes(lengths),
                ),
            )

    def record_test(self, run_id: str, step: int, accuracy: float) -> None:
        """The test accuracy measured after `step`: on the run and on that step's metric row."""
        with self._connect() as conn:
            conn.execute(
                "UPDATE metrics SET test_accuracy = ? WHERE run_id = ? AND step = ?",
                (float(accuracy), run_id, step),
            )
            conn.execute(
                "UPDATE runs SET test_accuracy = ?, updated = ? WHERE id = ?",
                (float(accuracy), time.time(), run_id),
            )

    def truncate_after(self, run_id: str, step: int) -> None:
        """Forget everything recorded after `step` (resume from a checkpoint at `step`)."""
        with self._connect() as conn:
            conn.execute("DELETE FROM metrics WHERE run_id = ? AND step > ?", (run_id, step))
            conn.execute("DELETE FROM activations WHERE run_id = ? AND step > ?", (run_id, step))
            conn.execute(
                "UPDATE runs SET steps_done = ?, test_accuracy = NULL, updated = ? WHERE id = ?",
                (step, time.time(), run_id),
            )

    # ---- reading ---------------------------------------------------------------------------
    def metrics(self, run_id: str, since_step: int = -1) -> list[MetricRow]:
        """Metric rows with step > `since_step`, by step (poll with the last step you have)."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT step, loss, train_accuracy, test_accuracy, wall_seconds, time FROM metrics"
                " WHERE run_id = ? AND step > ? ORDER BY step",
                (run_id, since_step),
            ).fetchall()
        return [MetricRow(*row) for row in rows]

    def snapshot_steps(self, run_id: str) -> list[int]:
        """Steps at which activations were recorded, ascending."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT DISTINCT step FROM activations WHERE run_id = ? ORDER BY step", (run_id,)
            ).fetchall()
        return [r[0] for r in rows]

    def activations(
        self, run_id: str, step: int | None = None, *, sample: int | None = None
    ) -> dict[ActivationKey, np.ndarray]:
        """One snapshot: {(layer, direction, kind): array}. `step=None` means the latest.

        Arrays are float32 [probe, T, units] (probe = the probe batch of `probe(run_id)`, T in
        input order for both directions); with `sample=k` each is that sample's [T, units].
        Empty dict when the run has no snapshot (yet).
        """
        with self._connect() as conn:
            if step is None:
                row = conn.execute(
                    "SELECT MAX(step) FROM activations WHERE run_id = ?", (run_id,)
                ).fetchone()
                step = row[0]
                if step is None:
                    return {}
            rows = conn.execute(
                "SELECT layer, direction, kind, data FROM activations WHERE run_id = ? AND step = ?"
                " ORDER BY layer, direction, kind",
                (run_id, step),
            ).fetchall()
        out = {}
        for layer, direction, kind, data in rows:
            array = npy_array(data)
            out[(layer, direction, kind)] = array if sample is None else array[sample]
        return out

    def probe(self, run_id: str) -> tuple[np.ndarray, np.ndarray]:
        """The probe batch: x [P, T, F] float32 (image rows for image data), y [P] int labels."""
        x, y, _ = self.probe_with_lengths(run_id)
        return x, y

    def probe_with_lengths(self, run_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT x, y, lengths FROM probes WHERE run_id = ?", (run_id,)
            ).fetchone()
        if row is None:
            raise RunStoreError(f"run {run_id!r} has no probe batch recorded")
        return npy_array(row[0]), npy_array(row[1]), None if row[2] is None else npy_array(row[2])


__all__ = [
    "DEFAULT_RUNS_DIR",
    "STATUSES",
    "MetricRow",
    "RunInfo",
    "RunStore",
    "npy_array",
    "npy_bytes",
]
