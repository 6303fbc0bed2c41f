"""bascule.judging.checks: « État du cluster au départ » (start_state, foreign_locations), the audit after a
scenario, a move whose last served-by could not be read, proftpd restarted by Pacemaker; and the JSON
roundtrip of every observation a check judges (bascule.record.observations).

Every crm_mon and /proc/drbd input is a captured fixture (tests/fixtures/README.md) or derived from
one in memory here; the location constraints are written out below."""

from __future__ import annotations

import inspect
import re
import typing
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest

from bascule.errors import BaselineError, RepairIncomplete
from bascule.facts.configuration import configuration_changes
from bascule.facts.placement import foreign_locations
from bascule.inventory import FTPSpec, Inventory, NodeSpec, Secret, SSHSpec
from bascule.judging import checks
from bascule.judging.verdict import Result, Verdict, guarded
from bascule.record.cluster_state import DrbdStatus, parse_proc_drbd
from bascule.record.history import CLIENT, FAIL, OBSERVATION, OK, History, roundtrip_events
from bascule.record.observations import (
    OBSERVATION_TYPES,
    Audit,
    CableOutcome,
    CableTakeover,
    ClusterReading,
    ConfigurationLine,
    FileRead,
    FileWrite,
    FtpAccess,
    FtpTest,
    MoveSeen,
    NodeSeen,
    Repair,
    ResourcesSeen,
    RestartSeen,
    RestoreSeen,
    SaveSeen,
    SplitBrainDetection,
    SplitBrainResolution,
    StartState,
    Takeover,
    WitnessRead,
    from_json,
    roundtrip,
    to_json,
)

FIXTURES = Path(__file__).parent / "fixtures"
MASTER, SLAVE = "intralab01", "hdintralab01"


def inventory(preferred: str = MASTER) -> Inventory:
    nodes = {
        MASTER: NodeSpec(MASTER, SSHSpec(host="10.22.100.11", key="/nonexistent/id_ed25519")),
        SLAVE: NodeSpec(SLAVE, SSHSpec(host="10.22.100.12", key="/nonexistent/id_ed25519")),
    }
    other = next(n for n in nodes if n != preferred)
    return Inventory(
        nodes=(nodes[preferred], nodes[other]),
        preferred_master=preferred,
        vip="10.22.100.220",
        ftp=FTPSpec(password=Secret("S3cr3t-xyz")),
        source="test",
    )


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


SAIN = fixture("crm_mon-2.1-sain.xml")
ECHEC = fixture("crm_mon-2.1-echec-serviceFTP.xml")
LAB_CONFIGURATION = fixture("cib-configuration-lab.xml")
DRBD_SAIN = {
    MASTER: parse_proc_drbd(fixture("proc_drbd-8.4-maitre-sain.txt"), "resftp"),
    SLAVE: parse_proc_drbd(fixture("proc_drbd-8.4-esclave-sain.txt"), "resftp"),
}
STANDALONE = DrbdStatus("resftp", True, "Primary", "Unknown", "StandAlone", "UpToDate", "DUnknown", version="8.4.11")
FTP_OK = FtpAccess(True, wrote=True, served_by=MASTER)

# the lab's own two location constraints, as `cibadmin -Q --scope constraints` prints them once the
# lab's text is loaded (`location cli-prefer-IPFailover servIntralab role=Started inf: intralab01`
# and `location ms-drbd0-master-on-intralab01 ms-drbd0 rule role=master inf: #uname eq intralab01`)
LAB_LOCATIONS = """\
    <rsc_location id="cli-prefer-IPFailover" rsc="servIntralab" role="Started" score="INFINITY" node="intralab01"/>
    <rsc_location id="ms-drbd0-master-on-intralab01" rsc="ms-drbd0">
      <rule role="master" score="INFINITY" id="ms-drbd0-master-on-intralab01-rule">
        <expression operation="eq" attribute="#uname" value="intralab01"
        id="ms-drbd0-master-on-intralab01-rule-expression"/>
      </rule>
    </rsc_location>
"""
# what `crm resource move servIntralab hdintralab01` / `crm resource ban servIntralab intralab01` leaves
BAN = (
    '    <rsc_location id="cli-ban-servIntralab-on-intralab01" rsc="servIntralab" role="Started" '
    'node="intralab01" score="-INFINITY"/>\n'
)


