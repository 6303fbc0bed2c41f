"""bascule.record.history: the run's timeline and what is computed from it (downtime, fault spans ...)."""

from __future__ import annotations

import json
import threading

import pytest

from bascule.facts.client_ops import client_ops, served_by
from bascule.facts.client_view import client_downtime, window_phases, window_sequence
from bascule.facts.events import fault_spans, first_observation
from bascule.facts.windows import Phase, downtime_windows, write_refusals
from bascule.record.history import (
    CLIENT,
    CONNECT,
    FAIL,
    FAULT,
    INFO,
    LOGIN,
    OBSERVATION,
    OK,
    READ,
    STEP,
    WRITE,
    Event,
    History,
)

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


def spans(windows) -> list[tuple]:
    return [(w.start, w.end, w.failed, w.unknown) for w in windows]


def test_one_window_from_the_last_good_operation_to_the_next():
    # the definition: from the last operation that succeeded before to the first after
    h = timeline((0.0, OK), (1.0, FAIL), (1.5, FAIL), (2.0, FAIL), (3.25, OK), (3.5, OK))
    assert spans(downtime_windows(h.events, P)) == [(0.0, 3.25, 3, 0)]
    (w,) = downtime_windows(h.events)
    assert w.duration == pytest.approx(3.25)
    assert (w.shortest, w.longest) == (pytest.approx(3.2), pytest.approx(3.3))
    assert not w.uncertain and not w.open_start
    assert total_downtime(h.events, P) == pytest.approx(3.25)


def test_unknown_outcome_counts_as_down():
    h = timeline((0.0, OK), (1.0, INFO), (4.0, FAIL), (5.0, OK))
    (w,) = downtime_windows(h.events, P)
    assert (w.start, w.end, w.failed, w.unknown) == (0.0, 5.0, 1, 1)
    assert total_downtime(h.events, P) == pytest.approx(5.0)
    only_info = timeline((0.0, OK), (1.0, INFO), (2.0, OK))
    assert spans(downtime_windows(only_info.events)) == [(0.0, 2.0, 0, 1)]


def test_window_still_open_at_the_end():
    h = timeline((0.0, OK), (1.0, FAIL), (2.0, INFO))
    (w,) = downtime_windows(h.events, P)
    assert spans([w]) == [(0.0, None, 1, 1)]
    assert w.duration is None
    assert total_downtime(h.events, P) is None
    # even after a closed window, an open one makes the total unknown
    h2 = timeline((0.0, FAIL), (1.0, OK), (2.0, FAIL))
    w1, w2 = downtime_windows(h2.events)
    assert w1.open_start and w1.duration == pytest.approx(0.95)  # no good operation before: it may have begun earlier
    assert w2.duration is None
    assert total_downtime(h2.events) is None


def test_two_windows_add_up():
    h = timeline((0.0, OK), (1.0, FAIL), (2.5, OK), (3.0, OK), (4.0, INFO), (4.5, FAIL), (5.0, OK))
    ws = downtime_windows(h.events, P)
    assert spans(ws) == [(0.0, 2.5, 1, 0), (3.0, 5.0, 1, 1)]
    assert total_downtime(h.events, P) == pytest.approx(4.5)


def test_windows_follow_what_each_operation_tells_not_append_order():
    # a failure that came late (a connection dropped at 2.5, sent at 1.0) tells of the service at
    # 2.5, after the good operation sent at 2.0: the outage begins then, and has not ended
    h = History(clock=FakeClock())
    h.append(CLIENT, P, "write+read", OK, t=0.0, end=0.1)
    h.append(CLIENT, P, "write+read", OK, t=2.0, end=2.1)
    h.append(CLIENT, P, "write+read", FAIL, t=1.0, end=2.5)  # timed out late, started before
    assert [e.t for e in client_ops(h.events)] == [0.0, 1.0, 2.0]
    (w,) = downtime_windows(h.events)
    assert spans([w]) == [(2.0, None, 1, 0)]


def test_other_processes_and_sources_are_ignored():
    h = timeline((0.0, OK), (1.0, FAIL), (2.0, OK))
    # another client fails for long; faults and observations fail too
    h.append(CLIENT, "autre-sonde", "write+read", FAIL, t=0.5, end=0.6)
    h.append(CLIENT, "autre-sonde", "write+read", FAIL, t=5.0, end=5.1)
    h.append(FAULT, "standby intralab01", "start", FAIL, t=0.2, end=0.2)
    h.append(OBSERVATION, "intralab01", "crm_mon", FAIL, t=0.3, end=0.4)
    assert spans(downtime_windows(h.events, P)) == [(0.0, 2.0, 1, 0)]
    assert total_downtime(h.events, P) == pytest.approx(2.0)
    assert spans(downtime_windows(h.events, "autre-sonde")) == [(0.6, None, 2, 0)]  # its first failure came at 0.6
    assert total_downtime(h.events, "autre-sonde") is None
    # without process=, every client op is merged into one timeline: the other probe's failures count
    assert spans(downtime_windows(h.events)) == [(0.0, 2.0, 2, 0), (2.0, None, 1, 0)]
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
    assert served_by(h.events) == [
        (0.0, "intralab01"),
        (4.0, "hdintralab01"),
        (4.5, "intralab01"),
        (5.0, "hdintralab01"),
        (6.0, "intralab01"),
    ]


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
    h.append(
        CLIENT,
        P,
        "write+read",
        OK,
        {"path": "sonde/sonde-1.txt", "sha256": "ab" * 32, "served_by": "intralab01"},
        t=0.5,
        end=0.7,
    )
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
    assert downtime_windows(loaded, P) == downtime_windows(h.events, P)
    assert spans(downtime_windows(loaded, P)) == [(0.5, None, 1, 1)]
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


