"""The README and docs/ name only what a user of the repository has: every repository path they
name exists, every `rnnviz.x` / `app.x` name resolves, and no document points at a file outside
the repository. Cheap (no TensorFlow, no imports: module files are read with `ast`), so the docs
cannot drift from a rename unnoticed."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOP = ("rnnviz", "app", "bench", "tests", "docs", "sample_models")
# A path starts at one of the repository's top folders, not inside another path or a URL.
PATH = re.compile(rf"(?<![\w./~<>-])((?:{'|'.join(TOP)})/[\w.*{{}},/-]*)")
DOTTED = re.compile(r"(?<![\w./-])((?:rnnviz|app)(?:\.[A-Za-z_]\w*)+)")
BARE_PY = re.compile(r"`([\w-]+\.py)`")  # `train.py`: which one? (rnnviz/commands or bench)
MARKDOWN = re.compile(r"(?<![\w./-])([\w./-]+\.md)\b")
# Written by the tests themselves (gitignored): named in the README as where to look.
GENERATED = {"tests/_artifacts/"}


def _text(doc: Path) -> str:
    return doc.read_text(encoding="utf-8")


def _expand(pattern: str) -> list[str]:
    """`a/{b,c}.py` -> `a/b.py`, `a/c.py` (braces, as a shell would)."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [p for alt in match.group(1).split(",") for p in _expand(head + alt + tail)]


def _paths(text: str) -> set[str]:
    return {m.rstrip(".,:;)") for m in PATH.findall(text)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_repository_path_named_exists(doc):
    missing = []
    for named in sorted(_paths(_text(doc)) - GENERATED):
        for path in _expand(named):
            hits = list(ROOT.glob(path.rstrip("/"))) if "*" in path else [ROOT / path]
            if not any(h.is_dir() if path.endswith("/") else h.exists() for h in hits):
                missing.append(path)
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_python_files_are_named_by_their_path(doc):
    assert not BARE_PY.findall(_text(doc)), f"{doc.name}: write the path from the repository root"


@functools.cache
def _module_file(dotted: str) -> Path | None:
    base = ROOT.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def _top_level_names(path: Path) -> frozenset[str]:
    """Names a module defines or imports at top level, plus its `__all__` (lazy exports)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                names.update(ast.literal_eval(node.value))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return frozenset(names)


def _resolves(dotted: str) -> bool:
    """`rnnviz.training.start_run_process` -> the longest prefix that is a module file, and the
    next part (if any) a name that module defines (further parts are attributes: not checked)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = _module_file(".".join(parts[:cut]))
        if module is not None:
            return cut == len(parts) or parts[cut] in _top_level_names(module)
    return False


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_module_name_resolves(doc):
    unresolved = sorted({d for d in DOTTED.findall(_text(doc)) if not _resolves(d)})
    assert not unresolved, f"{doc.name} names modules or functions that do not exist: {unresolved}"


def _project_texts() -> list[Path]:
    return [*DOCS, ROOT / "pyproject.toml", *sorted(ROOT.glob("rnnviz/**/*.py"))]


def test_no_document_or_module_points_outside_the_repository():
    for path in _project_texts():
        for name in MARKDOWN.findall(_text(path)):
            here = [ROOT / name, path.parent / name, ROOT / "docs" / name]
            assert any(p.is_file() for p in here), f"{path.relative_to(ROOT)} cites {name}"


def test_the_checks_would_catch_a_stale_name():
    # the rename that left docs/ARCHITECTURE.md behind: rnnviz/train.py became training.py
    assert _paths("the loop in `rnnviz/train.py`") == {"rnnviz/train.py"}
    assert not (ROOT / "rnnviz/train.py").exists()
    assert _resolves("rnnviz.training.start_run_process") and _resolves("rnnviz.GraphReport")
    assert not _resolves("rnnviz.training.no_such_function") and not _resolves("rnnviz.nothing")
    assert BARE_PY.findall("| training | `train.py`, `store.py` |") == ["train.py", "store.py"]
    assert _expand("rnnviz/reporting/{a,b}.py") == [
        "rnnviz/reporting/a.py",
        "rnnviz/reporting/b.py",
    ]
