"""bascule.judging.checks (verdicts) and bascule.reporting.table (the lab's completed test tables)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bascule.cluster.cluster import Cluster, Snapshot
from bascule.cluster.moves import SERVED_READ, SILENT_READ, reading_while_served
from bascule.cluster.nodes import CommandResult
from bascule.facts.client_view import DOWNTIME_DEFINITION, client_downtime, secs
from bascule.facts.placement import baseline_problems, placement_problems
from bascule.inventory import FTPSpec, Inventory, NodeSpec, Secret, SSHSpec
from bascule.judging.checks import moved, resources_active
from bascule.judging.verdict import Result, Verdict, guarded
from bascule.record.cluster_state import parse_crm_mon, parse_proc_drbd, parse_vip_interface
from bascule.record.history import CLIENT, FAIL, OBSERVATION, OK, History
from bascule.record.observations import MoveSeen, NodeSeen, ResourcesSeen
from bascule.reporting.table import COLUMNS, CompletedTable, Row, save_snapshot

FIXTURES = Path(__file__).parent / "fixtures"
HEADER = "| Actions à effectuer | Résultats attendus | Résultats obtenus | Statut |"


def inventory(preferred: str = "intralab01") -> Inventory:
    nodes = {
        "intralab01": NodeSpec("intralab01", SSHSpec(host="10.22.100.11", key="/nonexistent/id_ed25519")),
        "hdintralab01": NodeSpec("hdintralab01", SSHSpec(host="10.22.100.12", key="/nonexistent/id_ed25519")),
    }
    other = next(n for n in nodes if n != preferred)
    return Inventory(
        nodes=(nodes[preferred], nodes[other]),
        preferred_master=preferred,
        vip="10.22.100.220",
        ftp=FTPSpec(password=Secret("S3cr3t-xyz")),
        source="test",
    )


@pytest.fixture(scope="module")
def state():
    return parse_crm_mon((FIXTURES / "crm_mon-2.1-sain.xml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def drbd():
    return {
        "intralab01": parse_proc_drbd((FIXTURES / "proc_drbd-8.4-maitre-sain.txt").read_text(), "resftp"),
        "hdintralab01": parse_proc_drbd((FIXTURES / "proc_drbd-8.4-esclave-sain.txt").read_text(), "resftp"),
    }


# --- verdicts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "verdicts, expected",
    [
        ([], Verdict.INCONNU),
        ([Verdict.OK], Verdict.OK),
        ([Verdict.OK, Verdict.OK], Verdict.OK),
        ([Verdict.OK, Verdict.INCONNU], Verdict.INCONNU),
        ([Verdict.INCONNU, Verdict.OK, Verdict.KO], Verdict.KO),
        ([Verdict.KO, Verdict.INCONNU], Verdict.KO),
        ([Verdict.OK, Verdict.KO, Verdict.OK], Verdict.KO),
        ([Verdict.INCONNU], Verdict.INCONNU),
    ],
)
def test_combine(verdicts, expected):
    assert Verdict.combine(verdicts) is expected
    assert Verdict.combine(iter(verdicts)) is expected  # any iterable, read once


def test_verdict_values():
    assert [v.value for v in Verdict] == ["OK", "KO", "inconnu"]


def test_guarded_turns_an_exception_into_inconnu():
    def broken(x):
        raise KeyError("intralab01")

    r = guarded(broken, 1)
    assert r.verdict is Verdict.INCONNU
    assert r.observed.startswith("impossible de conclure")
    assert "intralab01" in r.observed


def test_guarded_passes_results_through():
    assert guarded(lambda a, b=0: Result.ok(f"{a}+{b}"), 1, b=2) == Result(Verdict.OK, "1+2", ())
    assert guarded(Result.ko, "non", "détail").verdict is Verdict.KO
    assert Result.ko("non", "détail").details == ("détail",)
    assert Result.unknown("?").verdict is Verdict.INCONNU


def test_result_of():
    assert Result.of([], "tout va bien") == Result.ok("tout va bien")
    assert Result.of(["a", "b"], "tout va bien") == Result.ko("a ; b")


@pytest.mark.parametrize("x, text", [(12.34, "12,3 s"), (0, "0,0 s"), (0.05, "0,1 s"), (None, "—"), (61.96, "62,0 s")])
def test_secs(x, text):
    assert secs(x) == text


# --- the baseline ------------------------------------------------------------------------------


def test_baseline_healthy(state, drbd):
    assert drbd["intralab01"].healthy and drbd["hdintralab01"].healthy
    assert baseline_problems(state, drbd, inventory("intralab01")) == []
    assert placement_problems(state, inventory("intralab01"), "intralab01") == []


def test_baseline_wrong_master(state, drbd):
    problems = baseline_problems(state, drbd, inventory("hdintralab01"))
    assert problems
    assert any("hdintralab01" in p for p in problems)
    assert any("ms-drbd0" in p and "intralab01 au lieu de hdintralab01" in p for p in problems)
    assert any(p.startswith("fs0 actif sur intralab01") for p in problems)
    assert {p.split()[0] for p in problems} >= {"IPFailover", "serviceWeb", "serviceFTP"}


def test_baseline_unreadable_or_unhealthy_drbd(state, drbd):
    standalone = parse_proc_drbd(
        "version: 8.4.11 (api:1/proto:86-101)\n 0: cs:StandAlone ro:Primary/Unknown ds:UpToDate/DUnknown   r-----\n",
        "resftp",
    )
    problems = baseline_problems(state, {"intralab01": standalone, "hdintralab01": None}, inventory())
    assert problems == [
        "DRBD sur intralab01 : Primary/Unknown StandAlone UpToDate/DUnknown",
        "DRBD illisible sur hdintralab01",
    ]


def test_baseline_failed_action():
    failed = parse_crm_mon((FIXTURES / "crm_mon-1.1-echec.xml").read_text(encoding="utf-8"))
    problems = baseline_problems(failed, {}, inventory())
    assert problems == ["action en échec : serviceFTP monitor sur intralab01 (not running)"]


def test_client_downtime_sentences():
    h = History(clock=lambda: 0.0)
    assert client_downtime(h.events, "p") == (None, "aucune opération FTP enregistrée")
    h.append(CLIENT, "p", "write+read", OK, t=0.0, end=0.1)
    h.append(CLIENT, "p", "write+read", OK, t=1.0, end=1.1)
    assert client_downtime(h.events, "p") == (0.0, "FTP disponible sans interruption (2 opérations)")
    h.append(CLIENT, "p", "write+read", FAIL, t=2.0, end=2.1)
    h.append(CLIENT, "p", "write+read", FAIL, t=3.0, end=3.1)
    assert client_downtime(h.events, "p") == (
        None,
        "FTP toujours indisponible à la fin de la mesure (2 échecs : échec 2,1 s)",
    )
    h.append(CLIENT, "p", "write+read", OK, t=14.34, end=14.5)
    total, text = client_downtime(h.events, "p")
    # from the last good operation (sent at 1.0) to the next one (sent at 14.34)
    assert total == pytest.approx(13.34)
    # the two answers took 0.1 and 0.16 s: the bounds differ by more than the cadence, so both are given
    assert text == f"FTP indisponible 13,3 s (entre 13,2 s et 13,5 s) : échec 13,3 s [{DOWNTIME_DEFINITION}]"


# --- the report --------------------------------------------------------------------------------


def rows() -> list[Row]:
    return [
        Row(
            "Q2 — DRBD et système de fichiers",
            "Bascule",
            "crm node standby intralab01",
            "Les ressources sont activées sur hdintralab01",
            "Ressources activées sur hdintralab01 en 14,2 s",
            "OK",
        ),
        Row(
            "Q2 — DRBD et système de fichiers",
            "Bascule",
            "Lire essai1 | sur hdintralab01",
            "essai1 a bien été dupliqué",
            "essai1 absent\nsur hdintralab01",
            "KO",
        ),
        Row(
            "Q2 — DRBD et système de fichiers",
            "Retour",
            "crm node online intralab01",
            "Les ressources reviennent",
            "impossible de conclure : <perte>",
            "inconnu",
        ),
        Row("Q5 — Câble", "Câble", "Débrancher le câble", "Bascule", "—", "non exécuté"),
    ]


def test_report_markdown():
    rep = CompletedTable(
        cluster="intralab01 + hdintralab01 (VIP 10.22.100.220)", rows=rows(), figures={"Q2 bascule": "14,2 s"}
    )
    md = rep.markdown()
    lines = md.splitlines()
    assert lines[0] == "# bascule — tableaux de tests complétés"
    assert lines.count(HEADER) == 2  # one table per feature
    assert "| " + " | ".join(COLUMNS) + " |" == HEADER
    assert lines[lines.index(HEADER) + 1] == "|---|---|---|---|"
    assert "## Q2 — DRBD et système de fichiers" in lines and "## Q5 — Câble" in lines
    # scenario rows only where a table has several scenarios
    assert "| **Bascule** | | | |" in lines and "| **Retour** | | | |" in lines
    assert "| **Câble** | | | |" not in lines
    # pipes are escaped and newlines flattened: each row stays one Markdown row
    assert (
        "| Lire essai1 \\| sur hdintralab01 | essai1 a bien été dupliqué | essai1 absent sur hdintralab01 | KO |"
        in lines
    )
    assert "Bilan : KO 1, OK 1, inconnu 1, non exécuté 1" in lines
    assert "- Q2 bascule : 14,2 s" in lines
    assert rep.counts() == {"OK": 1, "KO": 1, "inconnu": 1, "non exécuté": 1}
    assert list(rep.tables()) == ["Q2 — DRBD et système de fichiers", "Q5 — Câble"]


def test_report_write(tmp_path):
    rep = CompletedTable(cluster="lab")
    for r in rows():
        rep.add(r)
    rep.figures["Q5 coupure client"] = "3,1 s"
    paths = rep.write(tmp_path / "reports")
    assert set(paths) == {"md", "html", "json"}
    assert all(p.is_file() and p.parent == tmp_path / "reports" for p in paths.values())
    md = paths["md"].read_text(encoding="utf-8")
    assert HEADER in md.splitlines()

    # the file is the Markdown rendering (the date line may tick between two renderings)
    def undated(text):
        return [ln for ln in text.splitlines() if not ln.startswith("Date : ")]

    assert undated(md) == undated(rep.markdown())
    assert "Cluster : lab  " in md.splitlines()
    page = paths["html"].read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert (
        "".join(f"<th>{c}</th>" for c in ("Actions à effectuer", "Résultats attendus", "Résultats obtenus", "Statut"))
        in page
    )
    assert "impossible de conclure : &lt;perte&gt;" in page and "<perte>" not in page
    assert "background:#d4edda'>OK</td>" in page and "background:#f8d7da'>KO</td>" in page
    assert "<tr class='sc'><td colspan='4'>Retour</td></tr>" in page
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["cluster"] == "lab"
    assert data["figures"] == {"Q5 coupure client": "3,1 s"}
    assert [r["status"] for r in data["rows"]] == ["OK", "KO", "inconnu", "non exécuté"]
    assert data["rows"][0] == {
        "table": "Q2 — DRBD et système de fichiers",
        "scenario": "Bascule",
        "action": "crm node standby intralab01",
        "expected": "Les ressources sont activées sur hdintralab01",
        "observed": "Ressources activées sur hdintralab01 en 14,2 s",
        "status": "OK",
        "details": [],
        "cause": "",
        "fix": "",
    }
    assert "activées sur hdintralab01" in paths["json"].read_text(encoding="utf-8")  # UTF-8, not \u escapes


def test_empty_report():
    rep = CompletedTable()
    md = rep.markdown()
    assert HEADER not in md and "Bilan : " in md
    assert "<table>" not in rep.html()


# --- « Vérifier que les ressources sont bien activées » -----------------------------------------

# `ip -o -4 addr show` captured on the embedded lab's master (eth0 management, eth1 the lab's network)
IP_ADDR_GOOD = """\
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: eth0    inet 192.168.121.45/24 brd 192.168.121.255 scope global dynamic eth0\\       valid_lft 3397sec
preferred_lft 3397sec
3: eth1    inet 10.22.100.11/16 brd 10.22.255.255 scope global eth1\\       valid_lft forever preferred_lft forever
3: eth1    inet 10.22.100.220/16 brd 10.22.255.255 scope global secondary eth1:VIP\\       valid_lft forever
preferred_lft forever
"""
# the same with IPaddr2's nic=eth0: the VIP sits on the administration network's NIC
IP_ADDR_WRONG_NIC = """\
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: eth0    inet 192.168.121.45/24 brd 192.168.121.255 scope global dynamic eth0\\       valid_lft 3397sec
preferred_lft 3397sec
2: eth0    inet 10.22.100.220/16 brd 10.22.255.255 scope global eth0\\       valid_lft forever preferred_lft forever
3: eth1    inet 10.22.100.11/16 brd 10.22.255.255 scope global eth1\\       valid_lft forever preferred_lft forever
"""
IP_ADDR_SLAVE = """\
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
3: eth1    inet 10.22.100.12/16 brd 10.22.255.255 scope global eth1\\       valid_lft forever preferred_lft forever
"""


def test_vip_interface():

    good = parse_vip_interface(IP_ADDR_GOOD, "10.22.100.220")
    assert (good.interface, good.prefix, good.on_network) == ("eth1", 16, True)
    wrong = parse_vip_interface(IP_ADDR_WRONG_NIC, "10.22.100.220")
    assert (wrong.interface, wrong.on_network, wrong.neighbours) == ("eth0", False, ("192.168.121.45/24",))
    assert parse_vip_interface(IP_ADDR_SLAVE, "10.22.100.220").interface == ""
    # a /32 VIP inside the network of the interface's own address is on the right NIC
    lone = "2: ens3    inet 192.168.1.10/24 scope global ens3\n2: ens3    inet 192.168.1.100/32 scope global ens3\n"
    assert parse_vip_interface(lone, "192.168.1.100").on_network
    # an address that only starts like the VIP is not the VIP
    assert parse_vip_interface("3: eth1    inet 10.22.100.2200/16 x\n", "10.22.100.220").interface == ""


def _seen(master_ip: str, served: str | None = None, slave_proftpd: bool = False, on: str = "intralab01"):

    xml = (FIXTURES / "crm_mon-2.1-sain.xml").read_text(encoding="utf-8")
    return ResourcesSeen(
        xml,
        {
            "intralab01": NodeSeen("intralab01", master_ip, True, True, "/dev/drbd0"),
            "hdintralab01": NodeSeen("hdintralab01", IP_ADDR_SLAVE, slave_proftpd, False, ""),
        },
        ("Documents",),
        "",
        served,
        on,
    )


def test_resources_active_ok_and_wrong_nic():

    inv = inventory("intralab01")
    ok = resources_active(_seen(IP_ADDR_GOOD), [], inv)
    assert ok.verdict is Verdict.OK, ok.observed
    ko = resources_active(_seen(IP_ADDR_WRONG_NIC), [], inv)
    assert ko.verdict is Verdict.KO
    assert "posée sur eth0" in ko.observed and "mauvaise interface" in ko.observed
    assert "nic=" in ko.cause and ko.fix.startswith("crm configure edit IPFailover")


def test_resources_active_service_on_both_nodes():

    r = resources_active(_seen(IP_ADDR_GOOD, slave_proftpd=True), [], inventory("intralab01"))
    assert r.verdict is Verdict.KO and "proftpd tourne aussi sur hdintralab01" in r.observed


def test_resources_active_judges_the_node_the_row_names():

    r = resources_active(_seen(IP_ADDR_GOOD, on="hdintralab01"), [], inventory("intralab01"))
    assert r.verdict is Verdict.KO and "au lieu de hdintralab01" in r.observed


# --- « arrêtées sur A et activées sur B », read off the history ----------------------------------


def _move_history(final_server: str) -> History:
    """A failover to hdintralab01 at t=0: the probe fails 2 s, then is answered by final_server."""

    t = [0.0]
    h = History(clock=lambda: t[0])
    on_b = {
        "promoted": ["hdintralab01"],
        "fs": ["hdintralab01"],
        "group": {"IPFailover": ["hdintralab01"], "serviceFTP": ["hdintralab01"]},
        "where": {"IPFailover": ["hdintralab01"], "serviceWeb": ["hdintralab01"], "serviceFTP": ["hdintralab01"]},
        "summary": "tout sur B",
    }
    h.append(CLIENT, "sonde-ftp", "write+read", OK, {"served_by": "intralab01"}, t=0.0)
    t[0] = 1.0
    h.append(CLIENT, "sonde-ftp", "write+read", FAIL, error="connexion refusée", t=0.5)
    t[0] = 3.0
    h.append(OBSERVATION, "intralab01", "crm_mon", OK, on_b, t=2.5)
    h.append(CLIENT, "sonde-ftp", "write+read", OK, {"served_by": final_server}, t=2.5)
    return h


def _move(to: str):

    return MoveSeen(0.0, to, "standby de intralab01", "sonde-ftp")


def test_moved_ok_when_the_destination_serves():

    seen = _move("hdintralab01")
    result = moved(seen, list(_move_history("hdintralab01").events), inventory())
    assert result.verdict is Verdict.OK, result.observed
    assert result.move.took == pytest.approx(3.0) and result.move.downtime == pytest.approx(2.5)
    # the very figures Allure shows beside the step
    assert [(f.name, f.seconds) for f in result.figures] == [
        ("bascule vers hdintralab01 (s)", pytest.approx(3.0)),
        ("indisponibilité FTP, standby de intralab01 (s)", pytest.approx(2.5)),
    ]
    assert "servi par intralab01 (à 0,0 s) puis hdintralab01" in result.observed


@pytest.mark.parametrize("server", ["intralab01", "INTRALAB01.lab.local"])
def test_moved_ko_when_the_old_node_still_serves(server):

    result = moved(_move("hdintralab01"), list(_move_history(server).events), inventory())
    assert result.verdict is Verdict.KO
    assert "toujours servi par intralab01" in result.observed


def test_moved_cannot_judge_an_unknown_hostname():

    result = moved(_move("hdintralab01"), list(_move_history("srv-ftp").events), inventory())
    assert result.verdict is Verdict.OK  # a name that is none of the nodes says nothing about them


def test_resources_active_but_the_other_node_serves():

    inv = inventory("intralab01")
    r = resources_active(_seen(IP_ADDR_GOOD, "hdintralab01"), [], inv)
    assert r.verdict is Verdict.KO and "servi par hdintralab01" in r.observed
    assert resources_active(_seen(IP_ADDR_GOOD, "intralab01"), [], inv).verdict is Verdict.OK


def test_moved_ko_when_the_client_never_comes_back():

    h = _move_history("hdintralab01")
    h.append(CLIENT, "sonde-ftp", "write+read", FAIL, error="identifiants refusés (530)", t=2.8)
    result = moved(_move("hdintralab01"), list(h.events), inventory())
    assert result.verdict is Verdict.KO and result.move.downtime is None
    assert [f.name for f in result.figures] == ["bascule vers hdintralab01 (s)"]  # no downtime to show
    assert "FTP toujours indisponible" in result.observed and "toujours servi" not in result.observed


class _StubNode:
    """Stands in for a node: answers crm_mon with the lab's captured XML, remembers who was asked."""

    asked: list = []

    def __init__(self, name: str):
        self.name = name

    def run(self, command: str, timeout=None, check=True):

        if "--help-all" in command:
            return CommandResult(self.name, command, 0, "2\n", "", 0.0)
        _StubNode.asked.append(self.name)
        xml = (FIXTURES / "crm_mon-2.1-sain.xml").read_text(encoding="utf-8")
        return CommandResult(self.name, command, 0, xml, "", 0.0)

    def close(self):
        pass