def constraints(*extra: str) -> str:
    return "<constraints>\n" + LAB_LOCATIONS + "".join(extra) + "</constraints>\n"


def start(
    xml: str | None = SAIN,
    drbd: dict | None = None,
    ftp: FtpAccess | None = FTP_OK,
    constraints_xml: str | None = None,
    error: str = "",
    drbd_errors: dict | None = None,
) -> StartState:
    reading = ClusterReading(
        xml,
        error,
        dict(DRBD_SAIN if drbd is None else drbd),
        dict(drbd_errors or {}),
        constraints() if constraints_xml is None else constraints_xml,
    )
    return StartState(reading, ftp)


def judge_start(obs: StartState, inv: Inventory | None = None) -> Result:
    """As Table.judge does: the roundtripped observation, through guarded."""
    return guarded(checks.start_state, roundtrip(obs), [], inv or inventory())


def standby(xml: str, node: str) -> str:
    """The captured XML with one node in standby (its <node> line only)."""
    line = next(ln for ln in xml.splitlines() if f'<node name="{node}" ' in ln and "standby=" in ln)
    assert 'standby="false"' in line
    return xml.replace(line, line.replace('standby="false"', 'standby="true"', 1))


# --- « État du cluster au départ » ---------------------------------------------------------------


def test_start_state_ok_on_the_captured_healthy_cluster():
    assert DRBD_SAIN[MASTER].healthy and DRBD_SAIN[SLAVE].healthy
    r = judge_start(start())
    assert r.verdict is Verdict.OK, r.observed
    assert r.observed.startswith("Cluster dans son état de référence : ")
    assert "hdintralab01 et intralab01 en ligne" in r.observed
    assert "ms-drbd0 promu sur intralab01" in r.observed
    assert "DRBD Primary/Secondary Connected UpToDate/UpToDate" in r.observed
    assert "aucune contrainte étrangère au lab" in r.observed
    assert "connexion et écriture dans Documents réussies, servi par intralab01" in r.observed
    assert (r.cause, r.fix, r.details) == ("", "", ())


def test_start_state_ok_with_the_lab_configuration_captured_as_a_whole():
    # the whole `cibadmin -Q --scope configuration` holds the lab's two locations (role="Master")
    r = judge_start(start(constraints_xml=LAB_CONFIGURATION))
    assert r.verdict is Verdict.OK, r.observed


UNSAID = "cause non identifiée : l'écart est lu tel quel sur le cluster, rien n'y dit ce qui l'a produit"


def _ko(obs: StartState, inv: Inventory | None = None) -> Result:
    r = judge_start(obs, inv)
    assert r.verdict is Verdict.KO, r.observed
    assert r.observed.startswith("Cluster pas dans son état de référence : ")
    assert r.cause in (UNSAID, "identifiants FTP de l'inventaire refusés")
    return r


def test_start_state_node_in_standby():
    r = _ko(start(standby(SAIN, SLAVE)))
    assert r.details == ("hdintralab01 en standby",)
    assert r.fix == "crm node online hdintralab01"
    assert "intralab01 en standby" not in r.observed.replace("hdintralab01 en standby", "")


def test_start_state_master_in_standby_names_it():
    r = _ko(start(standby(SAIN, MASTER)))
    assert "intralab01 en standby" in r.details
    assert "crm node online intralab01" in r.fix.split(" ; ")


def test_start_state_maintenance_mode():
    xml = SAIN.replace('maintenance-mode="false"', 'maintenance-mode="true"', 1)
    assert xml != SAIN
    r = _ko(start(xml))
    assert r.details == ("cluster en mode maintenance (maintenance-mode=true)",)
    assert r.fix == "crm configure property maintenance-mode=false"


