"""An endurance KO says its cause, read on the cluster, and how to fix it; « cause non identifiée »
without evidence. The storage evidence (bascule/cluster/evidence.storage) judged by
bascule/facts/storage.py, then by the endurance checker on saved runs."""

from __future__ import annotations

import json
from pathlib import Path

from bascule.cluster.evidence import parse_storage
from bascule.facts.configuration import primitive_params
from bascule.facts.storage import storage_findings
from bascule.inventory import Inventory, from_public
from bascule.judging.endurance import judge_endurance
from bascule.record.endurance import ENDURANCE, START, STORAGE
from bascule.record.history import INFO, RUN, Event, History
from bascule.reporting.endurance import write_report
from bascule.reporting.rejudge import rejudge

FIXTURES = Path(__file__).parent / "fixtures"
KO_RUN = FIXTURES / "runs" / "endurance-home-sur-disque-local-curl"  # captured before storage was read
LAB_CIB = (FIXTURES / "cib-configuration-lab.xml").read_text(encoding="utf-8")  # captured


def lab_inventory() -> Inventory:
    events = History.load_events(KO_RUN / "historique.jsonl")
    start = next(e for e in events if e.source == RUN and e.op == START)
    return from_public(start.value["cluster"])


def healthy_reading() -> dict:
    """The healthy lab's storage, from what STORAGE_COMMAND printed on each node (captured)."""
    return {
        "resource": "fs0",
        "params": primitive_params(LAB_CIB, "fs0"),
        "nodes": {
            n: parse_storage((FIXTURES / f"stockage-2.1-sain-{n}.txt").read_text(encoding="utf-8"))
            for n in ("intralab01", "hdintralab01")
        },
    }


def test_the_captured_readings_parse():
    assert healthy_reading()["nodes"] == {
        "intralab01": {"source": "/dev/drbd0", "fstype": "ext4", "options": "rw,relatime", "protocol": "C"},
        "hdintralab01": {"source": "", "fstype": "", "options": "", "protocol": "C"},
    }


def test_the_lab_as_it_should_be_has_no_finding():
    assert storage_findings(healthy_reading(), lab_inventory()) == []


def test_a_file_system_resource_on_a_local_directory_is_named_with_its_fix():
    reading = healthy_reading()
    reading["params"] = {
        "type": "Filesystem",
        "fstype": "none",
        "directory": "/home",
        "device": "/var/local/bascule-home",
        "options": "bind",
    }
    [finding] = storage_findings(reading, lab_inventory())
    assert finding.cause.startswith(
        "fs0 monte /var/local/bascule-home (fstype=none, options=bind) sur /home, pas /dev/drbd0"
    )
    assert "crm configure edit fs0 : device=/dev/drbd0 fstype=ext4" in finding.fix


def test_a_home_mounted_outside_the_cluster_and_a_weak_protocol():
    reading = healthy_reading()
    reading["nodes"]["hdintralab01"] = parse_storage("mount=/dev/vda1[/srv/home] ext4 rw\nprotocol=A\n")
    reading["nodes"]["intralab01"]["protocol"] = "A"
    causes = [f.cause for f in storage_findings(reading, lab_inventory())]
    assert causes[0].startswith("/home de hdintralab01 monté depuis /dev/vda1[/srv/home] (ext4), pas depuis DRBD")
    assert causes[1].startswith("DRBD resftp en protocole A sur hdintralab01, intralab01")


def test_no_primitive_at_all():
    reading = healthy_reading()
    reading["params"] = None
    [finding] = storage_findings(reading, lab_inventory())
    assert finding.cause.startswith("primitive fs0 absente")


def with_storage(readings: list[dict]) -> list:
    """The captured KO run, with storage readings added after its start (derived by hand)."""
    events = list(History.load_events(KO_RUN / "historique.jsonl"))
    return events + [Event(len(events) + i, 1.0, 1.0, RUN, ENDURANCE, STORAGE, INFO, r) for i, r in enumerate(readings)]


def test_a_run_without_storage_evidence_says_cause_unidentified():
    verdict = judge_endurance(History.load_events(KO_RUN / "historique.jsonl"))
    assert verdict.verdict == "KO"
    assert verdict.cause.startswith("cause non identifiée pour les fichiers perdus : aucune lecture du stockage")
    assert verdict.fix == ""


