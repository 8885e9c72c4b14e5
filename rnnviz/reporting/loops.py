"""Every loop reachable from the graph's entry points, nested, and the calls that lead to it.

Entry points: the main graph (a SavedModel: the nodes its serving signatures compute). From them
the walk follows every call: `PartitionedCall`/`StatefulPartitionedCall` (attr `f`), `If`/
`StatelessIf` (both branches), `Case` (every branch), `While`/`StatelessWhile` (body and cond),
any other op holding a function attribute, and nodes whose op type is a library function's name.
What no entry point reaches (gradient and restore functions of a SavedModel, Keras' GPU variants)
is neither counted nor listed.

The result is a tree of `Body`s: the main graph, each function per call site, each loop body (a v2
body function, or the nodes of a v1 frame: Enter ... Exit inline in the main graph, nested by the
frame their Enter's input lives in). A loop's `LoopInfo` has its parent loop, depth, role and trip
count (`trips.py`); FLOPs are counted over the tree by `flops.py`. Only nodes a function's results
depend on count as its body (Keras traces one cell step outside its loop only to learn shapes).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rnnviz.reporting.graph import GraphIndex, GraphSet, dtype_name, shape_of_proto
from rnnviz.reporting.model import LoopInfo, LoopVar
from rnnviz.reporting.roles import role_of, roles_of
from rnnviz.reporting.shapes import Shape, Shapes

WHILE_OPS = frozenset({"While", "StatelessWhile"})
IF_OPS = frozenset({"If", "StatelessIf"})
CASE_OPS = frozenset({"Case", "StatelessCase"})
CALL_OPS = frozenset({"PartitionedCall", "StatefulPartitionedCall"})
FUNCTION_OPS = WHILE_OPS | IF_OPS | CASE_OPS | CALL_OPS
ENTER_OPS = frozenset({"Enter", "RefEnter"})
EXIT_OPS = frozenset({"Exit", "RefExit"})
_DT_RESOURCE = 20


@dataclass(eq=False)
class Body:
    """A piece of graph that runs as a unit: the main graph, a called function, a loop body."""

    gi: GraphIndex
    shapes: Shapes
    members: Sequence[int]  # indexes of the nodes of `gi` that run in this body
    path: str  # prefix that makes this body's node names unique in the report ("" main graph)
    role: str | None  # role fixed by the call site; None in the main graph (per node)
    loop: str | None = None  # name of the loop this is the body of
    children: list[Child] = field(default_factory=list)


@dataclass(eq=False)
class Child:
    """What one node of a body runs: a call, alternatives (If/Case: the costlier counts) or a loop."""

    node: int  # the calling node in the parent body's graph (a v1 frame: its first Enter)
    how: str  # "call" | "branches" | "loop"
    bodies: list[Body]
    loop: str | None = None  # the loop's name when how == "loop"


@dataclass(frozen=True)
class Frames:
    """v1 frames of the main graph: innermost frame of each node, each frame's parent frame."""

    of_node: dict[int, str]
    parent: dict[str, str | None]
    members: dict[str, list[int]]  # frame -> nodes whose innermost frame it is (graph order)


def v1_frames(main: GraphIndex) -> Frames:
    """Frame membership the way TF's executor assigns it: an Enter's output is in the Enter's
    frame (whose parent is the frame of its input), an Exit's output in the parent frame, every
    other op in the frame of its inputs. Propagated forward from the ops with no inputs."""
    if not (main.op_types & ENTER_OPS):
        return Frames({}, {}, {})
    cons = main.all_consumers()
    frame_of: dict[int, str | None] = {}
    parent: dict[str, str | None] = {}
    todo = deque(i for i in range(len(main)) if not main.raw_inputs[i])
    for i in todo:
        frame_of[i] = None
    while todo:
        i = todo.popleft()
        here = frame_of[i]
        for c in cons[i]:
            if c in frame_of:
                continue
            if main.ops[c] in ENTER_OPS:
                name = _frame_name(main, c)
                parent.setdefault(name, here)
                frame_of[c] = name
            elif main.ops[i] in EXIT_OPS:
                frame_of[c] = parent.get(here) if here is not None else None
            else:
                frame_of[c] = here
            todo.append(c)
    members: dict[str, list[int]] = {name: [] for name in parent}
    for i in sorted(frame_of):
        name = frame_of[i]
        if name is not None:
            members[name].append(i)
    of_node = {i: f for i, f in frame_of.items() if f is not None}
    return Frames(of_node, parent, members)


