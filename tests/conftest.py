"""Shared pytest fixtures and options. Each section belongs to one area; keep additions self-contained."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnnviz.spec import LayerSpec, ModelSpec


@pytest.fixture
def tiny_lstm_spec() -> ModelSpec:
    """A 2-layer LSTM(8) over 5 steps of 4 features: builds in well under a second."""
    return ModelSpec(
        name="tiny_static_lstm",
        layers=(LayerSpec("lstm", 8), LayerSpec("lstm", 8)),
        unroll="static",
        time_steps=5,
        input_size=4,
        num_classes=3,
    )


# ---- graph report (tests/test_report_*.py) -----------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--overwrite-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*.txt from the current output instead of comparing",
    )


@pytest.fixture
def overwrite_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to regenerate golden files (pytest --overwrite-golden)."""
    return bool(request.config.getoption("--overwrite-golden"))


# ---- dashboard (tests/test_app_*.py, tests/test_abuse.py) ---------------------------------------
# A two-layer spec whose graphs build in a second or two: the dashboard's tests serve it as a
# sample (RNNVIZ_SAMPLES), since the server builds sample names only.
TINY_SAMPLE_TOML = """
name = "tiny_static_lstm"
unroll = "static"
time_steps = 4
input_size = 4
num_classes = 3

[[layers]]
cell = "lstm"
units = 8

[[layers]]
cell = "gru"
units = 8
"""


@pytest.fixture(scope="module")
def tiny_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A samples folder holding `tiny_static_lstm` (T=4) and `tiny_dynamic_gru` (T=6)."""
    folder = tmp_path_factory.mktemp("samples")
    (folder / "tiny_static_lstm.toml").write_text(TINY_SAMPLE_TOML)
    gru = 'name = "tiny_dynamic_gru"\nunroll = "dynamic"\ntime_steps = 6\ninput_size = 4\n'
    (folder / "tiny_dynamic_gru.toml").write_text(gru + '[[layers]]\ncell = "gru"\nunits = 8\n')
    return folder
