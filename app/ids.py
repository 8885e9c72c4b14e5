"""Component ids of the dashboard, in one place (pages, callbacks and browser tests share them)."""

from __future__ import annotations

# Shell
URL = "url"
NAV = "nav"
PAGE_PREFIX = "page-"  # + page key: the div of each page, shown or hidden by the URL

# Structure page
SPEC = "spec-dropdown"
STEPS = "steps-slider"
BUILD_STATUS = "build-status"
BUILD_PROGRESS = "build-progress"
BUILD_STAGE = "build-stage"
BUILD_KEY = (
    "build-key"  # dcc.Store: {"key": cache key of the built pair, "spec": ..., "steps": ...}
)
GRAPH = {"static": "cyto-static", "dynamic": "cyto-dynamic"}
STATS = {"static": "stats-static", "dynamic": "stats-dynamic"}
EXPANDED = {"static": "expanded-static", "dynamic": "expanded-dynamic"}  # dcc.Store: [block ids]
VIEW_INFO = {"static": "view-info-static", "dynamic": "view-info-dynamic"}
GROWTH = "growth-note"
STATE_URL = "structure-url"  # dcc.Location (refresh=False) the Structure page writes its state to
URL_STATE = "structure-url-state"  # dcc.Store: the view state read from the URL at page load

# Report page
REPORT_TITLE = "report-title"
REPORT_SUMMARY = "report-summary"
REPORT_CHARTS = "report-charts"

# Training page
TRAIN_START = "train-start"
TRAIN_STOP = "train-stop"
TRAIN_STEPS = "train-steps"
TRAIN_MESSAGE = "train-message"
RUNS = "runs-checklist"  # which runs are watched
RUNS_TABLE = "runs-table"
TICK = "train-interval"
CURVES = "train-curves"
HEAT_RUN = "heat-run"
HEAT_SAMPLE = "heat-sample"
HEAT_STEP = "heat-step"
HEATMAPS = "heatmaps"
DIGIT = "probe-digit"

# Open a file page
UPLOAD = "upload"
UPLOAD_STATUS = "upload-status"
UPLOAD_PROGRESS = "upload-progress"
UPLOAD_STAGE = "upload-stage"
FILE_INFO = "view-info-file"
UPLOAD_KEY = "upload-key"  # dcc.Store: {"key": cache key of the analysed file, "name": ...}
FILE_GRAPH = "cyto-file"
FILE_STATS = "stats-file"
FILE_EXPANDED = "expanded-file"
FILE_REPORT = "file-report"
