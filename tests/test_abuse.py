"""A bounded abuse suite against a real server and the job machinery (issue: hardening).

A `rnnviz serve` subprocess on a loopback port with tight caps set through the settings'
environment variables: concurrent identical first loads, callback inputs no widget would send
(posted straight to /_dash-update-component), forged cache keys, oversize posts, hostile zips
and graph files, jobs past their CPU limit, a cancelled job, and the training processes' ends.
Bombs are small because the caps are.
"""

from __future__ import annotations

import concurrent.futures
import io
import os
import pickle
import signal
import socket
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from app import ids, jobs
from app.client import Tab
from app.jobs.shipped import shipped_keys
from app.panels import sub_id
from rnnviz.errors import InputFileError, RnnvizError

PORT = 8082
CAPS = {
    "RNNVIZ_DEFAULT_SPEC": "tiny_static_lstm",
    "RNNVIZ_DEFAULT_STEPS": "4",
    "RNNVIZ_MAX_STEPS": "12",
    "RNNVIZ_MAX_UPLOAD_MB": "1",
    "RNNVIZ_MAX_RUNS": "1",
    "RNNVIZ_MAX_TRAIN_STEPS": "5000",
    "RNNVIZ_ZIP_MAX_MB": "2",
    "RNNVIZ_ZIP_MAX_MEMBERS": "50",
    "RNNVIZ_ZIP_MAX_DEPTH": "8",
}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, tiny_samples: Path) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("abuse")
    values = {
        **CAPS,
        "RNNVIZ_SAMPLES": str(tiny_samples),
        "RNNVIZ_CACHE_DIR": str(root / "cache"),
        "RNNVIZ_RUNS_DIR": str(root / "runs"),
    }
    mp = pytest.MonkeyPatch()
    for k, v in values.items():
        mp.setenv(k, v)
    yield values
    mp.undo()


