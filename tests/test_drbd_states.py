"""Each abnormal DRBD state has its own cause and fix, and a fix only where the state points to one
(facts/drbd_state.py). Hand-made states, in the words /proc/drbd and drbdadm status print
(the parsers are tested on captured output in test_cluster_state*.py)."""

import pytest

from bascule.facts.drbd_state import BROKEN, SYNCING, WAITING, drbd_finding
from bascule.record.cluster_state import DrbdStatus
from bascule.record.observations import ClusterReading, from_json, to_json

RES = "resftp"


def st(connection="Connected", disk="UpToDate", peer_disk="UpToDate", role="Primary", sync=None, configured=True):
    return DrbdStatus(RES, configured, role, "Secondary", connection, disk, peer_disk, sync)


def test_healthy_is_no_finding():
    assert drbd_finding("a", st(), st(role="Secondary"), False, RES) is None


def test_not_started_says_drbdadm_up_unless_the_node_is_away():
    f = drbd_finding("b", st("Unconfigured", "Diskless", "DUnknown", configured=False), st(), False, RES)
    assert f.fix == "drbdadm up resftp sur b"
    assert drbd_finding("b", st("Unconfigured", configured=False), st(), False, RES, node_away=True).fix == ""


def test_standalone_gave_up_on_its_peer_and_names_document_3_only_on_the_kernels_words():
    f = drbd_finding("a", st("StandAlone", peer_disk="DUnknown"), None, False, RES)
    assert "a renoncé à se connecter à son pair" in f.cause
    assert f.fix.startswith("drbdadm connect resftp sur a (si dmesg y dit « Split-Brain detected »")


def test_a_resync_in_progress_is_the_only_state_told_to_wait_with_its_progress():
    for connection in SYNCING:
        f = drbd_finding("b", st(connection, "Inconsistent", sync=42.5), st(), False, RES)
        if connection.startswith("PausedSync"):  # paused: waiting alone would never end
            assert "en pause" in f.cause and f.fix.startswith("drbdadm resume-sync resftp sur b")
        else:
            assert "resynchronisation en cours (42.5 %)" in f.cause and f.fix.startswith("attendre la fin")


@pytest.mark.parametrize("connection", WAITING + BROKEN)
def test_waiting_for_a_peer_that_runs_points_at_the_replication_link(connection):
    f = drbd_finding("a", st(connection, peer_disk="DUnknown"), st("WFConnection"), False, RES)
    assert "injoignable sur le lien de réplication" in f.cause and "drbdadm connect resftp" in f.fix


def test_waiting_for_a_peer_that_is_away_or_gave_up_is_the_peers_finding():
    assert drbd_finding("a", st("WFConnection"), None, True, RES).fix == ""
    f = drbd_finding("a", st("WFConnection"), st("StandAlone"), False, RES)
    assert "qui a renoncé à la connexion" in f.cause and f.fix == ""


def test_diskless():
    f = drbd_finding("b", st(disk="Diskless"), st(), False, RES)
    assert "Diskless" in f.cause and f.fix.startswith("drbdadm attach resftp sur b")
    assert drbd_finding("a", st(peer_disk="Diskless"), st(disk="Diskless"), False, RES).fix == ""


def test_inconsistent_without_a_resync_is_never_told_to_wait():
    f = drbd_finding("b", st(disk="Inconsistent"), st(), False, RES)
    assert "sans resynchronisation en cours" in f.cause and f.fix.startswith("drbdadm invalidate resftp sur b")
    both = drbd_finding("b", st(disk="Inconsistent", peer_disk="Inconsistent"), st(), False, RES)
    assert "aucun des deux nœuds" in both.cause and "primary --force" in both.fix


def test_outdated():
    f = drbd_finding("b", st(disk="Outdated"), st(), False, RES)
    assert "Outdated" in f.cause and f.fix.startswith("drbdadm disconnect resftp puis drbdadm connect resftp sur b")
    assert drbd_finding("a", st(peer_disk="Outdated"), st(disk="Outdated"), False, RES).fix == ""


STATES = [
    st(c, d, p, sync=s, configured=conf)
    for c in (
        "Connected",
        "StandAlone",
        "SyncTarget",
        "VerifyS",
        "Unconfigured",
        "WFConnection",
        "NetworkFailure",
        "Weird",
    )
    for d in ("UpToDate", "Inconsistent", "Outdated", "Diskless", "DUnknown", "Failed")
    for p in ("UpToDate", "Inconsistent", "Outdated", "Diskless", "DUnknown")
    for s in (None, 10.0)
    for conf in (True, False)
]


def test_every_rule_ties_its_fix_to_the_state_read():
    """A walk over every combination: « attendre » only while a resync or verify runs; a fix names
    the node it is for (where it acts on one); no fix where the state names none."""
    for state in STATES:
        for peer_away in (True, False):
            f = drbd_finding("x", state, st(), peer_away, RES)
            if f is None:
                assert state.healthy
                continue
            assert f.problem and f.cause
            if f.fix.startswith("attendre"):
                assert state.connection in SYNCING + ("VerifyS", "VerifyT")
            elif f.fix and not f.fix.startswith(("vérifier", "choisir")):
                assert " sur x" in f.fix, (state, f)


def test_the_kernel_s_words_are_quoted_and_a_split_brain_it_detected_gets_document_3():
    said = (
        "block drbd0: Split-Brain detected but unresolved, dropping connection!",
        "block drbd0: conn( WFReportParams -> Disconnecting )",
    )
    f = drbd_finding("a", st("StandAlone", peer_disk="DUnknown"), None, False, RES, kernel=said)
    assert f.cause.startswith("split brain : le noyau de a l'a détecté")
    assert "« block drbd0: Split-Brain detected but unresolved, dropping connection! »" in f.cause
    assert "drbdadm connect --discard-my-data resftp" in f.fix
    # other words of the kernel are quoted, and change nothing else
    g = drbd_finding(
        "a", st("StandAlone", peer_disk="DUnknown"), None, False, RES, kernel=("block drbd0: handshake failed",)
    )
    assert "a renoncé à se connecter" in g.cause and "handshake failed" in g.cause
    assert g.fix == "drbdadm connect resftp sur a"  # the kernel was read: no « if dmesg says » left to the user


def test_a_reading_saved_before_the_kernel_was_read_is_judged_as_before():

    saved = to_json(ClusterReading(None))
    saved.pop("drbd_kernel", None)
    assert from_json(saved).drbd_kernel == {}
