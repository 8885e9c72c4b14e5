"""What the structure view reads from the analysis: cell kinds, op roles, weights, loops.

What it is for: the one place where the view meets the analysis's facts. The partition carries
them as plain data (each step block's cell kind and op roles from `CellCall.op_roles`, each loop's
`LoopInfo` facts and its body's cell calls, the weights per cell: it is cached as JSON); the gate
names, activations, states and equations come from the registry `rnnviz.cellkinds.CELL_KINDS`.
The view code reads `Facts`, `CellFacts` and the `CellKindView`s below.

What it is not: a classifier. An op the analysis gave no role is drawn as a plain op.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from rnnviz.cellkinds import CELL_KINDS


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
    """The registry's cell kinds as the view draws them."""
    return {
        name: CellKindView(
            name,
            k.label,
            tuple(GateView(g.key, g.label, g.activation) for g in k.gates),
            tuple(k.states),
            k.equations,
        )
        for name, k in CELL_KINDS.items()
    }


class CellFacts(NamedTuple):
    """One cell call drawn inside a block: where it sits, its kind and its ops' roles."""

    layer: int | None
    direction: str
    kind: CellKindView
    roles: dict[str, str]  # op name (as the block lists it) -> gate:i | state:c | matmul | ...


@dataclass(frozen=True)
class Facts:
    """The analysis facts one panel's view needs, read from its partition."""

    loops: dict[str, dict[str, Any]] = field(default_factory=dict)  # LoopInfo fields by name
    weights: dict[tuple[int, str], list[dict[str, Any]]] = field(default_factory=dict)
    kinds: dict[str, CellKindView] = field(default_factory=_kinds)

    @classmethod
    def of(cls, part: Any) -> Facts:
        weights = {}
        for row, ws in part.weights.items():
            layer, _, direction = row.removeprefix("L").partition("/")
            weights[(int(layer), direction)] = ws
        return cls(loops=part.loop_facts, weights=weights)

    def cells_in(self, part: Any, fines: Sequence[str]) -> list[CellFacts]:
        """The cell calls of blocks `fines` (what one drawn block stands for), in order."""
        out = []
        for fine in fines:
            block = part.blocks[fine]
            if block.kind == "step":
                tid = part.step_cells.get(fine, part.step_cells.get(fine.rsplit("/", 1)[0]))
                if tid is None:
                    continue
                kind, template = part.templates[tid]
                ops = part.block_ops(fine)[0]
                roles = {ops[p][0]: r for p, r in template if p < len(ops)}
                calls = [(block.layer, block.direction or "fw", kind, roles)]
            elif block.kind == "loop":
                loop = self.loops.get(fine.removeprefix("loop/")) or {}
                calls = [
                    (c["layer"], c["direction"], c["kind"], c["roles"])
                    for c in loop.get("cells", ())
                ]
            else:
                continue
            out += [
                CellFacts(layer, direction, self.kinds[kind], dict(roles))
                for layer, direction, kind, roles in calls
                if kind in self.kinds
            ]
        return out
