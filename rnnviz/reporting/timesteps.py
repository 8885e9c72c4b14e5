"""Recurrent cells found from what they compute: their calls, time steps, layers and directions.

A cell is a set of weights that the same computation reuses at several steps. The ops that read a
weight (`weights.py`'s readers: MatMul, BiasAdd, cell ops, or an `If`/`PartitionedCall` whose
function reads it) are the *anchors* of its calls. One pass over the forward ops in dataflow order
gives every op the nearest anchors upstream of it; from those:

* the weight graph (w' -> w when a reader of w reads what a reader of w' made): a cell is a
  strongly connected component of it (the recurrence: call t's state feeds call t+1), plus the
  weights that only feed it (tf-keras' input kernel);
* a cell's calls: the chain of its anchors in dataflow order; call k's ops are found on one middle
  call (downstream of its anchors and upstream of the next call's, plus the op that joins the
  step's input to the state) and mirrored onto every other call by structure from its anchors,
  so the work is linear in the cell's ops and no name is read;
* layers: longest path in the cell graph (input side first); direction: "bw" when the step input
  the calls read runs backwards (an `Unpack` read in reverse order) or passes a ReverseV2 /
  ReverseSequence; step = call index, reversed for bw.

On a long unrolled graph the pass runs over the first few calls only (`_fast_cells`); every later
call is matched to call 1 op for op (same op types at the same positions after its readers), and
any mismatch falls back to the full pass. The builder's record (`BuiltModel.step_tensors`) is kept
as a cross-check and wins where it speaks. Also here: cells inside library functions
(`function_cells`), loop bodies (`loop_cells`, form "loop": one call per cell, the cycle closed
through the loop-carried values), fused ops (`fused_cells`, form "fused"), and one `CellCall`
record per call (`cell_calls`). Not here: FLOPs, shapes, or the report's assembly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rnnviz.cellkinds import CELL_KINDS, CELL_OPS, CallFeatures, gate_slices, recognise
from rnnviz.reporting.graph import VARIABLE_OPS, GraphIndex, GraphSet, tensor_node, time_step
from rnnviz.reporting.roles import roles_of
from rnnviz.reporting.weights import _readers, _Walker

StepTag = tuple[int, str, int]  # (layer, direction, step)

_WIDE = 64  # an op downstream of more anchors than this gathers many steps: never a call's op
_NOT_CELL = frozenset({"Gather", "GatherV2", "ResourceGather"})  # per-step lookups, no recurrence
_REVERSE = frozenset({"ReverseV2", "ReverseSequence", "Reverse"})
_CALL_OPS = frozenset({"If", "StatelessIf", "PartitionedCall", "StatefulPartitionedCall"})
_ACT = frozenset({"Sigmoid", "Tanh", "Relu", "Softsign"})
_SHAPE_ONLY = frozenset({"Shape", "ShapeN", "Size", "Rank"})


@dataclass
class Cell:
    """One recurrent cell (layer, direction) and its calls."""

    layer: int
    direction: str
    kind: str
    form: str  # unrolled | loop | fused
    calls: int
    weights: tuple[str, ...]
    first_node: int
    call_of: dict[int, int] = field(default_factory=dict)  # op index -> call index
    ops: list[int] = field(default_factory=list)  # every op of every call, graph order
    op_roles: dict[int, str] = field(default_factory=dict)  # op index -> role in the cell
    matrices: tuple[str, ...] = ()  # weight names of the call's matrices, dataflow order
    matrix_cols: tuple[int, ...] = ()  # their widths
    scope: str = ""  # the longest name prefix the call's ops share (display only)
    extra_ops: tuple[str, ...] = ()  # ops inside library functions ("function/node")
    function: str | None = None  # the library function holding an unrolled cell (None: main)
    sites: frozenset = frozenset()  # the weight sites (graph, node) the cell reads

    def step_of(self, k: int) -> int:
        return time_step(self.direction, k, self.calls)


# --------------------------------------------------------------------------------------------
def main_anchors(
    graphs: GraphSet, roles: Sequence[str], where: str | None = None
) -> dict[int, set[tuple]]:
    """Anchor op of graph `where` (None: the main graph) -> the weight sites it reads, directly
    or inside a function it calls (`If` / `PartitionedCall`)."""
    walker = _Walker(graphs)
    out: dict[int, set[tuple]] = defaultdict(set)
    tops: dict[str, list[int]] = {}
    for ((fname, i), _port), sites in _readers(walker, roles).items():
        gi = walker.graph(fname)
        if gi.ops[i] in _NOT_CELL:
            continue
        if fname == where:
            nodes = [i]
        elif fname is None:
            continue
        else:
            if fname not in tops:
                tops[fname] = _callers_in(walker, fname, where)
            nodes = tops[fname]
        for node in nodes:
            for site, _, _ in sites:
                out[node].add(site)
    return out


def _callers_in(walker: _Walker, fname: str, where: str | None, depth: int = 0) -> list[int]:
    """`If`/`PartitionedCall` ops of graph `where` that (transitively) run `fname` (not loops)."""
    out = []
    for caller, node, _ in walker.callers().get(fname, ()):
        gi = walker.graph(caller)
        if gi.ops[node] not in _CALL_OPS and gi.ops[node] != fname:
            continue
        if caller == where:
            out.append(node)
        elif caller is not None and depth < 6:
            out += _callers_in(walker, caller, where, depth + 1)
    return out


def _is_topological(gi: GraphIndex, members: list[int]) -> bool:
    pos = {i: k for k, i in enumerate(members)}
    for i in members:
        here = pos[i]
        for j, _ in gi.data_inputs(i):
            k = pos.get(j)
            if k is not None and k > here and gi.ops[j] != "NextIteration":
                return False
    return True


def _order(gi: GraphIndex, members: list[int], check: bool = True) -> list[int]:
    """`members` in dataflow order: node order when it is topological, else Kahn's order."""
    if check and _is_topological(gi, members):
        return members
    pos = set(members)
    indeg = {i: 0 for i in members}
    cons: dict[int, list[int]] = defaultdict(list)
    for i in members:
        for j, _ in gi.data_inputs(i):
            if j in pos and gi.ops[j] != "NextIteration":  # a v1 loop's back edge
                indeg[i] += 1
                cons[j].append(i)
    todo = [i for i in members if indeg[i] == 0]
    out = []
    while todo:
        i = todo.pop()
        out.append(i)
        for c in cons[i]:
            indeg[c] -= 1
            if indeg[c] == 0:
                todo.append(c)
    return out + [i for i in members if indeg[i] > 0]


