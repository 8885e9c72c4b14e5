"""The dashboard in a real headless Chromium (selenium + Debian chromium/chromedriver).

Each test starts the server itself on 127.0.0.1 and a free port: `rnnviz serve` for the local
default (DiskcacheManager), and gunicorn + a Celery worker + a `redis-server` the test starts for
the scale path. Screenshots go to tests/_artifacts/ (gitignored).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app import ids

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.2)
    raise RuntimeError(f"server did not listen on {port}:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def _process(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
    try:
        yield proc
    finally:
        # Its own session: the whole group (forked job processes too) goes, nothing else.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RNNVIZ_CACHE_DIR=str(tmp / "cache"),
        RNNVIZ_RUNS_DIR=str(tmp / "runs"),
        RNNVIZ_DEFAULT_SPEC="single_static_lstm",
        RNNVIZ_DEFAULT_STEPS="8",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def serve(tmp: Path, port: int, **env: str) -> Iterator[dict[str, Any]]:
    """`rnnviz serve` on `port` with its cache and run store under `tmp` (`env`: more settings)."""
    log = tmp / "server.log"
    cmd = [str(BIN / "rnnviz"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with _process(cmd, _env(tmp, **env), log) as proc:
        _wait_port(port, proc, log)
        yield {"url": f"http://127.0.0.1:{port}", "tmp": tmp, "log": log}
    _stop_runs(tmp / "runs")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`rnnviz serve` on a free port, with its own cache and run store."""
    with serve(tmp_path_factory.mktemp("serve"), _free_port()) as running:
        yield running


def _stop_runs(runs: Path) -> None:
    """Training runs are their own processes (own session): end the ones this test started."""
    from rnnviz.store import RunStore

    if not runs.exists():
        return
    for run in RunStore(runs).list_runs():
        if run.status == "running" and run.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(run.pid, signal.SIGTERM)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # selenium-manager must not try to download a driver
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1600,1100",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _until(what: str, fn: Callable[[], Any], timeout: float = 150, every: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            last = fn()
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def _cy_count(driver: Any, graph_id: str, selector: str) -> int:
    return driver.execute_script(
        "const el = document.getElementById(arguments[0]);"
        "return el && el._cyreg ? el._cyreg.cy.elements(arguments[1]).length : -1;",
        graph_id,
        selector,
    )


def _text(driver: Any, element_id: str) -> str:
    return driver.execute_script(
        "const el = document.getElementById(arguments[0]); return el ? el.innerText : '';",
        element_id,
    )


def _click_block(driver: Any, graph_id: str, block_id: str) -> None:
    """A real mouse click on a block where cytoscape drew it."""
    from selenium.webdriver.common.action_chains import ActionChains

    pos = driver.execute_script(
        "const cy = document.getElementById(arguments[0])._cyreg.cy;"
        "const n = cy.getElementById(arguments[1]); const p = n.renderedPosition();"
        "const r = cy.container().getBoundingClientRect();"
        "return [p.x, p.y, r.width, r.height];",
        graph_id,
        block_id,
    )
    x, y, width, height = pos
    canvas = driver.find_element("id", graph_id)
    # Selenium 4 offsets are from the element's centre.
    ActionChains(driver).move_to_element_with_offset(
        canvas, int(x - width / 2), int(y - height / 2)
    ).click().perform()


def _click_frame(driver: Any, graph_id: str, block_id: str) -> None:
    """A tap on an open block itself (its frame), sent through cytoscape: where the frame or its
    title sits on screen depends on the zoom, and a real click there may land on a child."""
    driver.execute_script(
        "document.getElementById(arguments[0])._cyreg.cy.getElementById(arguments[1]).emit('tap');",
        graph_id,
        block_id,
    )


def _choose_spec(driver: Any, name: str) -> None:
    """Open Dash 4's dropdown and click the option (its popover lives outside the button)."""
    # Disabled while a build runs (the background callback's `running` state).
    _until("the dropdown", lambda: driver.find_element("id", ids.SPEC).is_enabled(), timeout=60)
    driver.find_element("id", ids.SPEC).click()
    search = _until(
        "the dropdown's search box",
        lambda: driver.find_element("css selector", "input.dash-dropdown-search"),
        timeout=10,
    )
    search.send_keys(name)  # filters the list, so the option is in view
    option = _until(
        "the dropdown's options",
        lambda: driver.find_element(
            "css selector", f"input.dash-options-list-option-checkbox[value='{name}']"
        ),
        timeout=10,
    )
    option.find_element("xpath", "../..").click()  # the <label role=option> around the radio


