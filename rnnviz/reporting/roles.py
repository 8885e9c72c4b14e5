"""What each op is for: forward, gradients, optimizer, initialization, save_restore or other.

Decided from name scopes and op types only (TF1 graphs put gradients under `gradients*/`, the
Saver under `save*/`, initializers under `.../Initializer/` and `init`), so it works on any graph,
not only rnnviz's. Ops inside a v2 loop body take the role of the While op that runs the body.
"""

from __future__ import annotations

import re
from itertools import compress
from operator import not_
from typing import Any

ROLES: tuple[str, ...] = (
    "forward",
    "gradients",
    "optimizer",
    "initialization",
    "save_restore",
    "other",
)

_GRAD_TOP = re.compile(r"^gradients(_\d+)?$")
_GRAD_INNER = re.compile(r"/gradients(_\d+)?/")  # a model's own scope around its gradients
_SAVE_TOP = re.compile(r"^save(_\d+)?$")
_SAVE_OPS = frozenset(
    {"SaveV2", "RestoreV2", "SaveSlices", "RestoreSlice", "MergeV2Checkpoints", "ShardedFilename"}
)
_INIT_OPS = frozenset({"VarIsInitializedOp", "IsVariableInitialized"})
# Slot variables and hyper-parameter variables that optimizers create next to each weight.
_OPT_PARTS = re.compile(
    r"/(Adam|Adam_\d+|Momentum|RMSProp|RMSProp_\d+|Adagrad|Adadelta|Adadelta_\d+|Ftrl|Ftrl_\d+)(/|$)"
    r"|^(beta1_power|beta2_power|train|global_step)(/|$)"
)
# What a name must hold for `_OPT_PARTS` to match: its top scope is one of these, or it holds one
# of the marks (every `/Name` alternative starts with one). The regex search (alternatives tried
# at every '/') costs most of the rules on a forward op; the few names with a mark run it.
_OPT_TOPS = frozenset({"beta1_power", "beta2_power", "train", "global_step"})
_OPT_MARKS = ("/Ada", "/Momentum", "/RMSProp", "/Ftrl")
_OTHER_OPS = frozenset({"Assert", "Print", "PrintV2"})


def role_of(name: str, op: str) -> str:
    """The role of one op from its name and type (see the module docstring)."""
    top = name.partition("/")[0]
    if top.startswith("gradients") and _GRAD_TOP.match(top):
        return "gradients"
    return _role_below_top(name, op, top)


def _role_below_top(name: str, op: str, top: str) -> str:
    """`role_of` for a node whose top scope is not a `gradients` scope."""
    if "/gradients" in name and _GRAD_INNER.search(name):
        return "gradients"
    if op in _SAVE_OPS or (top.startswith("save") and _SAVE_TOP.match(top)):
        return "save_restore"
    if (
        "/Initializer/" in name
        or name.endswith(("/Assign", "/Initializer"))
        or op in _INIT_OPS
        or top in ("init", "report_uninitialized_variables")
        or name.startswith("init_")
    ):
        return "initialization"
    if "Apply" in op or (_may_name_optimizer(name, top) and _OPT_PARTS.search(name)):
        return "optimizer"
    if "Summary" in op or op in _OTHER_OPS:
        return "other"
    return "forward"


def _may_name_optimizer(name: str, top: str) -> bool:
    """False when `_OPT_PARTS` cannot match `name` (a cheap test that spares the regex)."""
    m1, m2, m3, m4 = _OPT_MARKS
    return top in _OPT_TOPS or m1 in name or m2 in name or m3 in name or m4 in name


def op_roles(graph_def: Any) -> dict[str, str]:
    """Role of every node of the main graph, by node name (pure; stable API for the dashboard)."""
    return {n.name: role_of(n.name, n.op) for n in graph_def.node}


def roles_of(names: list[str], ops: list[str], tops: list[str] | None = None) -> list[str]:
    """Roles for parallel name/op lists (what the report uses on its index).

    Same answer as `role_of` per node; the common case of a big training graph (two thirds of
    its nodes under `gradients/`) is decided by one test on the top scope before the full
    rules run. `tops` (each name's top scope) may be passed when the caller has it already.
    """
    if tops is None:
        tops = [n.partition("/")[0] for n in names]
    # The rule on the top scope, once per distinct top scope (a handful), not once per node.
    grad = {t for t in set(tops) if t.startswith("gradients") and _GRAD_TOP.match(t)}
    roles = ["gradients"] * len(names)
    # Only the other nodes run the full rules; they are picked out at C speed (compress/map),
    # since on a training graph most nodes are gradients and a Python loop over all costs more.
    for i in compress(range(len(names)), map(not_, map(grad.__contains__, tops))):
        roles[i] = _role_below_top(names[i], ops[i], tops[i])
    return roles


__all__ = ["ROLES", "op_roles", "role_of", "roles_of"]
