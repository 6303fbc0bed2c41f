"""The one writer of a row that no check judged: an action that failed, a row not run, a row an
interruption did not reach. Apart from rows.py, a pytest plugin of its own, so that the session's
plugin can call it without importing that plugin before pytest does (which would stop pytest from
rewriting its asserts)."""

from __future__ import annotations

from bascule.judging.judge import record_row
from bascule.record.rows import Row
from bascule.reporting.table import CompletedTable


def write_row(report: CompletedTable, history, row: Row) -> None:
    """A row that no check judged (an action that failed, a row not run, one an interruption did
    not reach): on the history as it is, and in the table."""
    record_row(history, row)
    report.add(row)
