"""One timeline for a run: client operations, injected faults and cluster observations.

Append-only and totally ordered (one lock, one index), as in Jepsen's histories. Each event says
when it started and ended (seconds since the run began), who did it (the FTP probe, a fault, an
observer of a node), what (op), and the outcome: ok, fail, or info when the outcome is unknown
(a timeout: the write may or may not have happened). The report and every duration bascule quotes
(failover, failback, client downtime) are computed from this timeline.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

OK, FAIL, INFO = "ok", "fail", "info"
CLIENT, FAULT, OBSERVATION, STEP = "client", "fault", "observation", "step"
# a row of the table as it was judged (check, observation, slice), and facts about the run itself
VERDICT, RUN = "verdict", "run"


@dataclass(frozen=True)
class Event:
    index: int
    t: float  # start, seconds since the history began
    end: float  # completion (== t for instantaneous events)
    source: str  # client | fault | observation | step
    process: str  # e.g. "sonde-ftp", "standby intralab01", "intralab01"
    op: str  # e.g. "write+read", "start", "end", "crm_mon"
    outcome: str  # ok | fail | info
    value: Any = None
    error: str | None = None


@dataclass(frozen=True)
class Window:
    """A stretch of time during which a client got no good answer."""
    start: float
    end: float | None  # None: no good answer came back before the history ended
    failed: int
    unknown: int

    @property
    def duration(self) -> float | None:
        return None if self.end is None else self.end - self.start


class History:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._t0 = clock()
        self.started_at = datetime.now(timezone.utc)
        self._lock = threading.Lock()
        self._events: list[Event] = []

    def now(self) -> float:
        return self._clock() - self._t0

    def append(self, source: str, process: str, op: str, outcome: str, value: Any = None,
               error: str | None = None, t: float | None = None, end: float | None = None) -> Event:
        with self._lock:
            now = self.now()
            start = now if t is None else t
            ev = Event(len(self._events), start, now if end is None else end, source, process, op,
                       outcome, value, error)
            self._events.append(ev)
            return ev

    @property
    def events(self) -> tuple[Event, ...]:
        with self._lock:
            return tuple(self._events)

    def since(self, t: float) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.t >= t)

    def mark(self) -> float:
        """The current time on this history's clock, to cut a slice of it later."""
        return self.now()

    def save_jsonl(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps({"history_started_at": self.started_at.isoformat()}) + "\n")
            for ev in self.events:
                fh.write(json.dumps(asdict(ev), ensure_ascii=False, default=str) + "\n")
        return path

    @staticmethod
    def load_events(path: str | Path) -> list[Event]:
        events = []
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            if "index" in d:
                events.append(Event(**d))
        return events


def roundtrip_events(events: Iterable[Event]) -> list[Event]:
    """Events as a saved history gives them back (their JSON form): what every check judges, live
    or re-judged, so that both see the same values."""
    return [Event(**json.loads(json.dumps(asdict(e), ensure_ascii=False, default=str))) for e in events]


# --- what is computed from a history ------------------------------------------------------------

def client_ops(events: Iterable[Event], process: str | None = None) -> list[Event]:
    ops = [e for e in events if e.source == CLIENT and (process is None or e.process == process)]
    return sorted(ops, key=lambda e: (e.t, e.index))


def downtime_windows(events: Iterable[Event], process: str | None = None) -> list[Window]:
    """Windows seen by a client: from the start of the first operation that did not succeed to the
    start of the next one that did. An unknown outcome (timeout) counts as no service: the user got
    no answer in time."""
    windows: list[Window] = []
    start = None
    failed = unknown = 0
    for op in client_ops(events, process):
        if op.outcome == OK:
            if start is not None:
                windows.append(Window(start, op.t, failed, unknown))
                start = None
                failed = unknown = 0
        else:
            if start is None:
                start = op.t
            failed += op.outcome == FAIL
            unknown += op.outcome == INFO
    if start is not None:
        windows.append(Window(start, None, failed, unknown))
    return windows


def total_downtime(events: Iterable[Event], process: str | None = None) -> float | None:
    """Seconds without service; None when the last window never closed."""
    total = 0.0
    for w in downtime_windows(events, process):
        if w.duration is None:
            return None
        total += w.duration
    return total


def fault_spans(events: Iterable[Event]) -> list[tuple[Event, Event | None]]:
    """Each fault's start event with its end (heal) event, or None when it never ended."""
    spans: list[tuple[Event, Event | None]] = []
    open_: dict[str, Event] = {}
    for e in events:
        if e.source != FAULT:
            continue
        if e.op == "start":
            open_[e.process] = e
        elif e.op == "end" and e.process in open_:
            spans.append((open_.pop(e.process), e))
    spans.extend((s, None) for s in open_.values())
    return sorted(spans, key=lambda p: p[0].t)


def first_observation(events: Iterable[Event], after: float, holds: Callable[[Event], bool]) -> Event | None:
    """The first observation at or after `after` for which holds(event) is true."""
    for e in events:
        if e.source == OBSERVATION and e.t >= after and holds(e):
            return e
    return None


def served_by(events: Iterable[Event], process: str | None = None) -> list[tuple[float, str]]:
    """When each node began answering the client: [(t, node), ...], from ok client operations that
    could tell which node served them."""
    changes: list[tuple[float, str]] = []
    for op in client_ops(events, process):
        node = op.value.get("served_by") if op.outcome == OK and isinstance(op.value, dict) else None
        if node and (not changes or changes[-1][1] != node):
            changes.append((op.t, node))
    return changes