def _frame_name(main: GraphIndex, i: int) -> str:
    frame = main.attr(i, "frame_name")
    return frame.s.decode("utf-8", "replace") if frame is not None else "?"


def frame_label(frame: str) -> str:
    return frame.removesuffix("/while_context")


def called_functions(graphs: GraphSet, gi: GraphIndex, i: int) -> list[tuple[str, str]]:
    """(attribute, function name) of every library function node i calls."""
    op = gi.ops[i]
    if graphs.function_def(op) is not None:
        return [("op", op)]  # a node whose op type is a library function: a direct call
    out = []
    for key, value in gi.node(i).attr.items():
        if key.startswith("_"):
            continue  # e.g. _gradient_op_type, _read_only_resource_inputs: not calls
        names = [value.func.name] if value.func.name else [f.name for f in value.list.func]
        out += [(key, n) for n in names if graphs.function_def(n) is not None]
    return out


def live_nodes(gi: GraphIndex, func: Any) -> list[int]:
    """Nodes of a function body its results depend on (data and control), in graph order."""
    starts = [*func.ret.values(), *func.control_ret.values()]
    todo = [j for j in (gi.index.get(s.split(":")[0]) for s in starts) if j is not None]
    seen = set(todo)
    while todo:
        i = todo.pop()
        for j in [j for j, _, _ in gi.inputs(i) if j is not None] + gi.control_inputs(i):
            if j not in seen:
                seen.add(j)
                todo.append(j)
    return sorted(seen)


def entry_nodes(main: GraphIndex, signatures: Sequence[tuple[str, Sequence[str]]]) -> set[int]:
    """Main-graph nodes the entry points compute: every node, or for a source with serving
    signatures, the nodes their outputs depend on (data and control)."""
    outputs = [main.index.get(t.split(":")[0]) for _, names in signatures for t in names]
    todo = [j for j in outputs if j is not None]
    if not todo:
        return set(range(len(main)))
    seen = set(todo)
    while todo:
        i = todo.pop()
        for j in [j for j, _ in main.data_inputs(i)] + main.control_inputs(i):
            if j not in seen:
                seen.add(j)
                todo.append(j)
    return seen


@dataclass
class LoopWalk:
    """The tree of bodies and the loops found, from `walk_loops`."""

    root: Body
    loops: list[LoopInfo]
    functions: list[str]  # library functions reached from the entry points, in walk order
    frames: Frames


def walk_loops(
    graphs: GraphSet,
    roles: Sequence[str],
    shapes: Shapes,
    signatures: Sequence[tuple[str, Sequence[str]]] = (),
) -> LoopWalk:
    """Walk from the entry points through every call; list each loop once per call site."""
    main = graphs.main
    frames = v1_frames(main)
    walker = _Walker(graphs, roles, frames)
    in_frames = frames.of_node
    outside = [i for i in range(len(main)) if i not in in_frames] if in_frames else range(len(main))
    root = Body(main, shapes, outside, "", None)
    entries = entry_nodes(main, signatures) if signatures else None
    walker.scan(root, entries)
    walker.add_frames(root, shapes, entries)
    dead = shape_probes(main, roles, root)
    if dead:
        root.members = [i for i in root.members if i not in dead]
    return LoopWalk(root, walker.loops, list(walker.functions), frames)


