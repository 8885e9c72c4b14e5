"""Structure, Report and Open-a-file callbacks end to end through the real build/analysis jobs
(subprocesses, disk cache), called as plain functions. A tiny spec keeps each job a few seconds."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from app import jobs
from app.pages import open_file, report, structure

TINY_TOML = """
name = "tiny_static_lstm"
unroll = "static"
time_steps = 4
input_size = 4
num_classes = 3

[[layers]]
cell = "lstm"
units = 8

[[layers]]
cell = "gru"
units = 8
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Both graphs of the tiny spec at T=4 and T=6, built through the Structure page's callback."""
    root = tmp_path_factory.mktemp("dash")
    spec = root / "tiny_static_lstm.toml"
    spec.write_text(TINY_TOML)
    mp = pytest.MonkeyPatch()
    mp.setenv("RNNVIZ_CACHE_DIR", str(root / "cache"))
    mp.setenv("RNNVIZ_RUNS_DIR", str(root / "runs"))
    stages: list[tuple[str, str, str]] = []
    out = {"spec": str(spec), "stages": stages}
    for steps in (4, 6):
        out[steps] = structure.build_pair(str(spec), steps, stages.append)
    yield out
    mp.undo()


def _count(elements: list[dict], kind: str) -> int:
    return sum(1 for e in elements if kind in e.get("classes", "").split())


def test_build_reports_progress_and_caches(built: dict) -> None:
    data, status = built[4]
    assert data["steps"] == 4 and data["key"].startswith("tiny_static_lstm-T4-")
    assert "static" in status and "dynamic" in status
    stages = [s for _, _, s in built["stages"]]
    assert any("building the static graph" in s for s in stages)
    assert any("dynamic" in s for s in stages)
    assert all(int(done) <= int(total) for done, total, _ in built["stages"])
    # The second request for the same spec and T is answered from the cache, no job.
    calls: list = []
    assert structure.build_pair(built["spec"], 4, calls.append)[0] == data
    assert calls == []


def test_panels_show_steps_and_loop(built: dict) -> None:
    static4, _, info4, stats4 = structure.panel(built[4][0], [], "static")
    static6, _, info6, _ = structure.panel(built[6][0], [], "static")
    dyn4, _, _, dstats4 = structure.panel(built[4][0], [], "dynamic")
    dyn6, _, _, _ = structure.panel(built[6][0], [], "dynamic")
    assert _count(static4, "step") == 2 * 4  # layers x directions x T
    assert _count(static6, "step") == 2 * 6  # grows with T
    assert _count(dyn4, "step") == _count(dyn6, "step") == 0
    assert _count(dyn4, "loop") >= 1 and len(dyn4) == len(dyn6)  # the loop view does not grow
    assert all("position" in e for e in static4 if "source" not in e["data"])
    stats = {r["what"]: r["value"] for r in stats4}
    dstats = {r["what"]: r["value"] for r in dstats4}
    assert set(stats) >= {"nodes", "parameters", "fetchable per-step states", "GraphDef bytes"}
    assert stats["parameters"] == dstats["parameters"]
    assert int(stats["fetchable per-step states"].replace(",", "")) > 0
    assert "fetchable per-step states" not in dstats or dstats["fetchable per-step states"] == "0"
    assert "4 time steps" in info4 and "6 time steps" in info6


def test_expand_a_block_in_the_panel(built: dict) -> None:
    cell, *_ = structure.panel(built[4][0], ["L1/fw/t2"], "static")
    gates = [
        e for e in cell if e["data"].get("parent") == "L1/fw/t2" and e["data"]["kind"] == "gate"
    ]
    assert len(gates) >= 3  # the cell view first: its gates by name
    elements, *_ = structure.panel(built[4][0], ["L1/fw/t2@ops"], "static")
    ops = [e for e in elements if e["data"].get("parent") == "L1/fw/t2"]
    assert len(ops) > 5 and all(e["classes"] == "op" for e in ops)
    loop = next(e for e in structure.panel(built[4][0], [], "dynamic")[0] if "loop" in e["classes"])
    opened, *_ = structure.panel(built[4][0], [loop["data"]["id"]], "dynamic")
    assert sum(e["data"].get("parent") == loop["data"]["id"] for e in opened) > 10


def test_growth_history(built: dict) -> None:
    history, fig = structure.growth(built[4][0], [])
    history, fig = structure.growth(built[6][0], history)
    assert [h["steps"] for h in history] == [4, 6]
    static, dynamic = fig.data
    assert static.y[1] > static.y[0] and dynamic.y[1] == dynamic.y[0]


def test_report_page(built: dict) -> None:
    title, rows, charts = report.report_page(built[4][0])
    assert "T=4" in title
    figures = {r["figure"]: r for r in rows}
    assert figures["params.total"]["ratio"] == "1"
    assert figures["sizes.saved_model_bytes"]["static"] != "-"
    assert "build_seconds" in figures and "memory.peak_bytes" in figures
    assert len(charts) == 7


def test_open_a_graph_file(built: dict) -> None:
    cache = jobs.settings().cache_dir
    pb = jobs.entry_dir(cache, built[4][0]["key"]) / "static.pb"
    contents = "data:application/octet-stream;base64," + base64.b64encode(pb.read_bytes()).decode()
    data, status = open_file.analyse_upload(contents, "mine.pb")
    assert data and data["name"] == "mine.pb", status
    assert "pb" in status and "nodes" in status
    elements, _, info, stats, charts = open_file.file_views(data, [])
    # No builder record: the steps are inferred from the graph alone, same blocks.
    assert _count(elements, "step") == 2 * 4
    assert {r["what"] for r in stats} >= {"nodes", "parameters"}
    assert len(charts) == 7 and "4 time steps" in info
    assert Path(jobs.entry_dir(cache, data["key"]) / "meta.json").is_file()


def test_open_a_zipped_saved_model(built: dict, tmp_path: Path) -> None:
    import io
    import zipfile

    from rnnviz.builder import build
    from rnnviz.commands.report import export
    from rnnviz.spec import load_spec

    model = build(load_spec(built["spec"]).twin("dynamic"))
    with model.graph.as_default():
        saved = Path(export(model, tmp_path / "export")["saved_model"])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:  # zipped with its folder, as people usually do
        for path in saved.rglob("*"):
            zf.write(path, Path("my_model") / path.relative_to(saved))
    contents = "data:application/zip;base64," + base64.b64encode(buf.getvalue()).decode()
    data, status = open_file.analyse_upload(contents, "my_model.zip")
    assert data, status
    assert "saved_model" in status
    elements, *_, charts = open_file.file_views(data, [])
    assert len(charts) == 7
    assert _count(elements, "loop") >= 1 and _count(elements, "step") == 0
    report_data = jobs.read_json(jobs.settings().cache_dir, data["key"], "file.report.json")
    assert report_data["sizes"]["saved_model_bytes"] > report_data["sizes"]["graphdef_bytes"]
