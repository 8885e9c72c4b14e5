"""The dashboard's pages. Each module owns its layout and registers its own callbacks:

`KEY`, `PATH`, `TITLE`, `layout(settings) -> component`, `register(app)`; and the callbacks'
bodies are module-level plain functions that the unit tests call directly.
"""

from __future__ import annotations

from app.pages import open_file, report, structure, training

PAGES = (structure, report, training, open_file)

__all__ = ["PAGES"]
