"""A teacher's habits with pytest: listing the scenarios, asking for help or the markers keeps the
last run's reports; the options carry a --bascule- prefix and keep their former names where no other
plugin owns them (pytest-ansible owns --inventory); the inventory can be set in the ini file; the
run says what it will do to the cluster before the first fault; the Q2 and Q5 rows are in the lab's
own words. Child pytest runs with toy features: no cluster involved."""

import json
from pathlib import Path

from bascule.suite.lab_words import LAB_ROWS, in_lab_words
from bascule.suite.plan import Plan, keys_of

pytest_plugins = ["pytester"]

Q5_FEATURE = """\
# language: fr
Fonctionnalité: Q5 — Jouet
  Scénario: Tableau Q5 jouet
    Quand le serveur maître est mis en « standby »
    Alors les ressources sont arrêtées sur le serveur maître et activées sur le serveur esclave
    Quand on teste l'accès en écriture au serveur FTP
    Alors les tests à partir du client FTP sont concluants
    Quand le serveur maître est remis « online »
    Alors les ressources sont de nouveau activées sur le serveur maître
"""

STEPS = """\
from pytest_bdd import parsers, scenarios, then, when
from bascule.judging.verdict import Result

scenarios("jouet.feature")

@when(parsers.re(".*"))
def action():
    pass

@then("les ressources sont arrêtées sur le serveur maître et activées sur le serveur esclave")
def arretees(lignes):
    lignes.record(Result.ok("les ressources sont sur hdintralab01"))

@then("les tests à partir du client FTP sont concluants")
def ftp(lignes):
    lignes.record(Result.ko("l'envoi a été refusé"), stop=True)

@then("les ressources sont de nouveau activées sur le serveur maître")
def retour(lignes):
    lignes.record(Result.ok("de retour"))
"""


def _features(pytester, feature: str = Q5_FEATURE, steps: str = STEPS):
    features = pytester.mkdir("features")
    (features / "jouet.feature").write_text(feature, encoding="utf-8")
    (features / "test_jouet.py").write_text(steps, encoding="utf-8")
    return pytester.path / "out"


def test_the_q5_rows_carry_the_labs_own_words_even_when_not_run(pytester):
    out = _features(pytester)
    pytester.runpytest_subprocess("features", "-p", "no:cacheprovider", f"--bascule-rapports={out}")
    rows = json.loads((out / "tableau-de-tests.json").read_text())["rows"]
    assert [(r["action"], r["expected"], r["status"]) for r in rows] == [
        (
            "Mettre le serveur maître en « standby ».",
            "Les ressources sont arrêtées sur le serveur maître et activées sur le serveur esclave (crm status).",
            "OK",
        ),
        ("Tester l'accès en écriture au serveur FTP.", "Tests à partir de Filezilla concluants.", "KO"),
        (
            "Mettre le serveur maître « online ».",
            "Les ressources sont de nouveau activées sur le serveur maître (auto-failback).",
            "non exécuté",
        ),
    ]
    assert "Tests à partir de Filezilla concluants." in (out / "tableau-de-tests.html").read_text()


def test_the_extra_cases_keep_their_own_words():
    row = in_lab_words(
        "Arrêt d'un service avec et sans empêchement de redémarrage",
        "",
        "le serveur maître est mis en « standby »",
        "les ressources sont arrêtées sur le serveur maître et activées sur le serveur esclave",
    )
    assert row.action == "le serveur maître est mis en « standby »"
    q2 = in_lab_words(
        "Q2 — DRBD et système de fichiers",
        "",
        "le serveur maître est mis en « standby »",
        "les ressources sont arrêtées sur le serveur maître et activées sur le serveur esclave",
    )
    assert q2.action == "Mettre le serveur maître en « standby » (maintenance)"


