"""Benchmark: rnnviz's Structure page beside Netron, TensorBoard's graph tab and Model Explorer.

One run opens the same graphs in all four tools, in a fresh headless Chromium each time (viewport
1600x1000, device scale 1), and prints one row per (graph, tool) with the ratio of each anchor's
time to rnnviz's, measured in the same run. The graphs are the 3-layer LSTM(128) + Adam training
graph of `multi_static_lstm` unrolled over T = 28, 200 and 784 steps, and `multi_dynamic_lstm`
(one while loop). They are made once with `rnnviz build ... --out F.pb` (Netron, Model Explorer)
and `rnnviz export` (its TensorBoard event file) and cached in /tmp/rnnviz-bench/anchors.

    make bench-anchors                                # installs the `anchors` extra, then runs this
    .venv/bin/python bench/anchors.py --graphs T28 dynamic --tools rnnviz netron

What is measured, per tool and graph:

- **first view s**: from the start of navigation until the tool has drawn the graph's nodes and
  the view has settled (two polls 0.25 s apart agree). Servers are started and ready before the
  clock starts (Netron and Model Explorer read the file on the browser's request, so their
  parsing is inside the time; TensorBoard reads the event file at start-up, outside it). rnnviz is
  measured twice: *cold* (a fresh cache dir, the page opened as soon as `rnnviz serve` answers,
  while its start-up build of the default spec runs) and *warm* (a second fresh browser once the
  cache holds the graph); the ratio uses warm, the case where rnnviz, like the anchors, starts
  from a graph that exists.
  Ready means: rnnviz, the panel's cytoscape instance (`cy`) has nodes; Netron, `body` has class
  `default` and the SVG has `g.node`s; TensorBoard, its shadow DOM has `g.node`s; Model Explorer
  (WebGL, no DOM for nodes), its title bar names the node count and a screenshot of the renderer
  shows at least 20 glyphs. A tool that shows its "This large graph layout might take a very long
  time" notice, crashes the tab or draws nothing within --timeout is recorded as such.
- **label px (min/median)**: the on-screen size of the node labels inside the viewport at that
  first view, in CSS px. rnnviz: `font-size x cy.zoom()` of every node whose label cytoscape
  draws (not hidden by `min-zoomed-font-size`). Netron and TensorBoard (SVG): each label's
  font size times its screen transform (`getScreenCTM().a`). Model Explorer draws text in WebGL,
  so it is estimated from the screenshot: the median height of dark glyph blobs is the x-height,
  and font size = x-height / 0.53 (the x-height of its sans-serif font). One pixel of x-height
  is ~1.9 px of font size, so read that figure as +-2 px; one figure, so min = median.
- **T seen**: whether the first view of T=200 (and 784) differs from that of T=28: the set of
  visible labels (DOM tools), or more than 0.5 % of the renderer's pixels (Model Explorer).
  A "no" means a person cannot tell the two lengths apart without digging in.
- **elements** and **MB sent**: graph elements the browser received (rnnviz: cytoscape nodes +
  edges of the panel; Netron and TensorBoard receive the whole GraphDef, so its node count; Model
  Explorer: the op-node count it reports), and all bytes over the network from navigation to the
  first view (`encodedDataLength` of every finished response in Chromium's performance log), with
  the XHR/fetch (graph data) part in brackets.

Screenshots of every first view (or of what was on screen at the time-out) go to
docs/screenshots/anchors/. Everything listens on 127.0.0.1 only; every server runs in its own
process group, which is ended when its measurement is done. Ports: rnnviz 8091, Netron 8092,
TensorBoard 8093, Model Explorer 8094, chromedriver 18091. Not for CI: the timings depend on the
machine's load (printed at the end).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path("/tmp/rnnviz-bench/anchors")
SHOTS = ROOT / "docs" / "screenshots" / "anchors"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
PORTS = {"rnnviz": 8091, "netron": 8092, "tensorboard": 8093, "model-explorer": 8094}
DRIVER_PORT = 18091
VIEWPORT = (1600, 1000)
POLL_S = 0.25
CALL_S = 30  # longest wait for one browser call (a script, a screenshot)
COLD_BOUND = 3  # rnnviz's cold visit may take this many times --timeout (it builds the graph)
# No sandbox (root), no GPU; nothing in the background that could reach the network or use CPU.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1000",
]
GRAPHS = {
    "T28": 28,
    "dynamic": None,
    "T200": 200,
    "T784": 784,
}  # T28 first: the others compare with it
TOOLS = ("rnnviz", "netron", "tensorboard", "model-explorer")
EXTRA = ("netron", "tensorboard", "model_explorer", "selenium", "PIL", "scipy")
X_HEIGHT = (
    0.53  # x-height / font size of the sans-serif faces these tools use (Roboto, Google Sans)
)


@dataclass
class Result:
    """One (graph, tool) measurement: `status` is "ok" or why there is no first view."""

    tool: str
    graph: str
    status: str = "ok"
    seconds: float | None = None
    labels: list[float] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    elements: int | None = None
    bytes_all: int = 0
    bytes_data: int = 0
    pixels: Any = None  # Model Explorer: the renderer's screenshot, to compare T=28 with T=200
    t_seen: str = ""


# --- graph files -------------------------------------------------------------------------------


def graph_files(graph: str) -> tuple[Path, Path]:
    """The GraphDef and the TensorBoard event dir of `graph`, made once (cached in CACHE)."""
    steps = GRAPHS[graph]
    spec = "multi_dynamic_lstm" if steps is None else "multi_static_lstm"
    name = "dynamic" if steps is None else f"static-T{steps}"
    pb, export = CACHE / f"{name}.pb", CACHE / f"{name}-export"
    step_args = [] if steps is None else ["--steps", str(steps)]
    cli = [sys.executable, "-m", "rnnviz.cli"]
    CACHE.mkdir(parents=True, exist_ok=True)
    if not pb.is_file():
        print(f"building {pb} once ...", flush=True)
        subprocess.run([*cli, "build", spec, "--out", str(pb), *step_args], check=True, cwd=ROOT)
    if not (export / "tensorboard").is_dir():
        print(f"exporting {export} once ...", flush=True)
        tmp = Path(tempfile.mkdtemp(dir=CACHE)) / "export"
        subprocess.run([*cli, "export", spec, str(tmp), *step_args], check=True, cwd=ROOT)
        tmp.rename(export)
    return pb, export / "tensorboard"


def graphdef_nodes(pb: Path) -> int:
    """Node count of a GraphDef, read with TensorBoard's protobuf copy (no TensorFlow import)."""
    from tensorboard.compat.proto import graph_pb2

    graph_def = graph_pb2.GraphDef()
    graph_def.ParseFromString(pb.read_bytes())
    return len(graph_def.node)