def test_crm_mon_asks_the_preferred_node_first():

    inv = inventory()
    nodes = {"intralab01": _StubNode("intralab01"), "hdintralab01": _StubNode("hdintralab01")}
    c = Cluster(inv, History(), nodes=nodes)
    _StubNode.asked = []
    c.state()
    c.state(prefer=nodes["hdintralab01"])
    c.wait_state("anything", lambda s: True, deadline=5, prefer=nodes["hdintralab01"])
    assert _StubNode.asked == ["intralab01", "hdintralab01", "hdintralab01"]


class _FailcountNode(_StubNode):
    said: list = []

    def run(self, command: str, timeout=None, check=True):

        _FailcountNode.said.append(command)
        return CommandResult(self.name, command, 0, "scope=status  name=fail-count-serviceFTP value=2\n", "", 0.0)


def test_fail_count_from_crm_failcount_only_where_crm_mon_has_no_history():

    inv = inventory()
    nodes = {n: _FailcountNode(n) for n in ("intralab01", "hdintralab01")}
    c = Cluster(inv, History(), nodes=nodes)
    shown = parse_crm_mon((FIXTURES / "crm_mon-1.1-echec.xml").read_text(encoding="utf-8"))
    _FailcountNode.said = []
    assert c.fail_count(shown, "serviceFTP", "intralab01") == 1 and _FailcountNode.said == []
    hidden = parse_crm_mon(
        re.sub(
            r"<node_history>.*</node_history>",
            "",
            (FIXTURES / "crm_mon-1.1-echec.xml").read_text(encoding="utf-8"),
            flags=re.S,
        )
    )
    assert c.fail_count(hidden, "serviceFTP", "intralab01") == 2
    assert _FailcountNode.said == ["crm_failcount -G -r serviceFTP -N intralab01 2>&1"]


