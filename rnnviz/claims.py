"""The source material's eight claims about static_rnn vs dynamic_rnn, checked in words against
the measured figures of one spec: one short paragraph per claim, saying whether it holds here.

Input: the static and the dynamic report of the same spec (`to_dict()` form), what their builds
measured (build seconds, SavedModel bytes) and the spec (`ModelSpec.to_dict()`), all optional
except the reports. Output: `Claim`s, plain data that the Report page and the HTML export show.
Not here: measuring (rnnviz.reporting, bench/claims.py), drawing, TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rnnviz.charts import get

Report = Mapping[str, Any]

HOLDS = "holds here"
NOT_HERE = "does not hold here"
SAME = "no difference here"
UNMEASURED = "not measurable here"


@dataclass(frozen=True)
class Claim:
    number: int
    title: str  # the claim as the source states it
    verdict: str  # HOLDS | NOT_HERE | SAME | UNMEASURED
    text: str  # what this spec's figures say


@dataclass(frozen=True)
class Pair:
    """Everything one claim may read."""

    static: Report
    dynamic: Report
    builds: Mapping[str, Mapping[str, Any]]
    spec: Mapping[str, Any]

    def built(self, which: str, key: str) -> Any:
        return (self.builds.get(which) or {}).get(key)


def _mb(n: float) -> str:
    return f"{n / 1e6:,.2f} MB"


def _ratio_verdict(a: float, b: float, margin: float = 0.05) -> str:
    if a > b * (1 + margin):
        return HOLDS
    if a < b * (1 - margin):
        return NOT_HERE
    return SAME


def build_time(p: Pair) -> tuple[str, str]:
    s, d = p.built("static", "build_seconds"), p.built("dynamic", "build_seconds")
    nodes = (
        f"static_rnn writes one copy of the cell per time step: {get(p.static, 'ops', 'total'):,} "
        f"graph nodes against {get(p.dynamic, 'ops', 'total'):,} "
        f"(+{get(p.dynamic, 'ops', 'function_ops') or 0:,} in loop functions)."
    )
    if s is None or d is None:
        return UNMEASURED, f"No build times were recorded for these graphs. {nodes}"
    verdict = _ratio_verdict(s, d)
    return verdict, f"Building took {s:.2f} s static and {d:.2f} s dynamic ({s / d:.1f}×). {nodes}"


def memory(p: Pair) -> tuple[str, str]:
    s, d = get(p.static, "memory", "peak_bytes"), get(p.dynamic, "memory", "peak_bytes")
    if s is None or d is None:
        return UNMEASURED, "No training step was traced for these graphs (peak memory unknown)."
    how = (
        f"Peak memory of one traced training step (batch {get(p.static, 'memory', 'batch')}, "
        f"T={get(p.static, 'memory', 'steps')}): {_mb(s)} static, {_mb(d)} dynamic ({s / d:.2f}×)."
    )
    verdict = _ratio_verdict(s, d)
    if verdict == HOLDS:
        return verdict, how
    return verdict, (
        f"{how} The reason the source gives, forward values kept for backprop, applies to both: "
        "the while loop's gradient also keeps every step's activations (in stacks the forward "
        "loop fills), so at this size the unrolled graph does not need more."
    )


def export_size(p: Pair) -> tuple[str, str]:
    s, d = p.built("static", "saved_model_bytes"), p.built("dynamic", "saved_model_bytes")
    gs, gd = get(p.static, "sizes", "graphdef_bytes"), get(p.dynamic, "sizes", "graphdef_bytes")
    graphs = f"the GraphDef alone is {_mb(gs)} static and {_mb(gd)} dynamic"
    weights = get(p.static, "params", "bytes")
    if s is None or d is None:
        return _ratio_verdict(gs, gd), f"No SavedModel was exported; {graphs}."
    return _ratio_verdict(s, d), (
        f"SavedModel (graph + variables): {_mb(s)} static, {_mb(d)} dynamic ({s / d:.2f}×). "
        f"Both hold the same {_mb(weights)} of parameters; the difference is the graph: {graphs}."
    )


def step_states(p: Pair) -> tuple[str, str]:
    s, d = get(p.static, "states", "per_step") or 0, get(p.dynamic, "states", "per_step") or 0
    exits = len(get(p.dynamic, "states", "loop_exits") or ())
    kinds = ", ".join(sorted(get(p.static, "states", "by_kind") or {}))
    text = (
        f"The static graph has {s:,} per-step tensors a session can fetch ({kinds} of every step "
        f"and cell); the dynamic graph has {d:,}: only {exits} tensor(s) leave its loop, the "
        "stacked top-layer outputs (every step's top h) and the final states."
    )
    return (HOLDS if s > d else NOT_HERE), text


def fixed_length(p: Pair) -> tuple[str, str]:
    steps = get(p.static, "unrolled_steps") or 0
    loops = [lp for lp in get(p.dynamic, "loops") or () if lp.get("role") == "forward"]
    if not steps:
        return NOT_HERE, "The static graph shows no unrolled steps, so nothing fixes its length."
    body = sum(int(lp.get("body_ops") or 0) for lp in loops)
    return HOLDS, (
        f"The static graph holds {steps} copies of each cell and cuts its input into exactly "
        f"{steps} tensors: it runs only sequences of {steps} steps (rnnviz refuses other lengths "
        f"with one line). The dynamic graph has {len(loops)} forward loop(s) with one body "
        f"({body:,} ops) that runs once per step of whatever length it is fed."
    )


def swap_memory(p: Pair) -> tuple[str, str]:
    loops = get(p.dynamic, "loops") or ()
    flags = sorted({str(lp.get("swap_memory")) for lp in loops if lp.get("role") == "forward"})
    wanted = p.spec.get("swap_memory")
    text = (
        f"The dynamic graph's forward loop records swap_memory = {', '.join(flags) or 'nothing'}"
        + (f" (the spec asks {wanted})" if wanted is not None else "")
        + ". It lets TensorFlow move the forward values the gradient needs from GPU to host "
        "memory; this machine has no GPU, so there is nothing to swap and no figure shows it. "
        "The static graph has no loop and no such option."
    )
    return UNMEASURED, text


def _top_h(report: Report) -> str | None:
    tensors = [t for t in get(report, "states", "tensors") or () if t.get("kind") == "h"]
    tensors = [t for t in tensors if t.get("direction") == "fw"]
    if not tensors:
        return None
    return max(tensors, key=lambda t: (t["layer"], t["step"]))["name"]


def last_state(p: Pair) -> tuple[str, str]:
    layers = get(p.static, "params", "by_layer") or ()
    cells = sorted({str(r.get("cell")) for r in layers})
    exits = [e["name"] for e in get(p.dynamic, "states", "loop_exits") or ()]
    top = _top_h(p.static)
    where = (
        f"In the static graph both are the same tensor ({top}). "
        if top
        else "The static graph records no per-step h here. "
    ) + (
        f"In the dynamic graph they are two tensors equal in value: the final h is one of the "
        f"{len(exits)} loop exits, the outputs are stacked from the loop's per-step writes."
    )
    why_not = []
    if p.spec.get("bidirectional"):
        why_not.append("the backward cell's final state matches outputs[:, 0], not [:, -1]")
    if p.spec.get("variable_length"):
        why_not.append(
            "with sequence_length, outputs past a sequence's end are zero while the state "
            "keeps its last valid step"
        )
    if any(layer.get("output_keep_prob", 1.0) < 1.0 for layer in p.spec.get("layers") or ()):
        why_not.append("output dropout changes outputs but not the state while training")
    shape = "LSTMStateTuple(c, h)" if "lstm" in cells else "h"
    head = f"Final state: one {shape} per layer ({len(layers)} cells: {', '.join(cells)}). "
    if why_not:
        return NOT_HERE, head + "Not for this spec: " + "; ".join(why_not) + ". " + where
    return HOLDS, head + where + (
        " (bench/claims.py runs both 3-layer LSTM samples: the difference is exactly 0.)"
    )


def _transposes(report: Report) -> int:
    return int((get(report, "ops", "by_type") or {}).get("Transpose", 0)) + int(
        (get(report, "ops", "function_by_type") or {}).get("Transpose", 0)
    )


def time_major(p: Pair) -> tuple[str, str]:
    s, d = _transposes(p.static), _transposes(p.dynamic)
    major = "time-major" if p.spec.get("time_major") else "batch-major"
    text = (
        f"This spec is {major}. Transpose ops, gradients included: {s} static, {d} dynamic. "
        "A batch-major dynamic_rnn transposes its input to time-major before the loop and its "
        "outputs back after it (and its gradient transposes both again); time_major=True drops "
        "both, static_rnn unstacks along the time axis instead."
    )
    if p.spec.get("time_major"):
        return (HOLDS if d == 0 else NOT_HERE), text
    return (HOLDS if d >= 2 else NOT_HERE), text


CLAIMS: tuple[tuple[str, Callable[[Pair], tuple[str, str]]], ...] = (
    ("Static graphs take longer to build", build_time),
    ("Static graphs take more memory (every forward value kept for backprop)", memory),
    ("A static model exports larger", export_size),
    ("Static keeps every time step's state; dynamic only the last", step_states),
    ("Static must be fed the T it was built with; dynamic takes any length", fixed_length),
    ("swap_memory=True moves dynamic_rnn's activations from GPU to host memory", swap_memory),
    ("In a stacked LSTM, state[-1].h equals outputs[:, -1, :]", last_state),
    ("time_major=True avoids two transposes", time_major),
)


def claims(
    static: Report,
    dynamic: Report,
    builds: Mapping[str, Mapping[str, Any]] | None = None,
    spec: Mapping[str, Any] | None = None,
) -> list[Claim]:
    """One `Claim` per claim of the source, in its order, from this spec's figures."""
    pair = Pair(static, dynamic, builds or {}, spec or {})
    out = []
    for number, (title, check) in enumerate(CLAIMS, start=1):
        verdict, text = check(pair)
        out.append(Claim(number, title, verdict, text))
    return out


__all__ = ["CLAIMS", "HOLDS", "NOT_HERE", "SAME", "UNMEASURED", "Claim", "claims"]
