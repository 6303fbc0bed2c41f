"""Settled, not deadline: the controller's state read into a value, how long the cluster has been
quiet (a pure fact of the history), the watch that a wait asks, and the rows that say the cluster
settled. No VM: controller outputs are captured from the lab (tests/fixtures/README.md), histories
are hand-made."""

from __future__ import annotations

from pathlib import Path

import pytest

from bascule.cluster.settling import SettleWatch
from bascule.facts.settling import quiet_for, settled_sentence
from bascule.inventory import FTPSpec, Inventory, NodeSpec, Secret, SSHSpec
from bascule.judging.checks import moved, service_restarted
from bascule.judging.verdict import Verdict
from bascule.record.cluster_state import parse_controller
from bascule.record.history import CLIENT, FAIL, INFO, OBSERVATION, OK, History
from bascule.record.observations import MoveSeen, RestartSeen
from bascule.waits import Settled, WaitTimeout, wait_until

FIXTURES = Path(__file__).parent / "fixtures"
CIB = '<cib crm_feature_set="3.16.2" validate-with="pacemaker-3.9" epoch="{e}" num_updates="{n}" admin_epoch="0">'


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def controller(history: History, t: float, state: str = "S_IDLE", cib: str = "0.31.4", outcome: str = OK):
    history.append(
        OBSERVATION,
        "intralab01",
        "controller",
        outcome,
        {"dc": "intralab01", "state": state, "cib": cib} if outcome == OK else None,
        error=None if outcome == OK else "injoignable",
        t=t,
    )


# --- the controller's reading ----------------------------------------------------------------------


def test_the_controller_reading_captured_on_the_lab_idle_and_busy():
    idle = parse_controller((FIXTURES / "controller-2.1-idle.txt").read_text())
    assert idle.dc == "intralab01" and idle.state == "S_IDLE" and idle.idle
    assert idle.cib_version.count(".") == 2
    busy = parse_controller((FIXTURES / "controller-2.1-transition.txt").read_text())
    assert busy.state == "S_TRANSITION_ENGINE" and not busy.idle


def test_an_unreadable_controller_is_never_idle():
    seen = parse_controller("dc=\nstate=\ncib=\n")
    assert seen.state == "" and seen.cib_version == "" and not seen.idle
    # an idle state whose CIB could not be read proves nothing either
    assert not parse_controller("dc=a\nstate=S_IDLE\ncib=\n").idle
    assert parse_controller("dc=a\nstate=S_IDLE\ncib=" + CIB.format(e=3, n=9)).cib_version == "0.3.9"


# --- quiet, from the history -----------------------------------------------------------------------


def test_quiet_counts_idle_readings_with_one_cib_version():
    h = History(clock=Clock())
    for t in (0, 5, 10, 15):
        controller(h, t)
    assert quiet_for(h.events) == 15


def test_a_single_idle_reading_is_not_quiet():
    h = History(clock=Clock())
    controller(h, 0, state="S_TRANSITION_ENGINE")
    controller(h, 5)
    assert quiet_for(h.events) is None


def test_a_transition_or_a_cib_change_starts_the_count_again():
    h = History(clock=Clock())
    controller(h, 0)
    controller(h, 5)
    controller(h, 10, state="S_POLICY_ENGINE")
    controller(h, 15)
    controller(h, 20)
    assert quiet_for(h.events) == 5
    controller(h, 25, cib="0.31.5")  # an operation's result was written meanwhile
    controller(h, 30, cib="0.31.5")
    assert quiet_for(h.events) == 5


def test_an_unreadable_reading_breaks_the_quiet_run():
    h = History(clock=Clock())
    controller(h, 0)
    controller(h, 5)
    controller(h, 10, outcome=INFO)
    assert quiet_for(h.events) is None
    assert settled_sentence(24.04) == "aucune transition depuis 24,0 s"


# --- the wait ends when the cluster has settled ------------------------------------------------------


