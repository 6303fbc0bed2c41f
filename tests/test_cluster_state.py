"""bascule.record.cluster_state: crm_mon XML (Pacemaker 2.1 and 1.1) and DRBD status (8.4 and 9) as values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bascule.record.cluster_state import (
    ClusterState,
    DrbdStatus,
    FailedAction,
    NodeStatus,
    ResourceStatus,
    StateParseError,
    parse_crm_failcount,
    parse_crm_mon,
    parse_drbdadm_status,
    parse_proc_drbd,
)

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def healthy() -> ClusterState:
    return parse_crm_mon(fixture("crm_mon-2.1-sain.xml"))


@pytest.fixture(scope="module")
def failed11() -> ClusterState:
    return parse_crm_mon(fixture("crm_mon-1.1-echec.xml"))


# --- Pacemaker 2.1, captured from the lab -------------------------------------------------------


def test_21_summary(healthy):
    assert healthy.version == "2.1.5-a3f44794f94"
    assert healthy.dc == "intralab01"
    assert healthy.with_quorum is True
    assert healthy.failed_actions == ()
    assert healthy.fail_counts == ()
    assert healthy.fail_count("serviceFTP") == 0


def test_21_nodes(healthy):
    assert healthy.nodes == (
        NodeStatus("hdintralab01", online=True, standby=False, is_dc=False, unclean=False, maintenance=False),
        NodeStatus("intralab01", online=True, standby=False, is_dc=True, unclean=False, maintenance=False),
    )
    assert healthy.online_nodes == ("hdintralab01", "intralab01")
    assert healthy.node("intralab01").is_dc
    assert healthy.node("intralab99") is None


def test_21_resources(healthy):
    assert len(healthy.resources) == 8
    assert healthy.promoted_on("ms-drbd0") == ("intralab01",)
    assert healthy.where("ms-drbd0", "Unpromoted") == ("hdintralab01",)
    assert healthy.where("drbd0") == ("intralab01", "hdintralab01")
    assert healthy.where("fs0") == ("intralab01",)
    assert healthy.where("servIntralab") == ("intralab01",)
    assert [r.id for r in healthy.instances("servIntralab")] == ["IPFailover", "serviceWeb", "serviceFTP"]
    for rid in ("IPFailover", "serviceWeb", "serviceFTP", "fs0"):
        assert healthy.where(rid, "Started") == ("intralab01",), rid
    assert healthy.where("cServiceMySQL") == ("intralab01", "hdintralab01")
    assert healthy.where("cServiceMySQL", "Started") == ("intralab01", "hdintralab01")
    for rid in ("ms-drbd0", "fs0", "servIntralab", "cServiceMySQL", "serviceFTP"):
        assert healthy.started(rid), rid
    assert not healthy.started("absent")
    assert not any(r.failed for r in healthy.resources)
    assert all(r.managed for r in healthy.resources)
    ip = next(r for r in healthy.resources if r.id == "IPFailover")
    assert ip == ResourceStatus(
        "IPFailover",
        "ocf:heartbeat:IPaddr2",
        "Started",
        ("intralab01",),
        failed=False,
        managed=True,
        parent="servIntralab",
    )
    ftp = next(r for r in healthy.resources if r.id == "serviceFTP")
    assert ftp.agent == "lsb:proftpd"
    drbd = [r for r in healthy.resources if r.id == "drbd0"]
    assert [(r.role, r.nodes, r.parent, r.agent) for r in drbd] == [
        ("Promoted", ("intralab01",), "ms-drbd0", "ocf:linbit:drbd"),
        ("Unpromoted", ("hdintralab01",), "ms-drbd0", "ocf:linbit:drbd"),
    ]
    fs = next(r for r in healthy.resources if r.id == "fs0")
    assert fs.parent is None and fs.agent == "ocf:heartbeat:Filesystem"


def test_21_summary_line(healthy):
    s = healthy.summary()
    assert "hdintralab01 online" in s and "intralab01 online" in s
    assert "ms-drbd0: Promoted@intralab01, Unpromoted@hdintralab01" in s
    assert "servIntralab: Started@intralab01, Started@intralab01, Started@intralab01" in s
    assert "fs0: Started@intralab01" in s
    assert "échecs" not in s


# --- Pacemaker 1.1: a sample written from 1.1.14's crm_mon.c, not captured ----------------------


def test_11_fixture_says_it_is_a_sample_written_from_the_sources():
    head = fixture("crm_mon-1.1-echec.xml")[:600]
    assert "<!--" in head and "not captured" in head and "Pacemaker-1.1.14 sources" in head


def test_11_exit_reason_none_is_no_reason(failed11):
    # 1.1 prints exitreason="none" where the agent gave none (an LSB script never gives one)
    assert 'exitreason="none"' in fixture("crm_mon-1.1-echec.xml")
    assert failed11.failed_actions[0].exit_reason == ""


def test_11_normalised_to_21_words(failed11):
    assert failed11.version == "1.1.14-70404b0"
    assert failed11.dc == "intralab01" and failed11.with_quorum
    assert failed11.online_nodes == ("hdintralab01", "intralab01")
    assert failed11.promoted_on("ms-drbd0") == ("intralab01",)
    assert failed11.where("ms-drbd0", "Unpromoted") == ("hdintralab01",)
    assert failed11.where("ms-drbd0", "Master") == ()
    assert {r.role for r in failed11.resources} == {"Promoted", "Unpromoted", "Started"}
    ip = next(r for r in failed11.resources if r.id == "IPFailover")
    assert ip.agent == "ocf:heartbeat:IPaddr2"
    assert ip.parent == "servIntralab" and ip.nodes == ("intralab01",)
    assert next(r for r in failed11.resources if r.id == "drbd0").agent == "ocf:linbit:drbd"
    assert failed11.where("servIntralab") == ("intralab01",)
    assert failed11.where("cServiceMySQL") == ("intralab01", "hdintralab01")


def test_11_failed_action_and_fail_count(failed11):
    assert failed11.failed_actions == (
        FailedAction(
            resource="serviceFTP",
            node="intralab01",
            task="monitor",
            exit_status="not running",
            exit_code=7,
            exit_reason="",
        ),
    )
    assert failed11.fail_counts == (("intralab01", "serviceFTP", 1),)
    assert failed11.fail_count("serviceFTP") == 1
    assert failed11.fail_count("serviceFTP", "intralab01") == 1
    assert failed11.fail_count("serviceFTP", "hdintralab01") == 0
    assert failed11.fail_count("drbd0") == 0
    assert "échecs: serviceFTP monitor sur intralab01 (not running)" in failed11.summary()


def test_fail_counts_infinity_and_clone_instances():
    xml = """<crm_mon version="1.1.14"><summary><current_dc present="false"/></summary><nodes/>
      <node_history>
        <node name="hdintralab01">
          <resource_history id="drbd0:1" orphan="false" migration-threshold="1" fail-count="INFINITY"/>
          <resource_history id="fs0" orphan="false" migration-threshold="1" fail-count="0"/>
        </node>
      </node_history>
      <failures>
        <failure op_key="drbd0:1_promote_0" node="hdintralab01" exitstatus="unknown error" exitreason="peer"
        exitcode="1"
                 call="9" status="complete" task="promote"/>
      </failures></crm_mon>"""
    st = parse_crm_mon(xml)
    assert st.dc is None and st.with_quorum is False
    assert st.fail_counts == (("hdintralab01", "drbd0", 1000000),)
    assert st.failed_actions == (FailedAction("drbd0", "hdintralab01", "promote", "unknown error", 1, "peer"),)


# --- crm_mon outputs that are refused -----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "Could not connect to the CIB: Transport endpoint is not connected", "<crm_mon version='1.1.14'>", "<<<"],
)
def test_not_xml(text):
    with pytest.raises(StateParseError, match="did not print XML"):
        parse_crm_mon(text)


def test_not_connected():
    xml = """<pacemaker-result api-version="2.25" request="crm_mon --output-as=xml">
  <status code="102" message="Not connected">
    <errors><error>crm_mon: Error: cluster is not available on this node</error></errors>
  </status>