def probe_op(h: History, t: float, kind: str, failed: str | None = None, dur: float = 0.1, served=None, error=None):
    """An operation as ftp.Probe records it: a read or a write, failed at a stage or not."""
    if failed is None:
        value = {"op": kind, "served_by": served} if kind == READ else {"op": kind, "path": "p", "sha256": "x"}
        h.append(CLIENT, P, kind, OK, value, t=t, end=t + dur)
    else:
        h.append(
            CLIENT, P, kind, FAIL, {"failed_at": failed, "served_by": None}, error=error or failed, t=t, end=t + dur
        )


def test_a_refused_upload_on_a_server_that_answers_is_no_downtime():
    h = History(clock=FakeClock())
    for i in range(20):
        kind = READ if i % 2 == 0 else WRITE
        probe_op(h, i * 0.25, kind, failed=WRITE if kind == WRITE and 4 <= i <= 11 else None, error="553 refusé")
    assert downtime_windows(h.events, P) == []
    (w,) = write_refusals(h.events, P)
    # from the last upload that worked (i=3) to the next one (i=13)
    assert (w.start, w.end, w.failed) == (0.75, 3.25, 4)
    assert w.phases == (Phase(WRITE, pytest.approx(2.5), "553 refusé", 4, (("553 refusé", 4),)),)


def test_phases_say_which_kind_of_failure_and_for_how_long():
    h = History(clock=FakeClock())
    probe_op(h, 0.0, READ, served="intralab01")
    for i in range(1, 9):
        probe_op(h, i * 0.25, READ, failed=CONNECT, error="connexion refusée")
    for i in range(9, 13):
        probe_op(h, i * 0.25, READ, failed=LOGIN, error="identifiants refusés (530)")
    probe_op(h, 13 * 0.25, READ, served="hdintralab01")
    (w,) = downtime_windows(h.events, P)
    assert w.duration == pytest.approx(3.25)
    assert [(p.kind, p.seconds, p.reason) for p in w.phases] == [
        (CONNECT, pytest.approx(2.35), "connexion refusée"),
        (LOGIN, pytest.approx(0.9), "identifiants refusés (530)"),
    ]
    assert served_by(h.events, P) == [(0.0, "intralab01"), (3.25, "hdintralab01")]


def test_a_hung_operation_makes_the_bounds_differ_and_the_window_uncertain():
    h = History(clock=FakeClock())
    probe_op(h, 0.0, READ, dur=3.0)  # slow but good: the service answered at some moment in [0, 3]
    probe_op(h, 0.25, READ, failed=CONNECT)
    probe_op(h, 4.0, READ)
    (w,) = downtime_windows(h.events, P)
    assert (w.duration, w.shortest, w.longest) == (pytest.approx(4.0), pytest.approx(1.0), pytest.approx(4.1))
    assert w.uncertain


def test_an_intermittent_outage_reads_in_a_few_words_with_its_dominant_kind_and_every_reason_counted():
    """Seen on a breakage no issue named: a server refusing some connections and accepting others
    wrote 8 000–9 400 characters of alternating phases in one cell."""

    h = History(clock=FakeClock())
    probe_op(h, 0.0, READ, served="intralab01")
    t = 0.25
    for i in range(160):  # one long stretch without connection: timeouts and refusals mixed
        probe_op(h, t, READ, failed=CONNECT, error="délai dépassé" if i % 3 else "connexion refusée")
        t += 0.25
    for i in range(170):  # then the server closes some sessions before its greeting, others after the login
        probe_op(
            h,
            t,
            READ,
            failed=CONNECT if i % 2 == 0 else LOGIN,
            error="accueil inattendu : connexion fermée" if i % 2 == 0 else "EOFError",
        )
        t += 0.25
    probe_op(h, t, READ, served="intralab01")
    (w,) = downtime_windows(h.events, P)
    said = window_phases(w)
    assert len(said) < 600 and said.startswith("170 phases alternées, surtout pas de connexion : ")
    assert "pas de connexion" in said and "(106 × délai dépassé, 85 × accueil inattendu : connexion fermée, …)" in said
    assert "identification refusée" in said and "85 × EOFError" in said
    assert len(client_downtime(h.events, P)[1]) < 600
    # the whole sequence, for the Allure attachment
    assert len(window_sequence(w).splitlines()) == 170
    first = w.phases[0]
    # the first stretch (and the first closed greeting after it) is one phase of three reasons, not « connexion
    # refusée »
    assert first.count == 161 and first.reasons == (
        ("délai dépassé", 106),
        ("connexion refusée", 54),
        ("accueil inattendu : connexion fermée", 1),
    )


def total_downtime(events, process=None):
    """Seconds without service over a history, None when the last window never closed: the sum the
    tests check the windows against (bascule itself says each window, never only their sum)."""
    total = 0.0
    for w in downtime_windows(events, process):
        if w.duration is None:
            return None
        total += w.duration
    return total
