"""crm_mon XML and /proc/drbd captured on the Debian 13 lab (Pacemaker 3.0.0, DRBD 8.4.11): read as
the Debian 12 captures are (tests/fixtures/README.md says how each was made)."""

import dataclasses
from pathlib import Path

from bascule.record.cluster_state import FailedAction, ResourceStatus, parse_crm_mon, parse_proc_drbd

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_healthy_lab_on_pacemaker_3():
    st = parse_crm_mon(fixture("crm_mon-3.0-sain.xml"))
    assert (st.version, st.dc, st.with_quorum) == ("3.0.0-3.0.0", "intralab01", True)
    assert st.online_nodes == ("hdintralab01", "intralab01")
    assert st.fail_counts_shown and st.fail_counts == () and st.failed_actions == ()
    assert st.promoted_on("ms-drbd0") == ("intralab01",)
    assert st.where("ms-drbd0", "Unpromoted") == ("hdintralab01",)
    for rid in ("IPFailover", "serviceWeb", "serviceFTP", "fs0"):
        assert st.where(rid, "Started") == ("intralab01",), rid
    assert next(r for r in st.resources if r.id == "serviceFTP") == ResourceStatus(
        "serviceFTP", "lsb:proftpd", "Started", ("intralab01",), failed=False, managed=True, parent="servIntralab"
    )
    # crmsh 5 made the lab's plain MySQL clone promotable: one instance is Promoted, and it is still started
    assert st.where("cServiceMySQL", "Promoted") == ("intralab01",)
    assert st.started("cServiceMySQL")


def test_after_the_standby_and_back_online_on_pacemaker_3():
    st = parse_crm_mon(fixture("crm_mon-3.0-apres-bascule.xml"))
    assert set(st.online_nodes) == {"intralab01", "hdintralab01"} and not st.node("intralab01").standby
    assert st.promoted_on("ms-drbd0") == ("hdintralab01",)
    assert st.where("fs0") == ("hdintralab01",)
    # the failback has begun: a pending stop is shown by its own word, never as Started
    assert [(m.id, m.role) for m in st.instances("servIntralab")] == [
        ("IPFailover", "Started"),
        ("serviceWeb", "Started"),
        ("serviceFTP", "Stopping"),
    ]
    assert not st.started("servIntralab")


def test_proc_drbd_on_debian_13():
    master = parse_proc_drbd(fixture("proc_drbd-8.4-debian13-maitre-sain.txt"), "resftp")
    assert (master.role, master.peer_role, master.connection, master.healthy, master.version) == (
        "Primary",
        "Secondary",
        "Connected",
        True,
        "8.4.11",
    )
    alone = parse_proc_drbd(fixture("proc_drbd-8.4-debian13-esclave-primaire-wfconnection.txt"), "resftp")
    assert (alone.role, alone.connection, alone.disk, alone.peer_disk, alone.healthy) == (
        "Primary",
        "WFConnection",
        "UpToDate",
        "DUnknown",
        False,
    )
    stopped = parse_proc_drbd(fixture("proc_drbd-8.4-debian13-drbd-arrete.txt"), "resftp")
    assert not stopped.configured


def test_a_clone_s_failures_are_those_of_its_instances():
    st = parse_crm_mon(fixture("crm_mon-3.0-sain.xml"))
    ip = FailedAction("IPFailover", "intralab01", "monitor", "Error occurred", 1)
    mysql = FailedAction("serviceMySQL:1", "hdintralab01", "start", "Error occurred", 1)
    assert dataclasses.replace(st, failed_actions=(ip,)).failures_of("cServiceMySQL") == ()
    assert dataclasses.replace(st, failed_actions=(ip, mysql)).failures_of("cServiceMySQL") == (mysql,)
    assert dataclasses.replace(st, failed_actions=(ip, mysql)).failures_of("servIntralab") == (ip,)


def test_failed_start_with_its_restart_prevented_on_pacemaker_3():
    st = parse_crm_mon(fixture("crm_mon-3.0-echec-start-serviceFTP.xml"))
    # Pacemaker 3 words a failure « Error occurred » (2.1: « error »), and exitreason is empty here
    assert [(f.resource, f.node, f.task, f.exit_code, f.exit_status, f.exit_reason) for f in st.failed_actions] == [
        ("serviceFTP", "intralab01", "start", 1, "Error occurred", "")
    ]
    assert st.fail_count("serviceFTP", "intralab01") == 1000000  # INFINITY: a failed start bans the node
    assert all(m.nodes == ("hdintralab01",) for m in st.instances("servIntralab"))
    assert st.promoted_on("ms-drbd0") == ("hdintralab01",)


def test_failed_monitor_restarted_in_place_on_pacemaker_3():
    st = parse_crm_mon(fixture("crm_mon-3.0-echec-serviceFTP.xml"))
    # Pacemaker 3 words it « Not running » (2.1: « not running »), with the reason the agent gave
    assert [(f.resource, f.node, f.task, f.exit_code, f.exit_status) for f in st.failed_actions] == [
        ("serviceFTP", "intralab01", "monitor", 7, "Not running")
    ]
    assert st.failed_actions[0].exit_reason == "Resource agent interrupted by Killed signal"
    assert st.fail_count("serviceFTP", "intralab01") == 1
    assert st.where("serviceFTP", "Started") == ("intralab01",)
    # a promotion in progress is shown by its own word
    assert st.where("cServiceMySQL", "Promoting") == ("intralab01",)
