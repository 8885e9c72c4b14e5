"""WSGI entry point for gunicorn: `gunicorn -w 4 -b 127.0.0.1:8050 app.wsgi:server`.

With RNNVIZ_CELERY_BROKER set, background callbacks go to Celery workers (app/celery_app.py);
without it each gunicorn worker runs them in local processes (DiskcacheManager), which is fine
for one machine; keep gunicorn's default sync workers then (no --threads): the local manager
forks per job, and a fork taken while another thread holds SQLite's mutex deadlocks the child.
"""

from __future__ import annotations

from app.main import create_app

app = create_app()
server = app.server
