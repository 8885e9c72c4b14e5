"""What the structure view reads from the analysis: cell kinds, op roles, weights, loops.

What it is for: the one place where the view meets the analysis, so that switching from today's
report dict to the `Analysis` object (CellCall.op_roles, the cell-kind registry
`rnnviz.cellkinds`, LoopInfo's trip counts and parents) changes this module only. The view code
reads `Facts` and the `CellKindView`s below, with the contract's field names.

What it is not: a classifier. Until the analysis publishes `CellCall.op_roles`, `roles_of_cell`
is a thin stand-in that names the ops of the three TF1 cells rnnviz builds (BasicRNN, LSTM, GRU)
by their construction order; anything else is left without roles (drawn as plain ops).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class GateView:
    key: str  # "i", "j", "f", "o", "r", "u", "c"
    label: str  # "input gate"
    activation: str  # "sigmoid" | "tanh"


@dataclass(frozen=True)
class CellKindView:
    name: str
    label: str
    gates: tuple[GateView, ...]
    states: tuple[str, ...]
    equations: str


def _kinds() -> dict[str, CellKindView]:
    """The cell kinds by name: the analysis's registry when present, else the three TF1 cells."""
    try:
        from rnnviz.cellkinds import CELL_KINDS  # type: ignore[import-not-found]
    except ImportError:
        return dict(_FALLBACK_KINDS)
    out = dict(_FALLBACK_KINDS)
    for name, k in CELL_KINDS.items():
        gates = tuple(GateView(g.key, g.label, g.activation) for g in k.gates)
        out[name] = CellKindView(name, k.label, gates, tuple(k.states), k.equations)
    return out


_S, _T = "sigmoid", "tanh"
_FALLBACK_KINDS = {
    "lstm": CellKindView(
        "lstm",
        "LSTM",
        (
            GateView("i", "input gate", _S),
            GateView("j", "candidate", _T),
            GateView("f", "forget gate", _S),
            GateView("o", "output gate", _S),
        ),
        ("c", "h"),
        "i = σ(W_i·[x,h] + b_i)\nj = tanh(W_j·[x,h] + b_j)\nf = σ(W_f·[x,h] + b_f + forget_bias)\n"
        "o = σ(W_o·[x,h] + b_o)\nc' = f⊙c + i⊙j\nh' = o⊙tanh(c')",
    ),
    "gru": CellKindView(
        "gru",
        "GRU",
        (
            GateView("r", "reset gate", _S),
            GateView("u", "update gate", _S),
            GateView("c", "candidate", _T),
        ),
        ("h",),
        "r, u = σ(W_g·[x,h] + b_g)\nc = tanh(W_c·[x, r⊙h] + b_c)\nh' = u⊙h + (1-u)⊙c",
    ),
    "basic_rnn": CellKindView("basic_rnn", "basic RNN", (), ("h",), "h' = tanh(W·[x,h] + b)"),
}
_FALLBACK_KINDS["basic_lstm"] = replace(
    _FALLBACK_KINDS["lstm"], name="basic_lstm", label="basic LSTM"
)

# Stand-in op roles: the op types of one call of each TF1 cell, in the order TF creates them
# (Const ops left out), and the role of each. Replaced by CellCall.op_roles.
_TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "lstm": (
        ("ConcatV2", "concat"),
        ("MatMul", "matmul"),
        ("BiasAdd", "bias"),
        ("Split", "split"),
        ("AddV2", "gate:f"),
        ("Sigmoid", "gate:f"),
        ("Mul", "state:c"),
        ("Sigmoid", "gate:i"),
        ("Tanh", "gate:j"),
        ("Mul", "state:c"),
        ("AddV2", "state:c"),
        ("Sigmoid", "gate:o"),
        ("Tanh", "state:h"),
        ("Mul", "state:h"),
    ),
    "gru": (
        ("ConcatV2", "concat"),
        ("MatMul", "matmul"),
        ("BiasAdd", "bias"),
        ("Sigmoid", "gate:r"),
        ("Split", "gate:u"),
        ("Mul", "gate:r"),
        ("ConcatV2", "gate:c"),
        ("MatMul", "gate:c"),
        ("BiasAdd", "gate:c"),
        ("Tanh", "gate:c"),
        ("Mul", "state:h"),
        ("Sub", "state:h"),
        ("Mul", "state:h"),
        ("AddV2", "state:h"),
    ),
    "basic_rnn": (
        ("ConcatV2", "concat"),
        ("MatMul", "matmul"),
        ("BiasAdd", "bias"),
        ("Tanh", "state:h"),
    ),
}
_CELL_SEGMENT = re.compile(r"^[a-z_]*cell(_\d+)?$")
_CONST_OPS = frozenset({"Const"})


def cell_scope(name: str) -> str | None:
    """The scope of the cell call an op belongs to ('.../cell_0/lstm_cell'), if any."""
    parts = name.split("/")
    for i in range(len(parts) - 2, -1, -1):
        if _CELL_SEGMENT.match(parts[i]):
            return "/".join(parts[: i + 1])
    return None


def roles_of_cell(ops: Sequence[tuple[str, str]]) -> tuple[str | None, dict[str, str]]:
    """(cell kind, op name -> role) of the ops of one cell call; (None, {}) when not recognised.
    Constants take the role of the op they feed (left as "const")."""
    body = [(n, o) for n, o in ops if o not in _CONST_OPS]
    types = tuple(o for _, o in body)
    for kind, template in _TEMPLATES.items():
        if types == tuple(t for t, _ in template):
            roles = {n: role for (n, _), (_, role) in zip(body, template, strict=True)}
            roles.update({n: "const" for n, o in ops if o in _CONST_OPS})
            return kind, roles
    return None, {}


@dataclass(frozen=True)
class Facts:
    """The analysis facts one panel's view needs (today read from the report dict)."""

    loops: dict[str, dict[str, Any]] = field(default_factory=dict)  # LoopInfo fields by name
    weights: dict[tuple[int, str], list[dict[str, Any]]] = field(default_factory=dict)
    op_roles: dict[str, str] = field(default_factory=dict)  # CellCall.op_roles, merged
    kinds: dict[str, CellKindView] = field(default_factory=_kinds)

    @classmethod
    def from_report(cls, report: Mapping[str, Any] | None) -> Facts:
        if not report:
            return cls()
        weights: dict[tuple[int, str], list[dict[str, Any]]] = {}
        for v in (report.get("params") or {}).get("variables", ()):
            if v.get("layer") is not None:
                weights.setdefault((v["layer"], v.get("direction") or "fw"), []).append(v)
        roles: dict[str, str] = {}
        for call in (report.get("timesteps") or {}).get("calls", ()) or ():
            roles.update(call.get("op_roles") or {})
        loops = {lp["name"]: dict(lp) for lp in report.get("loops") or ()}
        return cls(loops=loops, weights=weights, op_roles=roles)

    def cell_roles(self, ops: Sequence[tuple[str, str]]) -> tuple[str | None, dict[str, str]]:
        """(kind, roles) of one cell call's ops: the analysis's op_roles first, else the stand-in."""
        known = {n: self.op_roles[n] for n, _ in ops if n in self.op_roles}
        if known:
            return None, known
        return roles_of_cell(ops)
