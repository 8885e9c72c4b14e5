"""The session-scoped corpus: built once per test session, in one subprocess, then read as files.

The test process itself needs no TensorFlow for the corpus. Set RNNVIZ_CORPUS_CACHE=DIR to keep
the built corpus between sessions (keyed by a hash of the corpus code, so an edit rebuilds it);
by default it is built into the session's tmp directory.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent


@dataclass(frozen=True)
class CorpusFiles:
    """The built corpus: per graph name, the live and frozen file paths."""

    directory: Path
    graphs: dict[str, dict[str, Any]]
    build: dict[str, float]

    def path(self, name: str, variant: str) -> Path:
        return self.directory / self.graphs[name][variant]


def _code_hash() -> str:
    """Hash of the code that decides what is built (not of the checks)."""
    digest = hashlib.sha256()
    built_by = [HERE / "build.py", HERE / "registry.py", HERE / "truth.py"]
    for path in [*built_by, *sorted((HERE / "builders").glob("*.py"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_corpus(directory: Path) -> CorpusFiles:
    """Build every corpus graph into `directory` (one subprocess), unless already built there."""
    manifest = directory / "manifest.json"
    if not manifest.exists():
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
        subprocess.run(
            [sys.executable, "-m", "corpus.build", str(directory)],
            env=env,
            check=True,
            cwd=TESTS.parent,
        )
    data = json.loads(manifest.read_text())
    return CorpusFiles(directory, data["graphs"], data["build"])


@pytest.fixture(scope="session")
def corpus_files(tmp_path_factory: pytest.TempPathFactory) -> CorpusFiles:
    cache = os.environ.get("RNNVIZ_CORPUS_CACHE")
    if cache:
        return build_corpus(Path(cache) / _code_hash())
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def report_of(path: Path, steps: int | None) -> Any:
    """`rnnviz.report(path)`, once per file: every check of one graph reads the same report.

    An exception is kept and raised again, so a graph the report fails on costs one attempt.
    """
    outcome = _report_outcome(path, steps)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


@functools.cache
def _report_outcome(path: Path, steps: int | None) -> Any:
    import rnnviz

    try:
        return rnnviz.report(path, steps=steps) if steps else rnnviz.report(path)
    except Exception as exc:  # kept for report_of to raise again
        return exc