def _screenshot(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path


def test_structure_page_switch_spec_and_expand(server: dict, browser: Any) -> None:
    """(Growth with T is checked through the callbacks in test_app_pages: a build less here.)"""
    d = browser
    d.get(server["url"] + "/")
    static, dynamic = ids.GRAPH["static"], ids.GRAPH["dynamic"]
    # Default: single_static_lstm at T=8, one layer, one direction.
    _until("the first build", lambda: _cy_count(d, static, "node.step") == 8)
    loops = _until("the loop panel", lambda: _cy_count(d, dynamic, "node.loop"))
    assert _cy_count(d, dynamic, "node.step") == 0

    _choose_spec(d, "multi_static_lstm")
    # While the build runs (a job process), the server still answers another user at once.
    # The stage line is shown only while the job runs (innerText of a hidden element is "").
    _until("the build to start", lambda: _text(d, ids.BUILD_STAGE), timeout=30)
    started = time.monotonic()
    with urllib.request.urlopen(server["url"] + "/_dash-layout", timeout=10) as answer:
        assert answer.status == 200
    assert time.monotonic() - started < 5
    assert _text(d, ids.BUILD_STAGE)  # and the build was still going
    _until(
        "the switched spec",
        lambda: (
            "multi_static_lstm at T=8" in _text(d, ids.BUILD_STATUS)
            and _cy_count(d, static, "node.step") == 3 * 8
        ),
    )
    assert _cy_count(d, dynamic, "node.loop") == loops
    assert "8 time steps" in _text(d, ids.VIEW_INFO["static"])
    stats = _text(d, ids.STATS["static"])
    assert "parameters" in stats and "fetchable per-step states" in stats

    # One click: the cell (its gates by name); on its frame: the ops; again: closed.
    _click_block(d, static, "L1/fw/t2")
    _until("the cell view", lambda: _cy_count(d, static, "node.gate") == 4)
    _click_frame(d, static, "L1/fw/t2")
    _until("the ops", lambda: _cy_count(d, static, "node.op") > 5)
    _screenshot(d, "structure_expanded.png")
    _click_frame(d, static, "L1/fw/t2")
    _until("the collapsed block", lambda: _cy_count(d, static, "node.op, node.gate") == 0)
    _screenshot(d, "structure.png")


# ---- the graph explorer (Structure page panels) ------------------------------------------------

_LABELS_JS = """
const cy = document.getElementById(arguments[0])._cyreg.cy;
const z = cy.zoom(); const out = [];
cy.nodes().forEach((n) => {
  if (n.style('display') === 'none') return;  // not drawn (a finer range while zoomed out)
  const text = String(n.style('label') || '').trim();
  if (!text || Number(n.style('text-opacity')) === 0) return;
  out.push({id: n.id(), kind: n.data('kind'), px: parseFloat(n.style('font-size')) * z});
});
return out;
"""


def _labels(driver: Any, graph_id: str) -> list[dict[str, Any]]:
    """Every label cytoscape draws, with its size on screen (font size x zoom)."""
    return driver.execute_script(_LABELS_JS, graph_id)


def _in_view(driver: Any, graph_id: str, element_id: str) -> bool:
    """Whether the element's centre is inside the panel (so a click reaches it)."""
    return driver.execute_script(
        "const cy = document.getElementById(arguments[0])._cyreg.cy;"
        "const p = cy.getElementById(arguments[1]).renderedPosition();"
        "return p.x > 0 && p.y > 0 && p.x < cy.width() && p.y < cy.height();",
        graph_id,
        element_id,
    )


def _open_default(driver: Any, url: str) -> None:
    driver.get(url)
    _until("the first build", lambda: _cy_count(driver, ids.GRAPH["static"], "node.step") == 8)
    _until("the loop panel", lambda: _cy_count(driver, ids.GRAPH["dynamic"], "node.loop"))
    # The URL is written once the panels have their state: clicks before that may be reset.
    _until("the state in the URL", lambda: "steps=8" in driver.current_url, timeout=30)


def test_first_view_labels_are_at_least_11px(server: dict, browser: Any) -> None:
    d = browser
    _open_default(d, server["url"] + "/")
    for which in ("static", "dynamic"):
        gid = ids.GRAPH[which]
        labels = _until(f"{which} labels", lambda g=gid: _labels(d, g))
        assert min(lab["px"] for lab in labels) >= 11, labels
        # Not by hiding them: every block of the first view carries a label.
        blocks = _cy_count(d, gid, "node.step, node.role, node.loop")
        assert sum(lab["kind"] in ("step", "role", "loop") for lab in labels) == blocks
    # Zoom buttons: the zoom changes, labels stay >= 11 px.
    gid = ids.GRAPH["static"]
    zoom = lambda: d.execute_script(  # noqa: E731
        "return document.getElementById(arguments[0])._cyreg.cy.zoom()", gid
    )
    z0 = zoom()
    d.find_element("id", f"{gid}-zout").click()
    _until("zoomed out", lambda: zoom() < z0)
    assert min(lab["px"] for lab in _labels(d, gid)) >= 11
    d.find_element("id", f"{gid}-fit").click()
    _until("fitted again", lambda: abs(zoom() - z0) < 1e-6)
    _screenshot(d, "explorer_first_view.png")


_INNER_JS = """
const cy = document.getElementById(arguments[0])._cyreg.cy;
const out = {full: 0, other: 0, px: 99};
cy.nodes().forEach((n) => {
  if (n.data('block') !== arguments[1] || n.isParent()) return;
  const text = String(n.style('label') || '').trim();
  const shown = text && Number(n.style('text-opacity')) !== 0;
  if (shown && text === String(n.data('label')).trim()) out.full += 1; else out.other += 1;
  if (shown) out.px = Math.min(out.px, parseFloat(n.style('font-size')) * cy.zoom());
});
return out;
"""


def _inner_labels(driver: Any, graph_id: str, block: str) -> dict[str, Any]:
    """Inside an opened block: parts drawn with their full label, the others, the smallest px."""
    return driver.execute_script(_INNER_JS, graph_id, block)


def test_expand_two_blocks_in_a_row(server: dict, browser: Any) -> None:
    d = browser
    gid = ids.GRAPH["static"]
    _open_default(d, server["url"] + "/")
    _click_block(d, gid, "L0/fw/t2")
    _until("the first cell view", lambda: _cy_count(d, gid, 'node[parent = "L0/fw/t2"]') > 5)
    # The camera zooms in as far as the cell reads: every part (gates by name, c/h updates,
    # weights with their shapes) drawn with its full label, >= 11 px.
    inner = _until("the cell read", lambda: (r := _inner_labels(d, gid, "L0/fw/t2"))["full"] and r)
    assert inner["other"] == 0 and inner["px"] >= 11, inner
    # The next step stays in view and clickable: a real click on it opens it.
    assert _in_view(d, gid, "L0/fw/t3")
    _click_block(d, gid, "L0/fw/t3")
    _until("the second cell view", lambda: _cy_count(d, gid, 'node[parent = "L0/fw/t3"]') > 5)
    assert _cy_count(d, gid, 'node[parent = "L0/fw/t2"]') > 5  # the first stays open
    for block in ("L0/fw/t2", "L0/fw/t3"):
        assert _in_view(d, gid, block), block
    assert _inner_labels(d, gid, "L0/fw/t3")["other"] == 0
    assert min(lab["px"] for lab in _labels(d, gid)) >= 11
    # A click on a gate shows it (details) and keeps the block open.
    _click_block(d, gid, "L0/fw/t3::gi")
    _until("the details", lambda: "input gate" in _text(d, f"{gid}-details"))
    assert _cy_count(d, gid, 'node[parent = "L0/fw/t3"]') > 5
    _screenshot(d, "explorer_two_blocks.png")


def test_long_sequence_first_view_and_semantic_zoom(server: dict, browser: Any) -> None:
    """T=200: step ranges, every block labelled >= 11 px at the first view; zoomed in, the single
    steps inside the ranges appear, labelled too; a click on a range opens it."""
    d = browser
    gid = ids.GRAPH["static"]
    d.get(server["url"] + "/?spec=single_static_lstm&steps=200")
    _until("the T=200 view", lambda: "200 time steps" in _text(d, ids.VIEW_INFO["static"]))
    _until("ranges drawn", lambda: _cy_count(d, gid, "node.step") > 1)
    blocks = _cy_count(d, gid, "node.step, node.role, node.loop")
    labels = _until(
        "labels",
        lambda: (
            (ls := _labels(d, gid))
            and sum(x["kind"] in ("step", "role", "loop") for x in ls) == blocks
            and ls
        ),
        timeout=30,
    )
    assert min(lab["px"] for lab in labels) >= 11
    assert not [lab for lab in labels if lab["kind"] == "sub"]  # not drawn yet
    first = d.execute_script(
        "const cy = document.getElementById(arguments[0])._cyreg.cy;"
        "return cy.nodes('.step').sort((a, b) => a.data('step') - b.data('step'))[0].id();",
        gid,
    )
    assert first.startswith("L0/fw/t0-")
    _screenshot(d, "explorer_T200.png")
    # Zoom in on the first range: its single steps appear, each labelled (t0, t1, ...).
    d.execute_script(
        "const cy = document.getElementById(arguments[0])._cyreg.cy;"
        "const n = cy.getElementById(arguments[1]);"
        "cy.zoom({level: cy.zoom() * 4, position: n.position()});",
        gid,
        first,
    )
    subs = _until(
        "the steps inside", lambda: [x for x in _labels(d, gid) if x["kind"] == "sub"], timeout=30
    )
    assert min(lab["px"] for lab in _labels(d, gid)) >= 11
    assert any(x["id"] == f"{first}::t0" for x in subs)
    _screenshot(d, "explorer_T200_zoomed.png")
    # A click on the range (a tap on its frame) opens it; its ops read at the camera's zoom.
    _click_frame(d, gid, first)
    _until("the range's ops", lambda: _cy_count(d, gid, f'node[parent = "{first}"]') > 5)
    inner = _until("read", lambda: (r := _inner_labels(d, gid, first))["full"] and r)
    assert inner["px"] >= 11


def test_loop_view_shows_loop_variables_and_trip_count(server: dict, browser: Any) -> None:
    d = browser
    gid = ids.GRAPH["dynamic"]
    _open_default(d, server["url"] + "/")
    loop = d.execute_script(
        "return document.getElementById(arguments[0])._cyreg.cy.nodes('.loop')"
        ".filter(n => n.data('role') === 'forward')[0].id()",
        gid,
    )
    _click_block(d, gid, loop)
    _until("the loop view", lambda: _cy_count(d, gid, "node.cond") == 1)
    cond = d.execute_script(
        "return document.getElementById(arguments[0])._cyreg.cy.nodes('.cond')[0].data()", gid
    )
    assert cond["trip"] == 8 and "trip count 8" in cond["label"]
    variables = d.execute_script(
        "return document.getElementById(arguments[0])._cyreg.cy.nodes('.var')"
        ".map(n => n.data('label'))",
        gid,
    )
    assert variables and any("float32[?×" in v for v in variables), variables
    assert _cy_count(d, gid, "edge.back") == 1
    assert _cy_count(d, gid, "node.gate") == 4  # the body's LSTM cell, as in the static panel
    _screenshot(d, "explorer_loop.png")


def test_search_opens_the_block_and_selects_the_op(server: dict, browser: Any) -> None:
    from selenium.webdriver.common.keys import Keys

    d = browser
    gid = ids.GRAPH["static"]
    _open_default(d, server["url"] + "/")
    box = d.find_element("id", f"{gid}-search")
    box.send_keys(r"lstm_cell/MatMul_5$" + Keys.ENTER)
    _until("the search result", lambda: "MatMul" in _text(d, f"{gid}-found"))
    assert "L0/fw/t5" in _text(d, f"{gid}-found")
    selected = _until(
        "the selected op",
        lambda: d.execute_script(
            "const n = document.getElementById(arguments[0])._cyreg.cy.nodes('.selected');"
            "return n.length ? n[0].data('name') : null;",
            gid,
        ),
    )
    assert selected.endswith("lstm_cell/MatMul_5")
    _until("the details", lambda: "MatMul" in _text(d, f"{gid}-details"))
    assert "output shape" in _text(d, f"{gid}-details")


def test_url_round_trip(server: dict, browser: Any) -> None:
    d = browser
    gid = ids.GRAPH["static"]
    _open_default(d, server["url"] + "/")
    _click_block(d, gid, "L0/fw/t3")
    _until("the cell view", lambda: _cy_count(d, gid, 'node[parent = "L0/fw/t3"]') > 5)
    _click_block(d, gid, "L0/fw/t3::gf")
    url = _until("the URL", lambda: "select=s:L0/fw/t3::gf" in d.current_url and d.current_url)
    assert "expand=s:L0/fw/t3" in url and "spec=single_static_lstm" in url
    d.get("about:blank")
    d.get(url)  # a reload / shared link: the same block open, the same element selected
    _until("the restored view", lambda: _cy_count(d, gid, 'node[parent = "L0/fw/t3"]') > 5)
    _until(
        "the restored selection",
        lambda: _cy_count(d, gid, 'node.selected[id = "L0/fw/t3::gf"]') == 1,
    )
    assert "forget gate" in _until("details", lambda: _text(d, f"{gid}-details"))


def _heat_state(driver: Any) -> tuple[str, float]:
    """(label, sum of the first heatmap's values) of the shown activation snapshot."""
    return driver.execute_script(
        "const g = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
        "const label = document.getElementById(arguments[1]).innerText;"
        # plotly sends arrays base64-encoded; _fullData holds them decoded.
        "if (!g || !g._fullData || !g._fullData.length || !g._fullData[0].z) return [label, null];"
        "let s = 0; for (const row of g._fullData[0].z) for (const v of row) s += v;"
        "return [label, s];",
        ids.HEATMAPS,
        ids.HEAT_STEP,
    )


def test_training_live(server: dict, browser: Any) -> None:
    d = browser
    d.get(server["url"] + "/training")
    steps = _until("the page", lambda: d.find_element("id", ids.TRAIN_STEPS), timeout=60)
    steps.clear()
    steps.send_keys("3000")
    d.find_element("id", ids.TRAIN_START).click()
    _until("the run to start", lambda: "started run" in _text(d, ids.TRAIN_MESSAGE))
    first = _until(
        "a first snapshot", lambda: (s := _heat_state(d))[1] is not None and s, timeout=120
    )
    later = _until(
        "a later snapshot", lambda: (s := _heat_state(d))[0] != first[0] and s, timeout=120
    )
    assert later[1] != first[1]  # the heatmap changed, not only its title
    _until("loss curve", lambda: "loss" in _text(d, ids.CURVES))
    _screenshot(d, "training.png")
    # A reload reattaches: the running run is watched again without a click.
    d.refresh()
    _until("reattached", lambda: (s := _heat_state(d))[1] is not None and s)
    d.find_element("id", ids.TRAIN_STOP).click()
    _until("stopped", lambda: "stopped" in _text(d, ids.RUNS_TABLE), timeout=60)


@pytest.mark.redis
def test_celery_redis_gunicorn(tmp_path: Path, browser: Any) -> None:
    """The scale path: gunicorn (2 workers) serves, a Celery worker builds, redis carries jobs."""
    redis = shutil.which("redis-server")
    assert redis, "redis-server is missing: make system-deps"
    rport, wport = _free_port(), _free_port()
    broker = f"redis://127.0.0.1:{rport}/0"
    env = _env(tmp_path, RNNVIZ_CELERY_BROKER=broker)
    redis_cmd = [redis, "--port", str(rport), "--bind", "127.0.0.1", "--save", ""]
    redis_cmd += ["--appendonly", "no", "--dir", str(tmp_path)]
    worker_cmd = [str(BIN / "celery"), "-A", "app.celery_app", "worker", "--pool=solo"]
    worker_cmd += ["--loglevel=INFO", "--without-gossip", "--without-mingle"]
    web_cmd = [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{wport}", "app.wsgi:server"]
    worker_log = tmp_path / "worker.log"
    with (
        _process(redis_cmd, env, tmp_path / "redis.log") as rproc,
        _process(worker_cmd, env, worker_log),
        _process(web_cmd, env, tmp_path / "web.log") as web,
    ):
        _wait_port(rport, rproc, tmp_path / "redis.log")
        _wait_port(wport, web, tmp_path / "web.log")
        browser.get(f"http://127.0.0.1:{wport}/")
        static = ids.GRAPH["static"]
        _until("a build through Celery", lambda: _cy_count(browser, static, "node.step") == 8, 150)
        assert _cy_count(browser, ids.GRAPH["dynamic"], "node.loop") >= 1
        # Each panel is drawn as soon as its graph is ready: the entry completes a little later.
        entries = tmp_path / "cache" / "entries"
        _until(
            "the complete entry", lambda: list(entries.glob("single_static_lstm-T8-*/meta.json"))
        )
        _until("the build's status", lambda: "static" in _text(browser, ids.BUILD_STATUS), 60)
        _screenshot(browser, "celery.png")
    log = worker_log.read_text()
    assert "background_callback_" in log and "succeeded" in log, log[-2000:]
