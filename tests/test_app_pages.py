"""Structure, Report and Open-a-file callbacks end to end through the real build/analysis jobs
(subprocesses, disk cache), called as plain functions. A tiny spec keeps each job a few seconds."""

from __future__ import annotations

import base64
import itertools
from pathlib import Path

import pytest
from dash import no_update

from app import ids, jobs, panels
from app.pages import open_file, report, structure

pytestmark = pytest.mark.slow  # every test here reads the module fixture's real build jobs


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, tiny_samples: Path) -> dict:
    """Both graphs of the tiny spec at T=4 and T=6, built through the Structure page's callback."""
    root = tmp_path_factory.mktemp("dash")
    mp = pytest.MonkeyPatch()
    mp.setenv("RNNVIZ_CACHE_DIR", str(root / "cache"))
    mp.setenv("RNNVIZ_RUNS_DIR", str(root / "runs"))
    # The server builds sample names only (never a path a browser sends): the tiny spec is one.
    mp.setenv("RNNVIZ_SAMPLES", str(tiny_samples))
    stages: list[tuple[str, str, str]] = []
    out = {"spec": "tiny_static_lstm", "stages": stages}
    for steps in (4, 6):
        out[steps] = structure.build_pair("tiny_static_lstm", steps, stages.append)
    yield out
    mp.undo()


def _count(elements: list[dict], kind: str) -> int:
    return sum(1 for e in elements if kind in e.get("classes", "").split())


def test_build_reports_progress_and_caches(built: dict) -> None:
    data, status = built[4]
    assert data["steps"] == 4 and data["key"].startswith("tiny_static_lstm-T4-")
    assert "static" in status and "dynamic" in status
    stages = [s for _, _, s, _ in built["stages"]]
    assert any("building the static graph" in s for s in stages)
    assert any("dynamic" in s for s in stages)
    assert all(int(done) <= int(total) for done, total, _, _ in built["stages"])
    # Each graph is named ready as soon as it is partitioned: the dynamic one first, while the
    # static one is still being built, and with the key the finished build gets.
    ready = [(p["ready"], p["key"], stage) for _, _, stage, p in built["stages"] if p]
    assert ready[0][0] == ["dynamic"] and ready[0][1] == data["key"]
    assert any(r == ["dynamic"] and "static" in stage for r, _, stage in ready)
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