def shape_probes(main: GraphIndex, roles: Sequence[str], root: Body) -> set[int]:
    """Main-graph ops nothing uses that Keras adds next to a loop: its backend.rnn runs the cell
    once outside the loop only to learn the output's shape. They are the ops in a loop's layer
    scope that do not depend on the loop and whose results only reach such dead ends (inside a
    function, the same ops are left out because the function's results do not depend on them)."""
    loops = [c for c in root.children if c.how == "loop" and c.loop and "/" in c.loop]
    if not loops:
        return set()
    cons = main.consumers()
    after = _downstream(cons, [i for c in loops for i in _loop_nodes(c)])
    scopes = tuple(c.loop.rpartition("/")[0] + "/" for c in loops if c.loop)
    dead = {
        i
        for i in range(len(main))
        if not cons[i]
        and roles[i] == "forward"
        and i not in after
        and main.names[i].startswith(scopes)
    }
    todo = list(dead)
    while todo:
        for j, _ in main.data_inputs(todo.pop()):
            if _also_dead(main, roles, cons, j, dead, after, scopes):
                dead.add(j)
                todo.append(j)
    return dead


def _also_dead(
    main: GraphIndex,
    roles: Sequence[str],
    cons: list[list[int]],
    j: int,
    dead: set[int],
    after: set[int],
    scopes: tuple[str, ...],
) -> bool:
    """Node j feeds only dead ops, is forward, in a loop's layer scope and not after a loop."""
    if j in dead or j in after or roles[j] != "forward":
        return False
    return all(c in dead for c in cons[j]) and main.names[j].startswith(scopes)


def _loop_nodes(child: Child) -> list[int]:
    body = child.bodies[0] if child.bodies else None
    if body is not None and body.role is None:  # a v1 frame: its nodes are main-graph nodes
        return list(body.members)
    return [child.node]


def _downstream(cons: list[list[int]], starts: list[int]) -> set[int]:
    seen, todo = set(starts), list(starts)
    while todo:
        for c in cons[todo.pop()]:
            if c not in seen:
                seen.add(c)
                todo.append(c)
    return seen


