"""Per-step activations (h, c, gate activations) of a model for a fixed probe batch.

Static graphs hold one cell copy per step, so the builder's recorded `step_tensors` are fetched
directly from the live training session. A dynamic graph runs its cell inside a while loop whose
per-step tensors cannot be fetched (v1: "not fetchable"; v2: they are not even in the graph), so
the probe builds an unrolled *twin*: the same spec built with `static_rnn` for the probe's T,
without a train op, in its own graph and session. Static and dynamic builds of a spec have the
same variable names, so before each recording the live weights are copied into the twin by name
(one fetch + one assign run, no checkpoint round trip), and the twin computes exactly what the
loop computed, step by step (`tests/test_probe.py` checks it to 1e-5).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnviz.builder import BuiltModel, build
from rnnviz.data import to_model_major
from rnnviz.spec import ModelSpec
from rnnviz.tfcompat import tf, v1

ActivationKey = tuple[int, str, str]  # (layer, direction, kind), as in rnnviz.store


def twin_spec(spec: ModelSpec, steps: int) -> ModelSpec:
    """The fixed-length static spec that computes, for sequences of exactly `steps` steps, what
    `spec` computes (same variables, same names).

    Never with `sequence_length`: static_rnn then wraps every step in a cond, and TF marks every
    op inside a cond "not fetchable" (v1) or moves it into a function (v2). Variable-length probes
    instead run each sequence through a twin of its own length (see `Probe`).
    """
    twin = spec if spec.is_static else spec.twin("static")
    return twin.replace(time_steps=steps, variable_length=False)


def stack_steps(
    step_tensors: Any, values: dict[str, np.ndarray]
) -> dict[ActivationKey, np.ndarray]:
    """Per-step values {tensor name: [P, units]} -> {(layer, direction, kind): [P, T, units]}."""
    by_key: dict[ActivationKey, dict[int, np.ndarray]] = defaultdict(dict)
    for st in step_tensors:
        by_key[(st.layer, st.direction, st.kind)][st.step] = values[st.name]
    return {
        key: np.stack([steps[t] for t in sorted(steps)], axis=1).astype(np.float32)
        for key, steps in sorted(by_key.items())
    }


@dataclass
class _Twin:
    """One unrolled twin and the probe samples (all of one length) it runs."""

    model: BuiltModel
    session: v1.Session
    rows: np.ndarray  # indices into the probe batch
    feed: dict[Any, Any]
    placeholders: list[Any]
    assign: Any


class Probe:
    """Records the activations of `model` for the probe batch `x` ([P, T, F], batch-major).

    `record(sess)` takes the *live* session of `model` (the one training it) and returns
    {(layer, direction, kind): float32 [P, T, units]}, T in input order for both directions,
    zero at and past a sequence's length.

    A static fixed-length model is read directly. Any other model (dynamic, or variable-length,
    whose per-step tensors sit inside conds) is read through unrolled twins: one per distinct
    sequence length in the probe batch, each fed its sequences cut to that length, so even a
    backward cell starts at each sequence's own last valid step, as `reverse_sequence` does.
    """

    def __init__(
        self,
        model: BuiltModel,
        x: np.ndarray,
        lengths: np.ndarray | None = None,
        *,
        threads: int = 0,
    ):
        self.model = model
        self.x = np.asarray(x, np.float32)
        n, steps = self.x.shape[:2]
        self.lengths = (
            np.full(n, steps, np.int32) if lengths is None else np.asarray(lengths, np.int32)
        )
        self.twins: list[_Twin] = []
        self._sources: list[Any] = []
        if model.spec.is_static and not model.spec.variable_length:
            self._fetch = {st.name: st.name for st in model.step_tensors}
            self._feed = model.feed(to_model_major(model.spec, self.x))
            if not self._fetch:
                raise RuntimeError(f"{model.spec.name}: the build recorded no per-step tensors")
        else:
            live = {v.op.name: v for v in model.graph.get_collection(v1.GraphKeys.GLOBAL_VARIABLES)}
            for length in sorted(set(self.lengths.tolist())):
                rows = np.flatnonzero(self.lengths == length)
                self.twins.append(self._make_twin(live, int(length), rows, threads))

    def _make_twin(
        self, live: dict[str, Any], length: int, rows: np.ndarray, threads: int
    ) -> _Twin:
        twin = build(twin_spec(self.model.spec, length), with_train_op=False)
        with twin.graph.as_default():
            twin_vars = twin.graph.get_collection(v1.GraphKeys.GLOBAL_VARIABLES)
            missing = [v.op.name for v in twin_vars if v.op.name not in live]
            if missing:  # the builder promises identical names: this is a bug, not a user error
                raise RuntimeError(f"probe twin variables missing from the live graph: {missing}")
            if not self._sources:
                self._sources = [live[v.op.name] for v in twin_vars]
            placeholders = [
                v1.placeholder(v.dtype.base_dtype, v.shape, name=f"probe_copy/{i}")
                for i, v in enumerate(twin_vars)
            ]
            assign = tf.group(
                *[v1.assign(v, p) for v, p in zip(twin_vars, placeholders, strict=True)],
                name="probe_copy/assign",
            )
        feed = twin.feed(to_model_major(twin.spec, self.x[rows, :length]))
        return _Twin(
            twin, twin.session(intra_op=threads, inter_op=threads), rows, feed, placeholders, assign
        )

    def sync(self, sess: v1.Session) -> None:
        """Copy the live weights of `sess` into the twins (no-op for a direct static probe)."""
        if not self.twins:
            return
        values = sess.run(self._sources)  # every twin has the same variables in the same order
        for twin in self.twins:
            twin.session.run(twin.assign, dict(zip(twin.placeholders, values, strict=True)))

    def record(self, sess: v1.Session) -> dict[ActivationKey, np.ndarray]:
        """The probe batch's per-step activations under the live weights of `sess`."""
        if not self.twins:
            return stack_steps(self.model.step_tensors, sess.run(self._fetch, self._feed))
        self.sync(sess)
        n, steps = self.x.shape[:2]
        out: dict[ActivationKey, np.ndarray] = {}
        for twin in self.twins:
            fetch = {st.name: st.name for st in twin.model.step_tensors}
            part = stack_steps(twin.model.step_tensors, twin.session.run(fetch, twin.feed))
            for key, array in part.items():
                if key not in out:
                    out[key] = np.zeros((n, steps, array.shape[2]), np.float32)
                out[key][twin.rows, : array.shape[1]] = array
        return out

    def close(self) -> None:
        for twin in self.twins:
            twin.session.close()
        self.twins = []


def activations_from_checkpoint(
    spec: ModelSpec,
    checkpoint: str,
    x: np.ndarray,
    lengths: np.ndarray | None = None,
) -> dict[ActivationKey, np.ndarray]:
    """Activations of any input `x` ([P, T, F]) under a run's checkpoint, static or dynamic spec:
    the checkpoint restores straight into an unrolled build (variable names are identical)."""
    x = np.asarray(x, np.float32)
    model = build(spec, steps=x.shape[1] if spec.is_static else None)
    with model.session() as sess:
        model.saver.restore(sess, checkpoint)
        probe = Probe(model, x, lengths)
        try:
            return probe.record(sess)
        finally:
            probe.close()


__all__ = ["Probe", "activations_from_checkpoint", "stack_steps", "twin_spec"]
