"""The report on foreign RNN graphs (tests/corpus): every graph, live and frozen, against its truth.

The corpus is built once per session in one subprocess (corpus/fixtures.py); each check compares
one part of `rnnviz.report(file)` with the truth computed from the sizes the graph was built with
(corpus/checks.py). tests/corpus/BASELINE.md lists what failed before issue 8.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus.checks import CHECKS, analysis_facts, run_check
from corpus.fixtures import TESTS, CorpusFiles, corpus_files, report_of
from corpus.registry import ENTRIES

__all__ = ["corpus_files"]  # the session fixture, imported so that pytest finds it

VARIANTS = ("live", "frozen")

pytestmark = pytest.mark.slow  # the session builds ~100 graph files (~30 s of CPU)


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", list(ENTRIES))
def test_report_matches_truth(corpus_files: CorpusFiles, name: str, variant: str, check: str):
    entry = ENTRIES[name]
    r = report_of(corpus_files.path(name, variant), entry.steps)
    mismatches = run_check(check, r, entry, variant)
    assert not mismatches, "\n".join(map(str, mismatches))


@pytest.mark.parametrize("name", list(ENTRIES))
def test_live_and_frozen_twin_agree(corpus_files: CorpusFiles, name: str):
    steps = ENTRIES[name].steps
    live = report_of(corpus_files.path(name, "live"), steps)
    frozen = report_of(corpus_files.path(name, "frozen"), steps)
    live_facts, frozen_facts = analysis_facts(live), analysis_facts(frozen)
    if ENTRIES[name].truth.unsized:  # the live file cannot size some weights (check_params)
        del live_facts["params.total"], frozen_facts["params.total"]
    assert frozen_facts == live_facts
    assert frozen.params.source != live.params.source


_NO_TF_SCRIPT = """
import json, sys
import rnnviz
seen = []
for path, steps in json.loads(sys.argv[1]):
    try:
        rnnviz.report(path, steps=steps) if steps else rnnviz.report(path)
    except Exception as exc:  # the read did not finish, so it does not show the import is not needed
        seen.append((path, "raised " + type(exc).__name__ + ": " + str(exc)[:200]))
    if "tensorflow" in sys.modules:
        seen.append((path, "imported tensorflow"))
        break  # every later file would only repeat it
print(json.dumps(seen))
"""


def test_reading_the_corpus_never_imports_tensorflow(corpus_files: CorpusFiles):
    files = [
        (str(corpus_files.path(name, variant)), ENTRIES[name].steps)
        for name in ENTRIES
        for variant in VARIANTS
    ]
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(TESTS.parent), os.environ.get("PYTHONPATH", "")]),
    )
    done = subprocess.run(
        [sys.executable, "-c", _NO_TF_SCRIPT, json.dumps(files)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    problems = json.loads(done.stdout.strip().splitlines()[-1])
    assert problems == [], "\n".join(f"{Path(p).name}: {what}" for p, what in problems)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", list(ENTRIES))
def test_structure_view_of_every_corpus_file(corpus_files: CorpusFiles, name: str, variant: str):
    # What "Open a file" draws. Each cell call names ops that exist: main-graph names, or
    # "function/node" for a cell unrolled inside a library function (a Keras SavedModel's
    # unroll=True layers: their op indices are the function's, not the main graph's).
    from rnnviz.reporting.analysis import analyse
    from rnnviz.structure import make_view, partition

    a = analyse(corpus_files.path(name, variant), steps=ENTRIES[name].steps)
    part = partition(a)
    assert make_view(part, []).nodes
    main = set(a.index.names)
    functions = set(a.graphs.function_names)

    def exists(op: str) -> bool:
        if op in main:
            return True
        fname, _, node = op.partition("/")
        return fname in functions and node in set(a.graphs.function(fname).names)

    for call in a.calls:
        missing = [op for op in call.ops if not exists(op)]
        assert not missing, (call.layer, call.direction, call.step, missing[:3])
