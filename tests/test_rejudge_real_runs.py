"""Runs saved from the real embedded lab, judged again offline (`bascule rejuger`).

Each directory under tests/fixtures/runs/ is the reports directory of a real run through
`--inventory` (tests/fixtures/README.md says which breakage made each): its history, and the table
the run wrote. Re-judging the history must give the same verdict on every row, and the broken runs
must name their cause in the start-state row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bascule.reporting.rejudge import rejudge

RUNS = Path(__file__).parent / "fixtures" / "runs"

# what each broken-before-the-run lab must be reported for, in the start-state row
CAUSES = {
    "depart-drbd-deconnecte": [
        "DRBD resftp sur hdintralab01",
        "StandAlone",
        "a renoncé à se connecter à son pair",
        "drbdadm connect resftp sur hdintralab01",
    ],
    "depart-esclave-en-standby": ["hdintralab01 en standby", "crm node online hdintralab01"],
    "depart-groupe-interdit-sur-esclave": [
        "contrainte cli-ban-servIntralab-on-hdintralab01",
        "interdit servIntralab sur hdintralab01",
        "crm configure delete",
    ],
    "depart-maintenance": ["mode maintenance", "maintenance-mode=false"],
    "mot-de-passe-ftp-faux": ["identifiants refusés (530)", "mot de passe FTP de l'inventaire"],
    # breakages of kinds the diagnosis had never met (issue 30), captured 2026-12-07 through the inventory
    "pare-feu-ftp-sur-maitre": ["délai dépassé", "tc qdisc del dev eth1 ingress sur intralab01"],
    "ports-passifs-filtres": [
        "identifié, liste impossible : délai dépassé",
        "tc qdisc del dev eth1 ingress sur intralab01",
    ],
    "connexion-interdite-par-limit": ["identifiants refusés (530)", "revoir les sections <Limit>", "DenyUser user"],
}

# the cause each of those rows names, from the evidence read on the cluster
EVIDENCE = {
    "pare-feu-ftp-sur-maitre": [
        "intralab01 se sert lui-même, pas le client",
        "le client : pas de réponse dans le délai",
        "127.0.0.1 et 10.22.100.220",
        "match 00000015/0000ffff at 20",
    ],
    "ports-passifs-filtres": [
        "identifié, mais connexions de données impossibles",
        "match 0000c000/0000ff00 at 20",
        "réglages lus : PassivePorts 49152 49407",
    ],
    "connexion-interdite-par-limit": [
        "« USER user (Login failed): Limit access denies login »",
        "127.0.0.1 identification : error_perm 530",
    ],
}


@pytest.mark.parametrize("run", sorted(EVIDENCE))
def test_a_breakage_never_met_before_is_diagnosed_from_the_evidence(run, tmp_path):
    first = rows(rejudge(RUNS / run, tmp_path)["json"])[0]
    for words in EVIDENCE[run]:
        assert words in first["cause"], (words, first["cause"])
    assert "mot de passe FTP de l'inventaire" not in first["fix"]  # a 530 is not always the inventory's password


def rows(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["rows"]


# the endurance runs have their own checker: tests/test_endurance.py judges them again
@pytest.mark.parametrize(
    "run", sorted(p.name for p in RUNS.iterdir() if p.is_dir() and not p.name.startswith("endurance-"))
)
def test_rejudging_a_real_run_gives_the_same_verdicts(run, tmp_path):
    saved = rows(RUNS / run / "tableau-de-tests.json")
    again = rows(rejudge(RUNS / run, tmp_path)["json"])
    assert [(r["table"], r["action"], r["expected"], r["status"]) for r in again] == [
        (r["table"], r["action"], r["expected"], r["status"]) for r in saved
    ]


def test_the_healthy_run_is_all_ok(tmp_path):
    again = rows(rejudge(RUNS / "sain-conformite-sauvegarde", tmp_path)["json"])
    assert again and all(r["status"] == "OK" for r in again)
    assert again[0]["table"] == "État du cluster au départ"
    assert sum(r["action"].startswith("Après le scénario") for r in again) == 2  # one audit per scenario


@pytest.mark.parametrize("run", sorted(CAUSES))
def test_a_lab_broken_before_the_run_is_ko_at_its_first_row(run, tmp_path):
    paths = rejudge(RUNS / run, tmp_path)
    first, *rest = rows(paths["json"])
    assert (first["table"], first["status"]) == ("État du cluster au départ", "KO")
    text = first["observed"] + " — " + first["fix"]
    for cause in CAUSES[run]:
        assert cause in text
    # no row of the lab ran on it
    assert all(r["status"] == "non exécuté" for r in rest)
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["stopped"].startswith("état du cluster au départ KO")


def test_a_move_ends_at_the_earlier_of_crm_mon_and_the_journal(tmp_path):
    # captured: crm_mon polled every 2 s saw the standby done after the journal's last start, and the
    # failback before it (the journal's line comes after the CIB update, late on a loaded guest)
    again = rows(rejudge(RUNS / "sain-q2-sonde-continue", tmp_path)["json"])
    moves = [
        r["observed"] for r in again if r["observed"].startswith("Ressources activées sur") and " en " in r["observed"]
    ]
    assert moves[0].startswith(
        "Ressources activées sur hdintralab01 en 80,0 s (fin du dernier démarrage selon le "
        "journal de Pacemaker ; crm_mon l'a montré à 80,6 s)"
    )
    assert moves[1].startswith(
        "Ressources activées sur intralab01 en 94,4 s (vu par crm_mon ; le journal de Pacemaker "
        "a écrit la fin du dernier démarrage à 95,5 s)"
    )


# captured runs of breakages through --inventory (2026-12-05): the KO row, and the cause read on the cluster
DIAGNOSED = {
    "apache-casse-sur-esclave": (
        "le serveur maître est mis en « standby »",
        "Le cluster s'est stabilisé sans activer toutes les ressources sur hdintralab01",
        [
            "serviceWeb start en échec sur hdintralab01",
            "erreur fatale (not configured)",
            "« apache2ctl configtest » sur hdintralab01 : AH00526: Syntax error",
        ],
    ),
    "mot-de-passe-different-sur-esclave": (
        "le serveur maître est mis en « standby »",
        "Le client FTP n'a pas retrouvé le service : le cluster est stable",
        ["le mot de passe de user sur hdintralab01 n'est pas celui de l'autre nœud"],
    ),
    "proftpd-ecoute-ailleurs-sur-esclave": (
        "le serveur maître est mis en « standby »",
        "Le client FTP n'a pas retrouvé le service : le cluster est stable",
        ["aucun serveur FTP n'écoute sur le port 21 de hdintralab01 (un serveur FTP y écoute sur 0.0.0.0:2121)"],
    ),
    "depart-home-pleine": (
        "Lire le cluster avant tout test",
        "Cluster pas dans son état de référence : écriture FTP impossible dans Documents : 452",
        ["/home plein sur intralab01 (vu : df : 100 %"],
    ),
    "depart-shell-ftp-refuse": (
        "Lire le cluster avant tout test",
        "Cluster pas dans son état de référence : client FTP",
        ["le shell de user (/usr/sbin/nologin) n'est pas dans /etc/shells de intralab01"],
    ),
}


@pytest.mark.parametrize("run", sorted(DIAGNOSED))
def test_a_ko_names_its_cause_read_on_the_cluster(run, tmp_path):
    action, observed, causes = DIAGNOSED[run]
    row = next(r for r in rows(rejudge(RUNS / run, tmp_path)["json"]) if r["action"].startswith(action))
    assert row["status"] == "KO"
    assert row["observed"].startswith(observed)
    for cause in causes:
        assert cause in row["cause"]
    assert row["fix"] and "chown" not in row["fix"]


def test_a_home_outside_drbd_gives_its_fix_on_every_q2_row_that_sees_it(tmp_path):
    """Captured: `bascule lab verifier-pannes home-sur-disque-local --inventaire` (2026-12-06)."""
    ko = [r for r in rows(rejudge(RUNS / "home-sur-disque-local", tmp_path)["json"]) if r["status"] == "KO"]
    q2 = [r for r in ko if r["table"].startswith("Q2")]
    assert len(q2) == 5 and all(r["fix"] == "crm configure edit fs0 (device=/dev/drbd0)" for r in q2)


@pytest.mark.parametrize(
    "run", sorted(p.name for p in RUNS.iterdir() if p.is_dir() and not p.name.startswith("endurance-"))
)
def test_no_ko_cell_of_a_captured_run_is_over_600_characters(run, tmp_path):
    """A KO cell a person can read: an outage is summed up by kind, its whole sequence goes to Allure."""
    for r in rows(rejudge(RUNS / run, tmp_path)["json"]):
        if r["status"] == "KO":
            assert len(r["observed"]) <= 600, (r["action"], len(r["observed"]), r["observed"][:300])
