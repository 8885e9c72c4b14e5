"""Benchmark: time to the first view of the default spec in a real browser, cold and warm.

Starts `rnnviz serve` (from whatever tree is first on PYTHONPATH, so the same script measures
a baseline checkout and this one) on a loopback port with a fresh cache, opens headless Chromium
at 1600x1000 as soon as the port answers, and times from navigation start until both panels
hold graph nodes. Cold: fresh cache, server just started. Warm: a second page load on the same
server (the cache holds the build). Prints a table; nothing is asserted.

    PYTHONPATH=. .venv/bin/python bench/firstview.py [--spec multi_static_lstm --steps 28]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

GRAPHS = ("cyto-static", "cyto-dynamic")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _browser(profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"
    opts = webdriver.ChromeOptions()
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--window-size=1600,1000", f"--user-data-dir={profile}"):  # fmt: skip
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def _nodes(driver: Any) -> list[int]:
    return driver.execute_script(
        "return arguments[0].map(id => { const el = document.getElementById(id);"
        " return el && el._cyreg ? el._cyreg.cy.nodes().length : 0; });",
        list(GRAPHS),
    )


def _server_cpu(sid: int) -> float:
    """CPU-seconds used so far by the server's session (workers, reaped jobs included)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:  # field 6 of stat: the session id
                total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / tick


def _what(post: str | None) -> str:
    """Which callback a `_dash-update-component` post is for (its first output)."""
    if not post:
        return ""
    with contextlib.suppress(ValueError):
        output = json.loads(post).get("output", "")
        return output.lstrip(".").split("...")[0].split("@")[0][:40]
    return "?"


def _network(driver: Any, t0_wall: float | None) -> tuple[float | None, list[dict[str, Any]]]:
    """(navigation wall time, requests) from Chrome's performance log since it was last read."""
    reqs: dict[str, dict[str, Any]] = {}
    base = None  # (wall, monotonic) of the document request
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        method, p = msg["method"], msg.get("params", {})
        rid = p.get("requestId")
        if method == "Network.requestWillBeSent":
            url = p["request"]["url"]
            if p.get("type") == "Document" and base is None and url.startswith("http"):
                base = (p["wallTime"], p["timestamp"])
            reqs[rid] = {
                "url": url.split("/", 3)[-1][:40],
                "what": _what(p["request"].get("postData")),
                "sent": p["timestamp"],
            }
        elif method == "Network.responseReceived" and rid in reqs:
            reqs[rid]["first byte"] = p["timestamp"]
        elif method == "Network.loadingFinished" and rid in reqs:
            reqs[rid]["done"] = p["timestamp"]
            reqs[rid]["bytes"] = p.get("encodedDataLength", 0)
    if base is None:
        return t0_wall, []
    out = []
    for r in reqs.values():
        if "done" not in r:
            continue
        for k in ("sent", "first byte", "done"):
            r[k] = r.get(k, r["done"]) - base[1]
        out.append(r)
    return base[0], sorted(out, key=lambda r: r["sent"])


# Installed in every page before its own scripts: the moment (ms since navigation start) each
# panel first holds nodes, seen from the page itself, and the main thread's long tasks.
PROBE = """
window.__fv = {long: []};
try { new PerformanceObserver((l) => l.getEntries().forEach((e) =>
  window.__fv.long.push([e.startTime, e.duration]))).observe({type: "longtask", buffered: true});
} catch (e) {}
(function poll() {
  let all = true;
  for (const id of GRAPHS_JSON) {
    const el = document.getElementById(id);
    if (!window.__fv[id] && el && el._cyreg && el._cyreg.cy.nodes().length)
      window.__fv[id] = performance.now();
    all = all && window.__fv[id];
  }
  if (!all) requestAnimationFrame(poll);
})();
""".replace("GRAPHS_JSON", json.dumps(list(GRAPHS)))


