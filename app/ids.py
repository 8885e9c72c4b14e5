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
STEPS_BOX = "steps-box"  # number input for T: applies on Enter (or leaving the box)
STEPS_NOTE = "steps-note"  # says when T was kept from the previous spec
BUILD_CANCEL = "build-cancel"
BUILD_REQUEST = "build-request"  # dcc.Store: {"spec", "steps", "nonce"}: what to build, when shown
# dcc.Store: {"key", "spec", "steps", "ready": ["dynamic", ...]} of the build in progress: each
# panel is drawn as soon as its graph is ready (a progress output of the build job)
BUILD_PARTIAL = "build-partial"
BUILD_ASKED = "build-asked"  # dcc.Store: {"spec", "steps"} last asked for (shown or building)
NONCE = "page-nonce"  # dcc.Store: random per page load, so identical requests are distinct jobs
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
REPORT_CLAIMS = "report-claims"
REPORT_LINK = "report-link"
REPORT_PROGRESS = "report-progress"
REPORT_STAGE = "report-stage"
REPORT_WANTED = "report-wanted"  # dcc.Store: {"spec", "steps"} the URL asks for and the cache lacks
REPORT_TICK = "report-tick"  # dcc.Interval: look again until the costly figures are in
REPORT_PAIR = "report-pair"  # dcc.Store: the URL's pair: {"spec", "steps", "key"} or {"error"}

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
UPLOAD_LIMIT = "upload-limit"  # data-max-bytes / data-suffixes for app/assets/upload.js
UPLOAD_SEND = "upload-send"  # progress of sending the file (app/assets/upload.js)
UPLOAD_SEND_TEXT = "upload-send-text"
FILE_INFO = "view-info-file"
UPLOAD_KEY = "upload-key"  # dcc.Store: {"key": cache key of the analysed file, "name": ...}
FILE_GRAPH = "cyto-file"
FILE_STATS = "stats-file"
FILE_EXPANDED = "expanded-file"
FILE_REPORT = "file-report"