def test_start_state_drbd_standalone():
    r = _ko(start(drbd={MASTER: STANDALONE, SLAVE: DRBD_SAIN[SLAVE]}))
    assert r.details == (
        "DRBD resftp sur intralab01 : Primary/Unknown StandAlone UpToDate/DUnknown — intralab01 a renoncé à se "
        "connecter à son pair (StandAlone : après un split brain, un réglage refusé par le pair, "
        "ou un drbdadm disconnect)",
    )
    assert (
        r.fix == "drbdadm connect resftp sur intralab01 (si dmesg y dit « Split-Brain detected » : résoudre comme le "
        "document 3, drbdadm connect --discard-my-data sur le nœud dont on écarte les données)"
    )


def test_start_state_drbd_stopped_or_unreadable():
    stopped = parse_proc_drbd(fixture("proc_drbd-8.4-drbd-arrete.txt"), "resftp")
    assert not stopped.configured
    r = _ko(start(drbd={MASTER: DRBD_SAIN[MASTER], SLAVE: stopped}))
    assert r.details == (
        "DRBD resftp non démarré sur hdintralab01 — la ressource n'est pas montée dans le noyau "
        "(drbdadm up jamais fait, ou défait)",
    )
    assert r.fix == "drbdadm up resftp sur hdintralab01"
    r = _ko(start(drbd={MASTER: DRBD_SAIN[MASTER], SLAVE: None}, drbd_errors={SLAVE: "ssh: timeout"}))
    assert r.details == ("DRBD illisible sur hdintralab01 (ssh: timeout)",)
    assert r.fix == "cat /proc/drbd"


def test_start_state_failed_action():
    r = _ko(start(ECHEC))
    assert r.details == ("action en échec : serviceFTP monitor sur intralab01 (not running)",)
    assert r.fix == "crm resource cleanup serviceFTP"


def test_start_state_foreign_location_but_not_the_labs_own():
    r = _ko(start(constraints_xml=constraints(BAN)))
    assert r.details == (
        "contrainte cli-ban-servIntralab-on-intralab01 (interdit servIntralab sur intralab01) "
        "absente de la configuration du lab",
    )
    assert r.fix == "crm configure delete cli-ban-servIntralab-on-intralab01"
    assert "cli-prefer-IPFailover" not in r.observed + r.fix
    assert "ms-drbd0-master-on-intralab01" not in r.observed + r.fix


def test_start_state_ftp_login_refused_points_at_the_inventory_password():
    r = _ko(start(ftp=FtpAccess(False, error="identifiants refusés (530 Login incorrect.)", login_refused=True)))
    assert r.details == ("client FTP sur 10.22.100.220 : identifiants refusés (530 Login incorrect.)",)
    assert "mot de passe FTP de l'inventaire" in r.fix and "password_env" in r.fix
    assert r.cause == "identifiants FTP de l'inventaire refusés"  # the account, not the cluster
    assert "S3cr3t-xyz" not in r.observed + r.fix + "".join(r.details)


def test_start_state_ftp_unreachable_is_not_a_password_problem():
    r = _ko(start(ftp=FtpAccess(False, error="connexion refusée")))
    assert "mot de passe" not in r.fix
    assert r.fix == "crm status ; le FTP doit répondre sur 10.22.100.220"
    assert r.cause == UNSAID  # nothing read on the cluster says how it came to be: no guess


def test_start_state_ftp_write_refused():
    r = _ko(start(ftp=FtpAccess(True, wrote=False, write_error="550 Permission denied", served_by=MASTER)))
    assert r.details == ("écriture FTP impossible dans Documents : 550 Permission denied",)
    assert r.fix == "droits de /home/user/Documents (chown user)"


def test_start_state_ftp_not_tried_is_ko():
    r = _ko(start(ftp=None))
    assert r.details == ("FTP non essayé",)
    assert r.fix == ""


