"""Two reports side by side: every figure of both and the ratio b / a."""

from __future__ import annotations

from collections.abc import Callable

from rnnviz.reporting.model import CompareRow, Comparison, GraphReport

FIGURES: tuple[tuple[str, Callable[[GraphReport], float | None]], ...] = (
    ("ops.total", lambda r: r.ops.total),
    ("ops.function_ops", lambda r: r.ops.function_ops),
    ("ops.data_edges", lambda r: r.ops.data_edges),
    ("ops.control_edges", lambda r: r.ops.control_edges),
    ("ops.forward", lambda r: r.ops.by_role.get("forward", 0)),
    ("ops.gradients", lambda r: r.ops.by_role.get("gradients", 0)),
    ("params.total", lambda r: r.params.total),
    ("params.recurrent", lambda r: r.params.recurrent),
    ("params.bytes", lambda r: r.params.bytes),
    ("unrolled_steps", lambda r: r.unrolled_steps),
    ("timesteps.ops_per_step", lambda r: r.timesteps.ops_per_step),
    ("states.per_step", lambda r: r.states.per_step),
    ("states.loop_exits", lambda r: len(r.states.loop_exits)),
    ("loops", lambda r: len(r.loops)),
    ("loops.forward", lambda r: sum(lp.role == "forward" for lp in r.loops)),
    ("loops.body_ops", lambda r: sum(lp.body_ops for lp in r.loops)),
    ("sizes.graphdef_bytes", lambda r: r.sizes.graphdef_bytes),
    ("sizes.saved_model_bytes", lambda r: r.sizes.saved_model_bytes),
    ("flops.forward_per_sequence", lambda r: r.flops.forward_per_sequence),
    ("flops.outside_loops", lambda r: r.flops.outside_loops),
    ("flops.in_loops", lambda r: r.flops.in_loops),
    ("flops.tfprof", lambda r: r.flops.tfprof),
    ("memory.peak_bytes", lambda r: r.memory.peak_bytes if r.memory else None),
)


def compare_reports(a: GraphReport, b: GraphReport) -> Comparison:
    rows = []
    for name, get in FIGURES:
        va, vb = get(a), get(b)
        ratio = None
        if va is not None and vb is not None and va != 0:
            ratio = round(float(vb) / float(va), 6)
        rows.append(
            CompareRow(
                name, None if va is None else float(va), None if vb is None else float(vb), ratio
            )
        )
    return Comparison(a, b, tuple(rows))


__all__ = ["FIGURES", "compare_reports"]
