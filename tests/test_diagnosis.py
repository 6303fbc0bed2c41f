"""The probable cause of a KO, from evidence read on the cluster (bascule.facts.diagnosis).

crm_mon outputs are captured from the lab (tests/fixtures/README.md says how); the configuration
tests' outputs and the constraints are written by hand here, from what apache2ctl and crm print,
and said so where they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from bascule.facts.diagnosis import diagnose
from bascule.inventory import FTPSpec, Inventory, NodeSpec, Secret, SSHSpec
from bascule.judging.checks import diagnosed
from bascule.judging.verdict import Result, Verdict
from bascule.record.observations import ConfigTest, Evidence, roundtrip

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def inv():
    nodes = tuple(NodeSpec(n, SSHSpec(host=n, user="vagrant", sudo=True)) for n in ("intralab01", "hdintralab01"))
    return Inventory(nodes=nodes, preferred_master="intralab01", vip="10.22.100.220", ftp=FTPSpec("user", Secret("x")))


def test_a_start_failure_with_fail_count_infinity_is_a_ban_from_that_node(inv):
    # captured (Debian 13): serviceFTP's start failed on intralab01, fail-count INFINITY
    xml = (FIXTURES / "crm_mon-3.0-echec-start-serviceFTP.xml").read_text()
    found = diagnose(Evidence(xml), inv, "intralab01")
    assert found.cause.startswith(
        "serviceFTP start en échec sur intralab01, fail-count INFINITY : serviceFTP est banni "
        "de intralab01 tant que « crm resource cleanup serviceFTP » n'a pas été fait"
    )
    assert "(vu : crm_mon, actions en échec)" in found.cause
    assert found.fix == "corriger ce que dit l'erreur sur intralab01, puis crm resource cleanup serviceFTP"


def test_the_configuration_test_that_fails_names_what_to_correct(inv):
    xml = (FIXTURES / "crm_mon-3.0-echec-start-serviceFTP.xml").read_text()
    # hand-written from proftpd's own words for an unknown directive
    test = ConfigTest(
        "serviceFTP",
        "intralab01",
        "proftpd -t",
        1,
        "Checking syntax of configuration file\nfatal: unknown configuration directive 'BasculeCasse' "
        "on line 94 of '/etc/proftpd/proftpd.conf'",
    )
    found = diagnose(roundtrip(Evidence(xml, (test,))), inv, "intralab01")
    assert "« proftpd -t » sur intralab01 : fatal: unknown configuration directive 'BasculeCasse'" in found.cause
    assert found.fix == (
        "corriger la configuration de serviceFTP sur intralab01 (« proftpd -t » doit réussir), "
        "puis crm resource cleanup serviceFTP"
    )


def test_a_fatal_error_says_the_resource_runs_on_no_node(inv):
    xml = (FIXTURES / "crm_mon-3.0-echec-start-serviceFTP.xml").read_text()
    fatal = xml.replace(
        'op_key="serviceFTP_start_0" node="intralab01" exitstatus="Error occurred" exitreason="" exitcode="1"',
        'op_key="serviceFTP_start_0" node="intralab01" exitstatus="not configured" '
        'exitreason="Configuration file not valid" exitcode="6"',
    )
    assert fatal != xml
    found = diagnose(Evidence(fatal), inv, "hdintralab01")
    assert (
        "serviceFTP start en échec sur intralab01 « Configuration file not valid », erreur fatale (not configured) : "
        "Pacemaker ne lance plus serviceFTP sur aucun nœud"
    ) in found.cause


def test_a_ban_left_by_crm_resource_ban_is_named_when_nothing_failed(inv):
    xml = (FIXTURES / "crm_mon-2.1-sain.xml").read_text()
    constraints = (
        '<constraints><rsc_location id="cli-ban-servIntralab-on-hdintralab01" rsc="servIntralab" '
        'node="hdintralab01" score="-INFINITY"/></constraints>'
    )  # what crm resource ban writes
    found = diagnose(Evidence(xml, (), constraints), inv, "hdintralab01")
    assert "cli-ban-servIntralab-on-hdintralab01 interdit servIntralab sur hdintralab01" in found.cause
    assert found.fix == "crm configure delete cli-ban-servIntralab-on-hdintralab01"


def test_evidence_that_points_nowhere_says_cause_non_identifiee(inv):
    xml = (FIXTURES / "crm_mon-2.1-sain.xml").read_text()
    found = diagnose(Evidence(xml, (), "<constraints/>"), inv, "hdintralab01")
    assert found.cause.startswith(
        "cause non identifiée (vu : aucune action en échec, aucune contrainte étrangère au lab"
    )
    assert found.fix == ""
    assert (
        diagnose(Evidence(None, error="injoignable"), inv).cause
        == "cause non identifiée (rien n'a pu être lu sur le cluster : injoignable)"
    )


def test_only_a_ko_gets_a_diagnosis_and_old_histories_stay_as_they_were(inv):
    ok = Result.ok("Ressources activées")
    assert diagnosed(ok, Evidence(None), inv, "x") is ok
    ko = Result.ko("pas activées")
    assert diagnosed(ko, None, inv, "x") is ko
    assert diagnosed(ko, Evidence(None), inv, "x").verdict is Verdict.KO
    assert diagnosed(ko, Evidence(None), inv, "x").cause.startswith("cause non identifiée")