class _Walker:
    def __init__(self, graphs: GraphSet, roles: Sequence[str], frames: Frames):
        self.graphs, self.roles, self.frames = graphs, roles, frames
        self.loops: list[LoopInfo] = []
        self.functions: dict[str, None] = {}  # ordered set
        self.parents: list[str | None] = [None]  # the loop stack while walking

    def role(self, body: Body, i: int) -> str:
        if body.role is None:
            return self.roles[i]
        by_name = role_of(body.gi.names[i], body.gi.ops[i])
        return by_name if by_name == "gradients" else body.role

    def scan(self, body: Body, only: set[int] | None = None) -> None:
        """Add a child to `body` for every node of it that runs a function."""
        gi = body.gi
        if not (gi.op_types & FUNCTION_OPS) and not self.graphs.function_names:
            return
        names = self.graphs.function_names
        candidates = [
            i
            for i in body.members
            if (gi.ops[i] in FUNCTION_OPS or (names and gi.ops[i] in self.graphs.functions_set))
            and (only is None or i in only)
        ]
        for i in candidates:
            child = self.child(body, i)
            if child is not None:
                body.children.append(child)

    def child(self, body: Body, i: int) -> Child | None:
        gi = body.gi
        op = gi.ops[i]
        if op in WHILE_OPS:
            return self.v2_loop(body, i)
        calls = called_functions(self.graphs, gi, i)
        if not calls:
            return None
        role = self.role(body, i)
        first = 1 if op in IF_OPS or op in CASE_OPS else 0  # input 0 picks the branch
        bodies = [self.function_body(body, i, fname, role, first) for _, fname in calls]
        how = "branches" if op in IF_OPS or op in CASE_OPS else "call"
        return Child(i, how, [b for b in bodies if b is not None])

    def function_body(
        self, caller: Body, i: int, fname: str, role: str, first: int, loop: str | None = None
    ) -> Body | None:
        """The body of `fname` as called by node i of `caller` (inputs from `first` on)."""
        gi = self.graphs.function(fname)
        if gi is None:
            return None
        self.functions.setdefault(fname, None)
        func = self.graphs.function_def(fname)
        args = self.arg_shapes(caller, i, gi, fname, first)
        path = caller.path + caller.gi.names[i] + "/" if loop is None else caller.path
        body = Body(gi, Shapes(gi, args), live_nodes(gi, func), path, role, loop)
        self.scan(body)
        return body

    def arg_shapes(
        self, caller: Body, i: int, gi: GraphIndex, fname: str, first: int
    ) -> dict[str, Shape | None]:
        """A body's argument shapes: the caller's input shapes, else what the function declares."""
        declared = self.graphs.function_arg_shapes(fname)
        out = {}
        for k, arg in enumerate(gi.arg_names):
            got = caller.shapes.input_shape(i, k + first)
            out[arg] = got if got is not None else declared.get(arg)
        return out

    def v2_loop(self, body: Body, i: int) -> Child | None:
        gi = body.gi
        node = gi.node(i)
        body_name = node.attr["body"].func.name if "body" in node.attr else ""
        cond_name = node.attr["cond"].func.name if "cond" in node.attr else ""
        name = body.path + gi.names[i]
        role = self.role(body, i)
        inner = self.graphs.function(body_name)
        parent = self.parents[-1]
        self.parents.append(name)
        loop_body = None
        if inner is not None:
            self.functions.setdefault(body_name, None)
            loop_body = Body(
                inner,
                Shapes(inner, _v2_body_args(body, i, inner)),
                range(len(inner)),
                name + "/",
                role,
                name,
            )
            self.scan(loop_body)
        if cond_name and self.graphs.function(cond_name) is not None:
            self.functions.setdefault(cond_name, None)
        self.parents.pop()
        self.loops.append(_v2_info(self.graphs, body, i, name, role, parent, cond_name or None))
        return Child(i, "loop", [loop_body] if loop_body is not None else [], name)

    def add_frames(self, root: Body, shapes: Shapes, entries: set[int] | None) -> None:
        """v1 frames as loop children of their parent frame's body (the root at the top)."""
        frames = self.frames
        bodies: dict[str | None, Body] = {None: root}
        for frame in _outer_first(frames.parent):
            members = frames.members[frame]
            if entries is not None and not any(i in entries for i in members):
                continue  # not computed by any signature
            label = frame_label(frame)
            parent_body = bodies.get(frames.parent[frame])
            if parent_body is None:
                continue
            role = role_of(label + "/x", "Enter")
            body = Body(root.gi, shapes, members, "", None, label)
            bodies[frame] = body
            self.parents.append(label)
            self.scan(body)
            self.parents.pop()
            first = next((i for i in members if root.gi.ops[i] in ENTER_OPS), members[0])
            parent = frame_label(frames.parent[frame]) if frames.parent[frame] else None
            parent_body.children.append(Child(first, "loop", [body], label))
            self.loops.append(_v1_info(root.gi, shapes, members, label, role, parent))


def _outer_first(parent: dict[str, str | None]) -> list[str]:
    def depth(f: str) -> int:
        d = 0
        while parent.get(f) is not None and d < 100:
            f, d = parent[f], d + 1  # type: ignore[assignment]
        return d

    return sorted(parent, key=depth)


def _v2_body_args(caller: Body, i: int, body: GraphIndex) -> dict[str, Shape | None]:
    """Shapes inside a v2 body: its arguments take the While op's declared loop-var shapes,
    except captured variables (resource handles, declared as scalars), which take the shape of
    the variable they are in the caller."""
    node = caller.gi.node(i)
    protos = list(node.attr["output_shapes"].list.shape) if "output_shapes" in node.attr else []
    types = list(node.attr["T"].list.type) if "T" in node.attr else []
    args = {}
    for k, name in enumerate(body.arg_names):
        if k < len(types) and types[k] == _DT_RESOURCE:
            args[name] = caller.shapes.input_shape(i, k)
        else:
            declared = shape_of_proto(protos[k]) if k < len(protos) else None
            args[name] = declared if declared is not None else caller.shapes.input_shape(i, k)
    return args