@pytest.fixture(scope="module")
def server(env: dict[str, str]) -> Iterator[str]:
    """A fresh server (empty cache, no prebuild: the first loads race for the first build)."""
    cmd = [sys.executable, "-m", "rnnviz.cli", "serve", "--port", str(PORT), "--no-prebuild"]
    proc = subprocess.Popen(
        cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", PORT)) == 0:
                break
        time.sleep(0.2)
    yield f"http://127.0.0.1:{PORT}"
    for run in _runs(env):
        if run.status == "running" and run.pid:
            os.kill(run.pid, signal.SIGKILL)
    proc.terminate()
    proc.wait(10)


def _runs(env: dict[str, str]) -> list:
    from rnnviz.store import RunStore

    return (
        RunStore(env["RNNVIZ_RUNS_DIR"]).list_runs()
        if Path(env["RNNVIZ_RUNS_DIR"]).exists()
        else []
    )


# The static panel's callback also reads the selected op and what it shows (nothing here).
_PANEL_STATE = [
    (sub_id(ids.GRAPH["static"], "selected"), "data", None),
    (ids.GRAPH["static"], "layout", {}),
]


def _panel_inputs(build: object) -> list:
    return [(ids.BUILD_KEY, "data", build), (ids.EXPANDED["static"], "data", [])]


def _build(tab: Tab, spec: object, steps: object) -> dict:
    request = {"spec": spec, "steps": steps, "nonce": tab.prop(ids.NONCE, "data")}
    return tab.call(ids.BUILD_KEY, [(ids.BUILD_REQUEST, "data", request)])


# ---- 1. identical requests each get their result ---------------------------------------------


def test_identical_first_loads_all_get_their_graphs(server: str, env: dict[str, str]) -> None:
    def first_load(_: int) -> dict:
        tab = Tab(server).open()
        built = _build(tab, "tiny_static_lstm", 4)
        key = built[ids.BUILD_KEY]["data"]
        panel = tab.call(ids.GRAPH["static"], _panel_inputs(key), _PANEL_STATE)
        return {"key": key["key"], "elements": len(panel[ids.GRAPH["static"]]["elements"])}

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        results = list(pool.map(first_load, range(5)))
    assert len({r["key"] for r in results}) == 1
    assert all(r["elements"] > 8 for r in results), results
    entries = Path(env["RNNVIZ_CACHE_DIR"]) / "entries"
    shipped = set(shipped_keys())  # installed at server start (app/jobs/shipped.py)
    built = [p.name for p in entries.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(set(built) - shipped) == 1


# ---- 2. the server trusts nothing the browser sends ------------------------------------------


@pytest.mark.parametrize(
    ("spec", "steps", "message"),
    [
        ("tiny_static_lstm", 100_000, "must be from 1 to 12"),
        ("tiny_static_lstm", -1, "must be from 1 to 12"),
        ("tiny_static_lstm", "4; rm -rf /", "whole number"),
        ("tiny_static_lstm", [4], "whole number"),
        ("../pyproject", 4, "not a sample model"),
        ("/etc/passwd", 4, "not a sample model"),
        ({"a": 1}, 4, "not a sample model"),
    ],
)
def test_out_of_range_build_inputs_are_refused(server: str, env, spec, steps, message) -> None:
    before = set((Path(env["RNNVIZ_CACHE_DIR"]) / "entries").glob("*"))
    status = _build(Tab(server).open(), spec, steps)[ids.BUILD_STATUS]["children"]
    assert message in status and "\n" not in status, status
    assert "build-system" not in status
    assert set((Path(env["RNNVIZ_CACHE_DIR"]) / "entries").glob("*")) == before


def test_missing_and_existing_paths_give_the_same_message(server: str) -> None:
    tab = Tab(server).open()
    a = _build(tab, "../pyproject", 4)[ids.BUILD_STATUS]["children"]
    b = _build(tab, "../no_such_file_anywhere", 4)[ids.BUILD_STATUS]["children"]
    assert a.replace("pyproject", "X") == b.replace("no_such_file_anywhere", "X")


def _start(tab: Tab, spec: object, steps: object) -> str:
    reply = tab.call(
        ids.TRAIN_MESSAGE,
        [(ids.TRAIN_START, "n_clicks", 1), (ids.TRAIN_STOP, "n_clicks", None)],
        [
            (ids.SPEC, "value", spec),
            (ids.TRAIN_STEPS, "value", steps),
            (ids.RUNS, "value", []),
            (ids.HEAT_RUN, "value", None),
        ],
    )
    return reply[ids.TRAIN_MESSAGE]["children"]


@pytest.mark.slow  # starts training processes
def test_training_inputs_and_concurrent_runs_are_capped(server: str, env) -> None:
    tab = Tab(server).open()
    assert "must be from 1 to 5000" in _start(tab, "tiny_static_lstm", 10**9)
    assert "not a sample model" in _start(tab, "../pyproject", 10)
    assert _runs(env) == []
    assert "started run" in _start(tab, "tiny_static_lstm", 5000)
    refused = _start(tab, "tiny_static_lstm", 5000)
    assert "the limit is 1" in refused, refused
    assert len(_runs(env)) == 1


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "tiny_static_lstm-T4-0123456789", "file-" + "0" * 16, 7]
)
def test_forged_cache_keys_read_nothing(server: str, env, key) -> None:
    # A planted pickle where an old server would have read one: it must never run.
    marker = Path(env["RNNVIZ_CACHE_DIR"]) / "pwned"
    planted = Path(env["RNNVIZ_CACHE_DIR"]) / "entries" / "tiny_static_lstm-T4-0123456789"
    planted.mkdir(mode=0o700, parents=True, exist_ok=True)
    payload = pickle.dumps(_Boom(str(marker)))
    (planted / "static.partition.pkl").write_bytes(payload)
    (planted / "static.partition.pkl").chmod(0o600)  # private like the rest (see below)
    tab = Tab(server).open()
    reply = tab.call(ids.GRAPH["static"], _panel_inputs({"key": key}), _PANEL_STATE)
    assert reply[ids.GRAPH["static"]]["elements"] == []
    assert "cache" in reply[ids.VIEW_INFO["static"]]["children"]
    # Named as a build in progress whose graph is ready: nothing is read either.
    partial = {"key": key, "ready": ["static"], "spec": "x", "steps": 4}
    inputs = [(ids.BUILD_PARTIAL, "data", partial)]
    assert tab.call(ids.VIEW_INFO["static"], inputs, _PANEL_STATE[1:]) == {}
    assert not marker.exists()


