"""bascule.history: the run's timeline and what is computed from it (downtime, fault spans ...)."""
from __future__ import annotations

import json
import threading

import pytest

from bascule.history import (CLIENT, FAIL, FAULT, INFO, OBSERVATION, OK, STEP, Event, History, Window,
                             client_ops, downtime_windows, fault_spans, first_observation, served_by,
                             total_downtime)

P = "sonde-ftp"


class FakeClock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def timeline(*ops: tuple[float, str], process: str = P, step: float = 0.05) -> History:
    """A history of client operations: (start, outcome) pairs, each lasting `step` seconds."""
    h = History(clock=FakeClock())
    for t, outcome in ops:
        h.append(CLIENT, process, "write+read", outcome, t=t, end=t + step)
    return h


def test_clock_and_explicit_times():
    clock = FakeClock(500.0)
    h = History(clock=clock)
    assert h.now() == 0.0
    clock.t = 502.5
    assert h.now() == pytest.approx(2.5) and h.mark() == pytest.approx(2.5)
    e1 = h.append(STEP, "scenario", "begin", OK)  # instantaneous: t == end == now
    assert (e1.index, e1.t, e1.end) == (0, pytest.approx(2.5), pytest.approx(2.5))
    e2 = h.append(CLIENT, P, "write+read", OK, t=1.0)  # started earlier, ends now
    assert (e2.index, e2.t, e2.end) == (1, 1.0, pytest.approx(2.5))
    e3 = h.append(OBSERVATION, "intralab01", "crm_mon", OK, t=3.0, end=3.2)
    assert (e3.t, e3.end) == (3.0, 3.2)
    assert h.events == (e1, e2, e3)
    assert h.since(2.0) == (e1, e3)
    with pytest.raises(Exception):
        e1.t = 9  # events are frozen


def test_no_failure_no_window():
    h = timeline((0.0, OK), (0.25, OK), (0.5, OK))
    assert downtime_windows(h.events) == []
    assert total_downtime(h.events) == 0.0
    assert total_downtime(h.events, P) == 0.0


def test_no_client_op_no_window():
    assert downtime_windows([]) == []
    assert total_downtime([]) == 0.0


def test_one_window_from_first_failure_to_next_ok():
    h = timeline((0.0, OK), (1.0, FAIL), (1.5, FAIL), (2.0, FAIL), (3.25, OK), (3.5, OK))
    assert downtime_windows(h.events, P) == [Window(start=1.0, end=3.25, failed=3, unknown=0)]
    (w,) = downtime_windows(h.events)
    assert w.duration == pytest.approx(2.25)
    assert total_downtime(h.events, P) == pytest.approx(2.25)


def test_unknown_outcome_counts_as_down():
    h = timeline((0.0, OK), (1.0, INFO), (4.0, FAIL), (5.0, OK))
    (w,) = downtime_windows(h.events, P)
    assert (w.start, w.end, w.failed, w.unknown) == (1.0, 5.0, 1, 1)
    assert total_downtime(h.events, P) == pytest.approx(4.0)
    only_info = timeline((0.0, OK), (1.0, INFO), (2.0, OK))
    assert downtime_windows(only_info.events) == [Window(1.0, 2.0, 0, 1)]


def test_window_still_open_at_the_end():
    h = timeline((0.0, OK), (1.0, FAIL), (2.0, INFO))
    (w,) = downtime_windows(h.events, P)
    assert w == Window(1.0, None, 1, 1)
    assert w.duration is None
    assert total_downtime(h.events, P) is None
    # even after a closed window, an open one makes the total unknown
    h2 = timeline((0.0, FAIL), (1.0, OK), (2.0, FAIL))
    assert [w.duration for w in downtime_windows(h2.events)] == [1.0, None]
    assert total_downtime(h2.events) is None