# --- servers -----------------------------------------------------------------------------------


@contextlib.contextmanager
def server(
    cmd: list[str],
    ready: Callable[[], bool],
    log: Path,
    env: dict[str, str] | None = None,
    timeout: float = 240,
) -> Iterator[None]:
    """Run `cmd` in its own process group until the block ends; wait for `ready()` first."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[0]} did not start; its log: {log}")
            time.sleep(0.5)
        yield
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """End the process group this script started (job processes of rnnviz included)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait)
            return


def stop_detached(tmp: Path) -> None:
    """End the jobs rnnviz detached into their own session (its costly figures) for this cache.

    They outlive the server's process group; they are found by the private cache path this
    script made (`tmp`), so no other process can match.
    """
    import psutil

    jobs = []
    for proc in psutil.process_iter(["cmdline"]):
        if str(tmp) in " ".join(proc.info["cmdline"] or []):
            jobs.append(proc)
            with contextlib.suppress(psutil.Error):
                proc.terminate()
    _, alive = psutil.wait_procs(jobs, timeout=10)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def http_ok(url: str, check: Callable[[bytes], bool] = lambda body: True) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.status == 200 and check(resp.read())
        except OSError:
            return False

    return ready


# --- browser -----------------------------------------------------------------------------------


@contextlib.contextmanager
def browser(page_timeout: float) -> Iterator[Any]:
    """A fresh headless Chromium (own profile dir) with a 1600x1000 viewport and network log."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # selenium-manager must not try to download a driver
    profile = tempfile.mkdtemp(prefix="rnnviz-anchors-chrome-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    # Its own process group, so that a hung browser can be ended with everything it started.
    service = Service(
        "/usr/bin/chromedriver", port=DRIVER_PORT, popen_kw={"start_new_session": True}
    )
    driver = webdriver.Chrome(options=opts, service=service)
    # A page busy in a long layout blocks every call: give up on a call after CALL_S, not 120 s.
    driver.command_executor.client_config.timeout = CALL_S
    try:
        # --window-size leaves the page less than 1000 px (the headless window keeps a frame).
        width, height = VIEWPORT
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        driver.set_page_load_timeout(page_timeout)
        driver.get_log("performance")  # start the log empty
        yield driver
    finally:
        with contextlib.suppress(Exception):
            driver.quit()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(service.process.pid, signal.SIGKILL)
        shutil.rmtree(profile, ignore_errors=True)


def network_bytes(driver: Any) -> tuple[int, int]:
    """(all, XHR/fetch) bytes of the responses finished so far, from the performance log."""
    kinds: dict[str, str] = {}
    total = data = 0
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        params = msg.get("params", {})
        if msg["method"] == "Network.responseReceived":
            kinds[params["requestId"]] = params.get("type", "")
        elif msg["method"] == "Network.loadingFinished":
            size = int(params.get("encodedDataLength", 0))
            total += size
            if kinds.get(params["requestId"]) in ("XHR", "Fetch"):
                data += size
    return total, data


def screenshot(driver: Any, clip: dict[str, float] | None = None) -> Any:
    """The viewport (or `clip` of it) as a PIL image."""
    from PIL import Image

    args: dict[str, Any] = {"format": "png"}
    if clip:
        args["clip"] = {**clip, "scale": 1}
    png = driver.execute_cdp_cmd("Page.captureScreenshot", args)["data"]
    return Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB")


def glyph_font_px(image: Any) -> tuple[int, float | None]:
    """(glyphs, font px) read from a screenshot: dark blobs of text size; x-height / X_HEIGHT."""
    import numpy as np
    from scipy import ndimage

    gray = np.asarray(image.convert("L")).astype(int)
    labels, _ = ndimage.label(gray < 170)
    heights = []
    for rows, cols in ndimage.find_objects(labels):
        h, w = rows.stop - rows.start, cols.stop - cols.start
        if 3 <= h <= 60 and w <= 1.2 * h + 1:  # letters, not edges or boxes
            heights.append(h)
    if len(heights) < 20:
        return len(heights), None
    return len(heights), statistics.median(heights) / X_HEIGHT


# --- what each tool has on screen --------------------------------------------------------------
# Each probe returns None while nothing is drawn, else {"labels": [px], "texts": [...],
# "settle": something equal between two polls once the view stopped moving}; "notice" reports a
# tool's own message that it is struggling.

CY_PROBE = """
const want = arguments[0]; let best = null, area = 0;
document.querySelectorAll('*').forEach(el => {
  if (!el._cyreg || !el._cyreg.cy || !el.id.includes(want) || el.id.includes('file')) return;
  const r = el.getBoundingClientRect();
  if (r.width * r.height > area) { area = r.width * r.height; best = el; }
});
if (!best) return null;
const cy = best._cyreg.cy, w = cy.width(), h = cy.height(), z = cy.zoom();
if (cy.nodes().length === 0 || w === 0) return null;
const labels = [], texts = [];
cy.nodes().forEach(n => {
  const text = n.data('label');
  if (!text || !n.visible() || n.pstyle('text-opacity').value === 0) return;
  const px = n.pstyle('font-size').pfValue * z;
  if (px < n.pstyle('min-zoomed-font-size').pfValue) return;  // cytoscape does not draw it
  const b = n.renderedBoundingBox();
  if (b.x2 < 0 || b.y2 < 0 || b.x1 > w || b.y1 > h) return;
  labels.push(px); texts.push(String(text));
});
return {labels, texts, elements: cy.elements().length, settle: [z, cy.pan().x, cy.pan().y]};
"""

SVG_LABELS = """
function svgLabels(elements) {
const [texts, labels] = [[], []];
for (const t of elements) {
  const r = t.getBoundingClientRect(), m = t.getScreenCTM();
  if (!m || r.width === 0 || r.right < 0 || r.bottom < 0 || r.left > innerWidth || r.top > innerHeight) continue;
  labels.push(parseFloat(getComputedStyle(t).fontSize) * m.a);
  texts.push((t.childNodes[0] && t.childNodes[0].nodeValue) || t.textContent);
}
return [labels, texts];
}
"""

NETRON_PROBE = (
    SVG_LABELS
    + """