def test_start_state_names_every_departure_and_every_fix_once():
    xml = standby(ECHEC, SLAVE).replace('maintenance-mode="false"', 'maintenance-mode="true"', 1)
    r = _ko(
        start(
            xml,
            drbd={MASTER: STANDALONE, SLAVE: STANDALONE},
            constraints_xml=constraints(BAN),
            ftp=FtpAccess(False, error="530", login_refused=True),
        )
    )
    assert r.details == (
        "hdintralab01 en standby",
        "cluster en mode maintenance (maintenance-mode=true)",
        "action en échec : serviceFTP monitor sur intralab01 (not running)",
        "DRBD resftp sur intralab01 : Primary/Unknown StandAlone UpToDate/DUnknown — intralab01 a renoncé à se "
        "connecter à son pair (StandAlone : après un split brain, un réglage refusé par le pair, "
        "ou un drbdadm disconnect)",
        "DRBD resftp sur hdintralab01 : Primary/Unknown StandAlone UpToDate/DUnknown — hdintralab01 a renoncé à se "
        "connecter à son pair (StandAlone : après un split brain, un réglage refusé par le pair, "
        "ou un drbdadm disconnect)",
        "contrainte cli-ban-servIntralab-on-intralab01 (interdit servIntralab sur intralab01) absente de la "
        "configuration du lab",
        "client FTP sur 10.22.100.220 : 530",
    )
    assert r.observed == "Cluster pas dans son état de référence : " + " ; ".join(r.details)
    fixes = r.fix.split(" ; ")
    assert fixes == [
        "crm node online hdintralab01",
        "crm configure property maintenance-mode=false",
        "crm resource cleanup serviceFTP",
        "drbdadm connect resftp sur intralab01 (si dmesg y dit « Split-Brain detected » : résoudre comme le document "
        "3, drbdadm connect --discard-my-data sur le nœud dont on écarte les données)",
        "drbdadm connect resftp sur hdintralab01 (si dmesg y dit « Split-Brain detected » : résoudre comme le "
        "document 3, drbdadm connect --discard-my-data sur le nœud dont on écarte les données)",
        "crm configure delete cli-ban-servIntralab-on-intralab01",
        "corriger le mot de passe FTP de l'inventaire ([ftp] password_env)",
    ]


def test_start_state_unknown_when_crm_mon_is_unreadable():
    r = judge_start(start(None, error="intralab01: ssh: connection refused", ftp=None))
    assert r.verdict is Verdict.INCONNU
    assert r.observed == "crm_mon illisible : intralab01: ssh: connection refused"


def test_start_state_does_not_claim_constraints_it_could_not_read():
    obs = StartState(ClusterReading(SAIN, "", dict(DRBD_SAIN), {}, None), FTP_OK)
    r = judge_start(obs)
    assert r.verdict is not Verdict.OK or "aucune contrainte étrangère" not in r.observed, r.observed


def test_start_state_in_the_registry():
    assert checks.CHECKS["start_state"] is checks.start_state
    assert checks.CHECKS["audit"] is checks.audit


# --- foreign location constraints ----------------------------------------------------------------


def test_foreign_locations_nothing_to_read():
    inv = inventory()
    assert foreign_locations(None, inv) == []
    assert foreign_locations("", inv) == []
    assert foreign_locations("<constraints/>", inv) == []


def test_foreign_locations_the_labs_own_are_not_foreign():
    inv = inventory()
    assert foreign_locations(constraints(), inv) == []
    assert foreign_locations(LAB_CONFIGURATION, inv) == []
    assert foreign_locations(fixture("cib-configuration-texte-du-lab.xml"), inv) == []


def test_foreign_locations_ban():
    assert foreign_locations(constraints(BAN), inventory()) == [
        ("cli-ban-servIntralab-on-intralab01", "interdit servIntralab sur intralab01")
    ]


def test_foreign_locations_preference_for_the_slave():
    prefer = (
        '<rsc_location id="cli-prefer-servIntralab" rsc="servIntralab" role="Started" '
        'node="hdintralab01" score="INFINITY"/>\n'
    )
    rule = (
        '<rsc_location id="drbd-sur-esclave" rsc="ms-drbd0"><rule role="Promoted" score="100" id="r1">'
        '<expression operation="eq" attribute="#uname" value="hdintralab01" id="e1"/></rule></rsc_location>\n'
    )
    assert foreign_locations(constraints(prefer, rule), inventory()) == [
        ("cli-prefer-servIntralab", "préfère servIntralab sur hdintralab01"),
        ("drbd-sur-esclave", "préfère ms-drbd0 sur hdintralab01"),
    ]


def test_foreign_locations_follow_the_preferred_master():
    # with hdintralab01 as the preferred master, the preferences for intralab01 are the foreign ones
    found = foreign_locations(constraints(), inventory(SLAVE))
    assert found == [
        ("cli-prefer-IPFailover", "préfère servIntralab sur intralab01"),
        ("ms-drbd0-master-on-intralab01", "préfère ms-drbd0 sur intralab01"),
    ]


