"""The readable report: a fixed-width table in the spirit of Keras' summary() and torchinfo.

Presentation only: it reads a `GraphReport` / `Comparison` and never walks a graph. Output is
deterministic for a given report (golden-file tests depend on it).
"""

from __future__ import annotations

from rnnviz.reporting.model import Comparison, GraphReport, LoopInfo

WIDTH = 88


def _n(value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3f}"
    return f"{int(value):,}"


def _bytes(value: int | None) -> str:
    if value is None:
        return "-"
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if value >= size:
            return f"{value / size:.1f} {unit} ({value:,} B)"
    return f"{value:,} B"


def _shape(shape: tuple | None) -> str:
    if shape is None:
        return "?"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _rule(char: str = "-") -> str:
    return char * WIDTH


def _kv(key: str, value: str) -> str:
    return f"  {key:<30}{value}"


def render(r: GraphReport, top: int = 10) -> str:
    """The whole report as text, section by section."""
    out = _header(r)
    for section in (_ops(r, top), _params(r), _timesteps(r), _states(r), _loops(r), _cost(r)):
        out += ["", *section]
    out.append(_rule("="))
    return "\n".join(out) + "\n"


def _header(r: GraphReport) -> list[str]:
    out = [_rule("="), f"rnnviz graph report: {r.model or r.source}", _rule("=")]
    out.append(_kv("source", f"{r.source} ({r.source_kind})"))
    out.append(_kv("unroll", r.unroll or "-"))
    out.append(_kv("recurrent", "yes" if r.recurrent else "no recurrent structure was found"))
    out += [_kv("note", note) for note in r.notes]
    return out


def _ops(r: GraphReport, top: int) -> list[str]:
    o = r.ops
    out = ["Ops", _rule(), _kv("nodes (main graph)", _n(o.total))]
    out.append(_kv("data edges / control edges", f"{_n(o.data_edges)} / {_n(o.control_edges)}"))
    if o.functions:
        out.append(_kv("functions / their nodes", f"{_n(o.functions)} / {_n(o.function_ops)}"))
    out.append(_kv("by role", ", ".join(f"{k} {_n(v)}" for k, v in o.by_role.items())))
    for what, counts in (("op types", o.by_type), ("scopes", o.by_scope)):
        shown = ", ".join(f"{k} {_n(v)}" for k, v in list(counts.items())[:top])
        out.append(_kv(f"top {top} {what}", shown))
    return out


def _params(r: GraphReport) -> list[str]:
    p = r.params
    out = [f"Parameters (trainable, from {p.source})", _rule()]
    out.append(f"  {'variable':<52}{'shape':<14}{'params':>10}  layer")
    for v in p.variables:
        where = f"{v.layer} {v.direction}" if v.layer is not None else "-"
        out.append(f"  {v.name[-51:]:<52}{_shape(v.shape):<14}{_n(v.count):>10}  {where}")
        if v.gates:
            gates = ", ".join(f"{g.gate} [{g.start}:{g.stop})" for g in v.gates)
            out.append(f"  {'':<4}gate columns: {gates}")
    out.append(_kv("total", f"{_n(p.total)} ({_bytes(p.bytes)})"))
    out.append(_kv("recurrent cells", _n(p.recurrent)))
    out += [
        _kv(f"  layer {lp.layer} {lp.direction} ({lp.cell})", _n(lp.count)) for lp in p.by_layer
    ]
    return out


def _timesteps(r: GraphReport) -> list[str]:
    t = r.timesteps
    out = ["Time steps", _rule()]
    if not t.unrolled_steps:
        return [*out, _kv("unrolled steps", "0 (nothing unrolled)")]
    out.append(_kv("unrolled steps", _n(t.unrolled_steps)))
    out.append(_kv("forward ops per step", _n(t.ops_per_step)))
    out.append(_kv("step tags from", t.source.replace("_", " ")))
    for c in t.cells:
        out.append(
            _kv(f"  layer {c.layer} {c.direction}", f"{c.calls} calls, {c.ops} ops in {c.scope}")
        )
    return out