def test_every_row_of_the_q2_and_q5_features_has_the_labs_words():
    """The shipped features and the lab's words are kept together: a reworded step would otherwise
    silently put the Gherkin's words back into the lab's table."""

    root = Path(__file__).resolve().parents[1] / "features"
    for name, table, count in (
        ("01_q2_drbd_systeme_de_fichiers.feature", "Q2", 7),
        ("02_q5_service_ftp.feature", "Q5", 5),
    ):
        lines = [line.strip() for line in (root / name).read_text(encoding="utf-8").splitlines()]
        pairs = [
            (w.removeprefix("Quand "), t.removeprefix("Alors "))
            for w, t in zip(lines, lines[1:])
            if w.startswith("Quand ") and t.startswith("Alors ")
        ]
        assert len(pairs) == count
        assert all((table, w, t) in LAB_ROWS for w, t in pairs), [p for p in pairs if (table, *p) not in LAB_ROWS]


def test_listing_help_markers_and_version_keep_the_last_runs_reports(pytester):
    out = _features(pytester)
    pytester.runpytest_subprocess("features", "-p", "no:cacheprovider", f"--bascule-rapports={out}")
    kept = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert {"tableau-de-tests.md", "tableau-de-tests.html", "tableau-de-tests.json", "historique.jsonl"} <= set(kept)
    for habit in (["--co"], ["--collect-only", "-q"], ["--help"], ["--markers"], ["--version"], ["--fixtures"]):
        pytester.runpytest_subprocess("features", "-p", "no:cacheprovider", f"--bascule-rapports={out}", *habit)
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == kept, habit


def test_the_former_option_names_still_work(pytester):
    out = _features(pytester)
    result = pytester.runpytest_subprocess("features", "-p", "no:cacheprovider", f"--bascule-reports={out}")
    assert result.ret == 1 and (out / "tableau-de-tests.json").is_file()
    result = pytester.runpytest_subprocess("features", "-p", "no:cacheprovider", "--inventory=absent.toml")
    assert result.ret == 4
    assert "absent.toml" in result.stderr.str()


def test_pytest_starts_beside_a_plugin_that_owns_inventory(pytester):
    """pytest-ansible registers --inventory: bascule leaves it that name and answers to its own."""
    pytester.makepyfile(pytest_ansible="")  # installed, as find_spec sees it
    pytester.makeconftest("""
def pytest_addoption(parser):
    parser.addoption("--inventory", dest="ansible_inventory", default=None)
""")
    out = _features(pytester)
    result = pytester.runpytest_subprocess(
        "features",
        "-p",
        "no:cacheprovider",
        f"--bascule-rapports={out}",
        "--inventory=hosts.ini",
        "--bascule-inventaire=absent.toml",
    )
    assert result.ret == 4  # bascule's own option was read, and it names the missing file
    assert "absent.toml" in result.stderr.str() and "already added" not in result.stderr.str()


def test_the_inventory_can_be_set_in_the_ini_file_relative_to_it(pytester):
    pytester.makeini("[pytest]\nbascule_inventaire = labs/groupe1.toml\n")
    _features(pytester)
    result = pytester.runpytest_subprocess("features", "-p", "no:cacheprovider")
    assert result.ret == 4
    assert str(pytester.path / "labs" / "groupe1.toml") in result.stderr.str()


def test_the_plan_names_each_destructive_action_of_the_selected_scenarios():
    keys = keys_of([{"q2", "test_q2"}, {"supplementaire", "lent", "06_redemarrage_maitre"}, {"splitbrain"}])
    lines = Plan("intralab01 (maître) + hdintralab01, VIP 10.0.0.9", keys).lines()
    text = "\n".join(lines)
    assert lines[0].startswith("bascule: voici ce que cette série va faire au cluster intralab01")
    assert "standby" in text and "reboot" in text and "coupure de son courant" in text and "--discard-my-data" in text
    assert "câble" not in text and "crm configure save" not in text  # not selected
    read_only = Plan("x", keys, read_only=True).lines()
    assert len(read_only) == 1 and "rien n'y sera changé" in read_only[0]
    assert Plan("x", keys_of([{"conformite"}])).lines()[1].startswith("  - conformité : lit")