def test_foreign_locations_ignore_other_resources_zero_scores_and_say_a_ban_without_node():
    other = (
        '<rsc_location id="loc-stonith" rsc="fence-hd" node="hdintralab01" score="-INFINITY"/>\n'
        '<rsc_location id="zero" rsc="fs0" node="hdintralab01" score="0"/>\n'
        '<rsc_location id="ping-ban" rsc="servIntralab"><rule score="-INFINITY" id="r2">'
        '<expression operation="not_defined" attribute="pingd" id="e2"/></rule></rsc_location>\n'
    )
    assert foreign_locations(constraints(other), inventory()) == [("ping-ban", "interdit servIntralab sur un nœud")]


# --- the audit after a scenario ------------------------------------------------------------------

OWN = Repair("crm resource cleanup serviceFTP", "panne du scénario : kill -9 proftpd", True)
OTHER = Repair("crm node online intralab01", "intralab01 en standby", False)


def test_audit_ok_with_only_own_repairs():
    r = guarded(checks.audit, roundtrip(Audit((OWN,), (), "", 12.34)), [], inventory())
    assert r.verdict is Verdict.OK, r.observed
    assert r.observed == (
        "Cluster revenu à son état de référence en 12,3 s sans autre réparation ; "
        "bascule a défait ses propres pannes (crm resource cleanup serviceFTP)"
    )
    r = checks.audit(Audit((), (), "", 0.0), [], inventory())
    assert r.verdict is Verdict.OK and r.observed.endswith("rien à défaire")


def test_audit_ko_lists_a_repair_that_was_not_bascules_own():
    r = guarded(checks.audit, roundtrip(Audit((OWN, OTHER), (), "", 3.0)), [], inventory())
    assert r.verdict is Verdict.KO
    assert (
        "réparé par bascule après le scénario : crm node online intralab01 (vu : intralab01 en standby)" in r.observed
    )
    assert "bascule a défait ses propres pannes (crm resource cleanup serviceFTP)" in r.observed
    assert "crm resource cleanup serviceFTP (vu" not in r.observed  # its own repair is not a finding
    assert r.details == ("intralab01 en standby",)
    assert r.cause == "le scénario a laissé le cluster hors de son état de référence"


def test_audit_ko_when_the_cluster_did_not_come_back():
    left = ("DRBD sur hdintralab01 : Secondary/Unknown StandAlone UpToDate/DUnknown",)
    r = checks.audit(Audit((OWN,), left, "", 420.0), [], inventory())
    assert r.verdict is Verdict.KO
    assert r.observed.startswith("le cluster n'est pas revenu à son état de référence : DRBD sur hdintralab01 : ")
    assert "réparé par bascule" not in r.observed


def test_audit_unknown_when_it_could_not_run():
    r = checks.audit(Audit((OWN,), (), "no node answers SSH"), [], inventory())
    assert r.verdict is Verdict.INCONNU
    assert r.observed == "audit impossible : no node answers SSH"


# --- a move whose serving node could no longer be read --------------------------------------------

ON_SLAVE = {
    "promoted": [SLAVE],
    "fs": [SLAVE],
    "group": {"IPFailover": [SLAVE], "serviceWeb": [SLAVE], "serviceFTP": [SLAVE]},
    "where": {"IPFailover": [SLAVE], "serviceWeb": [SLAVE], "serviceFTP": [SLAVE]},
    "summary": "tout sur B",
}


def _stale_history(last_value) -> History:
    """intralab01 serves the probe before the move (t=0); after the outage, the ok operations carry
    no served-by (/etc/hostname could not be read over FTP)."""
    t = [0.0]
    h = History(clock=lambda: t[0])
    h.append(CLIENT, "sonde-ftp", "write+read", OK, {"served_by": MASTER}, t=0.0, end=0.1)
    h.append(CLIENT, "sonde-ftp", "write+read", FAIL, error="connexion refusée", t=0.5, end=0.6)
    t[0] = 3.0
    h.append(OBSERVATION, SLAVE, "crm_mon", OK, ON_SLAVE, t=2.5)
    h.append(CLIENT, "sonde-ftp", "write+read", OK, last_value, t=2.6, end=2.7)
    h.append(CLIENT, "sonde-ftp", "write+read", OK, last_value, t=2.9, end=3.0)
    return h


