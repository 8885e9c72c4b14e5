"""The registry of recurrent cell kinds: what each computes and how to recognise one call of it.

One `CellKind` per kind: its gates (key, label, activation) in the column order of its fused
kernel, its state kinds, the equations (hover text), the parameter count as a closed form, and
`recognise(features)`, a test on what one call computes (the weights it reads and the ops it runs,
gathered from the dataflow by `rnnviz.reporting.timesteps`, never from names). Kinds are tried in
registry order, so specific kinds come first and `generic` (weights reused by the same
computation at several steps) last. Adding a kind touches one entry here and its test.

Also here, because they are facts about the kinds: the weight ports of the cell ops (read by
`rnnviz.reporting.weights`) and the gate labels the builder's recording cell uses. No TensorFlow.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Gate:
    key: str  # short key used in op roles ("gate:i") and state records
    label: str
    activation: str  # sigmoid | tanh | ...


@dataclass(frozen=True)
class CallFeatures:
    """What one cell call computes, as the dataflow shows it (see timesteps.call_features).

    `matrices`: (rows, cols) of the rank-2 weights the call multiplies by, in dataflow order;
    `vectors`: rank-1 weights read by element-wise Mul (peepholes); `cell_op`: the op type when
    one op is the whole call (block and fused cells); `splits`: num_split of the call's Splits;
    `mul_port0`: op types feeding port 0 of the call's Muls (TF1's BasicLSTMCell multiplies
    tanh(c) * sigmoid(o), LSTMCell sigmoid(o) * tanh(c)).
    """

    op_types: Counter = field(default_factory=Counter)
    matrices: tuple[tuple[int, int], ...] = ()
    vectors: int = 0
    cell_op: str | None = None
    splits: tuple[int, ...] = ()
    mul_port0: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CellKind:
    name: str
    label: str
    gates: tuple[Gate, ...]  # in the column order of the fused kernel (per matrix, see layouts)
    states: tuple[str, ...]
    equations: str
    params: Callable[..., int]  # params(units, input_size, **options)
    recognise: Callable[[CallFeatures], bool]
    ops: tuple[str, ...] = ()  # op types that are one call of this kind (block / fused cells)
    fused: bool = False  # one op runs every time step
    # (op type, its gate order) where one op of the kind lays its kernel out differently
    op_gates: tuple[tuple[str, tuple[Gate, ...]], ...] = ()

    def gates_of(self, op: str | None = None) -> tuple[Gate, ...]:
        """The gates in the column order of the fused kernel `op` (default: the kind's) reads."""
        return dict(self.op_gates).get(op or "", self.gates)


def _g(key: str, label: str, act: str = "sigmoid") -> Gate:
    return Gate(key, label, act)


IN, FG, OUT = _g("i", "input gate"), _g("f", "forget gate"), _g("o", "output gate")
J = _g("j", "candidate", "tanh")
R, U = _g("r", "reset gate"), _g("u", "update gate")
# Keys are shared by every kind (the candidate is j in an LSTM, c in a GRU), so that a gate key
# never collides with a state key (h, c of an LSTM).
C_GRU = _g("c", "candidate", "tanh")
LSTM_GATES = (IN, J, FG, OUT)  # TF1 LSTMCell / BasicLSTMCell / LSTMBlockCell / BlockLSTM (ICFO)
KERAS_LSTM_GATES = (IN, FG, J, OUT)  # also BlockLSTMV2 and cuDNN (IFCO)
GRU_GATES = (R, U, C_GRU)
KERAS_GRU_GATES = (U, R, C_GRU)  # tf-keras calls them z, r, h; the keys are shared by all kinds


def _lstm_params(units: int, input_size: int, **o: int | bool | None) -> int:
    proj = o.get("num_proj") or None
    h = int(proj) if proj else units
    n = 4 * units * (input_size + h) + 4 * units
    if o.get("use_peepholes"):
        n += 3 * units
    if proj:
        n += units * h
    return n


def _rnn_params(units: int, input_size: int, **_: object) -> int:
    return units * (input_size + units) + units


def _gru_params(units: int, input_size: int, **_: object) -> int:
    return 3 * units * (input_size + units) + 3 * units


def _keras_gru_params(units: int, input_size: int, **o: object) -> int:
    biases = 2 if o.get("reset_after", True) else 1
    return 3 * units * (input_size + units) + biases * 3 * units


def _cudnn_params(units: int, input_size: int, **o: object) -> int:
    gates = {"lstm": 4, "gru": 3}.get(str(o.get("rnn_mode", "lstm")), 1)
    dirs = 2 if o.get("direction") == "bidirectional" else 1
    layers = int(o.get("num_layers", 1))  # type: ignore[arg-type]
    n = 0
    for layer in range(layers):
        width = input_size if layer == 0 else units * dirs
        n += dirs * gates * (units * width + units * units + 2 * units)
    return n


def _generic_params(units: int, input_size: int, **o: object) -> int:
    """Unknown kind: the sizes of the weights its calls read (`shapes=[...]`)."""
    total = 0
    for shape in o.get("shapes", ()):  # type: ignore[union-attr]
        n = 1
        for d in shape:
            n *= d
        total += n
    return total


def _two_matrices(f: CallFeatures, ratio: int) -> bool:
    """tf-keras: a kernel on x and a recurrent kernel on h, both with `ratio * units` columns."""
    if len(f.matrices) != 2 or f.cell_op or not f.op_types["BiasAdd"]:
        return False
    (_, c1), (r2, c2) = f.matrices
    return c1 == c2 == ratio * r2


def _lstm_like(f: CallFeatures) -> bool:
    return (
        not f.cell_op and bool(f.matrices) and 4 in f.splits and f.matrices[0][1] % 4 == 0
    ) and not _two_matrices(f, 4)


def _is_lstm(f: CallFeatures) -> bool:
    options = f.vectors or len(f.matrices) > 1 or f.op_types["ClipByValue"] or f.op_types["Minimum"]
    return _lstm_like(f) and bool(options or "Tanh" not in f.mul_port0)


def _is_gru(f: CallFeatures) -> bool:
    if len(f.matrices) != 2 or f.cell_op:
        return False
    (r1, c1), (r2, c2) = f.matrices
    return r1 == r2 and c1 == 2 * c2


def _is_basic_rnn(f: CallFeatures) -> bool:
    single = len(f.matrices) == 1 and not f.cell_op and not f.splits
    return single and not f.op_types["Sigmoid"] and bool(f.op_types["BiasAdd"])


def _op_is(*ops: str) -> Callable[[CallFeatures], bool]:
    return lambda f: f.cell_op in ops


CELL_KINDS: dict[str, CellKind] = {
    k.name: k
    for k in (
        CellKind(
            "lstm_block", "LSTMBlockCell op", LSTM_GATES, ("c", "h"),
            "i,ci,f,o = W[x,h]+b; c = sig(f+forget_bias)*c' + sig(i)*tanh(ci); h = sig(o)*tanh(c)",
            _lstm_params, _op_is("LSTMBlockCell"), ops=("LSTMBlockCell",),
        ),
        CellKind(
            "gru_block", "GRUBlockCell op", GRU_GATES, ("h",),
            "r,u = sig(W_ru[x,h]+b_ru); c = tanh(W_c[x,r*h]+b_c); h = u*h' + (1-u)*c",
            _gru_params, _op_is("GRUBlockCell"), ops=("GRUBlockCell",),
        ),
        CellKind(
            "block_lstm", "fused BlockLSTM op (all steps)", LSTM_GATES, ("c", "h"),
            "one op runs every step of: c = sig(f)*c' + sig(i)*tanh(ci); h = sig(o)*tanh(c)",
            _lstm_params, _op_is("BlockLSTM", "BlockLSTMV2"), ops=("BlockLSTM", "BlockLSTMV2"),
            fused=True, op_gates=(("BlockLSTMV2", KERAS_LSTM_GATES),),  # V2: IFCO, as cuDNN
        ),
        CellKind(
            "cudnn", "fused CudnnRNN op (all steps)", KERAS_LSTM_GATES, ("c", "h"),
            "one op runs every step and layer of a cuDNN RNN (mode in the op's rnn_mode)",
            _cudnn_params, _op_is("CudnnRNN", "CudnnRNNV2", "CudnnRNNV3"),
            ops=("CudnnRNN", "CudnnRNNV2", "CudnnRNNV3"), fused=True,
        ),
        CellKind(
            "keras_simple_rnn", "tf-keras SimpleRNN cell", (), ("h",),
            "h = act(x W + h' U + b)", _rnn_params, lambda f: _two_matrices(f, 1),
        ),
        CellKind(
            "keras_lstm", "tf-keras LSTM cell", KERAS_LSTM_GATES, ("c", "h"),
            "i,f,c~,o = x W + h' U + b; c = sig(f)*c' + sig(i)*tanh(c~); h = sig(o)*tanh(c)",
            lambda u, n, **o: 4 * u * (n + u) + 4 * u, lambda f: _two_matrices(f, 4),
        ),
        CellKind(
            "keras_gru", "tf-keras GRU cell", KERAS_GRU_GATES, ("h",),
            "z,r = sig(x W + h' U + b); h~ = tanh(x W_h + r*(h' U_h)); h = z*h' + (1-z)*h~",
            _keras_gru_params, lambda f: _two_matrices(f, 3),
        ),
        CellKind(
            "gru", "GRUCell", GRU_GATES, ("h",),
            "r,u = sig(W_g[x,h]+b_g); c = tanh(W_c[x,r*h]+b_c); h = u*h' + (1-u)*c",
            _gru_params, _is_gru,
        ),
        CellKind(
            "lstm", "LSTMCell (peepholes, projection, clipping)", LSTM_GATES, ("c", "h"),
            "i,j,f,o = W[x,m']+b; c = sig(f+fb+w_f*c')*c' + sig(i+w_i*c')*tanh(j) [clip]; "
            "m = sig(o+w_o*c)*tanh(c) [m = P m, clip]",
            _lstm_params, _is_lstm,
        ),
        CellKind(
            "basic_lstm", "BasicLSTMCell", LSTM_GATES, ("c", "h"),
            "i,j,f,o = W[x,h']+b; c = c'*sig(f+forget_bias) + sig(i)*tanh(j); h = tanh(c)*sig(o)",
            _lstm_params, _lstm_like,
        ),
        CellKind(
            "basic_rnn", "BasicRNNCell", (), ("h",), "h = tanh(W[x,h'] + b)",
            _rnn_params, _is_basic_rnn,
        ),
        CellKind(
            "generic", "recurrent cell of unknown kind", (), ("h",),
            "weights reused by the same computation at several steps",
            _generic_params, lambda f: True,
        ),
    )
}  # fmt: skip

# Cell ops: input ports that carry weights (LSTMBlockCell: x, cs_prev, h_prev, w, wci, wcf, wco,
# b; GRUBlockCell: x, h_prev, w_ru, w_c, b_ru, b_c; BlockLSTM: seq_len_max, x, cs_prev, h_prev,
# w, wci, wcf, wco, b; CudnnRNN: input, input_h, input_c, params).
OP_WEIGHT_PORTS: dict[str, tuple[int, ...]] = {
    "LSTMBlockCell": (3, 4, 5, 6, 7),
    "GRUBlockCell": (2, 3, 4, 5),
    "BlockLSTM": (4, 5, 6, 7, 8),
    "BlockLSTMV2": (4, 5, 6, 7, 8),
    "CudnnRNN": (3,),
    "CudnnRNNV2": (3,),
    "CudnnRNNV3": (3,),
}
PEEPHOLE_PORTS: dict[str, tuple[int, ...]] = {
    "LSTMBlockCell": (4, 5, 6),
    "BlockLSTM": (5, 6, 7),
    "BlockLSTMV2": (5, 6, 7),
}
# Cell ops: output port of each per-step state and gate (LSTMBlockCell: i, cs, f, o, ci, co, h;
# GRUBlockCell: r, u, c, h).
OP_STATE_PORTS: dict[str, dict[str, int]] = {
    "LSTMBlockCell": {"h": 6, "c": 1, "i": 0, "j": 4, "f": 2, "o": 3},
    "GRUBlockCell": {"h": 3, "r": 0, "u": 1},
}
# The weight role of each cell-op port (the rest: kernel or bias by rank).
OP_PORT_ROLES: dict[str, dict[int, str]] = {
    op: {p: "peephole" for p in ports} for op, ports in PEEPHOLE_PORTS.items()
}
# Ops that are the whole call of a kind (block and fused cells).
CELL_OPS: dict[str, str] = {op: k.name for k in CELL_KINDS.values() for op in k.ops}
FUSED_OPS = frozenset(op for k in CELL_KINDS.values() if k.fused for op in k.ops)

GATE_LABELS: dict[str, str] = {
    **{g.key: g.label for k in CELL_KINDS.values() for g in k.gates if g.key not in ("h", "c")},
    "h": "output h",
    "c": "cell state c",
}


def recognise(features: CallFeatures) -> CellKind:
    """The first kind (registry order) whose test accepts the call; `generic` accepts any."""
    return next(k for k in CELL_KINDS.values() if k.recognise(features))


def gate_slices(
    kind: str, matrix: int, cols: int, op: str | None = None
) -> tuple[tuple[str, int, int], ...]:
    """(gate key, first column, stop) of the `matrix`-th weight of a call of `kind` (run by the
    cell op `op`, when one op is the call: BlockLSTM and BlockLSTMV2 order their gates apart).

    Fused kernels hold the gates side by side in the kind's column order; TF1's GRU keeps r,u in
    its first matrix and the candidate in the second.
    """
    gates = CELL_KINDS[kind].gates_of(op) if kind in CELL_KINDS else ()
    if kind in ("gru", "gru_block"):
        gates = gates[:2] if matrix == 0 else gates[2:]
    elif kind in ("lstm", "basic_lstm") and matrix > 0:
        return ()  # the projection
    if not gates or cols % len(gates):
        return ()
    u = cols // len(gates)
    return tuple((g.key, k * u, (k + 1) * u) for k, g in enumerate(gates))


__all__ = [
    "CELL_KINDS",
    "CELL_OPS",
    "FUSED_OPS",
    "GATE_LABELS",
    "OP_STATE_PORTS",
    "OP_WEIGHT_PORTS",
    "PEEPHOLE_PORTS",
    "CallFeatures",
    "CellKind",
    "Gate",
    "gate_slices",
    "recognise",
]
