"""Training recipes: what a run does by default on each data set, in one table.

`rnnviz.train()`, `rnnviz train`, the dashboard's Training page and `bench/train.py` all take
their defaults from `recipe_for(data)`, so the accuracy the README reports is what a run with no
options gets. A recipe holds Adam's learning rate and its schedule, the number of steps, the
batch size and the checkpoint and activation intervals.

The learning rate: a spec's own `learning_rate` wins when the spec sets one (a TOML file that
has the line, or `ModelSpec(learning_rate=...)`); a spec that leaves it out (None, as the sample
models do) gets the recipe's. The schedule applies either way, to whichever rate is used.

Not for: the model's shape (the data adapts steps, features and classes: `rnnviz.data.fit_spec`)
or the loop itself (`rnnviz.training`). No TensorFlow here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

Schedule = Literal["constant", "cosine"]
SCHEDULES: tuple[str, ...] = ("constant", "cosine")


@dataclass(frozen=True)
class Recipe:
    """The defaults of a training run on one data set."""

    learning_rate: float  # Adam's rate at step 0 (unless the spec sets its own)
    schedule: Schedule  # constant, or cosine: the rate falls to 0 at the last step
    steps: int
    batch_size: int
    checkpoint_every: int
    activation_every: int  # probe snapshots; 0 = never


# The rate a graph gets when it is built with no data in sight (rnnviz build, export, report) and
# its spec sets none: the source experiments' 1e-3. Training replaces it (rnnviz.training).
GRAPH_LEARNING_RATE = 1e-3

# Measured with bench/train.py on the 14 source variants (the README's training section).
# digits: 1,347 training images; a high rate falling to 0 generalises best (the README says how
# it was chosen). fashion-mnist: 60,000 images; the source experiments' constant rate and budget.
# synthetic: a small variable-length task that a few hundred steps learn.
RECIPES: dict[str, Recipe] = {
    # Recipe(learning rate, schedule, steps, batch size, checkpoint every, activations every)
    "digits": Recipe(1e-2, "cosine", 500, 128, 200, 20),
    "fashion-mnist": Recipe(1e-3, "constant", 2000, 128, 200, 100),
    "synthetic": Recipe(1e-2, "cosine", 300, 64, 100, 20),
}
# Any other data (an MNIST-format folder, a Keras mnist.npz) is 28 x 28 images like Fashion-MNIST.
OTHER = RECIPES["fashion-mnist"]


def recipe_for(data: Any) -> Recipe:
    """The recipe of a data set: a `load_data` name, or a `Dataset` (by its name)."""
    name = data if isinstance(data, str) else getattr(data, "name", "")
    return RECIPES.get(name, OTHER)


def rate_at(schedule: str, base: float, step: int, total: int) -> float:
    """Adam's learning rate for 0-based `step` of a run of `total` steps.

    A pure function of its arguments, so a resumed run gets the rates the unkilled one had.
    """
    if schedule == "constant":
        return base
    if schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / max(total, 1)))
    raise ValueError(f"schedule {schedule!r}: allowed {', '.join(SCHEDULES)}")


def describe() -> str:
    """The table in words, one line per data set (for `rnnviz train --help`)."""
    lines = []
    for name, r in [*RECIPES.items(), ("other data", OTHER)]:
        lines.append(
            f"  {name}: {r.steps} steps, batch {r.batch_size}, Adam {r.learning_rate:g} "
            f"({r.schedule}), checkpoint every {r.checkpoint_every}, activations every "
            f"{r.activation_every}"
        )
    return "\n".join(lines)


__all__ = [
    "GRAPH_LEARNING_RATE",
    "OTHER",
    "RECIPES",
    "SCHEDULES",
    "Recipe",
    "describe",
    "rate_at",
    "recipe_for",
]