def test_report_page(built: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # The costly figures come after the build (a detached job). Before they are in, the page
    # says so and looks again; a tick that finds them still missing sends nothing.
    read_meta = jobs.read_meta
    with monkeypatch.context() as before:
        before.setattr(jobs, "read_meta", lambda *a: {**read_meta(*a), "figures": False})
        waiting = report.report_page(None, built[4][0], None, "")
        assert "being measured" in waiting[0] and waiting[-1] is False
        assert report.report_page(ids.REPORT_TICK, built[4][0], None, "") == (no_update,) * 7
    jobs.ensure_figures(built["spec"], 4)  # here they are made and awaited
    title, link, link_text, rows, claims, charts, complete = report.report_page(
        ids.REPORT_TICK, built[4][0], None, ""
    )
    assert complete and "being measured" not in title
    assert "T=4" in title and link.endswith("steps=4") and link in link_text
    figures = {r["figure"]: r for r in rows}
    assert figures["parameters"]["static / dynamic"] == "1×"
    assert figures["SavedModel size, graph + variables (MB)"]["static"] != "-"
    assert "graph build time (s)" in figures and "peak memory of one training step (MB)" in figures
    assert len(claims) == 1 + 8  # heading + one paragraph per claim
    assert len(charts) == 8
    # The URL names the pair: a cached one is shown at once, an unknown spec is one line.
    spec, steps = built["spec"], 4
    shown, wanted = report.from_url("/report", f"?spec={spec}&steps={steps}")
    assert shown["key"] == built[4][0]["key"] and wanted is no_update
    assert "error" in report.wanted_pair("?spec=nonesuch")


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
    assert len(charts) >= 6 and "4 time steps" in info
    assert Path(jobs.entry_dir(cache, data["key"]) / "meta.json").is_file()


def test_open_a_zipped_saved_model(built: dict, tmp_path: Path) -> None:
    import io
    import zipfile

    from rnnviz.builder import build
    from rnnviz.commands.report import export
    from rnnviz.spec import load_spec

    model = build(load_spec("tiny_static_lstm").twin("dynamic"))
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
    report_data = jobs.read_json(jobs.settings().cache_dir, data["key"], "file.report.json")
    drawn = {c.children.id.removeprefix("file-report-") for c in charts}
    assert {"roles", "types", "layers", "gates", "sizes"} <= drawn
    # Charts with nothing to show are left out: a loop graph has no fetchable per-step states,
    # FLOPs only when the loop's trip count let the report count them.
    assert report_data["states"]["per_step"] == 0 and "states" not in drawn
    assert ("flops" in drawn) == (report_data["flops"]["forward_per_sequence"] is not None)
    assert _count(elements, "loop") >= 1 and _count(elements, "step") == 0
    assert report_data["sizes"]["saved_model_bytes"] > report_data["sizes"]["graphdef_bytes"]


def test_build_requests_come_from_pages_that_show_the_build(built: dict) -> None:
    from dash import no_update

    # Opening the Open-a-file page (or Training) starts nothing.
    assert (
        structure.build_request("tiny_static_lstm", 9, "/open", "n", None, None) == (no_update,) * 4
    )
    # The Structure page asks for a build it has not got...
    request, asked, data, _ = structure.build_request("tiny_static_lstm", 9, "/", "n", None, None)
    assert request == {"spec": "tiny_static_lstm", "steps": 9, "nonce": "n"} and data is no_update
    assert asked == {"spec": "tiny_static_lstm", "steps": 9}
    # ... shows a cached one at once, with no job ...
    request, asked, data, status = structure.build_request(
        "tiny_static_lstm", 4, "/report", "n", None, None
    )
    assert request is no_update and data == built[4][0] and "T=4" in status
    # ... and asks nothing again while the same build is shown or being built.
    assert structure.build_request("tiny_static_lstm", 4, "/", "n", data, asked)[0] is no_update


def test_t_box_and_spec_changes(built: dict) -> None:
    from dash import no_update

    from app import ids

    assert structure.sync_steps(ids.STEPS_BOX, 4, 6, "tiny_static_lstm", None) == (6, no_update, "")
    slider, box, note = structure.sync_steps(ids.STEPS_BOX, 4, 99_999, "tiny_static_lstm", None)
    assert slider is no_update and box == 4 and "must be from 1 to" in note
    assert structure.sync_steps(ids.STEPS, 7, 4, "tiny_static_lstm", None) == (no_update, 7, "")
    # A new spec takes its own T, unless the user chose another T: that one is kept, and said.
    shown = {"spec": "tiny_static_lstm", "steps": 4}
    assert structure.sync_steps(ids.SPEC, 4, 4, "tiny_dynamic_gru", shown) == (
        6,
        6,
        "T set to tiny_dynamic_gru's own T=6",
    )
    slider, box, note = structure.sync_steps(ids.SPEC, 5, 5, "tiny_dynamic_gru", shown)
    assert (slider, box) == (no_update, no_update)
    assert note == "T=5 kept from the previous spec (tiny_dynamic_gru has T=6)"


def test_a_panel_is_drawn_when_its_graph_is_ready_and_not_again(built: dict) -> None:
    data = built[4][0]
    partial = {**data, "ready": ["dynamic"]}
    nothing = (structure.no_update,) * 4
    # The graph named ready is drawn; the other panel waits for it.
    info, elements, layout, _ = structure.partial_panel(partial, "dynamic")
    assert elements and layout["graph"] == data["key"] and "T=4" in info
    assert structure.partial_panel(partial, "static") == nothing
    # Already drawn: not sent again, neither as ready nor when the finished build arrives.
    assert structure.partial_panel(partial, "dynamic", layout) == nothing
    after = structure.panel_update(data, [], "dynamic", None, layout)
    assert after[:2] == (structure.no_update,) * 2 and after[2]
    # ... but an opened block, the view closed again, or another build is drawn.
    opened = structure.panel_update(data, ["loop/rnn/while"], "dynamic", None, layout)
    assert opened[0] and opened[0] is not structure.no_update
    closed = structure.panel_update(data, [], "dynamic", None, {**layout, "open": 1})
    assert closed[0] and closed[0] is not structure.no_update
    other = structure.panel_update(built[6][0], [], "dynamic", None, layout)
    assert other[0] and other[0] is not structure.no_update
    # A forged or unknown key draws nothing.
    for bad in ({"key": "../x", "ready": ["dynamic"]}, {"key": "tiny_static_lstm-T9-0123456789",
                "ready": ["dynamic"]}, "x", None):  # fmt: skip
        assert structure.partial_panel(bad, "dynamic") == nothing
    assert structure.partial_panel({**data, "ready": ["file"]}, "file") == nothing


@pytest.mark.parametrize("cap", [1, 12, 28, 200, 784, 3000])
def test_slider_marks_are_apart_and_name_both_ends(cap: int) -> None:
    marks = sorted(structure.slider_marks(cap))
    assert marks[0] == 1 and marks[-1] == cap
    gaps = [(b - a) / max(cap - 1, 1) for a, b in itertools.pairwise(marks)]
    assert all(g >= 0.06 for g in gaps), marks  # >= 27 px apart on the 460 px slider


def _fired(*prop_ids: str):
    """Dash's callback context as a callback whose inputs `prop_ids` changed sees it."""
    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    return context_value.set(AttributeDict(triggered_inputs=[{"prop_id": p} for p in prop_ids]))


@pytest.mark.parametrize(
    ("drawn_key", "expected"),
    [("K", "g"), ("OTHER", "src"), (None, "src")],
)
def test_a_click_on_a_panel_drawn_mid_build_survives_the_build_arriving(drawn_key, expected):
    # Dash delivers the click together with the build's key once the job ends: the click counts
    # when the panel shows that entry; otherwise the new build resets the panel.
    from dash._callback_context import context_value

    token = _fired("src.data", "g.tapNodeData")
    try:
        drawn = {"graph": drawn_key} if drawn_key else None
        tap = {"id": "L0/fw/t0", "kind": "step"}
        assert panels._trigger("g", "src", {"key": "K"}, tap, drawn) == expected
    finally:
        context_value.reset(token)
