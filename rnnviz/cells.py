"""Cells from a `LayerSpec`, and the recording wrapper that notes every per-step tensor a call creates.

`RecordingCell` is a plain object that behaves like an RNNCell (output_size, state_size, zero_state,
__call__) without opening a variable scope, so variable names are the same with and without it and
a checkpoint of a static build restores into a dynamic one. After each call it reads the tensors
the wrapped cell just created from the graph's structure (the backward cone from the new state to
the call's inputs): the new h and c, and the gate activations found after the cell's gate `Split`.
No op names are guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rnnviz.spec import LayerSpec
from rnnviz.tfcompat import tf, v1

rnn_cell = v1.nn.rnn_cell

# Gate names in the order TF's cells split their gate matrix.
LSTM_GATES = ("i", "j", "f", "o")  # input gate, candidate (new input), forget gate, output gate
GRU_GATES = ("r", "u")  # reset gate, update gate
_ACTIVATIONS = {"Sigmoid", "Tanh", "Relu", "Softsign"}
_PASS_THROUGH = {
    "Add",
    "AddV2",
}  # forget_bias and peephole terms sit between a gate and its sigmoid
_CONE_LIMIT = 2000  # a cell call creates tens of ops; this only guards against a runaway walk


def make_cell(layer: LayerSpec, name: str | None = None, dtype: Any = None) -> Any:
    """The TF1 cell a layer spec describes (no dropout: see `wrap_dropout`)."""
    kind = layer.cell
    if kind == "basic_rnn":
        return rnn_cell.BasicRNNCell(layer.units, name=name, dtype=dtype)
    if kind == "basic_lstm":
        return rnn_cell.BasicLSTMCell(
            layer.units, forget_bias=layer.forget_bias, state_is_tuple=True, name=name, dtype=dtype
        )
    if kind == "lstm":
        return rnn_cell.LSTMCell(
            layer.units,
            use_peepholes=layer.use_peepholes,
            cell_clip=layer.cell_clip,
            num_proj=layer.num_proj,
            proj_clip=layer.proj_clip,
            forget_bias=layer.forget_bias,
            state_is_tuple=True,
            name=name,
            dtype=dtype,
        )
    if kind == "gru":
        return rnn_cell.GRUCell(layer.units, name=name, dtype=dtype)
    raise ValueError(f"unknown cell kind {kind!r}")  # unreachable: specs are validated


def wrap_dropout(cell: Any, layer: LayerSpec, training: tf.Tensor) -> Any:
    """DropoutWrapper with the spec's keep probabilities while `training` is true, 1.0 otherwise."""
    if not layer.has_dropout:
        return cell

    def keep(p: float) -> tf.Tensor | float:
        if p >= 1.0:
            return 1.0
        # keep = p when training, 1 when not; a tensor so one graph serves both.
        return 1.0 - (1.0 - p) * tf.cast(training, tf.float32)

    return rnn_cell.DropoutWrapper(
        cell,
        input_keep_prob=keep(layer.input_keep_prob),
        output_keep_prob=keep(layer.output_keep_prob),
    )


@dataclass(frozen=True)
class CallRecord:
    """What one call of a cell created: tensors by kind (h, c, gates)."""

    index: int
    tensors: dict[str, tf.Tensor]


class RecordingCell:
    """Wraps a cell; after each call records its per-step tensors (only in the build graph).

    `on_call(record)` is invoked after every call made in `graph` itself; calls made inside a
    function body (control flow v2) or a v1 while/cond context cannot be fetched and are not
    recorded (their call index still advances, so steps stay aligned).
    """

    def __init__(self, cell: Any, graph: tf.Graph, on_call: Callable[[CallRecord], None]):
        self.cell = cell
        self._graph = graph
        self._on_call = on_call
        self._calls = 0

    # --- the RNNCell protocol, delegated -----------------------------------------------------
    @property
    def state_size(self) -> Any:
        return self.cell.state_size

    @property
    def output_size(self) -> Any:
        return self.cell.output_size

    def zero_state(self, batch_size: Any, dtype: Any) -> Any:
        return self.cell.zero_state(batch_size, dtype)

    def get_initial_state(
        self, inputs: Any = None, batch_size: Any = None, dtype: Any = None
    ) -> Any:
        return self.cell.get_initial_state(inputs=inputs, batch_size=batch_size, dtype=dtype)

    def __call__(self, inputs: tf.Tensor, state: Any, scope: Any = None) -> tuple[Any, Any]:
        output, new_state = self.cell(inputs, state, scope=scope)
        if v1.get_default_graph() is self._graph and not _in_control_flow(output):
            stops = {t.ref() for t in tf.nest.flatten(state)} | {inputs.ref()}
            tensors = _per_step_tensors(output, new_state, stops)
            self._on_call(CallRecord(self._calls, tensors))
        self._calls += 1
        return output, new_state


def _in_control_flow(tensor: tf.Tensor) -> bool:
    # TF marks ops inside a v1 while frame *or* cond (static_rnn with sequence_length runs every
    # step's cell in a cond) as not fetchable, so they are no per-step states a user can see.
    return tensor.op._get_control_flow_context() is not None


def _backward_cone(outputs: list[tf.Tensor], stops: set[Any]) -> set[tf.Operation]:
    """Ops reachable backwards from `outputs` without crossing the call's inputs/state."""
    seen: set[tf.Operation] = set()
    todo = [t for t in outputs if t.ref() not in stops]
    while todo and len(seen) < _CONE_LIMIT:
        tensor = todo.pop()
        op = tensor.op
        if op in seen:
            continue
        seen.add(op)
        todo.extend(t for t in op.inputs if t.ref() not in stops)
    return seen


def _activation_after(tensor: tf.Tensor, cone: set[tf.Operation]) -> tf.Tensor | None:
    """The first activation (sigmoid/tanh/...) a gate's pre-activation flows into, within the cell."""
    frontier = [tensor]
    for _ in range(4):  # gate -> [+ forget_bias] [+ peephole] -> activation
        nxt = []
        for t in frontier:
            for consumer in t.consumers():
                if consumer not in cone:
                    continue
                if consumer.type in _ACTIVATIONS:
                    return consumer.outputs[0]
                if consumer.type in _PASS_THROUGH:
                    nxt.append(consumer.outputs[0])
        frontier = nxt
    return None


def _per_step_tensors(output: tf.Tensor, new_state: Any, stops: set[Any]) -> dict[str, tf.Tensor]:
    tensors: dict[str, tf.Tensor] = {"h": output}
    state_parts = tf.nest.flatten(new_state)
    if isinstance(new_state, rnn_cell.LSTMStateTuple):
        tensors["c"] = new_state.c
    cone = _backward_cone([output, *state_parts], stops)
    splits = [op for op in cone if op.type == "Split"]
    for split in splits:
        n = len(split.outputs)
        if n == 4 and "c" in tensors:  # LSTM: i, j, f, o pre-activations
            for gate, pre in zip(LSTM_GATES, split.outputs, strict=True):
                act = _activation_after(pre, cone)
                if act is not None:
                    tensors[gate] = act
        elif n == 2 and split.inputs[1].op.type == "Sigmoid":  # GRU: split(sigmoid(x)) = r, u
            for gate, value in zip(GRU_GATES, split.outputs, strict=True):
                tensors[gate] = value
    return tensors
