"""Training: one loop for every spec, writing metrics, checkpoints and activations to the run store.

`train(spec, data, ...)` trains in this process and returns a `Run`. `start_run_process(...)`
starts the same loop in a fresh interpreter (`python -m rnnviz.training RUNS_DIR RUN_ID`; TF is not
fork-safe) and returns the run id at once; the child reads its whole recipe from the run's row,
so the store is the only channel between the two. `stop_run(run_id)` asks it to checkpoint and stop.

What survives a `kill -9`: everything up to the last checkpoint. Metric rows are buffered and
written at least every `FLUSH_SECONDS` and always together with each checkpoint (one
transaction), and a resume deletes whatever was recorded after the checkpoint it restores, so
the metrics history continues exactly where the weights do. Batches and learning rates are pure
functions of (seed, step), so a resumed run sees the batches and rates the uninterrupted one would
have.

Defaults (steps, batch, learning rate and its schedule, checkpoint and activation intervals) come
from the data's recipe (`rnnviz.recipes`); this module holds none of its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnviz.data import Dataset, fit_spec, load_data, to_model_major
from rnnviz.errors import DataError, RunStoreError
from rnnviz.recipes import SCHEDULES, rate_at, recipe_for
from rnnviz.spec import ModelSpec, load_spec
from rnnviz.store import DEFAULT_RUNS_DIR, MetricRow, RunStore

DEFAULT_LOG_EVERY = 50  # train-batch accuracy every N steps (the source: every 200)
DEFAULT_PROBE_SIZE = 4
EVAL_BATCH = 500  # test pass minibatch (the whole test split, in pieces)
FLUSH_SECONDS = 1.0  # metric rows reach the store at least this often (live curves)

ProgressFn = Callable[[int, int, float, "float | None"], None]


@dataclass(frozen=True)
class Run:
    """What a finished (or stopped) training run gives back."""

    run_id: str
    runs_dir: str
    spec: ModelSpec  # the spec actually trained (adapted to the data)
    data_source: str
    steps: int  # steps done in total (over resumes)
    target_steps: int
    status: str  # "finished" or "stopped"
    test_accuracy: float | None
    final_loss: float | None
    train_seconds: float  # training-loop time in total (over resumes), without the test pass
    test_seconds: float
    checkpoint: str | None
    adapted: tuple[str, ...] = ()  # what fit_spec changed ("time_steps 28 -> 8", ...)
    resumed_from: int | None = None
    build_seconds: float = 0.0  # building the training graph (not the probe twin)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "runs_dir": self.runs_dir,
            "model": self.spec.name,
            "data": self.data_source,
            "steps": self.steps,
            "target_steps": self.target_steps,
            "status": self.status,
            "test_accuracy": self.test_accuracy,
            "final_loss": self.final_loss,
            "train_seconds": round(self.train_seconds, 3),
            "test_seconds": round(self.test_seconds, 3),
            "checkpoint": self.checkpoint,
            "adapted": list(self.adapted),
            "resumed_from": self.resumed_from,
            "build_seconds": round(self.build_seconds, 3),
            "spec": self.spec.to_dict(),
        }


@dataclass
class TrainConfig:
    """The whole recipe of a run, stored as the run's config so a resume (or a spawned worker)
    needs nothing else. `for_data` fills what is not given from the data's recipe.

    The learning rate itself is the spec's (`spec.learning_rate`, set from the recipe when the
    spec leaves it out), so the stored spec says what was trained; `schedule` shapes it over
    `schedule_steps`, the run's first target. A resume keeps it (so a killed run resumed gets
    the rates it would have had), unless the new target is longer: then it stretches to it.
    """

    data: str  # load_data() argument: digits, fashion-mnist, synthetic, a path
    steps: int
    batch_size: int
    activation_every: int  # 0: never record activations
    checkpoint_every: int
    schedule: str = "constant"  # runs stored before schedules existed trained at a fixed rate
    schedule_steps: int | None = None  # None: `steps`
    seed: int = 0
    log_every: int = DEFAULT_LOG_EVERY
    probe_size: int = DEFAULT_PROBE_SIZE
    threads: int = 0  # TF intra/inter-op threads; 0 = TF's default (all cores)
    adapt: bool = True  # let the data set the spec's steps/features/classes
    max_seconds: float | None = None  # a time budget: stop training then, test, and finish
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def for_data(cls, data: Dataset | str, ref: str, **given: Any) -> TrainConfig:
        """The config of a new run on `data` (recorded as `ref`): the options given (None = not
        given) over the data's recipe."""
        values = {**_recipe_values(data), "schedule": recipe_for(data).schedule}
        values.update({k: v for k, v in given.items() if v is not None})
        config = cls(data=ref, **values)
        if config.schedule_steps is None:
            config.schedule_steps = config.steps
        return config

    def rate(self, base: float, step: int) -> float:
        """The learning rate of 0-based `step` for a spec rate of `base`."""
        return rate_at(self.schedule, base, step, self.schedule_steps or self.steps)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """A stored config; what it lacks comes from its data's recipe (the schedule excepted:
        a config without one predates schedules and trained at a constant rate)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known.setdefault("data", "digits")
        return cls(**{**_recipe_values(str(known["data"])), **known})

    def check(self) -> None:
        for name in ("steps", "batch_size", "log_every", "checkpoint_every", "probe_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise DataError(f"{name} = {value!r}: must be an integer >= 1")
        if not isinstance(self.activation_every, int) or self.activation_every < 0:
            raise DataError(f"activation_every = {self.activation_every}: must be >= 0 (0 = off)")
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or not 0 <= self.seed < 2**31
        ):
            raise DataError(f"seed = {self.seed!r}: must be an integer from 0 to {2**31 - 1}")
        if self.schedule not in SCHEDULES:
            raise DataError(f"schedule = {self.schedule!r}: allowed {', '.join(SCHEDULES)}")


def _recipe_values(data: Dataset | str) -> dict[str, int]:
    recipe = recipe_for(data)
    return {
        "steps": recipe.steps,
        "batch_size": recipe.batch_size,
        "activation_every": recipe.activation_every,
        "checkpoint_every": recipe.checkpoint_every,
    }


class Batches:
    """Minibatch indices as a pure function of (seed, step): epoch e is a permutation seeded by
    (seed, e); step s takes its slice. Resuming at any step gives the same batches."""

    def __init__(self, n: int, batch_size: int, seed: int):
        if batch_size > n:
            batch_size = n
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.per_epoch = n // batch_size
        self._epoch = -1
        self._perm = np.arange(n)

    def indices(self, step: int) -> np.ndarray:
        """Indices of the batch for 0-based `step`."""
        epoch, slot = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
            self._epoch = epoch
        return self._perm[slot * self.batch_size : (slot + 1) * self.batch_size]


def evaluate(
    model: Any,
    sess: Any,
    x: np.ndarray,
    y: np.ndarray,
    lengths: np.ndarray | None = None,
    batch_size: int = EVAL_BATCH,
) -> float:
    """Accuracy over all of (x, y), in minibatches (every sample counts once, the last batch too)."""
    correct = 0
    for start in range(0, len(x), batch_size):
        stop = start + batch_size
        feed = model.feed(
            to_model_major(model.spec, x[start:stop]),
            lengths=None if lengths is None else lengths[start:stop],
        )
        correct += int(np.sum(sess.run(model.predictions, feed) == y[start:stop]))
    return correct / max(len(x), 1)


def train(
    spec: ModelSpec | str,
    data: Dataset | str | None = "digits",
    *,
    steps: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR,
    log_every: int = DEFAULT_LOG_EVERY,
    activation_every: int | None = None,
    checkpoint_every: int | None = None,
    schedule: str | None = None,
    schedule_steps: int | None = None,
    probe_size: int = DEFAULT_PROBE_SIZE,
    threads: int = 0,
    adapt: bool = True,
    resume: str | None = None,
    progress: ProgressFn | None = None,
    run_id: str | None = None,
    max_seconds: float | None = None,
) -> Run:
    """Train `spec` (a ModelSpec or a sample name) on `data` (a Dataset or a `load_data` name).

    `steps`, `batch_size`, `activation_every`, `checkpoint_every`, `schedule` and the learning
    rate (when the spec leaves `learning_rate` out) default to the data's recipe
    (`rnnviz.recipes.recipe_for(data)`); `schedule_steps` (default: `steps`) is how long the
    schedule lasts. Records the run in the store under `runs_dir`. `resume=RUN_ID` continues
    that run from its last checkpoint with its own spec, data and config (`steps`, if given,
    sets a new target).
    `progress(step, total, loss, train_accuracy_or_None)` is called after every step.
    `run_id` trains a run already registered by `start_run_process`. `max_seconds` is a time
    budget for the training loop: when it is spent the run tests and finishes early.
    """
    store = RunStore(runs_dir)
    if resume is not None or run_id is not None:
        return _train_registered(
            store, resume or run_id, data, steps, progress, resume=resume is not None
        )
    if isinstance(spec, str):
        spec = load_spec(spec)
    dataset = load_data(data) if isinstance(data, str) else data
    if dataset is None:
        raise DataError("no data given; use digits, fashion-mnist, synthetic or a path")
    config = TrainConfig.for_data(
        dataset,
        data if isinstance(data, str) else (dataset.ref or dataset.source),
        steps=steps,
        batch_size=batch_size,
        seed=seed,
        log_every=log_every,
        activation_every=activation_every,
        checkpoint_every=checkpoint_every,
        schedule=schedule,
        schedule_steps=schedule_steps,
        probe_size=probe_size,
        threads=threads,
        adapt=adapt,
        max_seconds=max_seconds,
    )
    config.check()
    fitted, changes = _fit(spec, dataset, adapt=adapt)
    config.extra["adapted"] = changes
    new_id = store.create_run(fitted, dataset.source, config.to_dict(), pid=os.getpid())
    return _run_loop(store, new_id, fitted, dataset, config, progress, changes, resumed=False)


def _train_registered(
    store: RunStore,
    run_id: str,
    data: Dataset | str | None,
    steps: int | None,
    progress: ProgressFn | None,
    *,
    resume: bool,
) -> Run:
    info = store.get_run(run_id)
    if info.status == "running" and info.pid not in (None, os.getpid()) and resume:
        raise RunStoreError(
            f"run {run_id} is still training (pid {info.pid}); stop it first (rnnviz runs shows it)"
        )
    config = TrainConfig.from_dict(info.config)
    if steps is not None:
        config.steps = steps
    if config.schedule_steps is not None and config.steps > config.schedule_steps:
        config.schedule_steps = config.steps  # a longer run: its schedule stretches to the end
    config.check()
    if isinstance(data, Dataset):
        dataset = data
    else:
        try:
            dataset = load_data(config.data)
        except DataError as exc:
            raise DataError(
                f"run {run_id}: its data cannot be loaded again ({exc}); pass the same Dataset "
                "to train(..., resume=RUN_ID, data=...)"
            ) from None
    spec = ModelSpec.from_dict(info.spec)
    fitted, changes = _fit(spec, dataset, adapt=config.adapt)
    if changes and resume:  # a checkpoint only restores into the graph it came from
        raise DataError(
            f"run {run_id} was trained on data shaped differently from {dataset.source}: "
            f"{'; '.join(changes)}; resume with the run's own data ({config.data})"
        )
    if fitted != spec:  # registered by start_run_process with the spec as asked: record the fit
        config.extra["adapted"] = changes
        store.update_run(run_id, spec=fitted, data_source=dataset.source)
    store.update_config(run_id, config.to_dict())
    store.set_status(run_id, "running", pid=os.getpid())
    return _run_loop(
        store,
        run_id,
        fitted,
        dataset,
        config,
        progress,
        tuple(config.extra.get("adapted", ())),
        resumed=resume,
    )


def _fit(spec: ModelSpec, dataset: Dataset, *, adapt: bool) -> tuple[ModelSpec, list[str]]:
    """`fit_spec`, plus the recipe's learning rate when the spec has none of its own (not listed
    as a change: it does not alter the graph's shape, and a resume never meets it, as the stored
    spec has its rate)."""
    fitted, changes = fit_spec(spec, dataset, adapt=adapt)
    if fitted.learning_rate is None:
        fitted = fitted.replace(learning_rate=recipe_for(dataset).learning_rate)
    return fitted, changes


class _StopRequested:
    """Set by SIGTERM (stop_run's fallback) or by the store's stop flag; checked between steps."""

    def __init__(self) -> None:
        self.flag = False

    def __call__(self, signum: int, frame: Any) -> None:
        self.flag = True


def _run_loop(
    store: RunStore,
    run_id: str,
    spec: ModelSpec,
    data: Dataset,
    config: TrainConfig,
    progress: ProgressFn | None,
    adapted: Any,
    *,
    resumed: bool,
) -> Run:
    from rnnviz.builder import build  # TensorFlow loads here, not at import
    from rnnviz.probe import Probe

    stop = _StopRequested()
    previous_handler = None
    with contextlib.suppress(ValueError):  # only the main thread may set signal handlers
        previous_handler = signal.signal(signal.SIGTERM, stop)
    probe = sess = None
    graph_scope = contextlib.ExitStack()
    try:
        model = build(spec, seed=config.seed)
        # The Saver decides eager vs graph from the default graph: save/restore need this one.
        graph_scope.enter_context(model.graph.as_default())
        sess = model.session(intra_op=config.threads, inter_op=config.threads)
        ckpt_prefix = str(store.run_dir(run_id) / "ckpt" / "model.ckpt")
        start_step, wall_offset, resumed_from = 0, 0.0, None
        info = store.get_run(run_id)
        if resumed and info.checkpoint_path:
            _restore(model, sess, info.checkpoint_path, run_id)
            start_step = int(sess.run(model.global_step))
            resumed_from = start_step
            store.truncate_after(run_id, start_step)
            kept = store.metrics(run_id, since_step=start_step - 1)
            wall_offset = kept[-1].wall_seconds if kept else info.train_seconds
        else:
            if resumed:  # killed before its first checkpoint: start over, with a clean history
                store.truncate_after(run_id, 0)
            sess.run(model.init_op)

        probe_rows = data.probe_indices(config.probe_size)
        probe_lengths = None if data.lengths_test is None else data.lengths_test[probe_rows]
        store.set_probe(run_id, data.x_test[probe_rows], data.y_test[probe_rows], probe_lengths)
        if config.activation_every:
            probe = Probe(model, data.x_test[probe_rows], probe_lengths, threads=config.threads)
            if start_step == 0 and 0 not in store.snapshot_steps(run_id):
                # The untrained network, as step 0 (also when a kill came before it was kept).
                store.add_activations(run_id, 0, probe.record(sess))

        result = _loop(
            store, run_id, model, sess, probe, data, config, progress, stop,
            start_step, wall_offset, ckpt_prefix,
        )  # fmt: skip
        steps_done, final_loss, train_seconds, checkpoint, stopped = result

        test_started = time.perf_counter()
        test_accuracy = None
        if not stopped:
            test_accuracy = evaluate(model, sess, data.x_test, data.y_test, data.lengths_test)
        test_seconds = time.perf_counter() - test_started
        if test_accuracy is not None:
            store.record_test(run_id, steps_done, test_accuracy)
        status = "stopped" if stopped else "finished"
        store.set_status(run_id, status, test_accuracy=test_accuracy)
        return Run(
            run_id=run_id,
            runs_dir=str(store.root),
            spec=spec,
            data_source=data.source,
            steps=steps_done,
            target_steps=config.steps,
            status=status,
            test_accuracy=test_accuracy,
            final_loss=final_loss,
            train_seconds=train_seconds,
            test_seconds=test_seconds,
            checkpoint=checkpoint,
            adapted=tuple(adapted),
            resumed_from=resumed_from,
            build_seconds=model.build_seconds,
        )
    except BaseException as exc:
        with contextlib.suppress(Exception):
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            store.set_status(run_id, "failed", error=f"{type(exc).__name__}: {message}")
        raise
    finally:
        graph_scope.close()
        if probe is not None:
            probe.close()
        if sess is not None:
            sess.close()
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)


def learning_rate_tensor(model: Any) -> Any:
    """Adam's learning rate in a built training graph: the constant the optimizer made from
    `spec.learning_rate`, into which the loop feeds each step's scheduled rate (a TF 1 session
    may feed any tensor), so the graph stays exactly the one `rnnviz build` writes."""
    tensor = model.graph.get_tensor_by_name(f"{model.train_op.name}/learning_rate:0")
    if tensor.op.type != "Const":  # the builder changed how it makes the optimizer
        raise RuntimeError(f"{tensor.name} is a {tensor.op.type}, not Adam's constant rate")
    return tensor


def _restore(model: Any, sess: Any, checkpoint: str, run_id: str) -> None:
    """Restore a run's checkpoint; a missing or damaged one is a one-line error, not TF's dump."""
    from rnnviz.tfcompat import tf

    try:
        model.saver.restore(sess, checkpoint)
    except (tf.errors.OpError, ValueError) as exc:
        first = (getattr(exc, "message", "") or str(exc)).strip().splitlines()[0][:160]
        raise RunStoreError(
            f"run {run_id}: its checkpoint {checkpoint} cannot be restored ({first}); "
            "the run cannot resume: start a new one"
        ) from None


def _loop(
    store: RunStore,
    run_id: str,
    model: Any,
    sess: Any,
    probe: Any,
    data: Dataset,
    config: TrainConfig,
    progress: ProgressFn | None,
    stop: _StopRequested,
    start_step: int,
    wall_offset: float,
    ckpt_prefix: str,
) -> tuple[int, float | None, float, str | None, bool]:
    """The training steps. Returns (steps done, last loss, train seconds, checkpoint, stopped)."""
    batches = Batches(len(data.x_train), config.batch_size, config.seed)
    x_all, y_all, len_all = data.x_train, data.y_train, data.lengths_train
    # One fetch list for every step: each distinct fetch list costs TF a graph prune and a new
    # executor on first use, and the batch accuracy is a few ops on logits computed anyway.
    fetches = [model.train_op, model.loss, model.accuracy]
    rate_tensor, base_rate = learning_rate_tensor(model), model.spec.learning_rate
    pending: list[MetricRow] = []
    pending_acts: tuple[int, Any] | None = None
    checkpoint = store.get_run(run_id).checkpoint_path if start_step else None
    last_flush = started = time.perf_counter()
    loss = None
    step = start_step
    budget_end = None if config.max_seconds is None else started + config.max_seconds
    while step < config.steps and not stop.flag:
        idx = batches.indices(step)
        step += 1
        feed = model.feed(
            to_model_major(model.spec, x_all[idx]),
            y_all[idx],
            None if len_all is None else len_all[idx],
            training=True,
        )
        feed[rate_tensor] = config.rate(base_rate, step - 1)
        _, loss, batch_accuracy = sess.run(fetches, feed)
        loss = float(loss)
        # recorded at intervals, as the source did (every step's batch accuracy is mostly noise)
        logged = step % config.log_every == 0 or step == config.steps
        accuracy = float(batch_accuracy) if logged else None
        now = time.perf_counter()
        wall = wall_offset + now - started
        pending.append(MetricRow(step, loss, accuracy, None, wall, time.time()))
        if probe is not None and step % config.activation_every == 0:
            pending_acts = (step, probe.record(sess))
        if step % config.checkpoint_every == 0 or step == config.steps:
            # Checkpoint first, then one transaction with the rows up to it: a kill between the
            # two leaves the store at the previous checkpoint, whose rows are all there.
            # No .meta file: the graph is rebuilt from the spec, and exporting the MetaGraphDef
            # took 35-180 ms per checkpoint (static graphs), against 6-14 ms for the variables.
            checkpoint = model.saver.save(
                sess, ckpt_prefix, global_step=step, write_meta_graph=False
            )
            store.write_progress(
                run_id, pending, steps_done=step, train_seconds=wall,
                checkpoint=(checkpoint, step), activations=pending_acts,
            )  # fmt: skip
            pending, pending_acts, last_flush = [], None, now
            stop.flag = stop.flag or store.stop_requested(run_id)
        elif now - last_flush >= FLUSH_SECONDS or pending_acts is not None:
            store.write_progress(
                run_id, pending, steps_done=step, train_seconds=wall, activations=pending_acts
            )
            pending, pending_acts, last_flush = [], None, now
            stop.flag = stop.flag or store.stop_requested(run_id)
        if progress is not None:
            progress(step, config.steps, loss, accuracy)
        if budget_end is not None and now >= budget_end:
            break  # the time budget: a normal end (tested, "finished"), not a stop
    wall = wall_offset + time.perf_counter() - started
    if step != start_step and (
        pending or checkpoint is None or not checkpoint.endswith(f"-{step}")
    ):
        # Stopped between checkpoints: save where we are, so a resume loses nothing.
        checkpoint = model.saver.save(sess, ckpt_prefix, global_step=step, write_meta_graph=False)
        store.write_progress(
            run_id, pending, steps_done=step, train_seconds=wall, checkpoint=(checkpoint, step)
        )
    stopped = stop.flag
    return step, loss, wall, checkpoint, stopped


# ---- training in another process ---------------------------------------------------------------
def start_run_process(
    model: ModelSpec | str,
    data: str = "digits",
    *,
    runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR,
    resume: str | None = None,
    steps: int | None = None,
    **options: Any,
) -> str:
    """Start training in a new Python process (not a fork: TF is not fork-safe); return the run id.

    The run is registered here (status "running", the spec as asked); the worker fits it to the
    data, trains, and writes everything to the store. Its output goes to `<runs>/<id>/train.log`.
    `resume=RUN_ID` continues that run instead (`steps` may raise its target). `options` are
    `TrainConfig` fields, as `train` takes them: batch_size, seed, log_every, activation_every,
    checkpoint_every, schedule, schedule_steps, probe_size, threads, max_seconds; what is not
    given comes from the data's recipe. Loads no TensorFlow and no data here.
    """
    store = RunStore(runs_dir)
    if resume is not None:
        run_id = resume
        info = store.get_run(run_id)
        if info.status == "running":
            raise RunStoreError(f"run {run_id} is still training (pid {info.pid})")
        if steps is not None:
            store.update_config(run_id, {**info.config, "steps": steps})
    else:
        spec = load_spec(model) if isinstance(model, str) else model
        unknown = sorted(set(options) - set(TrainConfig.__dataclass_fields__))
        if unknown:
            raise TypeError(f"start_run_process() got unknown options: {', '.join(unknown)}")
        config = TrainConfig.for_data(str(data), str(data), steps=steps, **options)
        config.check()
        run_id = store.create_run(spec, str(data), config.to_dict())
    proc = _spawn_worker(store, run_id, resume=resume is not None)
    store.set_status(run_id, "running", pid=proc.pid)
    _children[run_id] = proc
    return run_id


def _spawn_worker(store: RunStore, run_id: str, *, resume: bool) -> subprocess.Popen[bytes]:
    """The training process, with the settings' memory limit; a thread waits for it, so it
    never stays a zombie of a long-lived parent (the dashboard)."""
    import resource
    import threading

    from rnnviz.settings import MB, settings

    memory = settings().run_memory_mb * MB

    def limit() -> None:  # between fork and exec: syscalls only
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    log_fd = os.open(
        store.run_dir(run_id) / "train.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
    )
    with open(log_fd, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rnnviz.training", str(store.root), run_id]
            + (["--resume"] if resume else []),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C in the dashboard's terminal does not kill runs
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=limit,  # the dashboard serves from one thread
        )
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{run_id}").start()
    return proc


_children: dict[str, subprocess.Popen[bytes]] = {}  # reaped by stop_run / wait_run


def wait_run(run_id: str, timeout: float | None = None) -> int | None:
    """Wait for a run started by this process's `start_run_process`; its exit code (None: still
    running at the timeout, or not our child)."""
    proc = _children.get(run_id)
    if proc is None:
        return None
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def stop_run(
    run_id: str, runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR, timeout: float = 30.0
) -> str:
    """Ask a run to checkpoint and stop; wait up to `timeout` s, then SIGTERM its process (which
    still checkpoints), and return the run's status."""
    store = RunStore(runs_dir, create=False)
    info = store.get_run(run_id)
    if info.status != "running":
        return info.status
    store.request_stop(run_id)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.get_run(run_id).status != "running":
            break
        time.sleep(0.2)
    else:
        if info.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, signal.SIGTERM)
        time.sleep(1.0)
    wait_run(run_id, timeout=5)
    return store.get_run(run_id).status


def _worker_main(argv: list[str]) -> int:
    """`python -m rnnviz.training RUNS_DIR RUN_ID [--resume]`: the spawned training process."""
    runs_dir, run_id = argv[0], argv[1]
    resume = "--resume" in argv[2:]
    print(f"rnnviz worker pid {os.getpid()}: run {run_id} in {runs_dir}", flush=True)
    try:
        run = train(
            "", None, runs_dir=runs_dir, run_id=None if resume else run_id,
            resume=run_id if resume else None,
        )  # fmt: skip
    except Exception as exc:  # recorded as "failed" by the loop; the log keeps the traceback
        import traceback

        traceback.print_exc()
        with contextlib.suppress(Exception):
            RunStore(runs_dir).set_status(run_id, "failed", error=f"{type(exc).__name__}: {exc}")
        return 1
    print(f"run {run.run_id}: {run.status} at step {run.steps}, test {run.test_accuracy}")
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))


__all__ = [
    "Batches",
    "Run",
    "TrainConfig",
    "evaluate",
    "learning_rate_tensor",
    "start_run_process",
    "stop_run",
    "train",
    "wait_run",
]
