"""Compare a report with a corpus truth: each check returns the mismatches it found (none: right).

The tests assert that a check returns nothing; `corpus.baseline` runs the same checks and writes
the mismatches as a table, so the "before" measurement and the tests cannot disagree. Fields are
read by the names of the analysis contract (CONTRACT.md of issue 8); a field the report does not
have yet is a mismatch like any other ("no field"). No TensorFlow here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from corpus.registry import Entry
from corpus.truth import FUSED_OPS, MATMUL_OPS, Truth

_MISSING = object()


@dataclass(frozen=True)
class Mismatch:
    check: str  # the report field, e.g. "params.total"
    seen: Any
    want: Any

    def __str__(self) -> str:
        return f"{self.check}: report says {self.seen!r}, truth is {self.want!r}"


def field(obj: Any, path: str) -> Any:
    """`obj.a.b` for path "a.b", or the `_MISSING` marker when a field does not exist."""
    for part in path.split("."):
        obj = getattr(obj, part, _MISSING)
        if obj is _MISSING:
            return _MISSING
    return obj


def _compare(out: list[Mismatch], check: str, seen: Any, want: Any) -> None:
    if seen is _MISSING:
        out.append(Mismatch(check, "no field", want))
    elif seen != want:
        out.append(Mismatch(check, seen, want))


def check_params(r: Any, truth: Truth, variant: str, steps: int | None) -> list[Mismatch]:
    """Total = the trainable variables' sizes; a frozen twin says its weights are constants."""
    out: list[Mismatch] = []
    unsized = truth.unsized if variant == "live" else ()
    _compare(out, "params.total", field(r, "params.total"), truth.params - sum(unsized))
    if unsized:  # the total must not pass for complete: a note says which weights it lacks
        said = [n for n in field(r, "notes") or () if "have no shape in the file" in n]
        _compare(out, "notes (weights without a shape)", len(said) == 1, True)
        if said:
            _compare(out, "weights without a shape", said[0].split()[0], str(len(unsized)))
    source = field(r, "params.source")
    if variant == "frozen":
        _compare(out, "params.source", source, "frozen constants")
    elif source is _MISSING or "frozen" in str(source):
        out.append(Mismatch("params.source", source, "variables (not frozen constants)"))
    return out


def check_recurrence(r: Any, truth: Truth, variant: str, steps: int | None) -> list[Mismatch]:
    """recurrent, the forms present (unrolled / loop / fused) and the unrolled step count."""
    out: list[Mismatch] = []
    _compare(out, "recurrent", field(r, "recurrent"), truth.recurrent)
    forms = field(r, "timesteps.forms")
    _compare(
        out, "timesteps.forms", forms if forms is _MISSING else tuple(sorted(forms)), truth.forms
    )
    _compare(out, "unrolled_steps", field(r, "unrolled_steps"), truth.unrolled_steps)
    return out


def _cell_key(c: Any) -> tuple:
    return tuple(field(c, f) for f in ("layer", "direction", "kind", "form"))


def check_cells(r: Any, truth: Truth, variant: str, steps: int | None) -> list[Mismatch]:
    """One cell per (layer, direction) with its kind and form; an unrolled cell called T times."""
    out: list[Mismatch] = []
    cells = field(r, "timesteps.cells")
    if cells is _MISSING:
        return [Mismatch("timesteps.cells", "no field", len(truth.cells))]
    seen = sorted((_cell_key(c) for c in cells), key=repr)
    want = sorted(((c.layer, c.direction, c.report_kind, c.form) for c in truth.cells), key=repr)
    seen = [tuple(_plain(v) for v in k) for k in seen]
    _compare(out, "timesteps.cells (layer, direction, kind, form)", seen, want)
    dirs = tuple(sorted({k[1] for k in seen}))
    _compare(out, "directions", dirs, truth.directions)
    calls = sorted(
        (field(c, "layer"), field(c, "direction"), field(c, "calls"))
        for c in cells
        if field(c, "form") in ("unrolled", _MISSING)  # no field yet: every cell was unrolled
    )
    want_calls = sorted(
        (c.layer, c.direction, c.steps) for c in truth.cells if c.form == "unrolled"
    )
    if calls or want_calls:
        _compare(out, "timesteps.cells calls (unrolled)", calls, want_calls)
    return out


def check_loops(r: Any, truth: Truth, variant: str, steps: int | None) -> list[Mismatch]:
    """Forward loops reachable: how many, nested how (parent, depth), trip counts and their source.

    A loop whose trip count the graph leaves open must report the `steps` given to report(),
    with source "user"; any other its own count, from "static shape" or "constant bound".
    """
    out: list[Mismatch] = []
    loops = [lp for lp in field(r, "loops") if field(lp, "role") == "forward"]
    seen = sorted(
        (_plain(field(lp, "depth")), _plain(field(lp, "trip_count")), _source_class(lp))
        for lp in loops
    )
    want = sorted(
        (lt.depth, steps, "user") if lt.trip_count is None else (lt.depth, lt.trip_count, "graph")
        for lt in truth.loops
    )
    _compare(out, "forward loops (depth, trip_count, trip_count_source)", seen, want)
    gradients = [lp for lp in field(r, "loops") if field(lp, "role") == "gradients"]
    trained = truth.trained and variant == "live"  # freezing keeps only what the outputs need
    _compare(out, "loops[role=gradients] count", len(gradients), len(want) if trained else 0)
    _check_parents(out, loops)
    _check_nesting(out, loops, truth)
    return out