const b = document.body, accept = [...document.querySelectorAll('button')]
  .find(x => x.textContent.trim() === 'Accept' && x.offsetParent);
if (accept) accept.click();  // first-run cookie notice of a fresh profile
const notice = b.classList.contains('notification')
  ? document.getElementById('message-text').innerText : null;
if (!b.classList.contains('default') || !document.querySelector('#canvas g.node'))
  return {notice};
const m = document.querySelector('#canvas g').getScreenCTM();
const [labels, texts] = svgLabels(document.querySelectorAll('#canvas g.node text'));
return {labels, texts, notice, settle: [m.a, m.e, m.f], elements: document.querySelectorAll('#canvas g.node').length};
"""
)

TB_PROBE = (
    SVG_LABELS
    + """
function deep(sel) { const out = [];
  const walk = r => { out.push(...r.querySelectorAll(sel));
    r.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); }); };
  walk(document); return out; }
const nodes = deep('g.node');
if (nodes.length === 0) return {};
const [labels, texts] = svgLabels(deep('text.nodelabel, text.annotation-label'));
const m = nodes[0].getScreenCTM();
return {labels, texts, settle: [m.a, m.e, m.f, nodes.length]};
"""
)

ME_PROBE = """
const r = document.querySelector('webgl-renderer'), text = document.body.innerText;
const count = text.match(/([0-9][0-9,]*) nodes/), busy = /Processing graph|Loading/.test(text);
const box = e => { const b = e.getBoundingClientRect();
  return {x: b.x, y: b.y, width: b.width, height: Math.min(b.height, innerHeight - b.y)}; };