def test_two_windows_add_up():
    h = timeline((0.0, OK), (1.0, FAIL), (2.5, OK), (3.0, OK), (4.0, INFO), (4.5, FAIL), (5.0, OK))
    ws = downtime_windows(h.events, P)
    assert ws == [Window(1.0, 2.5, 1, 0), Window(4.0, 5.0, 1, 1)]
    assert total_downtime(h.events, P) == pytest.approx(2.5)


def test_windows_follow_start_times_not_append_order():
    # a slow op appended after a later one: the windows are computed in start order
    h = History(clock=FakeClock())
    h.append(CLIENT, P, "write+read", OK, t=0.0, end=0.1)
    h.append(CLIENT, P, "write+read", OK, t=2.0, end=2.1)
    h.append(CLIENT, P, "write+read", FAIL, t=1.0, end=2.5)  # timed out late, started before
    assert [e.t for e in client_ops(h.events)] == [0.0, 1.0, 2.0]
    assert downtime_windows(h.events) == [Window(1.0, 2.0, 1, 0)]


def test_other_processes_and_sources_are_ignored():
    h = timeline((0.0, OK), (1.0, FAIL), (2.0, OK))
    # another client fails for long; faults and observations fail too
    h.append(CLIENT, "autre-sonde", "write+read", FAIL, t=0.5, end=0.6)
    h.append(CLIENT, "autre-sonde", "write+read", FAIL, t=5.0, end=5.1)
    h.append(FAULT, "standby intralab01", "start", FAIL, t=0.2, end=0.2)
    h.append(OBSERVATION, "intralab01", "crm_mon", FAIL, t=0.3, end=0.4)
    assert downtime_windows(h.events, P) == [Window(1.0, 2.0, 1, 0)]
    assert total_downtime(h.events, P) == pytest.approx(1.0)
    assert downtime_windows(h.events, "autre-sonde") == [Window(0.5, None, 2, 0)]
    assert total_downtime(h.events, "autre-sonde") is None
    # without process=, every client op is merged into one timeline: the other probe's failures count
    assert downtime_windows(h.events) == [Window(0.5, 2.0, 2, 0), Window(5.0, None, 1, 0)]
    assert len(client_ops(h.events, P)) == 3 and len(client_ops(h.events)) == 5


def test_fault_spans():
    h = History(clock=FakeClock())
    h.append(FAULT, "standby intralab01", "start", OK, t=1.0, end=1.5)
    h.append(CLIENT, P, "write+read", OK, t=1.2, end=1.3)
    h.append(FAULT, "câble intralab01", "start", OK, t=2.0, end=2.0)
    h.append(FAULT, "standby intralab01", "end", OK, t=5.0, end=5.4)
    h.append(FAULT, "inconnu", "end", OK, t=6.0, end=6.0)  # an end without a start is ignored
    evs = h.events
    spans = fault_spans(evs)
    assert [(s.process, s.t, e.t if e else None) for s, e in spans] == [
        ("standby intralab01", 1.0, 5.0),
        ("câble intralab01", 2.0, None),
    ]
    assert spans[0] == (evs[0], evs[3])
    assert fault_spans([]) == []


def test_served_by_records_changes_only():
    h = History(clock=FakeClock())
    h.append(CLIENT, P, "write+read", OK, {"served_by": "intralab01"}, t=0.0, end=0.1)
    h.append(CLIENT, P, "write+read", OK, {"served_by": "intralab01"}, t=1.0, end=1.1)
    h.append(CLIENT, P, "write+read", FAIL, {"served_by": "hdintralab01"}, t=2.0, end=2.1)  # not ok: ignored
    h.append(CLIENT, P, "write+read", OK, {"served_by": None}, t=3.0, end=3.1)  # cannot tell
    h.append(CLIENT, P, "write+read", OK, None, t=3.5, end=3.6)
    h.append(CLIENT, P, "write+read", OK, {"served_by": "hdintralab01"}, t=4.0, end=4.1)
    h.append(CLIENT, "autre", "write+read", OK, {"served_by": "intralab01"}, t=4.5, end=4.6)
    h.append(CLIENT, P, "write+read", OK, {"served_by": "hdintralab01"}, t=5.0, end=5.1)
    h.append(CLIENT, P, "write+read", OK, {"served_by": "intralab01"}, t=6.0, end=6.1)
    assert served_by(h.events, P) == [(0.0, "intralab01"), (4.0, "hdintralab01"), (6.0, "intralab01")]
    assert served_by(h.events) == [(0.0, "intralab01"), (4.0, "hdintralab01"), (4.5, "intralab01"),
                                   (5.0, "hdintralab01"), (6.0, "intralab01")]