class _Boom:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_oversize_post_is_refused_before_it_is_read(server: str) -> None:
    body = b"x" * (3 * 2**20)  # over the 1 MB upload cap (+ base64 overhead)
    started = time.monotonic()
    reply = requests.post(
        server + "/_dash-update-component",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert reply.status_code == 413
    assert time.monotonic() - started < 10


def test_cache_is_private(server: str, env) -> None:
    cache = Path(env["RNNVIZ_CACHE_DIR"])
    _build(Tab(server).open(), "tiny_static_lstm", 4)
    for path in [cache, *cache.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))
    entries = [p.parent for p in (cache / "entries").glob("*/meta.json")]  # the server's own
    assert entries and not [f for e in entries for f in e.glob("*.pkl")]


# ---- 3. hostile zips: one line each, nothing left on disk -------------------------------------


def _zip(members: list[tuple[str, bytes]], **options) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=options.get("method", zipfile.ZIP_DEFLATED)) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = options.get("method", zipfile.ZIP_DEFLATED)
            if options.get("link"):
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data)
    raw = bytearray(buf.getvalue())
    if options.get("encrypted"):
        for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # set bit 0 of the flags in both headers
            at = 0
            while (at := raw.find(sig, at)) >= 0:
                flags_at = at + (6 if sig == b"PK\x03\x04" else 8)
                raw[flags_at] |= 1
                at += 4
    if options.get("corrupt"):
        start = raw.find(b"PK\x03\x04") + 30 + len(members[0][0])
        raw[start : start + 40] = bytes(range(40))
    return bytes(raw)


