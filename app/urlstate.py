"""The Structure page's state in the URL query, so a reload or a shared link shows the same view.

Parameters (shared with the Report page, which reads `spec` and `steps`):
`spec` (sample name), `steps` (T), `file` (an uploaded file's cache key), `expand` (open blocks,
`s:` static / `d:` dynamic / `f:` file panel, comma separated; a block showing its ops ends in
`@ops`) and `select` (the selected element or op name, with the same panel prefix).
Example: `/?spec=multi_static_lstm&steps=28&expand=s:L1/fw/t5,d:loop/rnn/while&select=s:L1/fw/t5::gi`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode

PANELS = {"s": "static", "d": "dynamic", "f": "file"}
PREFIX = {v: k for k, v in PANELS.items()}
_BLOCK_ID = re.compile(r"^(L\d+/(fw|bw)/t\d+(-\d+)?|role/.+|loop/.+)$")


def encode(
    spec: str | None,
    steps: int | None,
    expanded: dict[str, list[str]],
    selected: dict[str, dict[str, Any] | None],
    file: str | None = None,
) -> str:
    """'?spec=...&steps=...&expand=...&select=...' (empty parts left out)."""
    query: dict[str, str] = {}
    if file:
        query["file"] = file
    if spec:
        query["spec"] = spec
    if steps:
        query["steps"] = str(int(steps))
    opened = [f"{PREFIX[w]}:{b}" for w, blocks in expanded.items() for b in blocks or ()]
    if opened:
        query["expand"] = ",".join(opened)
    for which, sel in selected.items():
        target = (sel or {}).get("name") or (sel or {}).get("id")
        if target:
            query["select"] = f"{PREFIX[which]}:{target}"
    return "?" + urlencode(query, safe="/:,@") if query else ""


def decode(search: str | None) -> dict[str, Any]:
    """{"spec", "steps", "file", "expand": {panel: [ids]}, "select": {panel: {...}}} of a query;
    unknown or malformed parts are ignored (a hand-edited link never breaks the page)."""
    q = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
    out: dict[str, Any] = {"spec": q.get("spec"), "file": q.get("file"), "expand": {}, "select": {}}
    try:
        out["steps"] = int(q["steps"]) if "steps" in q else None
    except ValueError:
        out["steps"] = None
    for item in (q.get("expand") or "").split(","):
        prefix, _, block = item.partition(":")
        if prefix in PANELS and block:
            out["expand"].setdefault(PANELS[prefix], []).append(block)
    prefix, _, target = (q.get("select") or "").partition(":")
    if prefix in PANELS and target:
        key = "id" if "::" in target or _BLOCK_ID.match(target) else "name"
        out["select"][PANELS[prefix]] = {key: target}
    return out


def initial_for(state: dict[str, Any], which: str) -> dict[str, Any]:
    """What `panels.register_expand` restores for one panel when the build matches the URL."""
    match = {"spec": state.get("spec"), "steps": state.get("steps")}
    if which == "file":
        match = {"key": state.get("file")}
    return {
        "match": {k: v for k, v in match.items() if v is not None},
        "expand": state.get("expand", {}).get(which, []),
        "select": state.get("select", {}).get(which),
    }
