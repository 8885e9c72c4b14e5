"""Golden files of the text report for two sample models at T=3 (a static LSTM, a v1-loop LSTM).

Regenerate on purpose with `pytest tests/test_report_golden.py --overwrite-golden` and review
the diff: any change of the report's text or figures shows up here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rnnviz.builder import build
from rnnviz.reporting import report
from rnnviz.reporting.text import render
from rnnviz.spec import load_spec

GOLDEN = Path(__file__).parent / "golden"


def normalise(text: str) -> str:
    # Library function names carry a process-wide counter (rnn_while_body_106): not a figure.
    return re.sub(r"(_while_(?:body|cond))_\d+", r"\1_N", text)


@pytest.mark.parametrize("name", ["single_static_lstm", "v1_control_flow_lstm"])
def test_text_report_matches_golden(name, overwrite_golden):
    text = normalise(render(report(build(load_spec(name).with_steps(3)))))
    path = GOLDEN / f"report_{name}_T3.txt"
    if overwrite_golden:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing {path}: run pytest {__file__} --overwrite-golden"
    assert text == path.read_text(encoding="utf-8")
