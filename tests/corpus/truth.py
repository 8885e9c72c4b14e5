"""What each corpus graph really is, computed from the sizes it was built with (no TensorFlow).

A `Truth` holds the facts the report must find: parameter count, cells (layer, direction, kind,
form), loops (depth, parent, trip count) and the MatMul FLOPs of one sequence at batch 1. The
formulas below are the textbook ones for each cell kind, written once; the corpus builder checks
the parameter formula against the variables TensorFlow actually created, so a wrong formula stops
the build instead of passing silently. Not here: building graphs (`builders/`) or comparing a
report with a truth (`checks.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

# Gate blocks per cell kind: how many [input+state, units] weight blocks one step multiplies.
GATES = {
    "basic_rnn": 1,
    "basic_lstm": 4,
    "lstm": 4,
    "gru": 3,
    "lstm_block": 4,
    "gru_block": 3,
    "block_lstm": 4,
    "cudnn": 4,  # CudnnRNN in LSTM mode
    "cudnn_gru": 3,  # CudnnRNN in GRU mode (tf.compat.v1.keras' CuDNNGRU)
    "keras_simple_rnn": 1,
    "keras_lstm": 4,
    "keras_gru": 3,
    "generic": 1,
    "conv_lstm": 4,
}
# Kinds the report cannot name: it must call them "generic" (weights reused step after step).
REPORT_KIND = {"conv_lstm": "generic", "cudnn_gru": "cudnn"}
# Kinds whose whole step (or every step) is one op: their MatMuls are inside that op.
FUSED_OPS = frozenset(
    {
        "LSTMBlockCell",
        "GRUBlockCell",
        "BlockLSTM",
        "BlockLSTMV2",
        "CudnnRNN",
        "CudnnRNNV2",
        "CudnnRNNV3",
    }
)
MATMUL_OPS = frozenset({"MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3"})
# Generous bound on the element-wise work a fused op adds per unit and step (bias, gates, state
# update, peepholes: about 20 for an LSTM); the report's count of a fused op must lie between its
# MatMuls and the MatMuls plus this.
FUSED_ELEMENTWISE_PER_UNIT = 40


@dataclass(frozen=True)
class CellSize:
    """One recurrent cell (a layer in one direction) and the sizes it was built with."""

    kind: str
    inputs: int
    units: int
    layer: int = 0
    direction: str = "fw"
    form: str = "unrolled"  # unrolled | loop | fused
    steps: int = 0  # time steps this cell runs per sequence
    peepholes: bool = False
    proj: int = 0  # LSTMCell num_proj (0: none)
    kernel: int = 0  # conv_lstm: square kernel size (inputs / units are channels / filters)
    side: int = 0  # conv_lstm: square input image side

    @property
    def report_kind(self) -> str:
        return REPORT_KIND.get(self.kind, self.kind)

    @property
    def state(self) -> int:
        """Width of the recurrent output fed back into the next step."""
        return self.proj or self.units

    def params(self) -> int:
        i, u, g = self.inputs, self.units, GATES[self.kind]
        if self.kind.startswith("keras_"):
            biases = 2 * g * u if self.kind == "keras_gru" else g * u  # GRU reset_after: 2 biases
            return i * g * u + u * g * u + biases
        if self.kind in ("cudnn", "cudnn_gru"):
            return g * (i * u + u * u) + 2 * g * u  # cuDNN keeps an input and a recurrent bias
        if self.kind == "generic":  # the corpus' generic cell: h + tanh([x, h] W + b)
            return (i + u) * u + u
        if self.kind == "conv_lstm":
            return self.kernel * self.kernel * (i + u) * g * u + g * u
        peep = 3 * u if self.peepholes or self.kind in ("lstm_block", "block_lstm") else 0
        return (i + self.state) * g * u + g * u + peep + u * self.proj

    def unsized_in_function(self) -> tuple[int, ...]:
        """Sizes of the weights a tf.function graph leaves unsized for good: ConvLSTM's input and
        recurrent kernels are convolved with SAME padding, so no tensor's shape depends on their
        height and width (the file stores captured variables without shapes)."""
        if self.kind != "conv_lstm":
            return ()
        k, i, u, g = self.kernel, self.inputs, self.units, GATES[self.kind]
        return (k * k * i * g * u, k * k * u * g * u)

    def matmul_flops_per_step(self) -> int:
        """2*m*k*n with m = 1 (batch 1), over every weight block one step multiplies."""
        i, u, g = self.inputs, self.units, GATES[self.kind]
        if self.kind == "conv_lstm":
            return 0  # its weights are convolved (Conv2D), never multiplied by a MatMul
        return 2 * (i + self.state) * g * u + 2 * u * self.proj

    def matmul_flops(self) -> int:
        return self.steps * self.matmul_flops_per_step()


@dataclass(frozen=True)
class LoopTruth:
    """A forward loop: its nesting depth, the index of its parent loop, and its trip count."""

    depth: int = 0
    parent: int | None = None  # index into Truth.loops
    trip_count: int | None = None  # None: the graph does not fix it (then Entry.steps gives it)


@dataclass(frozen=True)
class Truth:
    """Everything a report of one corpus graph must say, derived from the sizes it was built with."""

    cells: tuple[CellSize, ...] = ()
    loops: tuple[LoopTruth, ...] = ()
    extra_params: int = 0  # weights outside the cells: heads, embeddings, attention
    extra_matmul_flops: int = 0  # MatMuls outside the cells: heads, attention
    inner_steps: int = 1  # a cell inside a nested loop runs steps * inner_steps times
    # The live graph holds gradients and an optimizer: one gradient loop per forward loop.
    trained: bool = False
    # The live file is a tf.function graph whose captured weights have no shape: those that no
    # use fixes either cannot be counted there (the frozen twin has them as constants).
    live_unsized: bool = False

    @property
    def unsized(self) -> tuple[int, ...]:
        if not self.live_unsized:
            return ()
        return tuple(n for c in self.cells for n in c.unsized_in_function())

    @property
    def params(self) -> int:
        return sum(c.params() for c in self.cells) + self.extra_params

    @property
    def recurrent(self) -> bool:
        return bool(self.cells)

    @property
    def forms(self) -> tuple[str, ...]:
        return tuple(sorted({c.form for c in self.cells}))

    @property
    def unrolled_steps(self) -> int:
        return max((c.steps for c in self.cells if c.form == "unrolled"), default=0)

    @property
    def directions(self) -> tuple[str, ...]:
        return tuple(sorted({c.direction for c in self.cells}))

    @property
    def matmul_flops(self) -> int:
        """MatMul FLOPs per sequence of ops that are MatMuls (not inside a fused op)."""
        cells = sum(c.matmul_flops() for c in self.cells if c.kind not in _FUSED_KINDS)
        return cells * self.inner_steps + self.extra_matmul_flops

    @property
    def fused_matmul_flops(self) -> int:
        """MatMul FLOPs per sequence done inside fused cell ops (LSTMBlockCell, BlockLSTM, ...)."""
        return sum(c.matmul_flops() for c in self.cells if c.kind in _FUSED_KINDS)

    @property
    def fused_elementwise_bound(self) -> int:
        return sum(
            FUSED_ELEMENTWISE_PER_UNIT * c.units * c.steps
            for c in self.cells
            if c.kind in _FUSED_KINDS
        )


_FUSED_KINDS = frozenset({"lstm_block", "gru_block", "block_lstm", "cudnn", "cudnn_gru"})


def dense(inputs: int, outputs: int, bias: bool = True) -> tuple[int, int]:
    """(params, MatMul FLOPs at batch 1) of a dense layer."""
    return inputs * outputs + (outputs if bias else 0), 2 * inputs * outputs
