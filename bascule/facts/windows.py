"""The windows during which a client could not use the service, and the uploads a server refused:
every downtime bascule quotes is computed here, from the client's operations in the record."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable

from bascule.facts.client_ops import client_ops, failed_at, moment, usable
from bascule.record.history import CADENCE, FAIL, INFO, OK, UNKNOWN_STAGE, WRITE, Event


@dataclass(frozen=True)
class Phase:
    """Consecutive failures of one kind inside a window: the stage, how long, the first reason, how
    many operations failed so, and every reason with its count (most frequent first)."""

    kind: str
    seconds: float
    reason: str | None
    count: int = 1
    reasons: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Window:
    """A stretch of time during which a client could not use the service: from the last operation
    that succeeded before it to the first one that succeeded after it, each taken when it was sent.
    Sent, not answered: the first answer after a move waits for a login on a node that is still
    starting its resources (1.4 to 8 s under emulation, and not the same for two clients), so
    starts are what two independent clients agree on; `longest` counts that wait, and the row gives
    both bounds when they differ by more than the cadence. The probe starts operations at a fixed
    cadence, so a hung one delays neither bound."""

    start: float  # start of the last good operation before; the first failure's when none came before
    end: float | None  # start of the first good operation after; None: none came before the history ended
    failed: int
    unknown: int
    shortest: float | None = None  # end of the last good one to start of the next: the outage lasted at least...
    longest: float | None = None  # start of the last good one to end of the next: ...and at most
    phases: tuple[Phase, ...] = ()
    open_start: bool = False  # no good operation before it: it may have begun earlier

    @property
    def duration(self) -> float | None:
        return None if self.end is None else self.end - self.start

    @property
    def uncertain(self) -> bool:
        """Whether its bounds differ by more than the probe's cadence (the row then gives both)."""
        return self.shortest is not None and self.longest is not None and self.longest - self.shortest > CADENCE + 1e-9


def downtime_windows(events: Iterable[Event], process: str | None = None) -> list[Window]:
    """Windows during which a client could not use the service (usable() false): from the last
    usable operation before to the first usable one after. An unknown outcome (timeout) counts as
    no service: the user got no answer in time. Operations are taken in the order of what each
    tells (moment()), not of when each was sent: a login that waited 7 s and was dropped when the
    server stopped belongs to that stop, not to the second it was sent."""
    return _windows(client_ops(events, process), bad=lambda op: not usable(op), good=usable)


def write_refusals(events: Iterable[Event], process: str | None = None) -> list[Window]:
    """Windows during which uploads failed on a server that otherwise answered: from the last
    upload that succeeded to the next one (operations that did not try to write are left out)."""

    def tried_to_write(op: Event) -> bool:
        return (isinstance(op.value, dict) and op.value.get("op") == WRITE) or op.op == WRITE

    writes = [op for op in client_ops(events, process) if tried_to_write(op) and failed_at(op) in (None, WRITE)]
    return _windows(writes, bad=lambda op: failed_at(op) == WRITE, good=lambda op: op.outcome == OK)


def _windows(ops: list[Event], bad: Callable[[Event], bool], good: Callable[[Event], bool]) -> list[Window]:
    windows: list[Window] = []
    last_good: Event | None = None
    failures: list[Event] = []
    for op in sorted((o for o in ops if bad(o) or good(o)), key=lambda o: (moment(o, good), o.index)):
        if bad(op):
            failures.append(op)
        else:
            if failures:
                windows.append(_window(last_good, failures, op, good))
            failures = []
            last_good = op
    if failures:
        windows.append(_window(last_good, failures, None, good))
    return windows


def _window(before: Event | None, failures: list[Event], after: Event | None, good: Callable[[Event], bool]) -> Window:
    start = before.t if before is not None else moment(failures[0], good)
    end = after.t if after is not None else None
    phases: list[Phase] = []
    runs: list[tuple[str, float, list[str]]] = []  # kind, when it began, each failure's reason
    for op in failures:
        kind = failed_at(op) or UNKNOWN_STAGE
        if not runs or runs[-1][0] != kind:
            runs.append((kind, moment(op, good), []))
        runs[-1][2].append(op.error or "")
    for i, (kind, t, reasons) in enumerate(runs):
        until = runs[i + 1][1] if i + 1 < len(runs) else (end if end is not None else max(op.end for op in failures))
        if i == 0 and before is not None:
            t = start  # the first phase runs from the last good operation
        counted = Counter(r for r in reasons if r)
        phases.append(
            Phase(
                kind,
                max(0.0, until - t),
                reasons[0] or None,
                len(reasons),
                tuple(sorted(counted.items(), key=lambda rc: (-rc[1], reasons.index(rc[0])))),
            )
        )
    return Window(
        start,
        end,
        sum(op.outcome == FAIL for op in failures),
        sum(op.outcome == INFO for op in failures),
        # a slow good operation still in flight when the next one was sent: at least nothing
        shortest=None if before is None or after is None else max(0.0, after.t - before.end),
        longest=None if before is None or after is None else after.end - before.t,
        phases=tuple(phases),
        open_start=before is None,
    )