def _v1_info(
    main: GraphIndex, shapes: Shapes, members: list[int], label: str, role: str, parent: str | None
) -> LoopInfo:
    enters = [i for i in members if main.ops[i] in ENTER_OPS]
    loop_vars, parallel = [], None
    for i in enters:
        attr_par = main.attr(i, "parallel_iterations")
        if attr_par is not None:
            parallel = int(attr_par.i)
        attr_const = main.attr(i, "is_constant")
        if attr_const is not None and attr_const.b:
            continue
        t = main.attr(i, "T")
        loop_vars.append(LoopVar(main.names[i], dtype_name(t.type) if t else "?", shapes.shape(i)))
    swap = None
    for i in members:
        if main.ops[i] == "StackPushV2":
            attr = main.attr(i, "swap_memory")
            swap = bool(swap) or bool(attr is not None and attr.b)
    body = [i for i in members if main.ops[i] not in ENTER_OPS]
    return LoopInfo(
        name=label,
        kind="v1_frame",
        role=role,
        body_ops=len(body),
        body_op_types=dict(Counter(main.ops[i] for i in body).most_common()),
        body_nodes=tuple(main.names[i] for i in members),
        loop_vars=tuple(loop_vars),
        parallel_iterations=parallel,
        swap_memory=swap,
        trip_count=None,
        parent=parent,
    )


def _v2_info(
    graphs: GraphSet,
    where: Body,
    i: int,
    name: str,
    role: str,
    parent: str | None,
    cond: str | None,
) -> LoopInfo:
    node = where.gi.node(i)
    body_name = node.attr["body"].func.name if "body" in node.attr else ""
    body = graphs.function(body_name)
    types = list(node.attr["T"].list.type) if "T" in node.attr else []
    shapes = list(node.attr["output_shapes"].list.shape) if "output_shapes" in node.attr else []
    arg_names = list(body.arg_names) if body is not None else []
    loop_vars = []
    for k, t in enumerate(types):
        shape = shape_of_proto(shapes[k]) if k < len(shapes) else None
        loop_vars.append(
            LoopVar(arg_names[k] if k < len(arg_names) else f"arg{k}", dtype_name(t), shape)
        )
    par = node.attr["parallel_iterations"].i if "parallel_iterations" in node.attr else None
    return LoopInfo(
        name=name,
        kind="v2_while",
        role=role,
        body_ops=len(body) if body is not None else 0,
        body_op_types=dict(Counter(body.ops).most_common()) if body is not None else {},
        body_nodes=tuple(body.names) if body is not None else (),
        loop_vars=tuple(loop_vars),
        parallel_iterations=int(par) if par is not None else None,
        swap_memory=None,
        trip_count=None,
        body_function=body_name or None,
        in_function=where.gi.function,
        parent=parent,
        cond_function=cond,
    )


def with_depths(loops: Iterable[LoopInfo]) -> list[LoopInfo]:
    """Fill `depth` from the parent chain."""
    loops = list(loops)
    parent = {lp.name: lp.parent for lp in loops}
    out = []
    for lp in loops:
        d, p = 0, lp.parent
        while p is not None and d < 100:
            d, p = d + 1, parent.get(p)
        out.append(dataclasses.replace(lp, depth=d))
    return out


def find_loops(graph_def: Any) -> list[LoopInfo]:
    """All loops reachable in a GraphDef (stable API for the dashboard; see `loops_of`)."""
    return loops_of(GraphSet(graph_def))


def loops_of(graphs: GraphSet, frames: Any = None) -> list[LoopInfo]:
    """The loops of a GraphSet, without trip counts (for callers that hold no `Analysis`).

    A `LoopInfo` carries `body_nodes` (v1: node names of the frame in the main graph; v2: node
    names inside `body_function`). `frames` is ignored (kept for old callers)."""
    main = graphs.main
    roles = roles_of(main.names, main.ops, main.tops)
    return with_depths(walk_loops(graphs, roles, Shapes(main)).loops)


__all__ = [
    "CALL_OPS",
    "CASE_OPS",
    "ENTER_OPS",
    "EXIT_OPS",
    "FUNCTION_OPS",
    "IF_OPS",
    "WHILE_OPS",
    "Body",
    "Child",
    "Frames",
    "LoopWalk",
    "called_functions",
    "entry_nodes",
    "find_loops",
    "frame_label",
    "live_nodes",
    "loops_of",
    "shape_probes",
    "v1_frames",
    "walk_loops",
    "with_depths",
]
