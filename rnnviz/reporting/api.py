"""`report(source)` and `compare(a, b)`: the graph report assembled from the one `Analysis`.

`analyse()` (analysis.py) parses the source and classifies the graph once; this module turns that
analysis into the frozen `GraphReport` (summaries, FLOPs, states, notes) and adds what only a
live graph offers (tfprof's count, one traced training step). Presentation lives elsewhere
(`text.py`, the CLI, the dashboard).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from rnnviz.errors import InputFileError
from rnnviz.reporting.analysis import Analysis, analyse, gc_paused
from rnnviz.reporting.compare import compare_reports
from rnnviz.reporting.flops import TFPROF_NOTE, tfprof_flops
from rnnviz.reporting.model import (
    CellCalls,
    Comparison,
    FlopsSummary,
    GraphReport,
    MemorySummary,
    OpsSummary,
    SizesSummary,
    TimestepsSummary,
)
from rnnviz.reporting.roles import ROLES
from rnnviz.reporting.states import from_record, infer_states, loop_exits, summarize_states


def report(
    source: Any,
    *,
    steps: int | None = None,
    memory: bool = False,
    tfprof: bool | None = None,
    batch: int = 32,
) -> GraphReport:
    """Walk `source` (BuiltModel, tf.Graph, GraphDef, graph file path, or an `Analysis` of one)
    and report on it.

    `steps`: trip count of loops whose length the graph does not fix (default: the spec's T for
    a BuiltModel, else the input placeholder's time dimension when known); an `Analysis` already
    holds its steps. `memory`: run one training step with tracing (BuiltModel only). `tfprof`:
    add tfprof's float-op count (default: for in-memory graphs only, since a file would have to be
    imported into a tf.Graph first, which imports TensorFlow).
    """
    if isinstance(source, Analysis) and steps is not None:
        raise TypeError("report(analysis, steps=...): give steps to analyse() instead")
    with gc_paused():  # one pause over both: re-enabled in between, the GC would walk it all
        a = source if isinstance(source, Analysis) else analyse(source, steps=steps)
        out = _assemble(a, memory, tfprof, batch)
        # Free an analysis made here before the GC is back: freeing it later (at return) can
        # start a collection that walks its hundreds of thousands of objects once more.
        del a
    return out


def _assemble(a: Analysis, memory: bool, tfprof: bool | None, batch: int) -> GraphReport:
    info, spec, main, loops = a.source_info, a.spec, a.index, list(a.loops)
    cells, tags = a.cells, a.step_tags()  # by name: one per op, as many as by index
    unrolled = max((c.calls for c in a.all_cells if c.form == "unrolled"), default=0)
    forms = tuple(f for f in ("unrolled", "loop", "fused") if any(c.form == f for c in a.all_cells))
    timesteps = TimestepsSummary(
        unrolled_steps=unrolled,
        ops_per_step=round(len(tags) / unrolled, 3) if unrolled else 0.0,
        tagged_ops=len(tags),
        source=("builder_record" if a.step_tensors else "inferred") if cells else "none",
        cells=tuple(
            CellCalls(c.layer, c.direction, c.scope, c.calls, len(c.ops), c.kind, c.form)
            for c in sorted(a.all_cells, key=lambda c: (c.layer, c.direction, c.form))
        ),
        tags=tags,
        forms=forms,
    )
    forward_loops = [lp for lp in loops if lp.role == "forward"]
    recurrent = bool(forms) or bool(forward_loops)
    flops = _flops(a, tfprof)
    tensors = from_record(a.step_tensors) if a.step_tensors else infer_states(main, cells, a.shapes)
    exits = loop_exits(a.graphs, a.roles, loops, a.frames, a.shapes)
    states = summarize_states(tensors, exits, unrolled, recurrent)
    unroll = (
        spec.unroll
        if spec is not None
        else ("static" if cells else "dynamic" if forward_loops else None)
    )
    return GraphReport(
        source=info.name,
        source_kind=info.kind,
        model=spec.name if spec is not None else None,
        unroll=unroll,
        recurrent=recurrent,
        unrolled_steps=unrolled,
        ops=_ops_summary(a),
        params=a.params,
        timesteps=timesteps,
        states=states,
        loops=tuple(loops),
        sizes=SizesSummary(info.graphdef_bytes, info.saved_model_bytes),
        flops=flops,
        memory=_memory(a, batch) if memory else None,
        notes=tuple(_notes(a, recurrent)),
    )


def _flops(a: Analysis, tfprof: bool | None) -> FlopsSummary:
    flops = a.flops
    graph = a.source.graph if a.built else (a.source if a.source_info.kind == "tf_graph" else None)
    if tfprof is None:
        tfprof = graph is not None
    if not tfprof:
        return flops
    if graph is None:
        graph = _import_for_tfprof(a.graph_def)
    return dataclasses.replace(flops, tfprof=tfprof_flops(graph), tfprof_note=TFPROF_NOTE)


def _memory(a: Analysis, batch: int) -> MemorySummary:
    if not a.built:
        raise InputFileError(
            f"{a.source_info.name}: memory is measured by running one training step, which rnnviz "
            "only does for models it built; give a model name instead of a file"
        )
    from rnnviz.reporting.memory import measure_training_step

    return measure_training_step(a.source, batch=batch)


def _notes(a: Analysis, recurrent: bool) -> list[str]:
    notes = []
    if not recurrent:
        notes.append("no recurrent structure was found (no unrolled cell and no forward loop)")
    if any(lp.kind == "v2_while" and lp.role == "forward" for lp in a.loops) and not a.built:
        notes.append("swap_memory is not recorded in a v2 While op")
    if a.weight_set.inferred:  # a tf.function graph_def gives its captured variables no shape
        notes.append(f"shapes of {a.weight_set.inferred} captured weights inferred from their use")
    if a.weight_set.unsized:  # never a total that looks complete when it is not
        names = ", ".join(a.weight_set.unsized[:4]) + (
            ", ..." if len(a.weight_set.unsized) > 4 else ""
        )
        notes.append(
            f"{len(a.weight_set.unsized)} captured weights have no shape in the file and none "
            f"follows from their use ({names}): params.total counts only the other weights; "
            "report a frozen copy of the graph for the full count"
        )
    return notes


def _ops_summary(a: Analysis) -> OpsSummary:
    main = a.index
    if main.edge_counts is not None:  # counted while indexing
        data, control = main.edge_counts
    else:
        data, control = _edge_counts(main.raw_inputs)
    scopes = Counter(main.tops)
    # An op outside any scope is its own top "scope": a top that is a node's name is one. Read
    # from the few distinct tops, not from every name.
    for name in [t for t in scopes if t in main.index]:
        scopes[name] -= 1
        scopes["(top level)"] += 1
    scopes = +scopes  # drop the zeroed entries
    function_types: Counter = Counter()
    for fname in a.functions:  # only what the entry points reach
        function_types.update(nd.op for nd in a.graphs.function_def(fname).node_def)
    roles = Counter(a.roles)
    return OpsSummary(
        total=len(main),
        data_edges=data,
        control_edges=control,
        by_type=dict(Counter(main.ops).most_common()),
        by_scope=dict(scopes.most_common()),
        by_role={r: roles[r] for r in ROLES if roles[r]},
        functions=len(a.functions),
        function_ops=sum(function_types.values()),
        function_by_type=dict(function_types.most_common()),
    )


def _edge_counts(raw_inputs: Any) -> tuple[int, int]:
    """(data, control) input counts; control inputs come after the data inputs of a node."""
    total = control = 0
    for raw in raw_inputs:
        n = len(raw)
        if n:
            total += n
            k = n - 1
            while k >= 0 and raw[k].startswith("^"):
                k -= 1
            control += n - 1 - k
    return total - control, control


def _import_for_tfprof(graph_def: Any) -> Any:
    """Only for tfprof's figure: import the GraphDef into a fresh tf.Graph (never run).

    The parsed message is rnnviz's own TF-free type (or the slim look-alike): TensorFlow takes
    its own GraphDef class, so the bytes are handed over (the slim parse kept every field)."""
    from rnnviz.tfcompat import tf

    graph_def = tf.compat.v1.GraphDef.FromString(graph_def.SerializeToString())
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    return graph


def compare(a: Any, b: Any, **kwargs: Any) -> Comparison:
    """Report on both sources (or take two GraphReports) and put every figure side by side."""
    ra = a if isinstance(a, GraphReport) else report(a, **kwargs)
    rb = b if isinstance(b, GraphReport) else report(b, **kwargs)
    return compare_reports(ra, rb)


__all__ = ["analyse", "compare", "report"]