class _Pass:
    """Nearest anchors upstream of every forward op, and local consumer lists."""

    def __init__(self, gi: GraphIndex, order: list[int], anchors: set[int]):
        near: dict[int, frozenset | None] = {}
        deps: dict[int, frozenset] = {}
        cons: dict[int, list[int]] = defaultdict(list)
        wide = frozenset({-1})
        topological = True
        ops = gi.ops
        for i in order:
            if ops[i] in _SHAPE_ONLY:  # depends on a tensor's shape, not on its values
                continue
            got: frozenset | None = None
            for j, _ in gi.data_inputs(i):
                n = near.get(j)
                if n is None:
                    if j > i and gi.ops[j] != "NextIteration":
                        topological = False  # an input not yet visited (maybe forward)
                    continue
                cons[j].append(i)
                if got is None or n is got:
                    got = n
                elif got is not wide:
                    got = wide if n is wide else got | n
                    if len(got) > _WIDE:
                        got = wide
            if i in anchors:
                deps[i] = got if got is not None and got is not wide else frozenset()
                near[i] = frozenset((i,))
            elif got is not None:
                near[i] = got
        self.near, self.deps, self.cons, self.wide = near, deps, cons, wide
        self.topological = topological


def find_cells(
    gi: GraphIndex,
    roles: Sequence[str],
    graphs: GraphSet | None = None,
    where: str | None = None,
    main_roles: Sequence[str] | None = None,
) -> list[Cell]:
    """Unrolled cells of the main graph, or of function `where` (see the module docstring)."""
    graphs = graphs if graphs is not None else GraphSet(_NoLibrary(), gi)
    anchor_sites = main_anchors(graphs, main_roles if main_roles is not None else roles, where)
    count: dict[tuple, int] = defaultdict(int)
    for sites in anchor_sites.values():
        for s in sites:
            count[s] += 1
    reused = {s for s, n in count.items() if n >= 2}
    anchors = {a: ws & reused for a, ws in anchor_sites.items() if ws & reused}
    if not anchors:
        return []
    fast = _fast_cells(gi, graphs, anchors, roles)
    if fast is not None:
        return fast
    first = min(anchors)
    forward = [i for i in range(first, len(gi)) if roles[i] == "forward"]
    p = _Pass(gi, forward, set(anchors))
    order = forward
    if not p.topological:  # rare (rewritten graphs): redo over every forward op, Kahn's order
        forward = [i for i in range(len(gi)) if roles[i] == "forward"]
        order = _order(gi, forward, check=False)
        p = _Pass(gi, order, set(anchors))
    rank = {i: k for k, i in enumerate(order)} if order is not forward else None
    cells = _group(gi, graphs, anchors, p, rank)
    _layers_and_directions(gi, cells, p)
    return cells


_WINDOW = 5  # calls analysed op by op on a long unrolled graph; the rest are matched to them
_LONG = 16  # calls from which the window pays off