@pytest.mark.parametrize("last_value", [{"served_by": None}, {}, None], ids=["served_by-None", "no-key", "no-value"])
def test_moved_does_not_call_a_stale_served_by_still_serving(last_value):

    events = roundtrip_events(_stale_history(last_value).events)
    r = guarded(
        checks.moved, roundtrip(MoveSeen(0.0, SLAVE, "standby de intralab01", "sonde-ftp")), events, inventory()
    )
    assert r.verdict is Verdict.OK, r.observed
    assert "toujours servi par" not in r.observed
    assert "nœud qui sert le client non lisible après la bascule" in r.observed
    # from the last good answer before (0.1) to the next one (2.7)
    assert r.observed.startswith(
        "Ressources activées sur hdintralab01 en 3,0 s ; FTP indisponible 2,6 s : connexion refusée 2,6 s"
    )


# --- proftpd killed, restart allowed -------------------------------------------------------------


def _restart_history(ops: list[tuple[float, str, str | None]]) -> list:
    h = History(clock=lambda: 0.0)
    for t, outcome, server in ops:
        h.append(
            CLIENT,
            "sonde-ftp",
            "write+read",
            outcome,
            {"served_by": server} if outcome == OK else None,
            error=None if outcome == OK else "connexion refusée",
            t=t,
            end=t + 0.1,
        )
    return list(h.events)


def _restart(**kw) -> RestartSeen:
    base = dict(
        since=0.0,
        resource="serviceFTP",
        node=MASTER,
        fail_count_before=0,
        probe="sonde-ftp",
        restarted=True,
        fail_count_after=1,
        deadline=90.0,
    )
    base.update(kw)
    return RestartSeen(**base)


def test_restart_without_an_outage_seen_by_the_client_is_ok():
    events = _restart_history([(0.0, OK, MASTER), (0.3, OK, MASTER), (0.6, OK, MASTER), (0.9, OK, MASTER)])
    r = guarded(checks.service_restarted, roundtrip(_restart()), events, inventory())
    assert r.verdict is Verdict.OK, r.observed
    assert r.observed == (
        "serviceFTP redémarré sur intralab01 par Pacemaker (fail-count 0 → 1) ; "
        "FTP disponible sans interruption (4 opérations) (aucune interruption vue par le client)"
    )


def test_restart_with_a_short_outage_is_ok_and_says_when_it_came_back():
    events = _restart_history([(0.0, OK, MASTER), (0.3, FAIL, None), (1.3, OK, MASTER)])
    r = checks.service_restarted(_restart(), events, inventory())
    assert r.verdict is Verdict.OK, r.observed
    # from the last good operation (sent at 0.0) to the next one (sent at 1.3)
    assert "FTP indisponible 1,3 s : connexion refusée 1,3 s" in r.observed
    assert r.observed.endswith("; service de nouveau rendu 1,3 s après le kill")


def test_not_restarted_and_still_started_unseen_points_at_op_monitor():
    events = _restart_history([(0.0, FAIL, None), (1.0, FAIL, None)])
    r = guarded(
        checks.service_restarted,
        roundtrip(_restart(restarted=False, fail_count_after=None, still_started_unseen=True)),
        events,
        inventory(),
    )
    assert r.verdict is Verdict.KO
    assert r.observed.startswith(
        "Pacemaker n'a pas vu l'arrêt en 90,0 s : serviceFTP toujours « Started » sur intralab01, fail-count 0 inchangé"
    )
    assert "op monitor" in r.fix and r.fix.startswith("crm configure edit serviceFTP")
    assert r.cause == "serviceFTP sans op monitor"


def test_not_restarted_otherwise_says_what_was_last_seen():
    r = checks.service_restarted(
        _restart(restarted=False, wait_error="serviceFTP Stopped"), _restart_history([(0.0, FAIL, None)]), inventory()
    )
    assert r.verdict is Verdict.KO
    assert r.observed.startswith("serviceFTP n'a pas été redémarré sur intralab01 : serviceFTP Stopped")
    assert "op monitor" not in r.fix