class _DownProbe:
    started = True

    def __init__(self):
        self.down = True

    def out_of_service(self, since):
        return self.down


def test_crm_mon_is_read_only_every_silent_read_while_the_client_sees_the_service_down():

    class Clock(History):
        now_value = 0.0

        def now(self):
            return Clock.now_value

    inv = inventory()
    nodes = {"intralab01": _StubNode("intralab01"), "hdintralab01": _StubNode("hdintralab01")}
    c = Cluster(inv, Clock(), nodes=nodes)
    probe = _DownProbe()
    reading = reading_while_served(c, probe, 0.0, prefer=nodes["hdintralab01"])
    _StubNode.asked = []
    assert reading() is not None  # the first reading is taken: the move may already be over
    Clock.now_value = SILENT_READ - 1
    assert reading() is None and _StubNode.asked == ["hdintralab01"]  # down: the guests are left alone
    Clock.now_value = SILENT_READ + 0.5
    assert reading() is not None  # a cluster that moved but serves no FTP is still seen
    probe.down = False
    Clock.now_value += 1
    assert reading() is not None and _StubNode.asked == ["hdintralab01"] * 3  # back: read at once
    Clock.now_value += SERVED_READ - 0.5
    assert reading() is not None and _StubNode.asked == ["hdintralab01"] * 3  # served: the last reading stands
    Clock.now_value += 1
    assert reading() is not None and _StubNode.asked == ["hdintralab01"] * 4


