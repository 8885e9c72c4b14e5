"""The report as one offline HTML file: `rnnviz report FILE --html OUT.html` and a notebook's
`GraphReport._repr_html_`. The file is opened in headless Chromium with the network switched off:
no request may leave the file, and the tables, charts and structure blocks must be there."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rnnviz import charts
from rnnviz.cli import main

STEPS = 6


@pytest.fixture(scope="module")
def graph_file(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """single_static_lstm at T=6 as a GraphDef file, and its report."""
    import rnnviz
    from rnnviz.builder import build
    from rnnviz.spec import load_spec

    model = build(load_spec("single_static_lstm").with_steps(STEPS))
    path = tmp_path_factory.mktemp("html") / "graph.pb"
    path.write_bytes(model.graph_def().SerializeToString())
    return {"path": path, "report": rnnviz.report(path)}


def _without_scripts(text: str) -> str:
    return re.sub(r"<script>.*?</script>", "", text, flags=re.S)


@pytest.mark.slow
def test_report_html_writes_one_self_contained_file(graph_file, tmp_path, capsys) -> None:
    out = tmp_path / "report.html"
    assert main(["report", str(graph_file["path"]), "--html", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    text = out.read_text()
    markup = _without_scripts(text)
    # Nothing to fetch: no external scripts, styles, fonts or images.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", markup)
    assert "<script src" not in text and "@import" not in text
    report = graph_file["report"]
    for row in charts.summary_table(report.to_dict()):
        assert f'<td>{row["figure"]}</td><td class="num">{row["value"]}</td>' in markup
    steps = re.findall(r'data-id="L0/fw/t(\d+)"', markup)
    assert sorted(map(int, steps)) == list(range(report.unrolled_steps))


def test_report_html_to_a_missing_folder_is_one_line(graph_file, capsys) -> None:
    code = main(["report", str(graph_file["path"]), "--html", "/no/such/folder/r.html"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err


def test_repr_html_is_the_report_as_a_fragment(graph_file) -> None:
    fragment = graph_file["report"]._repr_html_()
    assert fragment.startswith("<div class='rnnviz-report'>") and "<html" not in fragment
    assert "Plotly" in fragment and "graph nodes (main graph)" in fragment
    assert fragment.count('class="plotly-graph-div"') == len(
        charts.report_charts({"x": graph_file["report"].to_dict()})
    )


def test_the_renderer_is_imported_only_when_a_report_is_shown() -> None:
    code = (
        "import sys, rnnviz, rnnviz.reporting.model\n"
        "print([m for m in ('rnnviz.html', 'plotly') if m in sys.modules])"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert json.loads(out.stdout.strip().replace("'", '"')) == []


@pytest.mark.slow
@pytest.mark.browser
def test_the_html_export_opens_offline(graph_file, tmp_path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    out = tmp_path / "report.html"
    assert main(["report", str(graph_file["path"]), "--html", str(out)]) == 0
    os.environ["SE_OFFLINE"] = "true"
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"):
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path / 'chromium'}")
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        driver.set_window_size(1600, 1000)
        driver.get_log("performance")  # drop what the blank start page loaded
        driver.get(out.as_uri())
        plots = driver.execute_script(
            "return [...document.querySelectorAll('.js-plotly-plot')]"
            ".filter(g => g._fullData && g._fullData.length).length"
        )
        blocks = driver.execute_script("return document.querySelectorAll('svg g.block').length")
        text = driver.execute_script("return document.body.innerText")
        events = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        driver.quit()
    report = graph_file["report"].to_dict()
    assert plots == len(charts.report_charts({"x": report}))  # every chart drawn by plotly.js
    assert blocks >= report["unrolled_steps"]
    assert f"{report['ops']['total']:,}" in text and "Parameters by layer" in text
    requested = [
        m["params"]["request"]["url"] for m in events if m["method"] == "Network.requestWillBeSent"
    ]
    requested = [u for u in requested if not u.startswith("chrome://")]  # the browser's own pages
    failed = [m["params"] for m in events if m["method"] == "Network.loadingFailed"]
    assert requested == [out.as_uri()] and failed == [] and errors == []
