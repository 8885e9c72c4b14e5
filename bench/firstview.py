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


def _first_view(driver: Any, url: str, timeout: float) -> float:
    """Seconds from navigation start until both panels hold nodes."""
    driver.get("about:blank")
    started = time.monotonic()
    driver.get(url)
    while time.monotonic() - started < timeout:
        if all(_nodes(driver)):
            return time.monotonic() - started
        time.sleep(0.05)
    return float("nan")


def measure(spec: str, steps: int, timeout: float) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="rnnviz-firstview-"))
    port = _free_port()
    env = {**os.environ, "RNNVIZ_DEFAULT_SPEC": spec, "RNNVIZ_DEFAULT_STEPS": str(steps)}
    cmd = [sys.executable, "-m", "rnnviz.cli", "serve", "--port", str(port),
           "--cache-dir", str(root / "cache"), "--runs-dir", str(root / "runs")]  # fmt: skip
    started = time.monotonic()
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # fmt: skip
    driver = _browser(root / "chromium")
    try:
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        listening = time.monotonic() - started
        url = f"http://127.0.0.1:{port}/"
        cold = _first_view(driver, url, timeout)
        warm = _first_view(driver, url, timeout)
        return {"server start": listening, "cold": cold, "warm": warm}
    finally:
        driver.quit()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="multi_static_lstm")
    parser.add_argument("--steps", type=int, default=28)
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--label", default=os.environ.get("PYTHONPATH", "."))
    args = parser.parse_args()
    result = measure(args.spec, args.steps, args.timeout)
    print(f"first view of {args.spec} T={args.steps} ({args.label}), 1600x1000 headless Chromium")
    for what, seconds in result.items():
        print(f"  {what:<13} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
