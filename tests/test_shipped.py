"""The default spec's build shipped with the package (app/jobs/shipped.py), and the first view the
page holds in its layout (app/pages/structure.first_view): no callback, no job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import jobs, panels
from app.jobs import shipped
from app.pages import structure
from rnnviz.spec import load_spec

SPEC, STEPS = "multi_static_lstm", 28


def test_the_shipped_build_is_the_default_spec_at_its_current_key() -> None:
    key = jobs.build_key(load_spec(SPEC).with_steps(STEPS), STEPS)
    assert shipped.shipped_keys() == [key]
    files = shipped.read_shipped(key)
    assert set(files) == set(shipped.FILES)
    assert files["meta.json"]["shipped"] is True
    assert "build_seconds" not in files["meta.json"]["static"]  # measured here, later


def test_regenerating_the_shipped_build_gives_the_same_files(tmp_path: Path) -> None:
    # Stale shipped files would show a view that is not what a build gives: make them again.
    key = shipped.make_shipped(SPEC, STEPS, tmp_path)
    assert shipped.shipped_keys(tmp_path) == shipped.shipped_keys()
    assert shipped.read_shipped(key, tmp_path) == shipped.read_shipped(key)


def test_install_puts_the_entry_in_the_cache_once(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (key,) = shipped.install_shipped(cache)
    assert shipped.install_shipped(cache) == []  # already there: left alone
    meta = jobs.read_meta(cache, key)
    assert meta is not None and meta["shipped"] and not meta.get("figures")
    folder = jobs.known_entry(cache, key)
    assert sorted(p.name for p in folder.iterdir()) == sorted(shipped.FILES)
    assert all(p.stat().st_mode & 0o077 == 0 for p in folder.iterdir())  # private
    elements, _, info, stats = panels.panel_outputs(cache, key, "static", [])
    assert len([e for e in elements if "source" not in e["data"]]) > 20
    assert "28 time steps" in info and stats
    # Opening a block works on the shipped partition; op details wait for the GraphDef.
    expanded = panels.expanded_after(False, {"id": "L0/fw/t0", "kind": "step"}, [])
    assert len(panels.panel_outputs(cache, key, "static", expanded)[0]) > len(elements)
    details = panels.details_of(cache, key, "static", {"name": "x", "data": {"label": "x"}})
    assert "still being built" in json.dumps(details.to_plotly_json(), default=str)


def test_a_planted_non_key_folder_is_not_installed(tmp_path: Path) -> None:
    ship = tmp_path / "ship"
    (ship / "not a key").mkdir(parents=True)
    assert shipped.install_shipped(tmp_path / "cache", ship) == []


def test_the_layout_holds_the_first_view_when_the_build_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RNNVIZ_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(structure, "DEFAULT_SPEC", SPEC)
    monkeypatch.setattr(structure, "DEFAULT_STEPS", STEPS)
    monkeypatch.setattr(jobs, "start_figures", lambda *a, **k: None)  # no job from a test
    cfg = jobs.settings()
    assert structure.first_view(cfg) is None  # nothing cached: the page asks for a build
    shipped.install_shipped(cfg.cache_dir)
    first = structure.first_view(cfg)
    assert first is not None
    assert first["build"]["spec"] == SPEC and first["build"]["steps"] == STEPS
    for which in ("static", "dynamic"):
        assert first["views"][which] == panels.panel_outputs(
            cfg.cache_dir, first["build"]["key"], which, []
        )
    page = json.dumps(structure.layout(cfg).to_plotly_json(), default=str)
    assert first["build"]["key"] in page and "L0/fw/t0" in page
    # What the layout shows counts as asked: the page's load asks for no build.
    asked = {"spec": SPEC, "steps": STEPS}
    assert structure.build_request(SPEC, STEPS, "/", "n", first["build"], asked) == (
        (structure.no_update,) * 4
    )
