"""Training recipes: one table of per-data defaults, used by train(), the CLI and the dashboard;
the learning-rate rule (a spec's own rate wins, else the recipe's) and its schedule, checked
against the graph's own variables."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnviz.cli import main
from rnnviz.data import load_data, to_model_major
from rnnviz.recipes import GRAPH_LEARNING_RATE, OTHER, RECIPES, rate_at, recipe_for
from rnnviz.spec import SOURCE_VARIANTS, LayerSpec, ModelSpec, load_spec
from rnnviz.store import RunStore
from rnnviz.training import TrainConfig, learning_rate_tensor, train


def _tiny(**kw) -> ModelSpec:
    return ModelSpec(
        name="tiny_static_gru", layers=(LayerSpec("gru", 8),), time_steps=8, input_size=8, **kw
    )


def test_schedules_are_pure_functions_of_the_step():
    assert rate_at("constant", 0.01, 7, 10) == 0.01
    assert rate_at("cosine", 0.01, 0, 100) == 0.01
    assert rate_at("cosine", 0.01, 50, 100) == pytest.approx(0.005)
    assert rate_at("cosine", 0.01, 25, 100) == pytest.approx(0.005 * (1 + math.cos(math.pi / 4)))
    assert rate_at("cosine", 0.01, 100, 100) == pytest.approx(0.0)
    assert rate_at("cosine", 0.01, 150, 100) == rate_at("cosine", 0.01, 100, 100)  # past: last
    with pytest.raises(ValueError, match="allowed constant, cosine"):
        rate_at("linear", 0.01, 0, 10)


def test_recipe_by_name_or_dataset_and_a_fallback_for_other_data():
    digits = load_data("digits")
    assert recipe_for(digits) is recipe_for("digits") is RECIPES["digits"]
    assert recipe_for("/some/folder/of/idx/files") is OTHER


def test_config_takes_what_is_given_over_the_recipe():
    recipe = RECIPES["digits"]
    config = TrainConfig.for_data("digits", "digits", steps=40, batch_size=None)
    assert (config.steps, config.schedule_steps) == (40, 40)
    assert config.batch_size == recipe.batch_size
    assert config.checkpoint_every == recipe.checkpoint_every
    assert config.activation_every == recipe.activation_every
    assert config.schedule == recipe.schedule
    # a run stored before schedules existed trained at a fixed rate, and resumes that way
    old = TrainConfig.from_dict({k: v for k, v in config.to_dict().items() if "schedule" not in k})
    assert old.schedule == "constant" and old.rate(0.01, 30) == 0.01
    partial = TrainConfig.from_dict({"data": "digits", "steps": 5})  # the rest: the recipe's
    assert (partial.steps, partial.batch_size) == (5, recipe.batch_size)


def test_sample_specs_leave_the_rate_to_the_recipe():
    assert all(load_spec(name).learning_rate is None for name in SOURCE_VARIANTS)


@pytest.mark.slow
def test_spec_rate_wins_else_the_recipe_rate(tmp_path):
    kw = dict(steps=3, runs_dir=tmp_path, activation_every=0)
    default = train(_tiny(), "digits", **kw)
    own = train(_tiny(learning_rate=0.002), "digits", **kw)
    assert default.spec.learning_rate == RECIPES["digits"].learning_rate
    assert own.spec.learning_rate == 0.002
    stored = RunStore(tmp_path).get_run(default.run_id)
    assert stored.spec["learning_rate"] == RECIPES["digits"].learning_rate  # what was trained
    assert (stored.config["steps"], stored.config["batch_size"]) == (
        3,
        RECIPES["digits"].batch_size,
    )


def test_the_fed_rate_is_the_one_adam_applies():
    from rnnviz.builder import build

    data = load_data("digits")
    model = build(_tiny(), seed=0)
    rate = learning_rate_tensor(model)
    feed = model.feed(to_model_major(model.spec, data.x_train[:16]), data.y_train[:16])
    with model.graph.as_default(), model.session() as sess:
        sess.run(model.init_op)
        assert sess.run(rate) == np.float32(GRAPH_LEARNING_RATE)  # no spec rate, no data
        variables = model.graph.get_collection("trainable_variables")
        before = sess.run(variables)
        sess.run(model.train_op, {**feed, rate: 0.0})
        after_zero = sess.run(variables)
        sess.run(model.train_op, {**feed, rate: 0.01})
        after_step = sess.run(variables)
    assert all(np.array_equal(a, b) for a, b in zip(before, after_zero, strict=True))
    assert any(not np.array_equal(a, b) for a, b in zip(after_zero, after_step, strict=True))


def test_cli_help_says_where_the_defaults_come_from(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name, recipe in RECIPES.items():
        assert f"{name}: {recipe.steps} steps" in out
    assert "the spec's learning_rate when the spec file sets one, else the recipe's" in out


@pytest.mark.slow
def test_resume_keeps_the_schedule_unless_the_target_grows(tmp_path):
    run = train(_tiny(), "digits", steps=6, runs_dir=tmp_path, activation_every=0)
    store = RunStore(tmp_path)
    train("", None, resume=run.run_id, steps=4, runs_dir=tmp_path)
    assert store.get_run(run.run_id).config["schedule_steps"] == 6
    train("", None, resume=run.run_id, steps=9, runs_dir=tmp_path)
    config = store.get_run(run.run_id).config
    assert (config["steps"], config["schedule_steps"]) == (9, 9)