def _fast_cells(
    gi: GraphIndex, graphs: GraphSet, anchors: dict[int, set], roles: Sequence[str]
) -> list[Cell] | None:
    """Long unrolled graphs: find the cells on the first calls only, then match every later call
    to call 1 op for op (same op types at the same positions after its readers, readers of the
    same weights at the same positions). None when the graph does not allow it (not in
    dataflow order, calls that differ): the caller then walks every op."""
    by_weight: dict[tuple, list[int]] = defaultdict(list)
    for a in sorted(anchors):
        for w in anchors[a]:
            by_weight[w].append(a)
    base = min(len(v) for v in by_weight.values())
    if base < _LONG:
        return None
    per = {w: len(v) // base for w, v in by_weight.items()}
    if any(len(v) % base for v in by_weight.values()):
        return None
    window_anchors = {a for w, v in by_weight.items() for a in v[: _WINDOW * per[w]]}
    ranges = sorted((v[0], v[_WINDOW * per[w] - 1]) for w, v in by_weight.items())
    lo, hi = ranges[0][0], max(r[1] for r in ranges)
    if any(r[0] > ranges[0][1] for r in ranges):
        return None  # cells made one after the other (layer by layer): no common window
    members = [i for i in range(lo, hi + 1) if roles[i] == "forward"]
    p = _Pass(gi, members, window_anchors)
    if not p.topological:
        return None
    sub = {a: anchors[a] for a in window_anchors}
    cells = _group(gi, graphs, sub, p, None)
    for cell in cells:
        if not _extend(gi, cell, by_weight, per, base):
            return None
    _layers_and_directions(gi, cells, p)
    return cells


def _extend(
    gi: GraphIndex, cell: Cell, by_weight: dict[tuple, list[int]], per: dict, n: int
) -> bool:
    """Give a cell found on the window every call of the graph (see _fast_cells)."""
    t = 1
    template = sorted(i for i, k in cell.call_of.items() if k == t)
    if cell.calls != _WINDOW or not template:
        return False
    weights = [w for w in by_weight if w in cell.sites]
    chunks = [
        [a for w in weights for a in by_weight[w][k * per[w] : (k + 1) * per[w]]] for k in range(n)
    ]
    t_base = min(chunks[t])
    t_anchors = sorted(a - t_base for a in chunks[t])
    offsets = [x - t_base for x in template]
    types = [gi.ops[x] for x in template]
    ops = gi.ops
    call_of: dict[int, int] = {}
    for k, chunk in enumerate(chunks):
        b = min(chunk)
        if sorted(a - b for a in chunk) != t_anchors:
            return False
        ys = [b + off for off in offsets]
        if any(y < 0 or y >= len(ops) or ops[y] != tp for y, tp in zip(ys, types, strict=True)):
            return False
        for y in ys:
            call_of[y] = k
    if len(call_of) != n * len(template):
        return False  # two calls claimed one op
    roles = {x - t_base: r for x, r in cell.op_roles.items() if x in set(template)}
    cell.op_roles = {x: r for x, r in cell.op_roles.items()}
    cell.op_roles.update({t_base + off: r for off, r in roles.items()})
    cell.call_of, cell.ops, cell.calls = call_of, sorted(call_of), n
    cell.first_node = min(chunks[0])
    return True


class _NoLibrary:
    """Stands in for a GraphDef without functions when only an index is at hand."""

    class library:
        function: tuple = ()

    node: tuple = ()


def _group(
    gi: GraphIndex, graphs: GraphSet, anchors: dict[int, set], p: _Pass, rank: dict[int, int] | None
) -> list[Cell]:
    wg: dict[Any, set] = defaultdict(set)  # weight -> weights whose readers read its readers'
    by_weight: dict[tuple, list[int]] = defaultdict(list)
    for a, ws in anchors.items():
        for w in ws:
            by_weight[w].append(a)
            wg[w]
        for d in p.deps.get(a, ()):
            for w2 in anchors.get(d, ()):
                wg[w2].update(ws)
    cells = []
    comp_of: dict[tuple, int] = {}
    comps = [c for c in _strongly_connected(wg) if _cyclic(wg, c)]
    for k, comp in enumerate(comps):
        for w in comp:
            comp_of[w] = k
    feeds = _feeds(wg, comp_of)
    for k, comp in enumerate(comps):
        cell = _cell_of(gi, graphs, comp, feeds[k], by_weight, p, rank)
        if cell is not None:
            cells.append(cell)
    return cells


def _feeds(wg: dict[Any, set], comp_of: dict) -> dict[int, set]:
    """Weights outside any cycle that feed a cell (tf-keras' input kernel, the bias after it):
    each joins the nearest cell downstream of it (at most 4 edges away)."""
    out: dict[int, set] = defaultdict(set)
    for w in list(wg):
        if w in comp_of:
            continue
        frontier, seen = [w], {w}
        for _ in range(4):
            hits = sorted(repr(comp_of[x]) for x in frontier if x in comp_of)
            if hits:
                out[int(hits[0])].add(w)
                break
            frontier = [y for x in frontier for y in wg.get(x, ()) if y not in seen]
            seen.update(frontier)
        else:
            hits = sorted(repr(comp_of[x]) for x in frontier if x in comp_of)
            if hits:
                out[int(hits[0])].add(w)
    return out


def _strongly_connected(wg: dict[Any, set]) -> list[set]:
    """Tarjan's strongly connected components of a small graph (iterative: no recursion)."""
    index: dict[Any, int] = {}
    low: dict[Any, int] = {}
    stack: list[Any] = []
    on_stack: set = set()
    out: list[set] = []
    for root in list(wg):
        if root in index:
            continue
        work = [(root, iter(wg.get(root, ())))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(wg.get(nxt, ()))))
                elif nxt in on_stack:
                    low[v] = min(low[v], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = set()
                while True:
                    x = stack.pop()
                    on_stack.discard(x)
                    comp.add(x)
                    if x == v:
                        break
                out.append(comp)
    return out


def _cyclic(wg: dict[Any, set], comp: set) -> bool:
    return len(comp) > 1 or any(w in wg.get(w, ()) for w in comp)


def _cell_of(
    gi: GraphIndex,
    graphs: GraphSet,
    comp: set,
    feed: set,
    by_weight: dict[tuple, list[int]],
    p: _Pass,
    rank: dict[int, int] | None,
) -> Cell | None:
    n = min(len(by_weight[w]) for w in comp)
    call_of: dict[int, int] = {}
    # A weight read once per call: its readers form the recurrence chain, in dataflow order.
    for w in comp:
        if len(by_weight[w]) == n:
            readers = sorted(by_weight[w], key=rank.__getitem__ if rank else None)
            call_of.update((a, k) for k, a in enumerate(readers))
    # Read several times per call (tf-keras GRU's two biases): the call of the chain reader just
    # upstream; feed-in weights and the rest: the call they meet downstream.
    rest = [a for w in comp if len(by_weight[w]) != n for a in by_weight[w]]
    later = []
    for a in rest:
        ks = {call_of.get(d) for d in p.deps.get(a, ())}
        if ks and None not in ks:
            call_of.setdefault(a, max(ks))  # type: ignore[type-var]
        else:
            later.append(a)
    for a in later + [a for w in feed for a in by_weight[w]]:
        k = _downstream_call(a, call_of, p)
        if k is not None:
            call_of.setdefault(a, k)
    calls: list[list[int]] = [[] for _ in range(n)]
    for a, k in call_of.items():
        calls[k].append(a)
    if any(not c for c in calls):
        return None
    members = _members(gi, calls, call_of, p, rank)
    weights = tuple(sorted(_site_label(graphs, w) for w in comp | feed))
    cell = Cell(0, "fw", "generic", "unrolled", n, weights, min(calls[0]))
    cell.sites = frozenset(comp | feed)
    cell.call_of = members
    cell.ops = sorted(members)
    _recognise(gi, graphs, cell, calls, by_weight, comp | feed)
    return cell


def _downstream_call(a: int, call_of: dict[int, int], p: _Pass) -> int | None:
    """The call a feed-in reader belongs to: that of the cell's readers it first meets
    downstream (keras: x W + b meets h' U at the Add of the same step)."""
    todo, seen = list(p.cons.get(a, ())), {a}
    while todo and len(seen) < 32:
        x = todo.pop(0)
        if x in seen:
            continue
        seen.add(x)
        ks = [call_of[y] for y in p.near.get(x) or () if y in call_of]
        if ks:
            return max(ks)
        todo += p.cons.get(x, ())
    return None


def _site_label(graphs: GraphSet, site: tuple) -> str:
    fname, j = site
    gi = graphs.main if fname is None else graphs.function(fname)
    return gi.names[j] if fname is None else f"{fname}/{gi.names[j]}"


# --------------------------------------------------------------------------------------------
def _members(
    gi: GraphIndex,
    calls: list[list[int]],
    call_of: dict[int, int],
    p: _Pass,
    rank: dict[int, int] | None,
) -> dict[int, int]:
    """op -> call for every call: found on a template call and mirrored by structure."""
    n = len(calls)
    t = 1 if n >= 3 else 0
    template = _template(gi, calls, call_of, t, p)
    plan = _plan(gi, template, sorted(calls[t]), p)
    out: dict[int, int] = {}
    shared: set[int] = set()
    for k in range(n):
        mapping = _mirror(gi, plan, calls[t], calls[k], p) if k != t else {x: x for x in template}
        for y in mapping.values():
            if out.setdefault(y, k) != k:
                shared.add(y)  # e.g. a constant every call reads: no call's own op
    for y in shared:
        del out[y]
    return out


def _template(
    gi: GraphIndex, calls: list[list[int]], call_of: dict[int, int], t: int, p: _Pass
) -> set[int]:
    """Ops of call t: its anchors, what lies between them and call t+1's anchors (found walking
    back from call t+1), the op joining the step input to the state, and per-call constants."""
    mine = set(calls[t])
    later = set(calls[t + 1]) if t + 1 < len(calls) else set()
    body = set(mine)
    if later:
        todo = [j for a in (*later, *mine) for j, _ in gi.data_inputs(a)]
        while todo:
            j = todo.pop()
            if j in body or j in later:
                continue
            ks = {call_of[x] for x in p.near.get(j) or () if x in call_of}
            if not ks or max(ks) != t:
                continue
            body.add(j)
            todo += [x for x, _ in gi.data_inputs(j)]
    else:  # two calls: call 0 is what lies below its anchors and is read by call 1's anchors
        body |= {i for i, n in p.near.items() if n and n <= mine}
    # The op joining the step input to the previous state belongs to the call it feeds.
    for a in (*mine, *later):
        for j, _ in gi.data_inputs(a):
            if j in call_of or not _joins_input(gi, j, p, call_of):
                continue
            if a in mine:
                body.add(j)
            else:
                body.discard(j)
    # Per-call constants: inputs without inputs, not shared with the next call.
    for i in list(body):
        for j, _ in gi.data_inputs(i):
            if j not in body and gi.ops[j] == "Const" and len(p.cons.get(j, ())) <= 1:
                body.add(j)
    return body


def _joins_input(gi: GraphIndex, j: int, p: _Pass, call_of: dict[int, int]) -> bool:
    """An op that reads the previous state and a step input from outside the cell (concat(x, h))."""
    labelled = external = False
    for x, _ in gi.data_inputs(j):
        if any(a in call_of for a in p.near.get(x) or ()):
            labelled = True
        elif gi.ops[x] != "Const":
            external = True
    return labelled and external


Step = tuple[int, int, str, int, tuple[int, ...]]  # (op, parent, "in"|"out", port, ports)


def _plan(gi: GraphIndex, template: set[int], anchors: list[int], p: _Pass) -> list[Step]:
    """How to reach every template op from the call's anchors, one edge at a time: through an
    input port of an op already reached, or as the consumer of one (reading those ports)."""
    reached = set(anchors)
    todo = list(anchors)
    steps: list[Step] = []
    while todo:
        x = todo.pop()
        for port, (xp, _) in enumerate(gi.data_inputs(x)):
            if xp in template and xp not in reached:
                reached.add(xp)
                steps.append((xp, x, "in", port, ()))
                todo.append(xp)
        for xc in p.cons.get(x, ()):
            if xc in template and xc not in reached:
                reached.add(xc)
                ports = tuple(q for q, (j, _) in enumerate(gi.data_inputs(xc)) if j == x)
                steps.append((xc, x, "out", 0, ports))
                todo.append(xc)
    return steps


def _mirror(
    gi: GraphIndex, plan: list[Step], t_anchors: list[int], k_anchors: list[int], p: _Pass
) -> dict[int, int]:
    """Map the template call onto another call by replaying the plan from its anchors."""
    mapping = dict(zip(sorted(t_anchors), sorted(k_anchors), strict=False))
    used = set(mapping.values())
    ops, cons, inputs = gi.ops, p.cons, gi.data_inputs
    for x, parent, how, port, ports in plan:
        y = mapping.get(parent)
        if y is None:
            continue
        if how == "in":
            ins = inputs(y)
            if port < len(ins):
                yp = ins[port][0]
                if ops[yp] == ops[x] and yp not in used:
                    mapping[x] = yp
                    used.add(yp)
            continue
        for yc in cons.get(y, ()):
            if ops[yc] != ops[x] or yc in used:
                continue
            yins = inputs(yc)
            if all(q < len(yins) and yins[q][0] == y for q in ports):
                mapping[x] = yc
                used.add(yc)
                break
    return mapping


# --------------------------------------------------------------------------------------------
def _recognise(
    gi: GraphIndex,
    graphs: GraphSet,
    cell: Cell,
    calls: list[list[int]],
    by_weight: dict[tuple, list[int]],
    weights: set,
) -> None:
    """Kind (from the registry) and op roles of every call, decided on one call."""
    t = 1 if cell.calls >= 3 else 0
    ops = sorted(i for i, k in cell.call_of.items() if k == t)
    site_of = {a: w for w in weights for a in by_weight[w]}
    anchors = sorted(calls[t])
    body = _called_body(gi, graphs, anchors)
    if body is not None:  # the step runs in a function (a cond branch): read the kind there
        where, ops = body
        gi = graphs.function(where)
        anchors = sorted({i for (f, i), _ in _cached_readers(graphs) if f == where})
        site_of = {
            i: w
            for ((f, i), _), sites in _cached_readers(graphs).items()
            if f == where
            for w, _, _ in sites[:1]
        }
    matrices, vectors, mats = [], 0, []
    for a in anchors:
        w = site_of.get(a)
        if w is None:
            continue
        shape = _site_shape(graphs, w)
        op = gi.ops[a]
        if op == "MatMul" and len(shape) == 2:
            matrices.append(shape)
            mats.append(_site_label(graphs, w))
        elif op == "Mul":
            vectors += 1
    features = CallFeatures(
        op_types=_counter(gi.ops[i] for i in ops),
        matrices=tuple(matrices),
        vectors=vectors,
        cell_op=next((gi.ops[i] for i in ops if gi.ops[i] in CELL_OPS), None),
        splits=tuple(_num_split(gi, i) for i in ops if gi.ops[i] == "Split"),
        mul_port0=frozenset(
            gi.ops[gi.data_inputs(i)[0][0]] for i in ops if gi.ops[i] == "Mul" and gi.data_inputs(i)
        ),
    )
    cell.kind = recognise(features).name
    cell.matrices = tuple(mats)
    cell.matrix_cols = tuple(c for _, c in matrices)
    if body is None:
        cell.op_roles = _roles_of_call(gi, cell, ops, set(calls[t]), site_of)


def _cached_readers(graphs: GraphSet) -> dict:
    cached = getattr(graphs, "_weight_readers", None)
    return cached[1] if cached is not None else {}


def _called_body(
    gi: GraphIndex, graphs: GraphSet, anchors: list[int]
) -> tuple[str, list[int]] | None:
    """(function, its ops) when a call's anchor is an If/PartitionedCall whose function reads
    the weights (static_rnn with sequence_length under control flow v2)."""
    readers_in = {f for (f, _), _ in _cached_readers(graphs) if f is not None}
    for a in anchors:
        if gi.ops[a] not in _CALL_OPS:
            continue
        node = gi.node(a)
        for key in ("then_branch", "else_branch", "f"):
            if key in node.attr and node.attr[key].func.name in readers_in:
                fname = node.attr[key].func.name
                return fname, list(range(len(graphs.function(fname))))
    return None


def _counter(items: Any) -> Any:
    from collections import Counter

    return Counter(items)


def _num_split(gi: GraphIndex, i: int) -> int:
    a = gi.attr(i, "num_split")
    return int(a.i) if a is not None else 0


def _site_shape(graphs: GraphSet, site: tuple) -> tuple[int, ...]:
    fname, j = site
    gi = graphs.main if fname is None else graphs.function(fname)
    if gi.ops[j] == "Placeholder":  # a shapeless captured variable: sized from its use
        from rnnviz.reporting.weights import captured_shapes

        inferred = captured_shapes(graphs).get(site)
        if inferred is not None:
            return inferred
    for key in ("shape", "value"):
        a = gi.attr(j, key)
        if a is None:
            continue
        proto = a.shape if key == "shape" else a.tensor.tensor_shape
        return tuple(max(int(d.size), 0) for d in proto.dim)
    return ()


def _roles_of_call(
    gi: GraphIndex, cell: Cell, ops: list[int], anchors: set[int], site_of: dict[int, tuple]
) -> dict[int, str]:
    """Roles on one call: matmul / bias / peephole / projection, gates after the Split, clip."""
    roles: dict[int, str] = {}
    matmuls = [a for a in sorted(anchors) if gi.ops[a] == "MatMul"]
    for a in anchors:
        op = gi.ops[a]
        roles[a] = {"BiasAdd": "bias", "Mul": "peephole"}.get(op, "matmul")
        if op in CELL_OPS:
            roles[a] = "cell"
    if cell.kind == "lstm" and len(matmuls) > 1:
        roles[matmuls[-1]] = "projection"
    inside = set(ops)
    gates = CELL_KINDS[cell.kind].gates
    for i in ops:
        op = gi.ops[i]
        if op in ("ClipByValue", "Minimum", "Maximum"):
            roles.setdefault(i, "clip")
        if op == "Split" and gates and _num_split(gi, i) == len(gates) and len(gates) == 4:
            for port, gate in enumerate(gates):
                act = _activation_after(gi, i, port, inside)
                if act is not None:
                    roles[act] = f"gate:{gate.key}"
    roles.update(_state_roles(gi, cell, ops, inside))  # the new state is what the op gives
    return roles


def _state_roles(gi: GraphIndex, cell: Cell, ops: list[int], inside: set[int]) -> dict[int, str]:
    """state:c / state:h on the ops of one call whose outputs the next step takes as its state:
    read by the next call's ops (unrolled), or handed to NextIteration (a v1 loop body). Of an
    LSTM's two, h is computed from c (h = o * tanh(c)); a one-state cell's is h."""
    t = cell.call_of.get(ops[0], 0) if ops else 0
    if t + 1 < cell.calls:
        nxt = [i for i, k in cell.call_of.items() if k == t + 1]
        carried = {p for i in nxt for p, _ in gi.data_inputs(i) if p in inside}
    elif cell.form == "loop" and cell.function is None and "NextIteration" in gi.op_types:
        carried = {_through_identity(gi, j) for j in _next_iterations(gi)} & inside
    else:
        return {}
    carried = {i for i in carried if not gi.ops[i].startswith(_OUTPUT_WRITES)}
    kind = CELL_KINDS.get(cell.kind)
    if len(carried) == 2 and kind is not None and "c" in kind.states:
        a, b = sorted(carried)
        h = b if _reaches(gi, b, a, inside) else a
        return {h: "state:h", (a if h == b else b): "state:c"}
    return {i: "state:h" for i in carried} if len(carried) == 1 else {}


_OUTPUT_WRITES = ("TensorArray", "TensorList")  # the step's output written out: not a state


def _through_identity(gi: GraphIndex, j: int) -> int:
    """The op whose output reaches node j's input 0 through Identity ops only."""
    ins = gi.data_inputs(j)
    while ins:
        j = ins[0][0]
        if gi.ops[j] != "Identity":
            return j
        ins = gi.data_inputs(j)
    return j


def _next_iterations(gi: GraphIndex) -> list[int]:
    return [j for j, op in enumerate(gi.ops) if op == "NextIteration"]


def _reaches(gi: GraphIndex, start: int, target: int, inside: set[int]) -> bool:
    """True when `target` feeds `start` through ops of `inside` (a walk up the inputs)."""
    todo, seen = [start], {start}
    while todo:
        for p, _ in gi.data_inputs(todo.pop()):
            if p == target:
                return True
            if p in inside and p not in seen:
                seen.add(p)
                todo.append(p)
    return False


def _activation_after(gi: GraphIndex, split: int, port: int, inside: set[int]) -> int | None:
    frontier = {(split, port)}
    for _ in range(4):  # gate -> [+ forget_bias] [+ peephole] -> activation
        nxt = set()
        for i in inside:
            ins = gi.data_inputs(i)
            if any(x in frontier for x in ins):
                if gi.ops[i] in _ACT:
                    return i
                if gi.ops[i] in ("Add", "AddV2"):
                    nxt.add((i, 0))
        frontier = nxt
    return None


# --------------------------------------------------------------------------------------------
def _layers_and_directions(gi: GraphIndex, cells: list[Cell], p: _Pass) -> None:
    """Layer = longest path from the input in the cell graph; direction from the step input."""
    owner: dict[int, int] = {}
    for c, cell in enumerate(cells):
        for i in cell.call_of:
            owner.setdefault(i, c)
    below: dict[int, set[int]] = defaultdict(set)
    for c, cell in enumerate(cells):
        # Only anchors have deps: on the window pass a few of the cell's ops, so read those.
        for i in [i for i in p.deps if i in cell.call_of]:
            for x in p.deps[i]:
                o = owner.get(x)
                if o is not None and o != c:
                    below[c].add(o)
    layer: dict[int, int] = {}

    def depth(c: int, seen: frozenset = frozenset()) -> int:
        if c not in layer:
            layer[c] = 1 + max((depth(b, seen | {c}) for b in below[c] - seen), default=-1)
        return layer[c]

    tags: dict[int, int] = {}
    for c in sorted(range(len(cells)), key=depth):
        cell = cells[c]
        cell.layer = depth(c)
        cell.direction = _direction(gi, cell, tags)
        steps = [cell.step_of(k) for k in range(cell.calls)]
        for i, k in cell.call_of.items():
            tags[i] = steps[k]
    for cell in cells:
        cell.scope = _common_scope([gi.names[i] for i in cell.ops[:200]])


def _direction(gi: GraphIndex, cell: Cell, tags: dict[int, int]) -> str:
    first = _input_step(gi, cell, 0, tags)
    last = _input_step(gi, cell, cell.calls - 1, tags)
    reversed_order = first is not None and last is not None and first[0] > last[0]
    reversed_input = first is not None and first[1]
    return "bw" if reversed_order != reversed_input else "fw"


def _input_step(
    gi: GraphIndex, cell: Cell, k: int, tags: dict[int, int]
) -> tuple[int, bool] | None:
    """(time index, input reversed) of the step input call k reads: an Unpack port, or the step
    of a lower cell's op it reads."""
    ops = [i for i, c in cell.call_of.items() if c == k]
    mine = set(cell.call_of)
    todo = [(j, port) for i in ops for j, port in gi.data_inputs(i) if j not in mine]
    seen: set[int] = set()
    while todo and len(seen) < 64:
        j, port = todo.pop(0)
        if j in seen:
            continue
        seen.add(j)
        if j in tags:
            return tags[j], False
        if gi.ops[j] == "Unpack":
            return port, _reversed_upstream(gi, j)
        if gi.ops[j] in VARIABLE_OPS or gi.ops[j] == "Const":
            continue
        todo += list(gi.data_inputs(j))
    return None


def _reversed_upstream(gi: GraphIndex, j: int) -> bool:
    """True when every path back from j to a source passes a ReverseV2/ReverseSequence."""
    todo, seen, found = [j], set(), False
    while todo and len(seen) < 200:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        if gi.ops[i] in _REVERSE:
            found = True
            continue
        ins = gi.data_inputs(i)
        if gi.ops[i] == "Placeholder" or (not ins and gi.ops[i] != "Const"):
            return False
        if gi.ops[i] in ("Exit", "While", "StatelessWhile", "TensorListStack"):
            return False
        todo += [x for x, _ in ins if gi.ops[x] != "Const"]
    return found


def _common_scope(names: list[str]) -> str:
    if not names:
        return ""
    parts = names[0].split("/")[:-1]
    for n in names[1:]:
        other = n.split("/")
        k = 0
        while k < len(parts) and k < len(other) - 1 and parts[k] == other[k]:
            k += 1
        parts = parts[:k]
    return "/".join(parts)


# --------------------------------------------------------------------------------------------
def apply_record(gi: GraphIndex, cells: list[Cell], step_tensors: Sequence[Any]) -> None:
    """Take layer and direction from the builder's record instead of inferring them."""
    for st in step_tensors:
        node = gi.index.get(tensor_node(st.name))
        if node is None:
            continue
        for cell in cells:
            if node in cell.call_of:
                cell.layer, cell.direction = int(st.layer), str(st.direction)
                break


def steps_from_cells(
    cells: list[Cell], step_tensors: Sequence[Any] = (), gi: GraphIndex | None = None
) -> dict[int, StepTag]:
    tags: dict[int, StepTag] = {}
    for cell in cells:
        if cell.form != "unrolled" or cell.function is not None:
            continue
        # One tuple per step, shared by the ops of that step (memory on big graphs).
        per_step = [(cell.layer, cell.direction, cell.step_of(k)) for k in range(cell.calls)]
        for i, k in cell.call_of.items():
            tags[i] = per_step[k]
    if gi is not None:  # the record is exact where it speaks
        for st in step_tensors:
            node = gi.index.get(tensor_node(st.name))
            if node is not None:
                tags[node] = (int(st.layer), str(st.direction), int(st.step))
    return tags


def tag_steps(
    gi: GraphIndex,
    roles: Sequence[str],
    step_tensors: Sequence[Any] = (),
    graphs: GraphSet | None = None,
) -> tuple[list[Cell], dict[int, StepTag]]:
    """Cells and `node index -> (layer, direction, step)` on an existing index."""
    cells = recorded_cells(gi, roles, step_tensors, graphs)
    return cells, steps_from_cells(cells, step_tensors, gi)


def recorded_cells(
    gi: GraphIndex,
    roles: Sequence[str],
    step_tensors: Sequence[Any] = (),
    graphs: GraphSet | None = None,
) -> list[Cell]:
    """The unrolled cells of the main graph, with layer and direction from the builder's record
    where it has one (the cells `tag_steps` tags)."""
    cells = find_cells(gi, roles, graphs)
    if step_tensors:
        apply_record(gi, cells, step_tensors)
    return cells


def op_steps(graph_def: Any, step_tensors: Sequence[Any] | None = None) -> dict[str, StepTag]:
    """`node name -> (layer, direction, step)` for the forward ops of unrolled RNN cells.

    Empty for graphs with no unrolled recurrence. `step_tensors` is `BuiltModel.step_tensors`;
    with it, layer/direction/step of the recorded tensors come from the builder. Stable API.
    """
    graphs = GraphSet(graph_def)
    gi = graphs.main
    _, tags = tag_steps(gi, roles_of(gi.names, gi.ops), tuple(step_tensors or ()), graphs)
    return {gi.names[i]: tag for i, tag in tags.items()}


__all__ = [
    "Cell",
    "StepTag",
    "apply_record",
    "find_cells",
    "gate_slices",
    "op_steps",
    "steps_from_cells",
    "tag_steps",
]


# --------------------------------------------------------------------------------------------
# Loop bodies: one call per cell (form "loop"). A cell is again a cycle of the weight graph,
# closed through the loop-carried values (v2: body argument k <- returned value k; v1: a Merge
# <- its NextIteration).
def function_cells(graphs: GraphSet, roles: Sequence[str]) -> list[Cell]:
    """Unrolled cells inside the library functions the main graph runs (a tf-keras SavedModel
    with unroll=True keeps its steps in a function body)."""
    walker = _Walker(graphs)
    readers = _readers(walker, roles)
    counts: dict[str, dict[tuple, int]] = defaultdict(lambda: defaultdict(int))
    for ((fname, i), _port), sites in readers.items():
        if fname is not None and walker.graph(fname).ops[i] not in _NOT_CELL:
            for site, _, _ in sites:
                counts[fname][site] += 1
    out = []
    for fname in sorted(f for f, c in counts.items() if max(c.values()) >= 2):
        if not walker.reachable(fname, roles):
            continue
        gi = graphs.function(fname)
        cells = find_cells(gi, ["forward"] * len(gi), graphs, where=fname, main_roles=roles)
        for cell in cells:
            cell.function = fname
            cell.extra_ops = tuple(f"{fname}/{gi.names[i]}" for i in cell.ops)
        out += cells
    return out


def loop_cells(
    graphs: GraphSet, roles: Sequence[str], frames: dict[str, list[int]] | None = None
) -> list[Cell]:
    """Cells run by forward loops: v2 While ops of the main graph and v1 frames."""
    walker = _Walker(graphs)
    main = graphs.main
    readers = _readers(walker, roles)
    by_graph: dict[str | None, dict[int, set]] = defaultdict(lambda: defaultdict(set))
    for ((fname, i), _port), sites in readers.items():
        if walker.graph(fname).ops[i] in _NOT_CELL:
            continue
        for site, _, _ in sites:
            by_graph[fname][i].add(site)
    # (node standing for the loop, its cells, the nodes feeding it), per graph holding the loop
    regions: list[tuple[int, list[Cell], list[int]]] = []
    out: list[Cell] = []
    nested: list[tuple[str, list]] = []  # loops inside functions, by the function holding them
    for where in (None, *graphs.function_names):
        gi_w = walker.graph(where)
        if gi_w is None or not (gi_w.op_types & {"While", "StatelessWhile"}):
            continue
        if where is not None and not walker.reachable(where, roles):
            continue
        found_here = []
        for i, op in enumerate(gi_w.ops):
            if op not in ("While", "StatelessWhile") or (where is None and roles[i] != "forward"):
                continue
            node = gi_w.node(i)
            body = node.attr["body"].func.name if "body" in node.attr else ""
            gi = graphs.function(body)
            if gi is None or not by_graph.get(body):
                continue
            found = _body_cells(graphs, gi, by_graph[body], body)
            if found:
                found_here.append((i, found, [j for j, _ in gi_w.data_inputs(i)]))
        if where is None:
            regions += found_here
        elif found_here:
            _order_loops(gi_w, found_here)
            nested.append((where, found_here))
            out += [c for _, cells, _ in found_here for c in cells]
    for frame, members in (frames or {}).items():
        if "gradients" in frame.split("/")[0] or not members:
            continue
        anchors = {i: by_graph[None][i] for i in members if i in by_graph.get(None, {})}
        if anchors and roles[members[0]] == "forward":
            found = _frame_cells(graphs, main, members, anchors)
            if found:
                feeding = [
                    j
                    for e in members
                    if main.ops[e] in ("Enter", "RefEnter")
                    for j, _ in main.data_inputs(e)
                ]
                regions.append((min(members), found, feeding))
    _order_loops(main, regions)
    _order_functions(walker, nested)
    return [c for _, cells, _ in regions for c in cells] + out


def _order_functions(walker: _Walker, nested: list[tuple[str, list]]) -> None:
    """Loops in different functions (a tf-keras model calls one function per layer): number
    their layers in the dataflow order of the calls that run them, in the graph both calls sit in."""
    if len(nested) < 2:
        return
    paths = {f: _call_path(walker, f) for f, _ in nested}
    shift: dict[str, int] = {}
    for f, _ in nested:
        below = 0
        for g, regions in nested:
            if g != f and _runs_before(walker, paths[g], paths[f]):
                below += 1 + max(c.layer for _, cells, _ in regions for c in cells)
        shift[f] = below
    for f, regions in nested:
        for _, cells, _ in regions:
            for c in cells:
                c.layer += shift[f]


def _call_path(walker: _Walker, fname: str) -> dict[str | None, int]:
    """graph -> the node in it that (transitively) runs `fname` (first call site of each)."""
    path: dict[str | None, int] = {}
    current: str | None = fname
    for _ in range(8):
        sites = walker.callers().get(current or "", ())
        if current is None or not sites:
            break
        caller, node, _ = sites[0]
        path[caller] = node
        current = caller
    return path


def _runs_before(walker: _Walker, a: dict[str | None, int], b: dict[str | None, int]) -> bool:
    """True when, in the innermost graph both paths pass through, a's call feeds b's."""
    for g in b:
        if g in a and a[g] != b[g]:
            gi = walker.graph(g)
            seen, todo = set(), [b[g]]
            while todo and len(seen) < 500:
                i = todo.pop()
                if i == a[g]:
                    return True
                if i not in seen:
                    seen.add(i)
                    todo += [j for j, _ in gi.data_inputs(i)]
            return False
    return False


def _body_cells(
    graphs: GraphSet, gi: GraphIndex, anchors: dict[int, set], fname: str
) -> list[Cell]:
    order = _order(gi, list(range(len(gi))))
    near: dict[Any, frozenset] = {}
    deps: dict[int, frozenset] = {}
    for i in order:
        got: frozenset = frozenset()
        for port in range(len(gi.raw_inputs[i])):
            from rnnviz.reporting.weights import _input_target

            t = _input_target(gi, i, port)
            if t is None:
                continue
            j, arg = t
            got |= frozenset({("arg", arg)}) if arg is not None else near.get(j, frozenset())
        if i in anchors:
            deps[i] = got
            near[i] = frozenset({i})
        else:
            near[i] = got
    fdef = graphs.function_def(fname)
    carried = []
    for k, out in enumerate(fdef.signature.output_arg):
        ref = fdef.ret.get(out.name, "").split(":")[0]
        j = gi.index.get(ref)
        carried.append((("arg", k), near.get(j, frozenset()) if j is not None else frozenset()))
    return _cells_from_near(graphs, gi, anchors, near, deps, carried, fname)


def _frame_cells(
    graphs: GraphSet, gi: GraphIndex, members: list[int], anchors: dict[int, set]
) -> list[Cell]:
    order = _order(gi, members)
    inside = set(members)
    near: dict[Any, frozenset] = {}
    deps: dict[int, frozenset] = {}
    back: dict[int, int] = {}  # NextIteration -> the Merge it feeds
    for i in order:
        if gi.ops[i] == "Merge":
            near[i] = frozenset({("merge", i)})
            for j, _ in gi.data_inputs(i):
                if gi.ops[j] == "NextIteration":
                    back[j] = i
            continue
        got: frozenset = frozenset()
        for j, _ in gi.data_inputs(i):
            if j in inside:
                got |= near.get(j, frozenset())
        if i in anchors:
            deps[i] = got
            near[i] = frozenset({i})
        else:
            near[i] = got
    carried = []
    for nxt, merge in back.items():
        ins = gi.data_inputs(nxt)
        carried.append((("merge", merge), near.get(ins[0][0], frozenset()) if ins else frozenset()))
    return _cells_from_near(graphs, gi, anchors, near, deps, carried, None)


def _cells_from_near(
    graphs: GraphSet,
    gi: GraphIndex,
    anchors: dict[int, set],
    near: dict[Any, frozenset],
    deps: dict[int, frozenset],
    carried: list[tuple[Any, frozenset]],
    fname: str | None,
) -> list[Cell]:
    wg: dict[Any, set] = defaultdict(set)
    sinks: dict[Any, set] = defaultdict(set)
    for a, ws in anchors.items():
        for w in ws:
            wg[w]
        for d in deps.get(a, ()):
            if d in anchors:
                for w2 in anchors[d]:
                    wg[w2].update(ws)
            else:
                sinks[d] |= ws
    for key, sources in carried:
        for s in sources:
            if s in anchors:
                for w2 in anchors[s]:
                    wg[w2].update(sinks.get(key, ()))
    comps = [c for c in _strongly_connected(wg) if _cyclic(wg, c)]
    comp_of = {w: k for k, c in enumerate(comps) for w in c}
    members: list[set] = [set(c) for c in comps]
    for k, ws in _feeds(wg, comp_of).items():
        members[k] |= ws
    layer_of = _comp_depths(wg, comps, comp_of)
    cells = []
    for k, ws in enumerate(members):
        ops = sorted(
            i for i, n in near.items() if isinstance(i, int) and n and _only(n, anchors, ws)
        )
        ops += [a for a in anchors if anchors[a] & ws and a not in ops]
        cell = Cell(
            layer_of[k],
            "fw",
            "generic",
            "loop",
            1,
            tuple(sorted(_site_label(graphs, w) for w in ws)),
            min(ops) if ops else 0,
        )
        cell.call_of = {i: 0 for i in ops}
        cell.ops = sorted(ops)
        by_weight: dict[tuple, list[int]] = defaultdict(list)
        for a, aws in anchors.items():
            for w in aws & ws:
                by_weight[w].append(a)
        _recognise(gi, graphs, cell, [[a for a in anchors if anchors[a] & ws]], by_weight, ws)
        if fname is not None:
            cell.extra_ops = tuple(f"{fname}/{gi.names[i]}" for i in cell.ops)
            cell.op_roles = {}
        cell.scope = _common_scope([gi.names[i] for i in cell.ops[:200]])
        cells.append(cell)
    # Layers numbered from 0 by depth within the loop.
    for rank_, d in enumerate(sorted({c.layer for c in cells})):
        for c in cells:
            if c.layer == d:
                c.layer = rank_
    return cells


def _comp_depths(wg: dict[Any, set], comps: list[set], comp_of: dict) -> dict[int, int]:
    """Layer of each cell in a loop body: the longest chain of cells upstream of it."""
    below: dict[int, set[int]] = defaultdict(set)
    for k, comp in enumerate(comps):
        frontier, seen = [y for w in comp for y in wg.get(w, ())], set(comp)
        while frontier:
            y = frontier.pop()
            if y in seen:
                continue
            seen.add(y)
            if y in comp_of:
                if comp_of[y] != k:
                    below[comp_of[y]].add(k)
                continue
            frontier += wg.get(y, ())
    depth: dict[int, int] = {}

    def of(k: int, guard: frozenset = frozenset()) -> int:
        if k not in depth:
            depth[k] = 1 + max((of(b, guard | {k}) for b in below[k] - guard), default=-1)
        return depth[k]

    return {k: of(k) for k in range(len(comps))}


def _only(n: frozenset, anchors: dict[int, set], ws: set) -> bool:
    """True when every anchor upstream of an op reads one of `ws` (pseudo entries allowed)."""
    real = [x for x in n if isinstance(x, int)]
    return bool(real) and all(anchors[x] & ws for x in real if x in anchors)


def _order_loops(main: GraphIndex, regions: list[tuple[int, list[Cell], list[int]]]) -> None:
    """Number layers across loops in dataflow order and set each loop's direction (bw when
    its input reaches it only through a ReverseV2 / ReverseSequence)."""
    keys = {i for i, _, _ in regions}
    height = {i: 1 + max(c.layer for c in cells) for i, cells, _ in regions}
    below: dict[int, set[int]] = {}
    for i, _, feeding in regions:
        found, seen, todo = set(), set(), list(feeding)
        while todo and len(seen) < 2000:
            j = todo.pop()
            if j in seen:
                continue
            seen.add(j)
            if j in keys and j != i:
                found.add(j)
                continue
            todo += [x for x, _ in main.data_inputs(j)]
        below[i] = found
    base: dict[int, int] = {}

    def depth(i: int) -> int:
        if i not in base:
            base[i] = 0  # guards a cycle
            base[i] = max((depth(b) + height[b] for b in below[i]), default=0)
        return base[i]

    for i, cells, feeding in regions:
        bw = any(
            _reversed_upstream(main, j)
            for j in feeding
            if main.ops[j] not in VARIABLE_OPS and main.ops[j] != "Const"
        )
        for c in cells:
            c.layer += depth(i)
            c.direction = "bw" if bw else "fw"


def fused_cells(graphs: GraphSet, roles: Sequence[str]) -> list[Cell]:
    """One cell per fused op of the main graph (BlockLSTM, CudnnRNN: every step in one op)."""
    from rnnviz.cellkinds import FUSED_OPS

    main = graphs.main
    if not (main.op_types & FUSED_OPS):
        return []
    readers = _readers(_Walker(graphs), roles)
    regions = []
    for i, op in enumerate(main.ops):
        if op in FUSED_OPS and roles[i] == "forward":
            sites = {
                s for (site, _), found in readers.items() if site == (None, i) for s, _, _ in found
            }
            weights = tuple(sorted(_site_label(graphs, s) for s in sites))
            cell = Cell(0, "fw", CELL_OPS[op], "fused", 1, weights, i)
            cell.call_of, cell.ops, cell.op_roles = {i: 0}, [i], {i: "cell"}
            cell.scope = main.names[i].rpartition("/")[0]
            regions.append((i, [cell], [j for j, _ in main.data_inputs(i)]))
    _order_loops(main, regions)
    return [c for _, cells, _ in regions for c in cells]


@dataclass(frozen=True)
class CellCall:
    """One call of a recurrent cell (see CONTRACT: the explorer draws the cell view from it)."""

    layer: int
    direction: str
    step: int | None  # the time step it computes; None for loop and fused forms
    kind: str
    form: str  # unrolled | loop | fused
    ops: tuple[str, ...]  # main-graph names, or "function/node" inside a library function
    weights: tuple[str, ...]
    op_roles: dict[str, str]  # op name -> gate:i | state:c | matmul | bias | peephole | ...


def _op_namer(graphs: GraphSet, cell: Cell) -> Callable[[int], str]:
    """How a cell's op indices are named in its calls: main-graph names, or "function/node" for
    a cell unrolled inside a library function (its indices are that function's, not main's)."""
    if cell.function is None:
        return graphs.main.names.__getitem__
    names = graphs.function(cell.function).names
    return lambda i: f"{cell.function}/{names[i]}"


def cell_calls(graphs: GraphSet, cells: Sequence[Cell]) -> tuple[CellCall, ...]:
    """One `CellCall` per call of every cell (roles decided on one call, copied by position)."""
    out = []
    for cell in cells:
        name = _op_namer(graphs, cell)
        if cell.form != "unrolled":
            ops = cell.extra_ops or tuple(name(i) for i in cell.ops)
            roles = {name(i): r for i, r in cell.op_roles.items()} if not cell.extra_ops else {}
            out.append(
                CellCall(
                    cell.layer, cell.direction, None, cell.kind, cell.form, ops, cell.weights, roles
                )
            )
            continue
        per_call: list[list[int]] = [[] for _ in range(cell.calls)]
        for i, k in cell.call_of.items():
            per_call[k].append(i)
        t = 1 if cell.calls >= 3 else 0
        template = sorted(per_call[t])
        pos_role = {p: cell.op_roles[i] for p, i in enumerate(template) if i in cell.op_roles}
        for k, members in enumerate(per_call):
            members.sort()
            same = len(members) == len(template)
            roles = {name(members[p]): r for p, r in pos_role.items()} if same else {}
            out.append(
                CellCall(
                    cell.layer,
                    cell.direction,
                    cell.step_of(k),
                    cell.kind,
                    "unrolled",
                    tuple(name(i) for i in members),
                    cell.weights,
                    roles,
                )
            )
    return tuple(out)