def test_a_loss_with_healthy_storage_is_unidentified_and_says_what_was_ruled_out():
    verdict = judge_endurance(with_storage([healthy_reading()]))
    assert verdict.cause == (
        "cause non identifiée pour les fichiers perdus : fs0 monte bien /dev/drbd0 sur /home "
        "(cibadmin), DRBD en protocole C (drbdadm dump)"
    )


def test_a_weak_protocol_is_not_blamed_for_losses_at_clean_moves_but_is_a_finding():
    # the captured run played standbys only: protocol A loses nothing there (DRBD's peer is awaited
    # before the demotion), so it is no cause of these losses; nor is protocol C claimed. It is still
    # read on the cluster and judged: a risk on every night, named with its fix
    reading = healthy_reading()
    for seen in reading["nodes"].values():
        seen["protocol"] = "A"
    verdict = judge_endurance(with_storage([reading]))
    assert verdict.cause.startswith(
        "cause non identifiée pour les fichiers perdus : fs0 monte bien /dev/drbd0 sur "
        "/home (cibadmin) ; DRBD resftp en protocole A"
    )
    assert "un risque lu sur le cluster : aucune perte de cette nuit après une panne soudaine" in verdict.cause
    assert verdict.fix.startswith("protocol C;")


def test_a_configuration_drbdadm_cannot_read_claims_no_protocol():
    seen = parse_storage("mount=\ndump_exit=1\nprotocol=\n")
    assert seen["protocol"] is None
    reading = healthy_reading()
    reading["nodes"]["hdintralab01"] = seen
    assert "protocole" not in judge_endurance(with_storage([reading])).cause


def test_unreadable_storage_is_said_so():
    verdict = judge_endurance(
        with_storage(
            [
                {
                    "resource": "fs0",
                    "nodes": {"intralab01": {"error": "nœud injoignable"}},
                    "error": "configuration du cluster illisible (cibadmin)",
                }
            ]
        )
    )
    assert "le stockage n'a pas pu être lu sur le cluster" in verdict.cause


def test_the_cause_reaches_every_report(tmp_path):
    bound = healthy_reading()
    bound["params"] = {
        "type": "Filesystem",
        "fstype": "none",
        "directory": "/home",
        "device": "/var/local/bascule-home",
        "options": "bind",
    }
    events = with_storage([bound, bound])
    verdict = judge_endurance(events)
    assert verdict.cause.count("fs0 monte") == 1  # two readings, one cause
    paths = write_report(verdict, events, tmp_path)
    md = paths["md"].read_text(encoding="utf-8")
    assert "Cause : fs0 monte /var/local/bascule-home" in md and "À corriger : crm configure edit fs0" in md
    assert "À corriger : crm configure edit fs0" in paths["html"].read_text(encoding="utf-8")
    saved = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert saved["cause"] == verdict.cause and saved["fix"] == verdict.fix


CAUSE_RUN = FIXTURES / "runs" / "endurance-home-sur-disque-local-cause"  # captured, with its storage readings


def test_the_captured_run_on_a_home_outside_drbd_names_its_cause_and_fix(tmp_path):

    events = History.load_events(CAUSE_RUN / "historique.jsonl")
    assert sum(1 for e in events if e.source == RUN and e.op == STORAGE) == 2  # read at the start and the end
    verdict = judge_endurance(events)
    assert (verdict.verdict, verdict.totals["envois-ftp"]["lost"], verdict.totals["envois-curl"]["lost"]) == (
        "KO",
        26,
        13,
    )
    assert verdict.cause.startswith(
        "fs0 monte /var/local/bascule-home (fstype=none, options=bind) sur /home, pas /dev/drbd0"
    )
    assert verdict.fix == "crm configure edit fs0 : device=/dev/drbd0 fstype=ext4, sans options=bind (Q3 du lab)"
    # what the run wrote, and what `bascule rejuger` writes again
    assert f"Cause : {verdict.cause}" in (CAUSE_RUN / "endurance.md").read_text(encoding="utf-8")
    again = json.loads(rejudge(CAUSE_RUN, tmp_path)["json"].read_text(encoding="utf-8"))
    assert (again["cause"], again["fix"]) == (verdict.cause, verdict.fix)