def _states(r: GraphReport) -> list[str]:
    s = r.states
    out = ["Fetchable states", _rule(), _kv("per-step state tensors", _n(s.per_step))]
    if s.by_kind:
        out.append(_kv("by kind", ", ".join(f"{k} {_n(v)}" for k, v in s.by_kind.items())))
    if s.loop_exits:
        shown = ", ".join(f"{e.name} {_shape(e.shape)}" for e in s.loop_exits[:6])
        out.append(_kv("leaving the loop", shown + (" ..." if len(s.loop_exits) > 6 else "")))
    return out + _wrap(s.summary)


def _loops(r: GraphReport) -> list[str]:
    out = ["Loops", _rule()]
    if not r.loops:
        return [*out, "  none"]
    for lp in r.loops:
        out += _loop(lp)
    return out


def _loop(lp: LoopInfo) -> list[str]:
    """One loop: nested loops indented under their parent."""
    pad = "  " * (lp.depth + 1)
    trips = _n(lp.trip_count) + (f" ({lp.trip_count_source})" if lp.trip_count_source else "")
    out = [
        f"{pad}{lp.name} [{lp.kind}, {lp.role}]: trips={trips}, {_n(lp.body_ops)} body ops, "
        f"{len(lp.loop_vars)} loop vars, parallel_iterations={_n(lp.parallel_iterations)}, "
        f"swap_memory={'-' if lp.swap_memory is None else lp.swap_memory}"
    ]
    if lp.parent:
        out.append(f"{pad}  inside {lp.parent}")
    if lp.body_function:
        where = f" (in {lp.in_function})" if lp.in_function else ""
        out.append(f"{pad}  body function {lp.body_function}{where}")
    out.append(f"{pad}  loop body, per step: {_n(lp.flops_per_step)} FLOPs")
    out.append(pad + "  " + ", ".join(f"{k} {v}" for k, v in list(lp.body_op_types.items())[:8]))
    return out


def _cost(r: GraphReport) -> list[str]:
    f = r.flops
    out = ["Cost", _rule(), _kv("GraphDef size", _bytes(r.sizes.graphdef_bytes))]
    if r.sizes.saved_model_bytes is not None:
        out.append(_kv("SavedModel size", _bytes(r.sizes.saved_model_bytes)))
    out.append(_kv("forward FLOPs per sequence", _n(f.forward_per_sequence)))
    out += _wrap(f.note, indent=4)
    if f.in_loops:
        out.append(_kv("  outside / inside loops", f"{_n(f.outside_loops)} / {_n(f.in_loops)}"))
    if f.tfprof is not None:
        out.append(_kv("tfprof float ops", f"{_n(f.tfprof)}  ({f.tfprof_note})"))
    if r.memory is not None:
        out.append(_kv("peak memory, one train step", _bytes(r.memory.peak_bytes)))
        out += _wrap(r.memory.note, indent=4)
    return out


def _wrap(text: str, indent: int = 2) -> list[str]:
    import textwrap

    return textwrap.wrap(
        text, WIDTH - indent, initial_indent=" " * indent, subsequent_indent=" " * indent
    )


def render_comparison(c: Comparison) -> str:
    """Two reports side by side with the ratio b / a of every figure."""
    name_a = c.a.model or c.a.source
    name_b = c.b.model or c.b.source
    out = [_rule("="), f"rnnviz compare: A = {name_a}  vs  B = {name_b}", _rule("=")]
    out.append(f"  {'figure':<30}{'A':>18}{'B':>18}{'B / A':>12}")
    out.append(_rule())
    for row in c.rows:
        ratio = "-" if row.ratio is None else f"{row.ratio:.3f}"
        out.append(f"  {row.figure:<30}{_n(row.a):>18}{_n(row.b):>18}{ratio:>12}")
    out.append(_rule())
    out += _wrap("A: " + c.a.states.summary)
    out += _wrap("B: " + c.b.states.summary)
    out.append(_rule("="))
    return "\n".join(out) + "\n"


__all__ = ["render", "render_comparison"]
