"""bascule.waits.wait_until: poll with a deadline, with a fake clock so that no test really waits."""

from __future__ import annotations

import io
import threading
import time

import pytest

from bascule import waits
from bascule.errors import BasculeError, NodeError
from bascule.lab import embedded as lab_module
from bascule.waits import PROGRESS, Waited, WaitTimeout, wait_until


class FakeClock:
    """Each reading advances time by `step` seconds: a poll costs `step` of fake time."""

    def __init__(self, step: float = 1.0):
        self.t = 100.0
        self.step = step

    def __call__(self) -> float:
        self.t += self.step
        return self.t


def seq(*values):
    it = iter(values)

    def probe():
        v = next(it)
        if isinstance(v, BaseException):
            raise v
        return v

    return probe


def test_returns_value_and_elapsed():
    clock = FakeClock(step=1.0)
    w = wait_until(seq(1, 2, 3, 4), lambda v: v >= 3, "trois", deadline=60, interval=0, clock=clock)
    assert isinstance(w, Waited)
    assert w.value == 3
    # one clock reading at the start, one after each of the two misses, one on success
    assert w.elapsed == pytest.approx(3.0)


def test_immediate_success():
    w = wait_until(lambda: "ok", lambda v: v == "ok", "ok", deadline=1, interval=0, clock=FakeClock(0.5))
    assert (w.value, w.elapsed) == ("ok", pytest.approx(0.5))


def test_real_clock_success_is_quick():
    calls = []

    def probe():
        calls.append(1)
        return len(calls)

    start = time.monotonic()
    w = wait_until(probe, lambda v: v == 3, "troisième appel", deadline=5, interval=0.01)
    assert w.value == 3 and len(calls) == 3
    assert 0 <= w.elapsed < 1 and time.monotonic() - start < 1


def test_timeout_says_what_was_expected_and_last_seen():
    clock = FakeClock(step=1.0)
    values = iter(range(100))
    with pytest.raises(WaitTimeout) as info:
        wait_until(
            lambda: {"promu": f"n{next(values)}"},
            lambda v: v["promu"] == "hdintralab01",
            "ms-drbd0 promu sur hdintralab01",
            deadline=10,
            interval=0,
            clock=clock,
        )
    err = info.value
    assert isinstance(err, BasculeError)
    assert err.expected == "ms-drbd0 promu sur hdintralab01"
    assert err.deadline == 10
    # one second of fake time per poll: the 10th poll (n9) reaches the deadline and is the last seen
    assert err.last_seen == repr({"promu": "n9"})
    assert "délai de 10 s dépassé en attendant ms-drbd0 promu sur hdintralab01" in str(err)
    assert "dernier état vu : {'promu': 'n9'}" in str(err)
    assert err.fix


def test_describe_is_used_for_last_seen():
    with pytest.raises(WaitTimeout) as info:
        wait_until(
            lambda: 41,
            lambda v: v == 42,
            "42",
            deadline=3,
            interval=0,
            clock=FakeClock(),
            describe=lambda v: f"valeur {v}",
        )
    assert info.value.last_seen == "valeur 41"


def test_exception_counts_as_not_yet():
    clock = FakeClock(step=1.0)
    probe = seq(ConnectionRefusedError("ssh refusé"), NodeError("intralab01 injoignable", "démarrez-la"), 7)
    w = wait_until(probe, lambda v: v == 7, "sept", deadline=60, interval=0, clock=clock)
    assert w.value == 7


def test_exception_appears_in_last_seen():
    with pytest.raises(WaitTimeout) as info:
        wait_until(
            seq(5, OSError("No route to host"), OSError("No route to host"), OSError("No route to host")),
            lambda v: v == 6,
            "six",
            deadline=3,
            interval=0,
            clock=FakeClock(),
        )
    assert info.value.last_seen == "OSError: No route to host"
    assert "OSError: No route to host" in str(info.value)


def test_bascule_error_shows_its_what_only():
    with pytest.raises(WaitTimeout) as info:
        wait_until(
            seq(*[NodeError("intralab01 ne répond pas", "vérifiez le câble")] * 5),
            lambda v: True,
            "intralab01",
            deadline=2,
            interval=0,
            clock=FakeClock(),
        )
    assert info.value.last_seen == "intralab01 ne répond pas"


def test_nothing_seen_when_ok_raises_first():
    def ok(v):
        raise ValueError("sortie illisible")

    with pytest.raises(WaitTimeout) as info:
        wait_until(lambda: "x", ok, "lisible", deadline=2, interval=0, clock=FakeClock())
    assert info.value.last_seen == "ValueError: sortie illisible"


def test_stop_event_ends_the_wait_at_once():
    stop = threading.Event()
    stop.set()
    start = time.monotonic()
    with pytest.raises(WaitTimeout) as info:
        wait_until(lambda: 1, lambda v: False, "jamais", deadline=30, interval=10, stop=stop)
    assert time.monotonic() - start < 1
    assert info.value.last_seen == "attente interrompue ; dernier état vu : 1"


def test_interval_is_waited_between_polls():
    calls = []
    start = time.monotonic()
    with pytest.raises(WaitTimeout):
        wait_until(lambda: calls.append(time.monotonic()), lambda v: False, "rien", deadline=0.25, interval=0.1)
    # polls at about 0, 0.1, 0.2 and a last one at the deadline (the last pause is cut short)
    assert 3 <= len(calls) <= 5
    gaps = [b - a for a, b in zip(calls, calls[1:])]
    assert all(g >= 0.09 for g in gaps[:-1])
    assert calls[-1] - calls[0] >= 0.24
    assert time.monotonic() - start < 1.5


def test_off_a_terminal_a_long_wait_says_a_line_every_30_s(monkeypatch):

    log = io.StringIO()  # a CI log: not a terminal
    monkeypatch.setattr(PROGRESS, "stream", log)
    stop = threading.Event()
    clock = FakeClock(step=5.0)  # each poll costs 5 s of fake time
    with pytest.raises(WaitTimeout):
        wait_until(
            lambda: "StandAlone",
            lambda v: False,
            "la reconnexion de DRBD",
            deadline=100,
            interval=0.0,
            stop=stop,
            clock=clock,
        )
    lines = log.getvalue().splitlines()
    assert len(lines) == 3, lines  # at 30, 60 and 90 s
    assert lines[0].startswith("  … la reconnexion de DRBD : 30 s / 100 s ('StandAlone')")
    assert "\r" not in log.getvalue()  # no carriage return in a log


def test_a_lab_phase_says_it_still_runs(monkeypatch):

    said = []
    monkeypatch.setattr(waits, "HEARTBEAT", 0.05)
    lab = lab_module.EmbeddedLab(out=said.append)
    with lab.phase("construction de la box"):
        deadline = time.monotonic() + 5
        while len(said) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert said[:2] and all(s.startswith("construction de la box : toujours en cours (") for s in said)
    assert "construction de la box" in lab.timings


def test_a_yes_no_wait_says_not_yet_rather_than_false():
    with pytest.raises(WaitTimeout) as info:
        wait_until(lambda: False, bool, "la réponse SSH de intralab01", deadline=0.2, interval=0.05)
    assert "pas encore" in str(info.value) and "False" not in str(info.value)