def test_first_observation():
    h = History(clock=FakeClock())
    h.append(OBSERVATION, "intralab01", "crm_mon", OK, {"promoted": ["intralab01"]}, t=1.0, end=1.2)
    h.append(CLIENT, P, "write+read", OK, {"promoted": ["hdintralab01"]}, t=2.0, end=2.1)  # not an observation
    h.append(OBSERVATION, "intralab01", "crm_mon", FAIL, None, t=3.0, end=3.2)
    h.append(OBSERVATION, "hdintralab01", "crm_mon", OK, {"promoted": ["hdintralab01"]}, t=4.0, end=4.3)
    h.append(OBSERVATION, "hdintralab01", "crm_mon", OK, {"promoted": ["hdintralab01"]}, t=5.0, end=5.3)
    evs = h.events

    def on_hd(e):
        return isinstance(e.value, dict) and e.value.get("promoted") == ["hdintralab01"]

    assert first_observation(evs, 0.0, on_hd) is evs[3]
    assert first_observation(evs, 4.5, on_hd) is evs[4]
    assert first_observation(evs, 5.5, on_hd) is None
    assert first_observation(evs, 0.0, lambda e: True) is evs[0]
    assert first_observation(evs, 1.5, lambda e: True) is evs[2]


def test_save_and_load_round_trip(tmp_path):
    h = History(clock=FakeClock())
    h.append(STEP, "Q2", "begin", OK, t=0.0, end=0.0)
    h.append(CLIENT, P, "write+read", OK, {"path": "sonde/sonde-1.txt", "sha256": "ab" * 32,
                                           "served_by": "intralab01"}, t=0.5, end=0.7)
    h.append(CLIENT, P, "write+read", FAIL, {"served_by": None}, error="connexion refusée", t=1.0, end=1.0)
    h.append(CLIENT, P, "write+read", INFO, None, error="délai dépassé", t=2.0, end=10.0)
    h.append(FAULT, "câble intralab01", "start", OK, ["eth1", "déconnecté"], t=0.9, end=0.95)
    h.append(OBSERVATION, "hdintralab01", "crm_mon", OK, {"promoted": ["hdintralab01"], "fail": 0}, t=3.0, end=3.5)
    path = h.save_jsonl(tmp_path / "sous" / "dossier" / "history.jsonl")
    assert path.is_file()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + len(h.events)
    header = json.loads(lines[0])
    assert header == {"history_started_at": h.started_at.isoformat()}
    assert "déconnecté" in path.read_text(encoding="utf-8")  # written as UTF-8 text, not \u escapes
    loaded = History.load_events(path)
    assert all(isinstance(e, Event) for e in loaded)
    assert loaded == list(h.events)
    assert downtime_windows(loaded, P) == downtime_windows(h.events, P) == [Window(1.0, None, 1, 1)]
    assert [s.process for s, _ in fault_spans(loaded)] == ["câble intralab01"]


def test_thread_safe_appends():
    h = History()
    barrier = threading.Barrier(4)

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(500):
            h.append(CLIENT, f"t{n}", "op", OK, i)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    evs = h.events
    assert len(evs) == 2000
    assert [e.index for e in evs] == list(range(2000))
    # each thread's events are all there, in the order that thread appended them
    for n in range(4):
        assert [e.value for e in evs if e.process == f"t{n}"] == list(range(500))
    # times taken under the lock never go backwards
    assert all(a.t <= b.t for a, b in zip(evs, evs[1:]))
