"""One timeline for a run: client operations, injected faults and cluster observations.

Append-only and totally ordered (one lock, one index), as in Jepsen's histories. Each event says
when it started and ended (seconds since the run began), who did it (the FTP probe, a fault, an
observer of a node), what (op), and the outcome: ok, fail, or info when the outcome is unknown
(a timeout: the write may or may not have happened). The report and every duration bascule quotes
(failover, failback, client downtime) are computed from this timeline.
"""
from __future__ import annotations

from collections import Counter

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


CADENCE = 0.25  # seconds between two starts of the FTP probe's operations (ftp.Probe)
# the stage at which a probe operation failed (ftp.Probe); an operation recorded without one (a
# history from an older bascule) counts as unusable service, as it did then
CONNECT, LOGIN, READ, WRITE = "connexion", "identification", "lecture", "écriture"
UNKNOWN_STAGE = "échec"


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


def failed_at(op: Event) -> str | None:
    """The stage at which a client operation failed (None: it succeeded)."""
    if op.outcome == OK:
        return None
    stage = op.value.get("failed_at") if isinstance(op.value, dict) else None
    return stage or UNKNOWN_STAGE


def usable(op: Event) -> bool:
    """Whether the client could use the service: it connected, logged in and read. An upload
    refused by a server that answers does not make the service unusable (it is reported apart)."""
    return failed_at(op) in (None, WRITE)


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


def moment(op: Event, good: Callable[[Event], bool]) -> float:
    """When an operation tells something about the service: a success or a timeout when it was sent
    (the service took, or never answered, the request); a failure when it came (a refusal, or a
    connection dropped after a login had waited 7 s, belongs to the moment the server dropped it)."""
    return op.t if good(op) or op.outcome == INFO else op.end


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
        phases.append(Phase(kind, max(0.0, until - t), reasons[0] or None, len(reasons),
                            tuple(sorted(counted.items(), key=lambda rc: (-rc[1], reasons.index(rc[0]))))))
    return Window(start, end, sum(op.outcome == FAIL for op in failures), sum(op.outcome == INFO for op in failures),
                  # a slow good operation still in flight when the next one was sent: at least nothing
                  shortest=None if before is None or after is None else max(0.0, after.t - before.end),
                  longest=None if before is None or after is None else after.end - before.t,
                  phases=tuple(phases), open_start=before is None)


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


def tells_server(op: Event) -> bool:
    """Whether a client operation read which node served it: a read that succeeded does; an upload
    does not, refused or not (a history from an older bascule has one kind of operation, which did)."""
    return (op.outcome == OK and op.op != WRITE
            and not (isinstance(op.value, dict) and op.value.get("op") == WRITE))


def until_served(events: Iterable[Event], process: str | None, after: float) -> tuple[list[Event], float | None]:
    """The events up to the client's first read served at or after `after`, and that read's time
    (every event and None when there is none)."""
    evs = list(events)
    first = next((op for op in client_ops(evs, process) if op.t >= after and tells_server(op)), None)
    if first is None:
        return evs, None
    kept = [e for e in evs if e.source != CLIENT or (process is not None and e.process != process)
            or moment(e, usable) <= first.t]
    return kept, first.t


def served_by(events: Iterable[Event], process: str | None = None) -> list[tuple[float, str]]:
    """When each node began answering the client: [(t, node), ...], from ok client operations that
    could tell which node served them."""
    changes: list[tuple[float, str]] = []
    for op in client_ops(events, process):
        node = op.value.get("served_by") if usable(op) and isinstance(op.value, dict) else None
        if node and (not changes or changes[-1][1] != node):
            changes.append((op.t, node))
    return changes