def _lying_sizes() -> bytes:
    """A member whose central directory declares 10 bytes but which inflates to 1.5 MB."""
    data = _zip([("saved_model.pb", b"\0" * (3 * 2**19))])
    raw = bytearray(data)
    cd = raw.find(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    return bytes(raw)


HOSTILE = {
    "bomb": (_zip([("saved_model.pb", b"\0" * (3 * 2**20))]), "MB"),
    "ratio": (_zip([("saved_model.pb", b"\0" * (3 * 2**19))]), "expands"),
    "many members": (_zip([(f"f{i}", b"") for i in range(60)]), "members"),
    "symlink": (_zip([("saved_model.pb", b"/etc/passwd")], link=True), "link"),
    "absolute": (_zip([("/tmp/evil", b"x")]), "unsafe"),
    "dotdot": (_zip([("../../evil", b"x")]), "unsafe"),
    "long name": (_zip([("a" * 300, b"x")]), "characters"),
    "deep tree": (_zip([("d/" * 3000 + "f", b"x")]), "characters"),
    "deep folders": (_zip([("d/" * 20 + "f", b"x")]), "deep"),
    "encrypted": (_zip([("saved_model.pb", b"x" * 100)], encrypted=True), "encrypted"),
    "bzip2": (_zip([("saved_model.pb", b"x" * 100)], method=zipfile.ZIP_BZIP2), "compression"),
    "corrupt deflate": (
        _zip([("saved_model.pb", os.urandom(3000))], corrupt=True),
        "not a valid zip",
    ),
    "name clash": (_zip([("m/saved_model.pb", b"x"), ("M/SAVED_MODEL.PB", b"y")]), "two members"),
    "lying sizes": (_lying_sizes(), "not a valid zip"),  # zipfile stops at the declared size
    "no saved model": (_zip([("readme.txt", b"hi")]), "no saved_model.pb"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_zip_is_one_line_and_leaves_nothing(tmp_path: Path, env, name: str) -> None:
    data, message = HOSTILE[name]
    with pytest.raises(InputFileError) as err:
        jobs.store_upload(tmp_path, f"{name}.zip", data)
    text = str(err.value)
    assert message in text and "\n" not in text, text
    assert not list((tmp_path / "uploads").iterdir())
    assert not Path("/tmp/evil").exists()


def test_hostile_zip_over_http_keeps_nothing(server: str, env) -> None:
    import base64

    contents = "data:application/zip;base64," + base64.b64encode(HOSTILE["bomb"][0]).decode()
    reply = (
        Tab(server)
        .open()
        .call(
            ids.UPLOAD_KEY,
            [(ids.UPLOAD, "contents", contents)],
            [(ids.UPLOAD, "filename", "bomb.zip")],
        )
    )
    assert "MB" in reply[ids.UPLOAD_STATUS]["children"]
    assert not list((Path(env["RNNVIZ_CACHE_DIR"]) / "uploads").iterdir())


def test_uploads_are_deleted_after_analysis(env, tmp_path: Path) -> None:
    nested = b"node {\n" * 300 + b"}\n" * 300  # a .pbtxt nested past any parser's stack
    path = jobs.store_upload(tmp_path, "deep.pbtxt", nested)
    with pytest.raises(InputFileError) as err:
        jobs.ensure_analysed(path, cache_dir=tmp_path)
    assert "\n" not in str(err.value) and "Traceback" not in str(err.value)
    assert not list((tmp_path / "uploads").iterdir())


# ---- job limits, cancel, stale leftovers ------------------------------------------------------


def test_a_job_past_its_cpu_limit_is_stopped(env, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RNNVIZ_JOB_CPU_SECONDS", "1")  # importing TensorFlow alone takes more
    with pytest.raises(RnnvizError, match="limit of 1 CPU-seconds"):
        jobs.ensure_built("tiny_static_lstm", 4, cache_dir=tmp_path)
    assert not [p for p in (tmp_path / "entries").iterdir() if p.is_dir()]


def test_a_cancelled_request_leaves_no_job(env, tmp_path: Path) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")  # as Dash's local manager runs a request
    request = ctx.Process(
        target=jobs.ensure_built, args=("tiny_static_lstm", 5), kwargs={"cache_dir": tmp_path}
    )
    request.start()
    deadline = time.monotonic() + 30
    while not psutil.Process(request.pid).children() and time.monotonic() < deadline:
        time.sleep(0.05)
    job = psutil.Process(request.pid).children()[0]
    os.kill(request.pid, signal.SIGKILL)  # what Dash's cancel does to the request's process
    request.join()
    # A bound, not a speed check: on a loaded machine a dying TF import can take a while.
    assert job.wait(60) is not None or not job.is_running()
    assert jobs.sweep_stale(tmp_path) == 1
    assert not list((tmp_path / "entries").glob(".*"))


# ---- 8. training processes ------------------------------------------------------------------


@pytest.mark.slow  # starts training processes
def test_no_zombie_after_a_run_dies(env, tmp_path: Path) -> None:
    from rnnviz.store import RunStore
    from rnnviz.training import start_run_process

    run_id = start_run_process("tiny_static_lstm", "digits", runs_dir=tmp_path, steps=5000)
    pid = RunStore(tmp_path).get_run(run_id).pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.1)  # reaped: the pid is gone, not a zombie
    assert not psutil.pid_exists(pid)


@pytest.mark.slow  # starts training processes
def test_step0_snapshot_survives_a_kill_before_it(env, tmp_path: Path) -> None:
    from rnnviz.spec import load_sample
    from rnnviz.store import RunStore
    from rnnviz.training import TrainConfig, train

    store = RunStore(tmp_path)
    spec = load_sample("tiny_static_lstm").replace(time_steps=8, input_size=8, num_classes=10)
    config = TrainConfig.for_data(
        "digits", "digits", steps=3, activation_every=2, checkpoint_every=100
    )
    run_id = store.create_run(spec, "digits", config.to_dict())
    store.set_status(run_id, "failed", error="killed before its first snapshot")
    train("", None, runs_dir=tmp_path, resume=run_id)
    assert store.snapshot_steps(run_id)[0] == 0