def test_two_snapshots_with_one_label_are_both_kept(tmp_path):
    # kill -9 proftpd is the fault of two scenarios; the second one's snapshot overwrote the first one's

    for text in ("<first/>", "<second/>"):
        save_snapshot(
            tmp_path, "kill -9 proftpd intralab01 — après", Snapshot(0.0, None, text, {}, {"intralab01": text})
        )
    assert (tmp_path / "kill-9-proftpd-intralab01-apres.crm_mon.xml").read_text() == "<first/>"
    assert (tmp_path / "kill-9-proftpd-intralab01-apres-2.crm_mon.xml").read_text() == "<second/>"
    assert (tmp_path / "kill-9-proftpd-intralab01-apres-2.intralab01.drbd.txt").read_text() == "<second/>"


def test_a_node_gone_from_the_snapshot_is_not_asked_for_its_journal():
    # after a reboot or a power cut, asking the node that went down costs a connection timeout more

    inv = inventory()
    nodes = {"intralab01": _StubNode("intralab01"), "hdintralab01": _StubNode("hdintralab01")}
    c = Cluster(inv, History(), nodes=nodes)
    _StubNode.asked = []
    found = {j.node: j for j in c.journals(0.0, unreachable={"intralab01": "injoignable juste avant : redémarre"})}
    assert found["intralab01"].error == "injoignable juste avant : redémarre"
    assert set(_StubNode.asked) == {"hdintralab01"}


def test_a_reading_already_taken_stands_for_the_capture():
    # the kill's « avant » snapshot is the reading that gave the fail-count: no second crm_mon

    inv = inventory()
    nodes = {"intralab01": _StubNode("intralab01"), "hdintralab01": _StubNode("hdintralab01")}
    kept = []
    c = Cluster(inv, History(), nodes=nodes, keep_snapshot=lambda label, snap: kept.append(label))
    taken = Snapshot(1.0, None, "<crm_mon/>", {}, {})
    _StubNode.asked = []
    assert c.capture("kill -9 proftpd intralab01 (avant)", taken=taken) is taken
    assert _StubNode.asked == [] and kept == ["kill -9 proftpd intralab01 (avant)"]