// Its own text over the canvas (search bar, legend): blanked before glyphs are counted.
const overlays = r ? [...document.querySelectorAll('search-bar, legends-panel, drag-area')]
  .map(box).filter(b => b.width > 0) : [];
return {ready: !!(r && count && !busy), count: count && parseInt(count[1].replace(/,/g, '')),
        error: !r && /\\bError\\b/.test(text) ? 'failed to convert the file' : null,
        rect: r ? box(r) : null, overlays};
"""


def probe_rnnviz(panel: str) -> Callable[[Any], dict | None]:
    def probe(driver: Any) -> dict | None:
        return driver.execute_script(CY_PROBE, panel)

    return probe


def probe_netron(driver: Any) -> dict | None:
    state = driver.execute_script(NETRON_PROBE)
    return (
        state if "settle" in state else ({"notice": state["notice"]} if state["notice"] else None)
    )


def probe_tensorboard(driver: Any) -> dict | None:
    state = driver.execute_script(TB_PROBE)
    return state or None


def probe_model_explorer(driver: Any) -> dict | None:
    from PIL import ImageDraw

    state = driver.execute_script(ME_PROBE)
    if state["error"]:
        return {"notice": state["error"]}
    if not state["ready"] or not state["rect"]:
        return None
    rect = state["rect"]
    image = screenshot(driver, rect)
    draw = ImageDraw.Draw(image)
    for b in state["overlays"]:
        x, y = b["x"] - rect["x"], b["y"] - rect["y"]
        draw.rectangle([x, y, x + b["width"], y + b["height"]], fill="white")
    glyphs, px = glyph_font_px(image)
    if px is None:
        return None
    return {
        "labels": [px],
        "texts": [],
        "elements": state["count"],
        "pixels": image,
        "settle": [glyphs // 5, px],
    }


# --- one measurement ---------------------------------------------------------------------------


def measure(
    tool: str,
    graph: str,
    url: str,
    probe: Callable[[Any], dict | None],
    timeout: float,
    shot: Path | None,
) -> Result:
    """Open `url` in a fresh browser and poll `probe` until the first settled view or `timeout`."""
    from selenium.common.exceptions import TimeoutException

    result = Result(tool, graph)
    with browser(timeout) as driver:
        t0 = time.perf_counter()
        last, notice = None, None
        try:
            with contextlib.suppress(TimeoutException):  # the poll below keeps the time bound
                driver.get(url)
            while time.perf_counter() - t0 < timeout:
                state = probe(driver)
                if state and state.get("notice") and not notice:
                    notice = f"{state['notice'].splitlines()[0][:90]} (at {time.perf_counter() - t0:.1f} s)"
                if state and "settle" in state:
                    if last is not None and last["settle"] == state["settle"]:
                        result.seconds = time.perf_counter() - t0 - POLL_S
                        break
                    last = state
                else:
                    last = None
                time.sleep(POLL_S)
            else:
                result.status = f"no view in {timeout:.0f} s" + (f"; {notice}" if notice else "")
        except Exception as exc:  # a crashed tab, or a call that hung CALL_S: both are results
            first = (getattr(exc, "msg", None) or repr(exc)).strip().splitlines()[0][:90]
            if "Read timed out" in first:
                first = f"the page froze (no answer to a browser call in {CALL_S} s)"
            result.status = f"gave up at {time.perf_counter() - t0:.0f} s: {first}"
            return result
        result.bytes_all, result.bytes_data = network_bytes(driver)
        if result.seconds is not None:
            result.labels = [float(x) for x in state["labels"]]
            result.texts = sorted(state.get("texts", []))
            result.elements = state.get("elements")
            result.pixels = state.get("pixels")
        if shot:
            save_shot(driver, shot)
    return result


def save_shot(driver: Any, path: Path) -> None:
    """The viewport as a 256-colour PNG (a quarter of the bytes, text stays sharp)."""
    with contextlib.suppress(Exception):
        path.parent.mkdir(parents=True, exist_ok=True)
        screenshot(driver).quantize(256).save(path, optimize=True)


# --- the four tools ----------------------------------------------------------------------------
# Each runner measures one graph and returns its rows; main() interleaves them graph by graph so
# that the machine's load weighs on all four alike.


def run_rnnviz(graph: str, timeout: float, logs: Path) -> list[Result]:
    """`rnnviz serve` on a fresh cache dir: a cold first visit (builds the spec), then a warm one."""
    steps = GRAPHS[graph] or 28  # the dynamic graph is the Structure page's right-hand panel
    panel = "dynamic" if GRAPHS[graph] is None else "static"
    port, tmp = PORTS["rnnviz"], Path(tempfile.mkdtemp(prefix="rnnviz-anchors-"))
    env = {
        "RNNVIZ_CACHE_DIR": str(tmp / "cache"),
        "RNNVIZ_RUNS_DIR": str(tmp / "runs"),
        "RNNVIZ_DEFAULT_SPEC": "multi_static_lstm",
        "RNNVIZ_DEFAULT_STEPS": str(steps),
        "RNNVIZ_MAX_STEPS": str(max(steps, 200)),
        "PYTHONPATH": str(ROOT),
    }
    cmd = [sys.executable, "-m", "rnnviz.cli", "serve", "--host", HOST, "--port", str(port)]
    url = f"http://{HOST}:{port}/"
    results: list[Result] = []
    try:
        with server(cmd, http_ok(url), logs / f"rnnviz-{graph}.log", env):
            # Cold includes building the graph from the spec, which the anchors never do: it
            # gets COLD_BOUND x the time; warm (the compared figure) gets what the anchors get.
            for label, bound in (("cold", COLD_BOUND * timeout), ("warm", timeout)):
                shot = SHOTS / f"rnnviz-{graph}.png" if label == "warm" else None
                results.append(
                    measure(f"rnnviz {label}", graph, url, probe_rnnviz(panel), bound, shot)
                )
    finally:
        stop_detached(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def run_netron(graph: str, timeout: float, logs: Path) -> list[Result]:
    pb, _ = graph_files(graph)
    port = PORTS["netron"]
    cmd = [str(BIN / "netron"), str(pb), "--host", HOST, "--port", str(port)]
    url = f"http://{HOST}:{port}/"
    with server(cmd, http_ok(url), logs / f"netron-{graph}.log"):
        r = measure("netron", graph, url, probe_netron, timeout, SHOTS / f"netron-{graph}.png")
    if r.seconds is not None:
        r.elements = graphdef_nodes(pb)
    return [r]


def run_tensorboard(graph: str, timeout: float, logs: Path) -> list[Result]:
    """The graph tab of `tensorboard --logdir` on this graph's event file (its only run).

    One server per graph: the graph tab always opens the first run (the URL cannot name one).
    It reads the event file at start-up (and imports TensorFlow, which is installed), before the
    clock starts, as a user's `tensorboard --logdir` would have done.
    """
    pb, events = graph_files(graph)
    port = PORTS["tensorboard"]
    cmd = [
        str(BIN / "tensorboard"),
        "--logdir",
        str(events),
        "--host",
        HOST,
        "--port",
        str(port),
        "--reload_interval",
        "0",
    ]

    def has_graph(body: bytes) -> bool:
        return any(run.get("run_graph") for run in json.loads(body or b"{}").values())

    info = http_ok(f"http://{HOST}:{port}/data/plugin/graphs/info", has_graph)
    with server(cmd, info, logs / f"tensorboard-{graph}.log", timeout=600):
        r = measure(
            "tensorboard",
            graph,
            f"http://{HOST}:{port}/#graphs",
            probe_tensorboard,
            timeout,
            SHOTS / f"tensorboard-{graph}.png",
        )
    if r.seconds is not None:
        r.elements = graphdef_nodes(pb)
    return [r]


def run_model_explorer(graph: str, timeout: float, logs: Path) -> list[Result]:
    pb, _ = graph_files(graph)
    port = PORTS["model-explorer"]
    cmd = [str(BIN / "model-explorer"), "--host", HOST, "--port", str(port), "--no_open_in_browser"]
    # The GraphDef adapter by name: with TensorFlow installed, `.pb` defaults to the SavedModel one.
    data = {"models": [{"url": str(pb), "adapterId": "builtin_graphdef"}]}
    url = f"http://{HOST}:{port}/?data={urllib.parse.quote(json.dumps(data))}"
    with server(cmd, http_ok(f"http://{HOST}:{port}/"), logs / f"model-explorer-{graph}.log"):
        return [
            measure(
                "model-explorer",
                graph,
                url,
                probe_model_explorer,
                timeout,
                SHOTS / f"model-explorer-{graph}.png",
            )
        ]


RUNNERS = {
    "rnnviz": run_rnnviz,
    "netron": run_netron,
    "tensorboard": run_tensorboard,
    "model-explorer": run_model_explorer,
}


# --- report ------------------------------------------------------------------------------------


def t_seen(results: list[Result]) -> None:
    """Mark each tool's T=200/784 rows: does the first view differ from the same tool's T=28?"""
    base = {r.tool: r for r in results if r.graph == "T28" and r.seconds is not None}
    for r in results:
        ref = base.get(r.tool)
        if r.graph not in ("T200", "T784") or r.seconds is None or ref is None:
            continue
        if r.pixels is not None and ref.pixels is not None:
            r.t_seen = "yes" if pixel_change(r.pixels, ref.pixels) > 0.005 else "no"
        else:
            r.t_seen = "yes" if r.texts != ref.texts else "no"


def pixel_change(a: Any, b: Any) -> float:
    import numpy as np

    if a.size != b.size:
        return 1.0
    diff = np.abs(np.asarray(a, dtype=int) - np.asarray(b, dtype=int)).max(axis=2)
    return float((diff > 40).mean())


def label_text(r: Result) -> str:
    if not r.labels:
        return "-"
    return f"{min(r.labels):.1f}/{statistics.median(r.labels):.1f}"


def row_text(r: Result, ref: float | None = None) -> str:
    secs = f"{r.seconds:8.2f}" if r.seconds is not None else f"{'-':>8}"
    ratio = f"{r.seconds / ref:6.1f}x" if r.seconds is not None and ref else f"{'':>7}"
    elements = f"{r.elements:,}" if r.elements is not None else "-"
    sent = f"{r.bytes_all / 1e6:.2f} ({r.bytes_data / 1e6:.2f})"
    status = "" if r.status == "ok" else r.status
    return (
        f"{r.graph:<8} {r.tool:<15} {secs} {ratio} {label_text(r):>11} {r.t_seen:>6} "
        f"{elements:>9} {sent:>15}  {status}"
    )


HEADER = (
    f"{'graph':<8} {'tool':<15} {'first s':>8} {'/rnnviz':>7} {'label px':>11} "
    f"{'T seen':>6} {'elements':>9} {'MB (data)':>15}  status"
)


def print_table(results: list[Result]) -> None:
    t_seen(results)
    warm = {r.graph: r.seconds for r in results if r.tool == "rnnviz warm"}
    print("\n" + HEADER)
    for graph in GRAPHS:
        for r in (x for x in results if x.graph == graph):
            print(row_text(r, None if r.tool.startswith("rnnviz") else warm.get(graph)))
    load = os.getloadavg()
    print(
        "\nfirst s: navigation -> nodes drawn and view settled; /rnnviz: that time over rnnviz "
        "warm's on the same graph; label px: min/median on screen;\nT seen: first view differs "
        "from T=28's; MB: all bytes received until the first view (graph data in brackets)."
    )
    print(
        f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on "
        f"{os.cpu_count()} cores (timings scale with it)"
    )


# --- main --------------------------------------------------------------------------------------


def missing_extra() -> list[str]:
    import importlib.util

    return [m for m in EXTRA if importlib.util.find_spec(m) is None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", nargs="+", choices=list(GRAPHS), default=list(GRAPHS))
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds each tool gets per graph (default 120)"
    )
    args = parser.parse_args(argv)
    missing = missing_extra()
    if missing:
        print(
            f"bench/anchors.py: missing {', '.join(missing)}; install the extra: "
            "make bench-anchors (or pip install -e '.[anchors]')",
            file=sys.stderr,
        )
        return 2
    graphs = [g for g in GRAPHS if g in args.graphs]  # T28 first: T seen compares against it
    for graph in graphs:
        graph_files(graph)
    logs = Path(tempfile.mkdtemp(prefix="rnnviz-anchors-logs-"))
    print(f"server logs in {logs}", flush=True)
    results: list[Result] = []
    print(HEADER, flush=True)
    for graph in graphs:
        for tool in (t for t in TOOLS if t in args.tools):
            for r in RUNNERS[tool](graph, args.timeout, logs):
                results.append(r)
                print(row_text(r), flush=True)
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