def _check_parents(out: list[Mismatch], loops: list[Any]) -> None:
    """Each loop's `parent` names a forward loop one level up (None at depth 0)."""
    depths = {lp.name: field(lp, "depth") for lp in loops}
    seen, want = [], []
    for lp in loops:
        depth, parent = field(lp, "depth"), field(lp, "parent")
        if parent is _MISSING or parent is None:
            seen.append(_plain(parent))
        else:
            seen.append(depths.get(parent, f"{parent} (not a forward loop)"))
        want.append(depth - 1 if isinstance(depth, int) and depth > 0 else None)
    if seen != want:
        out.append(Mismatch("loops[].parent (depth of the named parent)", seen, want))


def _plain(value: Any) -> Any:
    return "no field" if value is _MISSING else value


def _source_class(loop: Any) -> str:
    """ "graph" when the graph itself fixes the count (static shape, constant bound)."""
    source = field(loop, "trip_count_source")
    return "graph" if source in ("static shape", "constant bound") else str(_plain(source))


def _check_nesting(out: list[Mismatch], loops: list[Any], truth: Truth) -> None:
    """Which loop holds which: the multiset of (child trip, parent trip) pairs must match."""
    by_name = {lp.name: lp for lp in loops}
    seen = sorted(
        (field(lp, "trip_count"), field(by_name[p], "trip_count"))
        for lp in loops
        if (p := field(lp, "parent")) not in (None, _MISSING) and p in by_name
    )
    want = sorted(
        (lt.trip_count, truth.loops[lt.parent].trip_count)
        for lt in truth.loops
        if lt.parent is not None
    )
    _compare(out, "loops nesting (inner trip, outer trip)", seen, want)


def check_flops(r: Any, truth: Truth, variant: str, steps: int | None) -> list[Mismatch]:
    """MatMul-family FLOPs per sequence exact; fused cell ops between their MatMuls and a bound."""
    out: list[Mismatch] = []
    by_type = Counter(field(r, "flops.by_type") or {})
    matmul = sum(v for k, v in by_type.items() if k in MATMUL_OPS)
    _compare(out, "flops.by_type MatMul family", matmul, truth.matmul_flops)
    fused = sum(v for k, v in by_type.items() if k in FUSED_OPS)
    low, high = truth.fused_matmul_flops, truth.fused_matmul_flops + truth.fused_elementwise_bound
    if not low <= fused <= high:
        out.append(Mismatch("flops.by_type fused cell ops", fused, f"{low}..{high}"))
    total = field(r, "flops.forward_per_sequence")
    if total is None or total is _MISSING or total < matmul + fused:
        out.append(Mismatch("flops.forward_per_sequence", total, f">= {matmul + fused}"))
    return out


CHECKS: dict[str, Callable[[Any, Truth, str, int | None], list[Mismatch]]] = {
    "params": check_params,
    "recurrence": check_recurrence,
    "cells": check_cells,
    "loops": check_loops,
    "flops": check_flops,
}


def run_check(check: str, r: Any, entry: Entry, variant: str) -> list[Mismatch]:
    return CHECKS[check](r, entry.truth, variant, entry.steps)


def analysis_facts(r: Any) -> dict[str, Any]:
    """What the analysis found, without where the weights came from: a graph and its frozen twin
    must agree on all of it (the frozen twin drops only ops the outputs do not need)."""
    by_type = field(r, "flops.by_type") or {}
    forward = [lp for lp in r.loops if field(lp, "role") == "forward"]
    depth = {lp.name: field(lp, "depth") for lp in forward}
    return {
        "params.total": field(r, "params.total"),
        "recurrent": field(r, "recurrent"),
        "unrolled_steps": field(r, "unrolled_steps"),
        "timesteps.forms": _plain(field(r, "timesteps.forms")),
        "timesteps.cells": sorted(
            (
                tuple(_plain(v) for v in (*_cell_key(c), field(c, "calls")))
                for c in r.timesteps.cells
            ),
            key=repr,
        ),
        "forward loops": sorted(
            (
                _plain(field(lp, "depth")),
                _plain(field(lp, "trip_count")),
                _source_class(lp),
                _plain(depth.get(field(lp, "parent"))),
            )
            for lp in forward
        ),
        "MatMul FLOPs": sum(v for k, v in by_type.items() if k in MATMUL_OPS),
        "fused cell op FLOPs": sum(v for k, v in by_type.items() if k in FUSED_OPS),
    }
