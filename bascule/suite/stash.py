"""What the plugin's parts share through pytest's stash, and how a run is stopped.

Keys on the session's config: the inventory, the history and the completed table. Keys on a
scenario's item: which step is the action, which rows were KO, when the current row began, the
scenario's faults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest

from bascule.record.history import INFO, RUN
from bascule.reporting.table import CompletedTable

# on the config
INVENTORY = pytest.StashKey[object]()
HISTORY = pytest.StashKey[object]()
REPORT = pytest.StashKey[CompletedTable]()
STARTED = pytest.StashKey[float]()
# on a scenario's item
ACTION = pytest.StashKey[str]()  # the When step's text: the row's « Actions à effectuer »
STEP = pytest.StashKey[object]()  # the step running now
KO_ROWS = pytest.StashKey[list]()  # observed results of the scenario's KO rows, failed at its end
STEP_FAILED = pytest.StashKey[bool]()
ROW_START = pytest.StashKey[
    float
]()  # when the row being judged began: the end of the previous row, or the scenario's start
ROW_STEP = pytest.StashKey[object]()  # the step whose row was recorded last
FAULTS = pytest.StashKey[object]()  # the scenario's Faults
BASELINE_SNAPSHOT = pytest.StashKey[object]()  # the Snapshot that found the cluster at its baseline, or None
FEATURE = pytest.StashKey[str]()  # the scenario's feature: the table its rows belong to
SCENARIO = pytest.StashKey[str]()
# on the config, while a scenario runs: where the run is, for a table left by an interruption
NOW_RUNNING = pytest.StashKey[object]()  # the item of the scenario running now
AUDITED_CONFIG = pytest.StashKey[object]()  # the last audit's AuditedConfig: the next scenario's « before »
INTERRUPTED_BY = pytest.StashKey[str]()  # set when Ctrl-C or SIGTERM interrupted the run


@dataclass(frozen=True)
class AuditedConfig:
    """The CIB's configuration as the last audit read it, when it found the cluster at its baseline
    with the configuration it started from, and when (history time)."""

    text: str
    at: float


def run_date() -> str:
    return f"{datetime.now():%Y-%m-%d %H:%M}"


def stop_run(exc: BaseException, config=None) -> None:
    """Stop the run with one line; the completed table (written at session end) says why too,
    so that a teacher who opens only the table does not take a short table for a passed lab."""
    __tracebackhide__ = True
    if config is not None:
        report = config.stash.get(REPORT, None)
        if report is None:
            report = config.stash[REPORT] = CompletedTable(date=run_date())
        report.stopped = str(exc)
        history = config.stash.get(HISTORY, None)
        if history is not None:
            history.append(RUN, "bascule", "stopped", INFO, str(exc))
    pytest.exit(f"bascule: {exc}", returncode=2)
