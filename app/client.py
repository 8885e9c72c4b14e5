"""A small HTTP client of the dashboard's callback protocol, as a browser tab speaks it.

For the abuse tests and the load bench (bench/load.py): `Tab.open()` loads the page (its signed
`endId` and the layout, with this page load's nonce), `Tab.call(...)` posts one callback and, for
a background callback, polls until the result comes. It posts whatever values it is given:
that is how the tests send what no widget would.

Not a way to drive the dashboard for users; no TensorFlow, no Dash import.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import requests


class CallbackFailed(Exception):
    """The server answered a callback with an error status, or never with a result."""


@dataclass
class Tab:
    """One page load: a session, its `endId` and its layout."""

    base: str
    timeout: float = 120.0
    session: requests.Session = field(default_factory=requests.Session)
    end_id: str = ""
    layout: dict[str, Any] = field(default_factory=dict)
    polls: int = 0
    dependencies: list[str] = field(default_factory=list)

    def open(self) -> Tab:
        page = self.session.get(self.base + "/", timeout=self.timeout)
        page.raise_for_status()
        match = re.search(
            r'id="_dash-config" type="application/json">(.*?)</script>', page.text, re.S
        )
        if not match:
            raise CallbackFailed("no _dash-config in the page")
        self.end_id = json.loads(match.group(1))["end_id"]
        self.layout = self.session.get(self.base + "/_dash-layout", timeout=self.timeout).json()
        return self

    def prop(self, component_id: str, name: str) -> Any:
        """A property of a component of this page load's layout (e.g. the nonce's data)."""
        stack = [self.layout]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                props = node.get("props")
                if isinstance(props, dict) and props.get("id") == component_id:
                    return props.get(name)
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
        raise KeyError(component_id)

    def post(self, body: dict[str, Any], **params: str) -> requests.Response:
        return self.session.post(
            self.base + "/_dash-update-component",
            params={"endId": self.end_id, **params},
            json=body,
            timeout=self.timeout,
        )

    def output_of(self, component_id: str) -> str:
        """The exact output string of the callback whose first output is `component_id`."""
        if not self.dependencies:
            reply = self.session.get(self.base + "/_dash-dependencies", timeout=self.timeout)
            self.dependencies = [d["output"] for d in reply.json()]
        for output in self.dependencies:
            if output.strip(".").startswith(component_id + "."):
                return output
        raise KeyError(component_id)

    def call(
        self,
        first_output: str,
        inputs: list[tuple[str, str, Any]],
        state: list[tuple[str, str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Post the callback whose first output is `first_output` (a component id); returns
        {component id: {property: value}} of its result ({} for "no update"). Polls a
        background callback until it answers (or `timeout`)."""
        body = _body(self.output_of(first_output), inputs, state or [])
        reply = self.post(body)
        deadline = time.monotonic() + self.timeout
        handles: dict[str, str] = {}
        while True:
            if reply.status_code == 204:
                return {}  # "no update": the server sent nothing
            if reply.status_code >= 400:
                raise CallbackFailed(f"HTTP {reply.status_code}: {reply.text[:200]}")
            data = reply.json()
            if "response" in data:
                return data["response"]
            if not handles and "cacheKey" not in data:
                raise CallbackFailed(f"unexpected reply {str(data)[:200]}")
            handles = handles or {k: data[k] for k in ("cacheKey", "job") if k in data}
            if time.monotonic() > deadline:
                raise CallbackFailed("no result before the timeout")
            time.sleep(0.2)
            self.polls += 1
            reply = self.post(body, **handles)


def _body(
    output: str, inputs: list[tuple[str, str, Any]], state: list[tuple[str, str, Any]]
) -> dict[str, Any]:
    parts = [o.rsplit(".", 1) for o in output.strip(".").split("...")]
    outputs = [{"id": c, "property": p} for c, p in parts]
    return {
        "output": output,
        "outputs": outputs if output.startswith("..") else outputs[0],
        "inputs": [{"id": c, "property": p, "value": v} for c, p, v in inputs],
        "state": [{"id": c, "property": p, "value": v} for c, p, v in state],
        "changedPropIds": [f"{c}.{p}" for c, p, _ in inputs],
    }


__all__ = ["CallbackFailed", "Tab"]
