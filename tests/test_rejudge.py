"""`bascule rejuger`: a saved run judged again, offline, gives the very table the run wrote.

A toy feature runs in a child pytest (as in test_plugin_rows.py): its Then steps judge rows with
real checks through `lignes.judge` (an OK, a KO, a move read off the history), one Then step raises
before it judges, and the rows after it are « non exécuté ». The run writes reports/historique.jsonl
and the tables; bascule.reporting.rejudge rebuilds the tables from the history alone. No cluster involved.

The plugin appends the RUN "start" event (date, cluster, public inventory) only in its `cluster`
fixture; the toy has no cluster, so its conftest appends that event itself, as `cluster` does."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bascule.cli import main
from bascule.errors import BasculeError
from bascule.judging import checks
from bascule.judging.verdict import Result
from bascule.record.history import CLIENT, RUN, VERDICT, History
from bascule.reporting.rejudge import rejudge, rejudge_events

pytest_plugins = ["pytester"]

FEATURE = """\
# language: fr
Fonctionnalité: Jouet rejugé
  Scénario: Lignes jugées puis une vérification qui plante
    Quand on écrit essai1 sur intralab01
    Alors le home est accessible
    Quand on relit essai1 sur hdintralab01
    Alors essai1 a bien été dupliqué
    Quand on met intralab01 en standby
    Alors les ressources sont activées sur hdintralab01
    Quand on remet intralab01 en ligne
    Alors la vérification plante
    Quand on recommence
    Alors cette ligne n'est pas exécutée
"""

CONFTEST = """\
import os
import pytest
from bascule.record.history import INFO, RUN
from bascule.inventory import FTPSpec, Inventory, NodeSpec, Secret, SSHSpec, public


@pytest.fixture(scope="session")
def inventaire():
    nodes = (NodeSpec("intralab01", SSHSpec(host="10.22.100.11")), NodeSpec("hdintralab01",
    SSHSpec(host="10.22.100.12")))
    return Inventory(nodes=nodes, preferred_master="intralab01", vip="10.22.100.220",
                     ftp=FTPSpec(password=Secret("S3cr3t-xyz")), source="jouet.toml")


@pytest.fixture(scope="session", autouse=True)
def depart(inventaire, historique, tableau_de_tests):
    # what the plugin's `cluster` fixture does; the toy has no cluster
    if os.environ.get("BASCULE_TOY_NO_START"):
        return
    tableau_de_tests.cluster = "intralab01 (maître) + hdintralab01, VIP 10.22.100.220"
    historique.append(RUN, "bascule", "start", INFO, {"date": tableau_de_tests.date, "cluster":
    tableau_de_tests.cluster,
                                                      "inventory": public(inventaire)})
"""

STEPS = """\
from pytest_bdd import scenarios, then, when
from bascule.judging import checks
from bascule.record.history import CLIENT, FAIL, OBSERVATION, OK
from bascule.record.observations import FileRead, FileWrite, MoveSeen

scenarios("jouet.feature")

SHA_A, SHA_B = "a" * 64, "b" * 64
ON_SLAVE = {"online": ["hdintralab01", "intralab01"], "standby": ["intralab01"], "promoted": ["hdintralab01"],
            "fs": ["hdintralab01"], "group": {"IPFailover": ["hdintralab01"], "serviceWeb": ["hdintralab01"],
                                              "serviceFTP": ["hdintralab01"]},
            "where": {"IPFailover": ["hdintralab01"], "serviceWeb": ["hdintralab01"], "serviceFTP": ["hdintralab01"]},
            "failed": [], "summary": "tout sur hdintralab01"}


@when("on écrit essai1 sur intralab01")
def ecrit():
    pass


@then("le home est accessible")
def home(lignes):
    lignes.judge(checks.home_accessible, FileWrite("intralab01", "/home/user/Documents/essai1", SHA_A,
                                                    home_source="/dev/drbd0"))


@when("on relit essai1 sur hdintralab01")
def relit():
    pass


@then("essai1 a bien été dupliqué")
def duplique(lignes):
    lignes.judge(checks.duplicated, FileRead("essai1", "hdintralab01", "/dev/drbd0", SHA_B, expected_sha256=SHA_A))


@when("on met intralab01 en standby", target_fixture="depuis")
def standby(historique):
    since = historique.mark()
    historique.append(CLIENT, "sonde-ftp", "write+read", OK, {"served_by": "intralab01"})
    historique.append(CLIENT, "sonde-ftp", "write+read", FAIL, error="connexion refusée")
    historique.append(OBSERVATION, "hdintralab01", "crm_mon", OK, ON_SLAVE)
    historique.append(CLIENT, "sonde-ftp", "write+read", OK, {"served_by": "hdintralab01"})
    return since


@then("les ressources sont activées sur hdintralab01")
def bascule(lignes, depuis):
    lignes.judge(checks.moved, MoveSeen(depuis, "hdintralab01", "standby de intralab01", "sonde-ftp"))


@when("on remet intralab01 en ligne")
def en_ligne(historique):
    # after the move's row: a re-judged move must not see it (its slice ends where the row was judged)
    historique.append(CLIENT, "sonde-ftp", "write+read", FAIL, error="connexion refusée")


@then("la vérification plante")
def plante():
    raise RuntimeError("nœud perdu en pleine vérification")


@when("on recommence")
def recommence():
    pass


@then("cette ligne n'est pas exécutée")
def jamais(lignes):
    raise AssertionError("never run")