def test_restarted_but_ftp_never_back_or_served_by_the_other_node():
    never = checks.service_restarted(_restart(), _restart_history([(0.0, OK, MASTER), (0.3, FAIL, None)]), inventory())
    assert never.verdict is Verdict.KO and "le FTP ne répond plus sur 10.22.100.220" in never.observed
    other = checks.service_restarted(_restart(), _restart_history([(0.0, OK, MASTER), (0.3, OK, SLAVE)]), inventory())
    assert other.verdict is Verdict.KO and "servi par hdintralab01" in other.observed


def test_restart_with_no_client_operation_is_not_ok():
    r = checks.service_restarted(_restart(), [], inventory())
    assert r.verdict is not Verdict.OK, r.observed


# --- observations: the JSON roundtrip of every value a check judges ------------------------------

SHA_A, SHA_B = "a" * 64, "b" * 64


def samples() -> list:
    """One value of each observation type a check judges, with every container field filled."""
    move = MoveSeen(12.5, SLAVE, "standby de intralab01", "sonde-ftp", wait_error="", unreachable="")
    witness = WitnessRead("Documents/bascule-1.bin", SHA_A, SHA_A, 2048)
    read = FileRead("essai1", SLAVE, "/dev/drbd0", SHA_A, "", SHA_A, on=SLAVE)
    return [
        StartState(
            ClusterReading(
                SAIN, "", {MASTER: DRBD_SAIN[MASTER], SLAVE: None}, {SLAVE: "ssh: timeout"}, constraints(BAN)
            ),
            FtpAccess(True, "", False, True, "", MASTER),
        ),
        StartState(ClusterReading(None, "injoignable"), None),
        Audit((OWN, OTHER), ("DRBD illisible sur hdintralab01",), "", 3.5),
        ResourcesSeen(
            SAIN,
            {
                MASTER: NodeSeen(MASTER, "3: eth1 inet 10.22.100.220/16", True, True, "/dev/drbd0"),
                SLAVE: NodeSeen(SLAVE, "", False, False, ""),
            },
            ("Documents", "essai1"),
            "",
            MASTER,
            MASTER,
        ),
        FileWrite(MASTER, "/home/user/Documents/essai1", SHA_A, "", "/dev/drbd0", MASTER),
        read,
        move,
        Takeover(move, (witness, WitnessRead("Documents/b.bin", SHA_B, None, None, "550 absent"))),
        FtpTest("Documents/q5-1.bin", SHA_A, 65536, SHA_A, MASTER, (witness,)),
        witness,
        _restart(fail_count_after=2),
        CableTakeover(30.25, SLAVE, "sonde-ftp", {MASTER: None, SLAVE: SAIN}),
        CableOutcome(
            True,
            {MASTER: STANDALONE, SLAVE: DRBD_SAIN[SLAVE]},
            {MASTER: ("[ 12.3] block drbd0: Split-Brain detected but unresolved, dropping connection!",), SLAVE: ()},
        ),
        SplitBrainDetection(True, 4.25, {MASTER: ("a", "b")}, {MASTER: STANDALONE}),
        SplitBrainResolution(dict(DRBD_SAIN), "", read, FileRead("essai-esclave", SLAVE, "/dev/drbd0", None)),
        SaveSeen(True, "node 1: intralab01\nprimitive drbd0 ocf:linbit:drbd \\\n\tparams drbd_resource=resftp\n"),
        RestoreSeen(LAB_CONFIGURATION, ("servIntralab", "fs0"), (), True, "", LAB_CONFIGURATION, "cServiceMySQL", 20.5),
        ConfigurationLine("primitive fs0 ocf:heartbeat:Filesystem", LAB_CONFIGURATION),
    ]


def judged_types() -> set[type]:
    """The types checks.CHECKS take as their observation (their first parameter)."""
    out = set()
    for check in checks.CHECKS.values():
        first = next(iter(inspect.signature(check).parameters))
        out.add(typing.get_type_hints(check)[first])
    return out