</pacemaker-result>"""
    with pytest.raises(StateParseError) as info:
        parse_crm_mon(xml)
    assert "Not connected" in str(info.value) and "102" in str(info.value)


def test_unexpected_root():
    with pytest.raises(StateParseError, match="unexpected crm_mon XML root <cib>"):
        parse_crm_mon("<cib/>")


def test_state_parse_error_is_a_value_error():
    assert issubclass(StateParseError, ValueError)


# --- DRBD 8.4: /proc/drbd -----------------------------------------------------------------------


def test_proc_drbd_master_healthy():
    st = parse_proc_drbd(fixture("proc_drbd-8.4-maitre-sain.txt"), "resftp")
    assert st == DrbdStatus("resftp", True, "Primary", "Secondary", "Connected", "UpToDate", "UpToDate", None, "8.4.11")
    assert st.healthy
    assert st.summary() == "Primary/Secondary Connected UpToDate/UpToDate"


def test_proc_drbd_slave_healthy():
    st = parse_proc_drbd(fixture("proc_drbd-8.4-esclave-sain.txt"), "resftp")
    assert (st.role, st.peer_role, st.connection, st.disk, st.peer_disk) == (
        "Secondary",
        "Primary",
        "Connected",
        "UpToDate",
        "UpToDate",
    )
    assert st.configured and st.healthy and st.sync_percent is None and st.version == "8.4.11"


PROC_SYNC = """\
version: 8.4.11 (api:1/proto:86-101)
srcversion: B536C32A3EADA868561EFD9 
 0: cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent C r-----
    ns:436892 nr:0 dw:0 dr:437556 al:8 bm:0 lo:0 pe:2 ua:0 ap:0 ep:1 wo:f oos:595356