"""

NAMES = ("tableau-de-tests.md", "tableau-de-tests.json", "tableau-de-tests.html")


def run_toy(pytester, monkeypatch, start: bool = True):
    if not start:
        monkeypatch.setenv("BASCULE_TOY_NO_START", "1")
    pytester.makefile(".feature", jouet=FEATURE)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_jouet=STEPS)
    out = pytester.path / "out"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--bascule-rapports={out}")
    return result, out


def rows_of(path: Path) -> list[tuple[str, str]]:
    return [(r["status"], r["observed"]) for r in json.loads(path.read_text(encoding="utf-8"))["rows"]]


def test_rejudge_writes_the_runs_tables_byte_for_byte(pytester, monkeypatch):
    result, out = run_toy(pytester, monkeypatch)
    result.assert_outcomes(failed=1)
    rows = rows_of(out / "tableau-de-tests.json")
    assert [s for s, _ in rows] == ["OK", "KO", "OK", "inconnu", "non exécuté"], rows
    assert rows[0][1].startswith("« Home » accessible sur intralab01")
    assert "sha256 différent" in rows[1][1]
    assert rows[2][1].startswith("Ressources activées sur hdintralab01") and "puis hdintralab01" in rows[2][1]
    # the Then step that raised before judging still has its row
    assert rows[3][1] == "la vérification n'a pas pu aller au bout : nœud perdu en pleine vérification"
    assert (out / "historique.jsonl").is_file()

    paths = rejudge(out)
    assert {k: p.name for k, p in paths.items()} == {"md": NAMES[0], "json": NAMES[1], "html": NAMES[2]}
    assert all(p.parent == out / "rejuge" for p in paths.values())
    for name in NAMES:
        assert (out / "rejuge" / name).read_bytes() == (out / name).read_bytes(), name
    md = (out / "tableau-de-tests.md").read_text(encoding="utf-8")
    assert "Cluster : intralab01 (maître) + hdintralab01, VIP 10.22.100.220  " in md.splitlines()
    assert "S3cr3t-xyz" not in (out / "historique.jsonl").read_text(encoding="utf-8")

    # --sortie, and the command line

    assert main(["rejuger", str(out), "--sortie", str(pytester.path / "ailleurs")]) == 0
    for name in NAMES:
        assert (pytester.path / "ailleurs" / name).read_bytes() == (out / name).read_bytes(), name


def test_the_history_holds_what_rejudging_needs(pytester, monkeypatch):
    _, out = run_toy(pytester, monkeypatch)
    events = History.load_events(out / "historique.jsonl")
    starts = [e for e in events if e.source == RUN and e.op == "start"]
    assert len(starts) == 1 and starts[0].value["inventory"]["preferred_master"] == "intralab01"
    verdicts = [e for e in events if e.source == VERDICT]
    assert [v.value["check"] for v in verdicts] == ["home_accessible", "duplicated", "moved", None, None]
    assert all(starts[0].index < v.index for v in verdicts)
    move = verdicts[2]
    assert move.value["observation"]["type"] == "MoveSeen" and move.value["since"] is not None
    # the probe failed again after the move's row was judged: the row's slice must stop before it
    late = [e for e in events if e.source == CLIENT and e.index >= move.value["upto"]]
    assert [e.outcome for e in late] == ["fail"]


def test_rejudging_runs_the_checks_again_on_the_rows_slice(pytester, monkeypatch):
    _, out = run_toy(pytester, monkeypatch)
    events = History.load_events(out / "historique.jsonl")
    run_rows = rows_of(out / "tableau-de-tests.json")
    assert [(r.status, r.observed) for r in rejudge_events(events).rows] == run_rows

    # a changed check changes the re-judged row, and only it: the rows are judged again, not copied
    monkeypatch.setitem(checks.CHECKS, "duplicated", lambda obs, evs, inv: Result.ok(f"{obs.name} accepté"))
    again = [(r.status, r.observed) for r in rejudge_events(events).rows]
    assert again[1] == ("OK", "essai1 accepté")
    assert again[:1] + again[2:] == run_rows[:1] + run_rows[2:]
    monkeypatch.undo()

    # the move's slice ends at `upto`: with the later failure in it, the move would read differently
    widened = [
        replace(e, value={**e.value, "upto": len(events)})
        if e.source == VERDICT and e.value.get("check") == "moved"
        else e
        for e in events
    ]
    moved = [(r.status, r.observed) for r in rejudge_events(widened).rows][2]
    assert moved != run_rows[2] and "FTP toujours indisponible" in moved[1]


def test_rejudge_without_the_cluster_fixture(pytester, monkeypatch):
    """The inventory goes on the history with the run's start (the `cluster` fixture): without it a
    check cannot be re-judged, and the rows say so (inconnu), never OK."""
    result, out = run_toy(pytester, monkeypatch, start=False)
    result.assert_outcomes(failed=1)
    rows = json.loads(rejudge(out)["json"].read_text(encoding="utf-8"))["rows"]
    judged = [r for r in rows if r["observed"].startswith("inventaire absent")]
    assert judged and all(r["status"] == "inconnu" for r in judged)


def test_rejudge_of_a_directory_without_a_history(tmp_path):
    with pytest.raises(BasculeError, match="aucune série enregistrée"):
        rejudge(tmp_path)
    (tmp_path / "historique.jsonl").write_text("pas du json\n", encoding="utf-8")
    with pytest.raises(BasculeError, match="n'est pas un historique de bascule"):
        rejudge(tmp_path)