def test_every_judged_observation_type_has_a_sample_and_is_registered():
    types_ = judged_types()
    assert {type(x) for x in samples()} == types_
    for tp in types_:
        assert OBSERVATION_TYPES[tp.__name__] is tp


def _same_shape(a, b, where: str) -> None:
    """Equal, and of the same types all the way down (a list is not a tuple, a dict not a DrbdStatus)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} came back as {type(b).__name__}"
    if is_dataclass(a):
        for f in fields(a):
            _same_shape(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _same_shape(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same_shape(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.parametrize("x", samples(), ids=lambda x: type(x).__name__)
def test_observation_roundtrip(x):
    back = roundtrip(x)
    assert back == x
    _same_shape(x, back, type(x).__name__)
    assert from_json(to_json(x)) == x
    assert to_json(back) == to_json(x)


def test_roundtrip_keeps_drbd_statuses_and_tuples():
    x = samples()[0]
    back = roundtrip(x)
    assert isinstance(back.reading.drbd[MASTER], DrbdStatus) and back.reading.drbd[SLAVE] is None
    assert back.reading.drbd[MASTER].healthy
    cable = roundtrip(next(s for s in samples() if isinstance(s, CableOutcome)))
    assert isinstance(cable.drbd[MASTER], DrbdStatus)
    assert isinstance(cable.new_split_brain_lines[MASTER], tuple) and cable.new_split_brain_lines[SLAVE] == ()
    audit = roundtrip(next(s for s in samples() if isinstance(s, Audit)))
    assert type(audit.repairs) is tuple and all(type(r) is Repair for r in audit.repairs)
    assert type(audit.baseline_after) is tuple


def test_roundtrip_makes_integer_floats_floats():
    back = roundtrip(MoveSeen(3, SLAVE, "x", None))
    assert back.since == 3.0 and type(back.since) is float


@pytest.mark.parametrize("x", samples(), ids=lambda x: type(x).__name__)
def test_a_check_judges_the_roundtripped_value_as_the_original(x):
    check = next(
        c
        for c in checks.CHECKS.values()
        if typing.get_type_hints(c)[next(iter(inspect.signature(c).parameters))] is type(x)
    )
    inv = inventory()
    live = guarded(check, x, [], inv)
    assert not live.observed.startswith("impossible de conclure"), live.observed  # the sample is judgeable
    assert guarded(check, roundtrip(x), [], inv) == live


def test_from_json_rejects_an_unknown_type():
    with pytest.raises(ValueError, match="unknown observation type 'Nope'"):
        from_json({"type": "Nope", "value": {}})


# --- the audit also holds the scenario to the configuration it found -----------------------------


def test_audit_ko_when_the_scenario_left_the_configuration_changed():
    before = (FIXTURES / "cib-configuration-lab.xml").read_text(encoding="utf-8")
    assert checks.audit(Audit((), (), "", 1.0, before, before), [], inventory()).verdict is Verdict.OK
    # Q7's deletion of the MySQL clone, never restored

    after = re.sub(r'<clone id="cServiceMySQL".*?</clone>', "", before, flags=re.S)
    assert after != before
    r = checks.audit(Audit((), (), "", 1.0, before, after), [], inventory())
    assert r.verdict is Verdict.KO
    assert "configuration du cluster changée par le scénario et non rétablie" in r.observed
    assert "clone cServiceMySQL supprimé" in r.observed


def test_audit_ignores_properties_and_node_attributes():
    before = (FIXTURES / "cib-configuration-lab.xml").read_text(encoding="utf-8")
    after = before.replace('name="no-quorum-policy"', 'name="no-quorum-policy"', 1)  # same
    if "maintenance-mode" not in after:
        after = after.replace(
            "</cluster_property_set>",
            '<nvpair id="x-mm" name="maintenance-mode" value="false"/></cluster_property_set>',
            1,
        )
    assert configuration_changes(before, after) == []


def test_repairs_are_told_even_when_they_did_not_suffice():

    exc = RepairIncomplete(
        "not back", "by hand", [Repair("crm node online hdintralab01", "hdintralab01 en standby", False)]
    )
    assert isinstance(exc, BaselineError) and exc.repairs[0].what == "crm node online hdintralab01"
