"""Shared pytest fixtures and options. Each section belongs to one area; keep additions self-contained."""

from __future__ import annotations

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
