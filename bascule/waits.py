"""Polling with a deadline: the only way bascule waits.

No fixed sleep anywhere else: a wait names what it waits for, polls a condition, shows a live
progress line on a terminal (a line every 30 s elsewhere), returns how long it took, and on timeout says what was
expected and
what was last seen.
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

from bascule.errors import BasculeError

T = TypeVar("T")


class WaitTimeout(BasculeError):
    """The condition did not hold before the deadline."""

    def __init__(self, what: str, deadline: float, last_seen: str):
        self.expected = what
        self.deadline = deadline
        self.last_seen = last_seen
        super().__init__(
            f"délai de {deadline:.0f} s dépassé en attendant {what} ; dernier état vu : {last_seen}",
            "examiner le cluster à la main (crm status, cat /proc/drbd) ou allonger le délai",
        )


class Settled(WaitTimeout):
    """The cluster settled without the condition: nothing is in flight that could bring it, so the
    wait ends before its deadline. A WaitTimeout, so that every wait's handler takes it; `settled`
    says how it settled (« aucune transition depuis 24 s »), `elapsed` when the wait gave up."""

    def __init__(self, what: str, elapsed: float, last_seen: str, settled: str):
        super().__init__(what, elapsed, last_seen)
        self.elapsed = elapsed
        self.settled = settled


class _Accounting:
    """How long the suite waited on the cluster, for the benchmark (bench/suite_timings.py)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.waited = 0.0
        self.local = threading.local()

    def add(self, seconds: float) -> None:
        with self.lock:
            self.waited += seconds

    def inside(self) -> bool:
        return getattr(self.local, "depth", 0) > 0


ACCOUNTING = _Accounting()


@dataclass(frozen=True)
class Waited(Generic[T]):
    value: T
    elapsed: float


HEARTBEAT = 30.0  # seconds between two progress lines off a terminal (CI logs, a nightly job, | tee)


class Progress:
    """Where progress goes: the process's real stderr. Under pytest, fd 2 is captured while a test
    runs: the plugin hands over a copy of it taken before capture began, so that a long wait is seen
    in a CI log as it happens, not after."""

    def __init__(self):
        self.stream = None  # None: sys.__stderr__

    def _out(self):
        return self.stream or sys.__stderr__

    @property
    def live(self) -> bool:
        """A terminal: one line redrawn in place. Elsewhere, a line every HEARTBEAT seconds."""
        out = self._out()
        return out is not None and out.isatty()

    def say(self, line: str) -> None:
        out = self._out()
        if out is None:
            return
        if self.live:
            line = "\r\033[K" + line
        out.write(line + "\n")
        out.flush()

    def redraw(self, line: str) -> None:
        out = self._out()
        if out is not None and self.live:
            out.write("\r\033[K" + line)
            out.flush()


PROGRESS = Progress()


@contextmanager
def heartbeat(say: Callable[[float], None], every: float | None = None):
    """While the block runs, say(seconds since it began) every HEARTBEAT seconds: a long silence (a
    box build, a class of clusters) reads as a hang otherwise, in a CI log as on a terminal. The one
    heartbeat of bascule; a wait has its own progress line (wait_until)."""
    start = time.monotonic()
    done = threading.Event()

    def beat():
        while not done.wait(HEARTBEAT if every is None else every):
            say(time.monotonic() - start)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()


def _shown(value) -> str:
    """A probe's value on a progress line: a yes/no probe still waiting says so, not « False »."""
    return "pas encore" if value is False else repr(value)


def wait_until(
    probe: Callable[[], T],
    ok: Callable[[T], bool],
    what: str,
    deadline: float,
    interval: float = 1.0,
    describe: Callable[[T], str] | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    settled: Callable[[], str | None] | None = None,
) -> Waited[T]:
    """Call probe() until ok(value) holds; return the value and the seconds it took.

    An exception from probe() counts as "not yet" (a node rebooting refuses SSH for a while) and is
    shown as the last thing seen. On the deadline, raise WaitTimeout with the last value seen. With
    `settled`, asked after each attempt that did not succeed: when it says the cluster has settled
    (a sentence), raise Settled at once instead of waiting out the deadline.
    """
    start = clock()
    last = "rien encore"
    describe = describe or _shown
    live = PROGRESS.live
    next_beat = HEARTBEAT
    waiter = stop or threading.Event()
    outermost = not ACCOUNTING.inside()
    ACCOUNTING.local.depth = getattr(ACCOUNTING.local, "depth", 0) + 1
    try:
        while True:
            try:
                value = probe()
                if ok(value):
                    return Waited(value, clock() - start)
                last = describe(value)
            except BasculeError as exc:
                last = str(exc.what)
            except Exception as exc:  # noqa: BLE001 - a probe failing is information, not the end of the wait
                last = f"{type(exc).__name__}: {exc}"
            elapsed = clock() - start
            why = settled() if settled is not None else None
            if why:
                raise Settled(what, elapsed, last, why)
            if live:
                shown = f"{elapsed:5.1f}".replace(".", ",")
                PROGRESS.redraw(f"  … {what} : {shown} s / {deadline:.0f} s ({last[:60]})")
            elif elapsed >= next_beat:
                PROGRESS.say(f"  … {what} : {elapsed:.0f} s / {deadline:.0f} s ({last[:100]})")
                next_beat += HEARTBEAT
            if elapsed >= deadline:
                raise WaitTimeout(what, deadline, last)
            # Event.wait, not sleep: a stop request (Ctrl-C in the probe, teardown) ends it at once.
            if waiter.wait(min(interval, max(0.0, deadline - elapsed))):
                raise WaitTimeout(what, deadline, f"attente interrompue ; dernier état vu : {last}")
    finally:
        ACCOUNTING.local.depth -= 1
        if outermost:
            ACCOUNTING.add(clock() - start)
        if live:
            PROGRESS.redraw("")
