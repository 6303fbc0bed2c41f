"""The pytest plugin's handling of rows: a KO row does not stop the scenario (the table stays
complete, the scenario fails at its end); a row marked stop=True does; an exception marks the rows
after it « non exécuté ». Run in a child pytest with a toy feature: no cluster involved."""

import json
import socket

pytest_plugins = ["pytester"]

FEATURE = """\
# language: fr
Fonctionnalité: Jouet
  Scénario: Trois lignes
    Quand on fait A
    Alors A est {a}
    Quand on fait B
    Alors B est {b}
    Quand on fait C
    Alors C est ok
"""

STEPS = """\
from pytest_bdd import given, parsers, scenarios, then, when
from bascule.judging.verdict import Result

scenarios("jouet.feature")

@when(parsers.parse("on fait {x}"))
def fait(x):
    pass

@then(parsers.parse("{x} est ok"))
def ok(lignes, x):
    lignes.record(Result.ok(f"{x} vu"))

@then(parsers.parse("{x} est ko"))
def ko(lignes, x):
    lignes.record(Result.ko(f"{x} raté"))

@then(parsers.parse("{x} est bloquant"))
def bloquant(lignes, x):
    lignes.record(Result.ko(f"{x} raté, la suite n'a pas de sens"), stop=True)

@then(parsers.parse("{x} est inconnu"))
def inconnu(lignes, x):
    lignes.record(Result.unknown(f"{x} nœud perdu"))
"""


def run(pytester, a: str, b: str):
    pytester.makefile(".feature", jouet=FEATURE.format(a=a, b=b))
    pytester.makepyfile(test_jouet=STEPS)
    out = pytester.path / "out"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--bascule-rapports={out}")
    rows = json.loads((out / "tableau-de-tests.json").read_text())["rows"]
    return result, [(r["action"], r["status"], r["observed"]) for r in rows]


def test_a_ko_row_lets_the_scenario_go_on_and_fails_it_at_the_end(pytester):
    result, rows = run(pytester, "ko", "ok")
    result.assert_outcomes(failed=1)
    assert [r[1] for r in rows] == ["KO", "OK", "OK"]
    result.stdout.fnmatch_lines(["*KO : A raté*"])


def test_a_stopping_row_stops_the_scenario(pytester):
    result, rows = run(pytester, "bloquant", "ok")
    result.assert_outcomes(failed=1)
    assert [r[1] for r in rows] == ["KO", "non exécuté", "non exécuté"]


def test_inconnu_stops_the_scenario_and_is_never_ok(pytester):
    result, rows = run(pytester, "ok", "inconnu")
    result.assert_outcomes(failed=1)
    assert [r[1] for r in rows] == ["OK", "inconnu", "non exécuté"]


def test_all_ok_passes(pytester):
    result, rows = run(pytester, "ok", "ok")
    result.assert_outcomes(passed=1)
    assert [r[1] for r in rows] == ["OK", "OK", "OK"]


INVENTORY = """\
[cluster]
vip = "127.0.0.1"
preferred_master = "intralab01"

[ssh]
user = "root"
password_env = "BASCULE_TEST_SSH_PW"

[[nodes]]
name = "intralab01"
host = "127.0.0.1"
port = {port}

[[nodes]]
name = "hdintralab01"
host = "127.0.0.1"
port = {port}

[ftp]
password_env = "BASCULE_TEST_SSH_PW"
"""


def test_a_stopped_run_says_why_in_the_table(pytester, monkeypatch):

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there: the nodes are unreachable
    monkeypatch.setenv("BASCULE_TEST_SSH_PW", "pas-affiché-42")
    pytester.makefile(
        ".feature",
        jouet="# language: fr\nFonctionnalité: Jouet\n  Scénario: Une ligne\n"
        "    Quand on regarde le cluster\n    Alors il est là\n",
    )
    pytester.makepyfile(
        test_jouet="""
from pytest_bdd import scenarios, then, when
from bascule.judging.verdict import Result
scenarios("jouet.feature")

@when("on regarde le cluster")
def regarde(cluster):
    pass

@then("il est là")
def la(lignes):
    lignes.record(Result.ok("vu"))
"""
    )
    inv = pytester.path / "inv.toml"
    inv.write_text(INVENTORY.format(port=port))
    out = pytester.path / "out"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--bascule-inventaire={inv}", f"--bascule-rapports={out}"
    )
    assert result.ret == 2
    result.stdout.fnmatch_lines([f"*bascule: nœud intralab01*rien n'écoute en SSH sur root@127.0.0.1:{port}*"])
    table = (out / "tableau-de-tests.md").read_text()
    assert "Exécution arrêtée avant la fin" in table and "rien n'écoute en SSH" in table
    assert "pas-affiché-42" not in table + result.stdout.str() + result.stderr.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


