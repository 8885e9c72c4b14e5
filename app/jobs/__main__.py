"""`python -m app.jobs JOB ...`: the job process (see app/jobs/bodies.py)."""

from __future__ import annotations

import sys

from app.jobs.bodies import main

sys.exit(main())