def test_a_wait_ends_at_once_when_settled_says_so():
    answers = iter([None, None, "aucune transition depuis 21,0 s"])
    with pytest.raises(Settled) as caught:
        wait_until(
            lambda: "Stopped",
            lambda v: v == "Started",
            "serviceWeb started",
            deadline=360,
            interval=0,
            settled=lambda: next(answers),
        )
    assert caught.value.settled == "aucune transition depuis 21,0 s"
    assert caught.value.last_seen == "'Stopped'" and caught.value.elapsed < 5
    assert isinstance(caught.value, WaitTimeout)  # every wait's handler takes it


class FakeCluster:
    """What SettleWatch uses of a Cluster: its history, and a controller reading that goes on it."""

    def __init__(self, states):
        self.clock = Clock()
        self.history = History(clock=self.clock)
        self.states = iter(states)
        self.reads = 0

    def controller(self, prefer=None):
        self.reads += 1
        state, cib = next(self.states)
        controller(self.history, self.history.now(), state, cib)


def test_the_watch_says_settled_after_the_grace_and_reads_at_its_pace():
    c = FakeCluster([("S_TRANSITION_ENGINE", "0.1.1")] + [("S_IDLE", "0.1.9")] * 10)
    watch = SettleWatch(c, since=0.0, grace=20)
    said, reads = [], []
    for _ in range(60):
        said.append(watch())
        reads.append(c.reads)
        c.clock.t += 1
    first = next(i for i, s in enumerate(said) if s)
    assert said[first] == "aucune transition depuis 20,0 s"
    assert 25 <= first <= 30  # busy at 0, idle from 5, 20 s of quiet seen at 25
    assert reads[first] <= 7  # one reading every READ_EVERY s, not one per attempt


def test_the_watch_ignores_the_quiet_that_a_monitor_interval_allows():
    c = FakeCluster([("S_IDLE", "0.1.9")] * 20)
    watch = SettleWatch(c, since=0.0, grace=20, quiet_allowed=10)
    said = {}
    for t in range(60):
        said[t] = watch()
        c.clock.t += 1
    first = min(t for t, s in said.items() if s)
    assert first >= 30  # 10 s allowed, then 20 s of grace


# --- the rows say it ----------------------------------------------------------------------------------


def test_a_move_that_settled_elsewhere_is_ko_and_says_so(inventory):
    h = History(clock=Clock())
    h.append(
        OBSERVATION,
        "hdintralab01",
        "crm_mon",
        OK,
        {"summary": "serviceWeb arrêté (start en échec sur hdintralab01)", "promoted": ["hdintralab01"]},
        t=5,
    )
    obs = MoveSeen(
        0.0,
        "hdintralab01",
        "standby de intralab01",
        None,
        wait_error="serviceWeb arrêté",
        settled="aucune transition depuis 21,0 s",
    )
    result = moved(obs, list(h.events), inventory)
    assert result.verdict is Verdict.KO
    assert result.observed.startswith(
        "Le cluster s'est stabilisé sans activer toutes les ressources sur hdintralab01 "
        "(aucune transition depuis 21,0 s)"
    )


def test_a_restart_that_settled_without_happening_is_ko_and_says_so(inventory):
    obs = RestartSeen(
        0.0,
        "serviceFTP",
        "intralab01",
        0,
        "sonde",
        False,
        None,
        "serviceFTP Stopped",
        45.0,
        settled="aucune transition depuis 20,0 s",
    )
    h = History(clock=Clock())
    h.append(CLIENT, "sonde", "read", FAIL, error="connexion refusée", t=1)
    result = service_restarted(obs, list(h.events), inventory)
    assert result.verdict is Verdict.KO
    assert "le cluster s'est stabilisé sans le relancer (aucune transition depuis 20,0 s)" in result.observed


@pytest.fixture
def inventory():

    nodes = tuple(NodeSpec(n, SSHSpec(host=n, user="vagrant", sudo=True)) for n in ("intralab01", "hdintralab01"))
    return Inventory(
        nodes=nodes, preferred_master="intralab01", vip="10.22.100.220", ftp=FTPSpec("user", Secret("x")), source="test"
    )