\t[=======>............] sync'ed: 42.3% (595356/1032248)K
\tfinish: 0:00:15 speed: 36,408 (36,408) K/sec
"""

PROC_STANDALONE = """\
version: 8.4.11 (api:1/proto:86-101)
srcversion: B536C32A3EADA868561EFD9 
 0: cs:StandAlone ro:Primary/Unknown ds:UpToDate/DUnknown   r-----
    ns:0 nr:0 dw:48 dr:2153 al:2 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:12
"""


def test_proc_drbd_sync_source():
    st = parse_proc_drbd(PROC_SYNC, "resftp")
    assert (st.role, st.peer_role, st.connection, st.disk, st.peer_disk) == (
        "Primary",
        "Secondary",
        "SyncSource",
        "UpToDate",
        "Inconsistent",
    )
    assert st.sync_percent == pytest.approx(42.3)
    assert not st.healthy
    assert st.summary() == "Primary/Secondary SyncSource UpToDate/Inconsistent sync 42.3%"


def test_proc_drbd_standalone():
    st = parse_proc_drbd(PROC_STANDALONE, "resftp")
    assert st == DrbdStatus("resftp", True, "Primary", "Unknown", "StandAlone", "UpToDate", "DUnknown", None, "8.4.11")
    assert not st.healthy


def test_proc_drbd_picks_the_minor():
    two = PROC_SYNC + " 1: cs:WFConnection ro:Secondary/Unknown ds:UpToDate/DUnknown C r-----\n"
    assert parse_proc_drbd(two, "r1", minor=1).connection == "WFConnection"
    assert parse_proc_drbd(two, "r1", minor=1).sync_percent is None  # the sync line belongs to minor 0
    assert parse_proc_drbd(two, "resftp", minor=0).sync_percent == pytest.approx(42.3)
    absent = parse_proc_drbd(two, "r5", minor=5)
    assert not absent.configured and absent.connection == "Unconfigured" and absent.version == "8.4.11"


def test_proc_drbd_unconfigured_and_garbage():
    empty = parse_proc_drbd("", "resftp")
    assert not empty.configured and not empty.healthy
    assert empty.summary() == "resftp non configurée"
    unconf = parse_proc_drbd("version: 8.4.11 (api:1/proto:86-101)\n 0: cs:Unconfigured\n", "resftp")
    assert not unconf.configured and unconf.connection == "Unconfigured"
    with pytest.raises(StateParseError):
        parse_proc_drbd("cat: /proc/drbd: No such file or directory", "resftp")


# --- DRBD 9: drbdadm status ---------------------------------------------------------------------

DRBDADM_HEALTHY = "resftp role:Primary\n  disk:UpToDate\n  hdintralab01 role:Secondary\n    peer-disk:UpToDate\n"
DRBDADM_SYNC = (
    "resftp role:Primary\n  disk:UpToDate\n  hdintralab01 role:Secondary\n"
    "    replication:SyncSource peer-disk:Inconsistent done:42.30\n"
)
DRBDADM_STANDALONE = "resftp role:Primary\n  disk:UpToDate\n  hdintralab01 connection:StandAlone\n"


def test_drbdadm_healthy_roles_and_disks():
    st = parse_drbdadm_status(DRBDADM_HEALTHY, "resftp")
    assert (st.resource, st.configured, st.role, st.peer_role, st.disk, st.peer_disk, st.version) == (
        "resftp",
        True,
        "Primary",
        "Secondary",
        "UpToDate",
        "UpToDate",
        "9",
    )
    assert st.sync_percent is None


def test_drbdadm_healthy_is_connected():
    # DRBD 9 omits connection:Connected and replication:Established for a connected peer
    st = parse_drbdadm_status(DRBDADM_HEALTHY, "resftp")
    assert st.connection == "Connected"
    assert st.healthy


def test_drbdadm_verbose_connected_is_healthy():
    text = (
        "resftp node-id:0 role:Primary suspended:no\n  volume:0 minor:0 disk:UpToDate\n"
        "  hdintralab01 node-id:1 connection:Connected role:Secondary congested:no\n"
        "    volume:0 replication:Established peer-disk:UpToDate resync-suspended:no\n"
    )
    st = parse_drbdadm_status(text, "resftp")
    assert (st.role, st.peer_role, st.connection, st.disk, st.peer_disk) == (
        "Primary",
        "Secondary",
        "Connected",
        "UpToDate",
        "UpToDate",
    )
    assert st.healthy


def test_drbdadm_syncing():
    st = parse_drbdadm_status(DRBDADM_SYNC, "resftp")
    assert (st.role, st.peer_role, st.connection, st.disk, st.peer_disk) == (
        "Primary",
        "Secondary",
        "SyncSource",
        "UpToDate",
        "Inconsistent",
    )
    assert st.sync_percent == pytest.approx(42.3)
    assert not st.healthy
    assert "sync 42.3%" in st.summary()


def test_drbdadm_standalone():
    st = parse_drbdadm_status(DRBDADM_STANDALONE, "resftp")
    assert st == DrbdStatus("resftp", True, "Primary", "Unknown", "StandAlone", "UpToDate", "DUnknown", None, "9")
    assert not st.healthy


def test_drbdadm_no_peer_listed_is_standalone():
    st = parse_drbdadm_status("resftp role:Secondary\n  disk:UpToDate\n", "resftp")
    assert st.connection == "StandAlone" and st.peer_role == "Unknown"


def test_drbdadm_unconfigured_and_other_resource():
    assert not parse_drbdadm_status("", "resftp").configured
    assert not parse_drbdadm_status("resftp: No such resource\n", "resftp").configured
    with pytest.raises(StateParseError, match="does not describe resftp"):
        parse_drbdadm_status("r0 role:Primary\n  disk:UpToDate\n", "resftp")


# --- more captures from the embedded lab (tests/fixtures/README.md says how each was made) ---------


def test_captured_failed_monitor_and_fail_count():

    st = parse_crm_mon((FIXTURES / "crm_mon-2.1-echec-serviceFTP.xml").read_text())
    assert [(f.resource, f.node, f.task, f.exit_code, f.exit_status) for f in st.failed_actions] == [
        ("serviceFTP", "intralab01", "monitor", 7, "not running")
    ]
    assert st.fail_count("serviceFTP", "intralab01") == 1
    assert st.where("serviceFTP") == ("intralab01",)


def test_captured_state_after_failover_with_master_back_online():

    st = parse_crm_mon((FIXTURES / "crm_mon-2.1-apres-bascule.xml").read_text())
    assert set(st.online_nodes) == {"intralab01", "hdintralab01"}
    assert not st.node("intralab01").standby
    assert st.promoted_on("ms-drbd0") == ("hdintralab01",)
    assert st.where("fs0") == ("hdintralab01",)
    assert all(m.nodes == ("hdintralab01",) for m in st.instances("servIntralab"))
    slave = parse_proc_drbd((FIXTURES / "proc_drbd-8.4-esclave-primaire-wfconnection.txt").read_text(), "resftp")
    assert (slave.role, slave.connection, slave.disk, slave.peer_disk, slave.healthy) == (
        "Primary",
        "WFConnection",
        "UpToDate",
        "DUnknown",
        False,
    )
    stopped = parse_proc_drbd((FIXTURES / "proc_drbd-8.4-drbd-arrete.txt").read_text(), "resftp")
    assert not stopped.configured and stopped.version == "8.4.11"


def test_11_always_prints_its_node_history(failed11):
    # 1.1.14's crm_mon prints the node history under -X with or without -f: fail-counts are there
    assert failed11.fail_counts_shown


def test_without_node_history_fail_counts_are_not_shown():
    # Pacemaker 1.1.13 and older print no <node_history> in XML: a fail-count of 0 there says nothing

    xml = re.sub(r"<node_history>.*</node_history>", "", fixture("crm_mon-1.1-echec.xml"), flags=re.S)
    state = parse_crm_mon(xml)
    assert not state.fail_counts_shown and state.fail_counts == ()


def test_crm_failcount_output():

    # the line crm_failcount -G prints in 1.1 (tools/crm_attribute.c) and 2.x
    assert parse_crm_failcount("scope=status  name=fail-count-serviceFTP value=1\n") == 1
    assert parse_crm_failcount("scope=status  name=fail-count-serviceFTP value=INFINITY\n") == 1000000
    assert parse_crm_failcount("scope=status  name=fail-count-serviceFTP value=0\n") == 0
    assert parse_crm_failcount("Error performing operation: No such device or address\n") is None