INTERRUPTED = """\
# language: fr
Fonctionnalité: Jouet
  Scénario: Interrompu
    Quand on fait A
    Alors A est ok
    Quand on interrompt la série
    Alors B est ok
    Quand on fait C
    Alors C est ok

  Scénario: Jamais atteint
    Quand on fait D
    Alors D est ok
"""

INTERRUPTING = (
    STEPS
    + """
import os, signal

@when("on interrompt la série")
def interrompre():
    os.kill(os.getpid(), signal.SIGTERM)  # what CI's timeout sends
"""
)


def run_features(pytester, feature: str, steps: str) -> dict:
    """A toy feature run as the lab's are (from a features/ directory: the interruption is caught
    there); the table it left."""
    features = pytester.mkdir("features")
    (features / "jouet.feature").write_text(feature, encoding="utf-8")
    (features / "test_jouet.py").write_text(steps, encoding="utf-8")
    out = pytester.path / "out"
    pytester.runpytest_subprocess("features", "-p", "no:cacheprovider", f"--bascule-rapports={out}")
    return json.loads((out / "tableau-de-tests.json").read_text())


def test_an_interrupted_run_says_so_and_where_and_counts_every_row(pytester):
    """Ctrl-C or SIGTERM: the table's top says the run was interrupted and where, the row in progress
    is « inconnu », every row not reached « non exécuté » (the next scenario's too)."""
    table = run_features(pytester, INTERRUPTED, INTERRUPTING)
    out = pytester.path / "out"
    rows = [(r["scenario"], r["status"], r["observed"]) for r in table["rows"]]
    assert table["stopped"].startswith(
        "série interrompue (SIGTERM : arrêt demandé) pendant « Interrompu », à l'étape « on interrompt la série »"
    )
    assert rows == [
        ("Interrompu", "OK", "A vu"),
        ("Interrompu", "inconnu", "interrompu (SIGTERM : arrêt demandé) pendant cette ligne"),
        ("Interrompu", "non exécuté", "non exécuté (série interrompue)"),
        ("Jamais atteint", "non exécuté", "non exécuté (série interrompue)"),
    ]
    md = (out / "tableau-de-tests.md").read_text()
    assert "série interrompue (SIGTERM" in md and "non exécuté 2" in md


INTERRUPTED_IN_A_THEN = """\
# language: fr
Fonctionnalité: Jouet
  Scénario: Interrompu pendant une vérification
    Quand on fait A
    Alors A est ok
    Quand on fait B
    Alors on attend et la série est interrompue
    Quand on fait C
    Alors C est ok
"""

AUDITED = (
    STEPS
    + """
import os, signal
import pytest

@pytest.fixture(autouse=True)
def audit(lignes):
    yield
    # what ligne_de_base does after any scenario, even an interrupted one: a row of its own
    lignes.record(Result.ok("audit"), expected="audit", raise_=False)

@then("on attend et la série est interrompue")
def interrompue():
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while a Then step waits
"""
)


def test_a_then_step_interrupted_is_the_row_in_progress_even_after_the_audit(pytester):
    table = run_features(pytester, INTERRUPTED_IN_A_THEN, AUDITED)
    rows = [(r["expected"], r["status"]) for r in table["rows"]]
    assert ("on attend et la série est interrompue", "inconnu") in rows
    assert ("C est ok", "non exécuté") in rows
    assert table["stopped"].startswith("série interrompue (Ctrl-C)")
