"""Server-side checks of every value a browser sends to a callback.

A POST to `/_dash-update-component` can carry anything, whatever the page's widgets allow, so the
callbacks pass their inputs through these functions first: spec names must be sample names (never
paths), T and training steps must be integers within the settings' caps, cache keys must name
entries this server made, and the number of training runs is capped. Each raises `InvalidInput`
(one line, shown in the page's status line) or returns the clean value.

Not here: limits on jobs themselves (app/jobs/runner.py: slots, CPU and memory).
"""

from __future__ import annotations

import math
from typing import Any

from rnnviz.errors import RnnvizError
from rnnviz.settings import Settings, settings


class InvalidInput(RnnvizError, ValueError):
    """A callback input outside what the server accepts."""


def checked_int(name: str, value: Any, low: int, high: int, setting: str) -> int:
    """`value` as an int in [low, high] (a whole float or a numeric string is accepted)."""
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if isinstance(number, float) and math.isfinite(number) and number.is_integer():
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int):
        raise InvalidInput(
            f"{name} = {str(value)[:20]!r}: give a whole number from {low} to {high}"
        )
    if not low <= number <= high:
        raise InvalidInput(
            f"{name} = {number}: must be from {low} to {high} (the server's limit, {setting})"
        )
    return number


def checked_steps(value: Any, cfg: Settings | None = None) -> int:
    cfg = cfg or settings()
    return checked_int("T", value, 1, cfg.max_steps, "RNNVIZ_MAX_STEPS")


def checked_train_steps(value: Any, cfg: Settings | None = None) -> int:
    cfg = cfg or settings()
    return checked_int("steps", value, 1, cfg.max_train_steps, "RNNVIZ_MAX_TRAIN_STEPS")


def checked_spec(name: Any) -> Any:
    """The sample spec named `name` (never a path: a browser must not make the server read
    files). Messages are the same for every name that is not a sample."""
    from rnnviz.spec import load_sample

    return load_sample(name)


def checked_key(data: Any, cfg: Settings | None = None) -> str:
    """The cache key of a store value sent back by the browser; it must name a finished entry."""
    from app.jobs.cache import known_entry

    cfg = cfg or settings()
    key = data.get("key") if isinstance(data, dict) else None
    known_entry(cfg.cache_dir, key)  # JobError (a RnnvizError) if it is not ours
    return str(key)


def checked_partial(data: Any, which: str, cfg: Settings | None = None) -> str:
    """The key of a build in progress the browser names, for panel `which`: its graph's files
    must be there (published by the job's runner, or the entry complete)."""
    from app.jobs.cache import entry_file

    cfg = cfg or settings()
    key = data.get("key") if isinstance(data, dict) else None
    if which not in ("static", "dynamic"):
        raise RnnvizError(f"invalid panel {str(which)[:20]!r}")
    if not entry_file(cfg.cache_dir, key, f"{which}.partition.json").is_file():
        raise RnnvizError(f"no cache entry {str(key)[:40]!r}")
    return str(key)


def run_slot_free(cfg: Settings | None = None) -> None:
    """Refuse to start a run when `max_runs` runs of this store are already training."""
    from rnnviz.store import RunStore

    cfg = cfg or settings()
    running = [r for r in RunStore(cfg.runs_dir).list_runs() if r.status == "running"]
    if len(running) >= cfg.max_runs:
        raise InvalidInput(
            f"{len(running)} runs are training (the limit is {cfg.max_runs}, RNNVIZ_MAX_RUNS); "
            "stop one or wait for it to finish"
        )


__all__ = [
    "InvalidInput",
    "checked_int",
    "checked_key",
    "checked_spec",
    "checked_steps",
    "checked_train_steps",
    "run_slot_free",
]
