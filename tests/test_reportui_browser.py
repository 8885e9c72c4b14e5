"""Report, Training and Open-a-file pages in headless Chromium: uploads refused in the browser keep
the view shown before, heatmap colour ranges against the run store, `/report?spec=&steps=`.

The server is `rnnviz serve` with a 1 MB upload limit, its own cache and run store; helpers and
the `browser` fixture come from test_app_browser. Screenshots (1600x1000) go to tests/_artifacts/.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_app_browser import _cy_count, _screenshot, _text, _until, serve
from test_app_browser import browser as browser  # the fixture

from app import ids
from rnnviz.spec import LayerSpec, ModelSpec

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PORTS = range(8076, 8080)  # this suite's share of the ports the dashboard tests may use


def _port() -> int:
    for port in PORTS:
        with socket.socket() as s, contextlib.suppress(OSError):
            s.bind(("127.0.0.1", port))
            return port
    raise RuntimeError(f"no free port in {PORTS}")


TINY = ModelSpec(
    name="tiny_mix",
    layers=(LayerSpec("lstm", 12), LayerSpec("gru", 10)),
    time_steps=8,
    input_size=8,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serve(tmp_path_factory.mktemp("reportui"), _port(), RNNVIZ_MAX_UPLOAD_MB="1") as running:
        yield running


def _viewport(driver: Any) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1600, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
    )


def _file_view(driver: Any) -> tuple[Any, ...]:
    """What the Open-a-file page shows: block ids, report charts, summary line."""
    ids_drawn = driver.execute_script(
        "const cy = document.getElementById(arguments[0])._cyreg.cy;"
        "return cy.nodes().map(n => n.id()).sort();",
        ids.FILE_GRAPH,
    )
    charts = driver.execute_script(
        "return document.querySelectorAll('#' + arguments[0] + ' .js-plotly-plot').length",
        ids.FILE_REPORT,
    )
    return tuple(ids_drawn), charts, _text(driver, ids.FILE_INFO)


def _upload(driver: Any, path: Path) -> None:
    driver.find_element("css selector", f"#{ids.UPLOAD} input[type=file]").send_keys(str(path))


def _log(driver: Any) -> list[str]:
    return driver.execute_script("return window.rnnvizUploadLog || []")


def test_refused_uploads_leave_the_previous_view(
    server: dict, browser: Any, tmp_path: Path
) -> None:
    from rnnviz.builder import build

    good = tmp_path / "good.pb"
    good.write_bytes(build(TINY, with_train_op=False).graph_def().SerializeToString())
    big = tmp_path / "big.pb"
    big.write_bytes(np.random.default_rng(0).bytes(3 * 2**19))  # 1.5 MB: over the 1 MB limit
    bad = tmp_path / "bad.pb"
    bad.write_bytes(b"\x00not a graph" * 100)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a graph")
    assert good.stat().st_size < 2**20

    d = browser
    _viewport(d)
    d.get(server["url"] + "/open")
    _until("the page", lambda: d.find_element("id", ids.UPLOAD), timeout=60)
    _upload(d, good)
    _until("the file's view", lambda: _cy_count(d, ids.FILE_GRAPH, "node") > 0 and _file_view(d)[1])
    assert "good.pb" in _text(d, ids.UPLOAD_STATUS)
    shown = _file_view(d)
    log = _log(d)  # the sending was shown while it went
    assert {"reading good.pb", "sending good.pb", "sent good.pb"} <= set(log), log

    _upload(d, big)
    message = _until(
        "the refusal", lambda: "upload limit" in (t := _text(d, ids.UPLOAD_STATUS)) and t
    )
    assert message.startswith("big.pb: 1.5 MB is over the 1.0 MB upload limit"), message
    assert not any("big.pb" in entry for entry in _log(d) if entry.startswith("send"))
    assert _file_view(d) == shown
    _screenshot(d, "upload_refused.png")

    _upload(d, notes)
    _until("the kind refusal", lambda: "notes.txt: not a graph file" in _text(d, ids.UPLOAD_STATUS))
    assert _file_view(d) == shown

    _upload(d, bad)  # passes the browser's checks; the server says what is wrong with it
    message = _until(
        "the server's answer", lambda: "bad.pb:" in (t := _text(d, ids.UPLOAD_STATUS)) and t
    )
    assert "\n" not in message and "Traceback" not in message
    time.sleep(1)  # the view callbacks would have fired by now
    assert _file_view(d) == shown


def _heatmap_traces(driver: Any) -> list[dict[str, Any]]:
    return driver.execute_script(
        "const g = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
        "if (!g || !g._fullData) return [];"
        "return g._fullData.map(t => ({name: t.name, zmin: t.zmin, zmax: t.zmax,"
        " showscale: t.showscale, z: Array.from(t.z, row => Array.from(row))}));",
        ids.HEATMAPS,
    )


def test_heatmap_ranges_against_the_run_store(server: dict, browser: Any) -> None:
    from rnnviz.store import RunStore
    from rnnviz.training import train

    runs = server["tmp"] / "runs"
    run = train(TINY, "digits", steps=60, batch_size=32, runs_dir=runs, activation_every=30)
    store = RunStore(runs)
    d = browser
    _viewport(d)
    d.get(server["url"] + "/training")
    traces = _until("the heatmaps", lambda: len(t := _heatmap_traces(d)) >= 8 and t, timeout=60)
    assert run.run_id in _text(d, ids.RUNS_TABLE)
    step = store.snapshot_steps(run.run_id)[-1]
    acts = store.activations(run.run_id, step, sample=0)
    largest_c = max(float(np.abs(v).max()) for k, v in acts.items() if k[2] == "c")
    expected = {"i": (0, 1), "f": (0, 1), "o": (0, 1), "r": (0, 1), "u": (0, 1), "j": (-1, 1)}
    expected |= {"h": (-1, 1), "c": (-largest_c, largest_c)}
    seen = set()
    for trace in traces:
        layer, direction, kind = trace["name"].split()
        data = acts[(int(layer.removeprefix("L")), direction, kind)]
        np.testing.assert_allclose(np.array(trace["z"]), data, rtol=1e-6)
        assert (trace["zmin"], trace["zmax"]) == pytest.approx(expected[kind])
        assert trace["zmin"] <= data.min() and data.max() <= trace["zmax"]
        seen.add((layer, direction, kind))
    assert len(seen) == len(acts)
    assert sum(t["showscale"] for t in traces) == len({k[2] for k in acts})  # a bar per kind
    _screenshot(d, "training_heatmaps.png")


def test_report_page_from_the_url(server: dict, browser: Any) -> None:
    d = browser
    _viewport(d)
    d.get(server["url"] + "/report?spec=nonesuch&steps=4")
    _until("the bad-spec line", lambda: "spec=nonesuch" in _text(d, ids.REPORT_TITLE), timeout=60)
    assert "\n" not in _text(d, ids.REPORT_TITLE)
    d.get(server["url"] + "/report?spec=single_static_lstm&steps=4")
    _until(
        "the report",
        lambda: (
            "single_static_lstm at T=4" in _text(d, ids.REPORT_TITLE)
            and d.find_elements("css selector", f"#{ids.REPORT_CHARTS} .js-plotly-plot")
        ),
        timeout=240,
    )
    claims = d.find_elements("css selector", f"#{ids.REPORT_CLAIMS} .claim")
    assert len(claims) == 8
    table = _text(d, ids.REPORT_SUMMARY)
    assert "static / dynamic" in table and "GraphDef size (MB)" in table
    assert "ops.total" not in table
    assert _text(d, ids.REPORT_LINK).endswith("/report?spec=single_static_lstm&steps=4")
    _screenshot(d, "report_url.png")