def _first_view(driver: Any, url: str, timeout: float, sid: int) -> dict[str, Any]:
    """Seconds from navigation start until each panel holds nodes, and what went over the wire."""
    driver.get("about:blank")
    driver.get_log("performance")  # drop what came before
    cpu0 = _server_cpu(sid)
    started_wall = time.time()
    started = time.monotonic()
    driver.get(url)
    seen: dict[str, float] = {}
    while time.monotonic() - started < timeout and len(seen) < len(GRAPHS):
        for graph, n in zip(GRAPHS, _nodes(driver), strict=True):
            if n and graph not in seen:
                seen[graph] = time.time()
        time.sleep(0.05)
    time.sleep(0.5)  # let the callbacks that follow the view finish, for the byte count
    cpu = _server_cpu(sid) - cpu0
    nav_wall, reqs = _network(driver, None)
    nav_wall = nav_wall or started_wall
    probe = driver.execute_script("return window.__fv || {};")
    panels = {g: probe[g] / 1e3 if probe.get(g) else float("nan") for g in GRAPHS}
    view = max(panels.values())
    long = [d for t, d in probe.get("long", []) if t < view * 1e3]
    return {
        "view": view,
        "long tasks": (len(long), sum(long) / 1e3),
        "panels": panels,
        "requests": reqs,
        "server cpu": cpu,
        "wait before navigation": nav_wall - started_wall,
    }


def measure(spec: str, steps: int, timeout: float, warm_runs: int = 3) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="rnnviz-firstview-"))
    port = _free_port()
    env = {**os.environ, "RNNVIZ_DEFAULT_SPEC": spec, "RNNVIZ_DEFAULT_STEPS": str(steps)}
    cmd = [sys.executable, "-m", "rnnviz.cli", "serve", "--port", str(port),
           "--cache-dir", str(root / "cache"), "--runs-dir", str(root / "runs")]  # fmt: skip
    started = time.monotonic()
    # cwd: a scratch folder, so `-m` finds the tree PYTHONPATH names, not the one we stand in.
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True, cwd=root)  # fmt: skip
    driver = _browser(root / "chromium")
    try:
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        listening = time.monotonic() - started
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE})
        url = f"http://127.0.0.1:{port}/"
        cold = _first_view(driver, url, timeout, server.pid)
        warm = [_first_view(driver, url, timeout, server.pid) for _ in range(warm_runs)]
        return {"server start": listening, "cold": cold, "warm": warm}
    finally:
        driver.quit()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)
        shutil.rmtree(root, ignore_errors=True)


def _print_view(name: str, view: dict[str, Any], detail: bool) -> None:
    reqs = view["requests"]
    total = sum(r["bytes"] for r in reqs)
    panels = ", ".join(f"{g} {t:.2f} s" for g, t in view["panels"].items())
    n_long, t_long = view["long tasks"]
    print(f"  {name:<13} {view['view']:6.2f} s  ({panels}; {len(reqs)} requests, "
          f"{total / 1e6:.2f} MB, server {view['server cpu']:.2f} CPU-s; before it "
          f"{n_long} long tasks, {t_long:.2f} s)")  # fmt: skip
    if not detail:
        return
    print(f"    {'sent':>6} {'1st byte':>8} {'done':>6} {'kB':>8}  request")
    for r in reqs:
        what = r["what"] or r["url"]
        print(f"    {r['sent']:6.2f} {r['first byte']:8.2f} {r['done']:6.2f} "
              f"{r['bytes'] / 1e3:8.1f}  {what}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="multi_static_lstm")
    parser.add_argument("--steps", type=int, default=28)
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--warm", type=int, default=3, help="warm page loads (default 3)")
    parser.add_argument("--detail", action="store_true", help="every request of each view")
    parser.add_argument("--label", default=os.environ.get("PYTHONPATH", "."))
    args = parser.parse_args()
    result = measure(args.spec, args.steps, args.timeout, args.warm)
    print(f"first view of {args.spec} T={args.steps} ({args.label}), 1600x1000 headless Chromium")
    print(f"  server start  {result['server start']:6.2f} s")
    _print_view("cold", result["cold"], args.detail)
    for k, view in enumerate(result["warm"]):
        _print_view(f"warm {k + 1}", view, args.detail)
    warm = sorted(v["view"] for v in result["warm"])
    print(f"  warm median   {warm[len(warm) // 2]:6.2f} s")
    print(f"  load average  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
