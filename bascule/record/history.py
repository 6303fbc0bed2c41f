"""One timeline for a run: client operations, injected faults and cluster observations.

Append-only and totally ordered (one lock, one index), as in Jepsen's histories. Each event says
when it started and ended (seconds since the run began), who did it (the FTP probe, a fault, an
observer of a node), what (op), and the outcome: ok, fail, or info when the outcome is unknown
(a timeout: the write may or may not have happened). The report and every duration bascule quotes
(failover, failback, client downtime) are computed from this timeline, by bascule.facts: this module
holds the record only.
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


CADENCE = 0.25  # seconds between two starts of the FTP probe's operations (ftp.Probe)
# the stage at which a probe operation failed (ftp.Probe); an operation recorded without one (a
# history from an older bascule) counts as unusable service, as it did then
CONNECT, LOGIN, READ, WRITE = "connexion", "identification", "lecture", "écriture"
UNKNOWN_STAGE = "échec"


class History:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._t0 = clock()
        self.started_at = datetime.now(timezone.utc)
        self._lock = threading.Lock()
        self._events: list[Event] = []

    def now(self) -> float:
        return self._clock() - self._t0

    def append(
        self,
        source: str,
        process: str,
        op: str,
        outcome: str,
        value: Any = None,
        error: str | None = None,
        t: float | None = None,
        end: float | None = None,
    ) -> Event:
        with self._lock:
            now = self.now()
            start = now if t is None else t
            ev = Event(
                len(self._events), start, now if end is None else end, source, process, op, outcome, value, error
            )
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
