"""Celery for the dashboard's background callbacks (graph builds, file analysis) at scale.

    RNNVIZ_CELERY_BROKER=redis://127.0.0.1:6379/0 celery -A app.celery_app worker --pool=solo
    RNNVIZ_CELERY_BROKER=redis://127.0.0.1:6379/0 gunicorn -w 4 -b 127.0.0.1:8050 app.wsgi:server

Both sides build the same Dash app with a `CeleryManager`: that is how the worker learns the
background callbacks as Celery tasks, and how the web workers find their results in Redis.
Results (and Dash's handle-signing secret) live in the Redis backend; graphs, reports and runs in
RNNVIZ_CACHE_DIR / RNNVIZ_RUNS_DIR, which every web and Celery worker must share.
`--pool=solo` (or prefork) is fine: each job runs TensorFlow in its own fresh subprocess anyway.
"""

from __future__ import annotations

import os

from celery import Celery

from app.main import BROKER_ENV, create_app

BROKER = os.environ.get(BROKER_ENV, "redis://127.0.0.1:6379/0")
BACKEND = os.environ.get("RNNVIZ_CELERY_BACKEND", BROKER)

celery_app = Celery("rnnviz", broker=BROKER, backend=BACKEND)
# A graph build can take minutes (T=784): results must outlive the default expiry of polling.
celery_app.conf.update(result_expires=3600, broker_connection_retry_on_startup=True)

dash_app = create_app(celery_app=celery_app)
