"""One entry point from a `ModelSpec` to a TensorFlow graph: `build(spec) -> BuiltModel`.

Every build happens in its own `tf.Graph`. The graph is the full training graph of the source
experiments: input placeholders, the recurrent part (static_rnn / dynamic_rnn / bidirectional /
stacked bidirectional, as the spec says), a dense head on the last *valid* step's output, softmax
cross-entropy, Adam, a Saver. Static builds also return a record of every per-step tensor the cells
created (h, c and gate activations per layer, direction and time step).
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnviz.cells import CallRecord, RecordingCell, make_cell, wrap_dropout
from rnnviz.errors import SequenceLengthError
from rnnviz.recipes import GRAPH_LEARNING_RATE
from rnnviz.reporting.graph import time_step
from rnnviz.spec import ModelSpec
from rnnviz.stacked import stack_bidirectional_dynamic_rnn, stack_bidirectional_rnn
from rnnviz.tfcompat import control_flow, tf, v1

RNN_SCOPE = "rnn"  # static_rnn's and dynamic_rnn's default; kept so names match the seeds


@dataclass(frozen=True)
class StepTensor:
    """One fetchable per-step tensor of a static build."""

    layer: int
    direction: str  # "fw" or "bw"
    step: int  # time index in the input sequence (bw cells run backwards: call k is step T-1-k)
    kind: str  # "h", "c", or a gate: "i", "j", "f", "o" (LSTM), "r", "u" (GRU)
    name: str  # tensor name in the graph
    shape: tuple[int | None, ...]


@dataclass
class BuiltModel:
    """A built graph and the handles a trainer, a probe or a report needs."""

    spec: ModelSpec
    graph: tf.Graph
    inputs: tf.Tensor  # float [batch, T, F], or [T, batch, F] when time_major
    labels: tf.Tensor  # int64 [batch]
    sequence_length: tf.Tensor | None  # int32 [batch] when spec.variable_length
    training: tf.Tensor  # bool, default False: turns dropout on
    outputs: tf.Tensor  # top layer's outputs, stacked in the spec's major order
    final_state: tuple[Any, ...]  # per layer; (fw_states, bw_states) when bidirectional
    last_output: (
        tf.Tensor
    )  # [batch, out]: the top layer's output at each sequence's last valid step
    logits: tf.Tensor
    predictions: tf.Tensor
    loss: tf.Tensor | None
    accuracy: tf.Tensor
    train_op: tf.Operation | None
    global_step: tf.Variable | None
    init_op: tf.Operation
    saver: v1.train.Saver
    step_tensors: tuple[StepTensor, ...] = ()
    step_outputs: tuple[tf.Tensor, ...] = ()  # static builds: the T output tensors of static_rnn
    build_seconds: float = 0.0
    _graph_def_cache: tuple[int, Any] | None = field(default=None, init=False, repr=False)

    @property
    def time_steps(self) -> int | None:
        return self.spec.time_steps

    def graph_def(self) -> Any:
        """The graph's GraphDef, serialised once per graph version (treat it as read-only).

        A static graph at long T takes seconds to serialise, and the report, the structure view
        and `rnnviz build` all ask for it; a new op in the graph bumps `graph.version`.
        """
        version = self.graph.version
        if self._graph_def_cache is None or self._graph_def_cache[0] != version:
            self._graph_def_cache = (version, self.graph.as_graph_def())
        return self._graph_def_cache[1]

    def session(self, intra_op: int = 0, inter_op: int = 0) -> v1.Session:
        """A new session on this graph (the caller closes it); variables are not initialised.

        Thread counts of 0 let TF choose; a trainer pins them for reproducible timings.
        """
        conf = v1.ConfigProto(
            intra_op_parallelism_threads=intra_op, inter_op_parallelism_threads=inter_op
        )
        return v1.Session(graph=self.graph, config=conf)

    def feed(
        self,
        x: np.ndarray,
        y: np.ndarray | None = None,
        lengths: np.ndarray | None = None,
        training: bool = False,
    ) -> dict[tf.Tensor, Any]:
        """A feed dict, checking that x fits the graph (a static graph takes only its own T)."""
        x = np.asarray(x)
        spec = self.spec
        if x.ndim != 3:
            raise SequenceLengthError(
                f"input must be 3-D ({'time, batch' if spec.time_major else 'batch, time'}, "
                f"features), got shape {x.shape}"
            )
        t_axis = 0 if spec.time_major else 1
        if x.shape[2] != spec.input_size:
            raise SequenceLengthError(
                f"model {spec.name!r} takes {spec.input_size} features per step, got {x.shape[2]}"
            )
        if spec.is_static and x.shape[t_axis] != spec.time_steps:
            raise SequenceLengthError(
                f"model {spec.name!r} is a static graph built for {spec.time_steps} time steps and "
                f"was fed {x.shape[t_axis]}; static graphs are built for a fixed length: rebuild with "
                f"--steps {x.shape[t_axis]} or use unroll = 'dynamic'"
            )
        feed: dict[tf.Tensor, Any] = {self.inputs: x}
        if y is not None:
            feed[self.labels] = np.asarray(y, dtype=np.int64)
        if self.sequence_length is not None:
            batch = x.shape[1] if spec.time_major else x.shape[0]
            feed[self.sequence_length] = (
                np.full(batch, x.shape[t_axis], np.int32)
                if lengths is None
                else np.asarray(lengths, np.int32)
            )
        if training:
            feed[self.training] = True
        return feed


def build(
    spec: ModelSpec,
    steps: int | None = None,
    *,
    dtype: Any = tf.float32,
    seed: int = 0,
    with_train_op: bool = True,
) -> BuiltModel:
    """Build the spec's graph in a new `tf.Graph`. `steps` overrides the spec's time steps.

    The same spec and seed give the same initial weights; the static and dynamic builds of a spec
    share variable names, so a checkpoint of one restores into the other.
    """
    if steps is not None:
        spec = spec.with_steps(steps)
    started = time.perf_counter()
    graph = tf.Graph()
    with graph.as_default(), control_flow(spec.control_flow), _python_random_seeded(seed):
        v1.set_random_seed(seed)
        model = _build_in_graph(spec, graph, tf.as_dtype(dtype), with_train_op)
    model.build_seconds = time.perf_counter() - started
    return model


@contextlib.contextmanager
def _python_random_seeded(seed: int) -> Iterator[None]:
    """Seed Python's `random` for the build and restore it after.

    The graph seed alone does not fix the initial weights: tf-keras' unseeded initializers (the
    TF1 cells' kernels) draw their op seeds from Python's global `random`.
    """
    saved = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(saved)


# ------------------------------------------------------------------------------------------------
def _build_in_graph(
    spec: ModelSpec, graph: tf.Graph, dtype: Any, with_train_op: bool
) -> BuiltModel:
    t = spec.time_steps if spec.is_static else None
    with tf.name_scope("inputs"):
        shape = [t, None, spec.input_size] if spec.time_major else [None, t, spec.input_size]
        inputs = v1.placeholder(dtype, shape, name="x")
        labels = v1.placeholder(tf.int64, [None], name="labels")
        seq_len = (
            v1.placeholder(tf.int32, [None], name="sequence_length")
            if spec.variable_length
            else None
        )
        training = v1.placeholder_with_default(False, [], name="training")

    recorder = _Recorder(spec)
    cells = {
        d: [
            _layer_cell(spec, i, d, graph, recorder, training, dtype)
            for i in range(len(spec.layers))
        ]
        for d in spec.directions
    }
    if spec.is_static:
        outputs, final_state, step_outputs = _static_rnn(spec, cells, inputs, seq_len, dtype)
    else:
        outputs, final_state = _dynamic_rnn(spec, cells, inputs, seq_len, dtype)
        step_outputs = ()

    with tf.name_scope("last_valid_step"):
        batch_major = tf.transpose(outputs, [1, 0, 2]) if spec.time_major else outputs
        if seq_len is None:
            last_output = batch_major[:, -1, :]
        else:
            idx = tf.stack([tf.range(tf.shape(batch_major)[0]), seq_len - 1], axis=1)
            last_output = tf.gather_nd(batch_major, idx)

    out_size = spec.layers[-1].output_size * len(spec.directions)
    with v1.variable_scope("head"):
        w = v1.get_variable("weights", [out_size, spec.num_classes], dtype=dtype)
        b = v1.get_variable(
            "bias", [spec.num_classes], dtype=dtype, initializer=v1.zeros_initializer()
        )
        logits = tf.nn.bias_add(tf.matmul(last_output, w), b, name="logits")
    with tf.name_scope("metrics"):
        predictions = tf.argmax(logits, 1, name="predictions")
        accuracy = tf.reduce_mean(
            tf.cast(tf.equal(predictions, labels), tf.float32), name="accuracy"
        )

    loss = train_op = global_step = None
    if with_train_op:
        with tf.name_scope("loss"):
            xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
            loss = tf.reduce_mean(xent, name="loss")
        global_step = v1.train.get_or_create_global_step()
        rate = GRAPH_LEARNING_RATE if spec.learning_rate is None else spec.learning_rate
        optimizer = v1.train.AdamOptimizer(rate)
        train_op = optimizer.minimize(loss, global_step=global_step, name="train")
    init_op = v1.global_variables_initializer()
    saver = v1.train.Saver(max_to_keep=3)

    return BuiltModel(
        spec=spec,
        graph=graph,
        inputs=inputs,
        labels=labels,
        sequence_length=seq_len,
        training=training,
        outputs=outputs,
        final_state=final_state,
        last_output=last_output,
        logits=logits,
        predictions=predictions,
        loss=loss,
        accuracy=accuracy,
        train_op=train_op,
        global_step=global_step,
        init_op=init_op,
        saver=saver,
        step_tensors=recorder.step_tensors(),
        step_outputs=tuple(step_outputs),
    )


class _Recorder:
    """Collects `CallRecord`s per (layer, direction) and turns them into `StepTensor`s."""

    def __init__(self, spec: ModelSpec):
        self._spec = spec
        self._calls: dict[tuple[int, str], list[CallRecord]] = {}

    def callback(self, layer: int, direction: str) -> Any:
        calls = self._calls.setdefault((layer, direction), [])
        return calls.append

    def step_tensors(self) -> tuple[StepTensor, ...]:
        t_max = self._spec.time_steps or 0
        out = []
        for (layer, direction), calls in sorted(self._calls.items()):
            for call in calls:
                step = time_step(direction, call.index, t_max)  # the report's own rule
                for kind, tensor in call.tensors.items():
                    shape = tuple(d if d is None else int(d) for d in tensor.shape.as_list())
                    out.append(StepTensor(layer, direction, step, kind, tensor.name, shape))
        return tuple(out)


def _layer_cell(
    spec: ModelSpec,
    index: int,
    direction: str,
    graph: tf.Graph,
    recorder: _Recorder,
    training: Any,
    dtype: Any,
) -> Any:
    layer = spec.layers[index]
    cell = make_cell(layer, dtype=dtype)
    if spec.is_static:  # dynamic cells run inside a loop body: nothing per step to record
        cell = RecordingCell(cell, graph, recorder.callback(index, direction))
    return wrap_dropout(cell, layer, training)


def _uni_cell(cells: list[Any]) -> Any:
    # A single layer is used bare, as in the source experiments (state is the cell's own state).
    return cells[0] if len(cells) == 1 else v1.nn.rnn_cell.MultiRNNCell(cells, state_is_tuple=True)


def _as_layers(state: Any, n_layers: int) -> tuple[Any, ...]:
    return (state,) if n_layers == 1 else tuple(state)


def _static_rnn(
    spec: ModelSpec, cells: dict[str, list[Any]], inputs: Any, seq_len: Any, dtype: Any
):
    n = len(spec.layers)
    step_inputs = tf.unstack(inputs, spec.time_steps, axis=0 if spec.time_major else 1)
    if not spec.bidirectional:
        step_outputs, state = v1.nn.static_rnn(
            _uni_cell(cells["fw"]),
            step_inputs,
            dtype=dtype,
            sequence_length=seq_len,
            scope=RNN_SCOPE,
        )
        final_state: tuple[Any, ...] = _as_layers(state, n)
    elif n == 1:
        step_outputs, state_fw, state_bw = v1.nn.static_bidirectional_rnn(
            cells["fw"][0], cells["bw"][0], step_inputs, dtype=dtype, sequence_length=seq_len
        )
        final_state = ((state_fw,), (state_bw,))
    else:
        step_outputs, states_fw, states_bw = stack_bidirectional_rnn(
            cells["fw"], cells["bw"], step_inputs, dtype=dtype, sequence_length=seq_len
        )
        final_state = (states_fw, states_bw)
    outputs = tf.stack(step_outputs, axis=0 if spec.time_major else 1, name="stacked_outputs")
    return outputs, final_state, step_outputs


def _dynamic_rnn(
    spec: ModelSpec, cells: dict[str, list[Any]], inputs: Any, seq_len: Any, dtype: Any
):
    n = len(spec.layers)
    loop_options = dict(
        sequence_length=seq_len,
        dtype=dtype,
        parallel_iterations=spec.parallel_iterations,
        swap_memory=spec.swap_memory,
        time_major=spec.time_major,
    )
    if not spec.bidirectional:
        outputs, state = v1.nn.dynamic_rnn(
            _uni_cell(cells["fw"]), inputs, scope=RNN_SCOPE, **loop_options
        )
        return outputs, _as_layers(state, n)
    if n == 1:
        (out_fw, out_bw), (state_fw, state_bw) = v1.nn.bidirectional_dynamic_rnn(
            cells["fw"][0], cells["bw"][0], inputs, **loop_options
        )
        return tf.concat([out_fw, out_bw], 2), ((state_fw,), (state_bw,))
    outputs, states_fw, states_bw = stack_bidirectional_dynamic_rnn(
        cells["fw"], cells["bw"], inputs, **loop_options
    )
    return outputs, (states_fw, states_bw)


__all__ = ["BuiltModel", "StepTensor", "build"]
