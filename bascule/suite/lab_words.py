"""The lab's own words for the rows of its two tables (Q2 and Q5).

The Gherkin says what bascule does in domain words (« le serveur maître est mis en « standby » »);
the completed table must be the lab's table, the one a student hands in: its « Actions à effectuer »
and « Résultats attendus » are copied here from the lab's text (« Haute disponibilité d'un serveur
FTP », Q2 and Q5), word for word, and what bascule saw goes in « Résultats obtenus ». The extra cases
and bascule's own rows (start state, audit) have no lab text and keep the Gherkin's words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

from bascule.record.rows import Row

_Q2_CHECK = "on vérifie sur le serveur maître que les ressources sont bien activées"
_Q2_ACTIVE = "les ressources sont activées sur le serveur maître"
_STANDBY = "le serveur maître est mis en « standby »"
_MOVED = "les ressources sont arrêtées sur le serveur maître et activées sur le serveur esclave"
_ONLINE = "le serveur maître est remis « online »"
_BACK = "les ressources sont de nouveau activées sur le serveur maître"
_FTP_WRITE = "on teste l'accès en écriture au serveur FTP"
_FTP_OK = "les tests à partir du client FTP sont concluants"

# (table, Gherkin When, Gherkin Then) → (the lab's « Actions à effectuer », its « Résultats attendus »)
LAB_ROWS: dict[tuple[str, str, str], tuple[str, str]] = {
    ("Q2", _Q2_CHECK, _Q2_ACTIVE): (
        "Sur le serveur maître, vérifier que les ressources sont bien activées (crm status, ifconfig, ps, tests à "
        "partir de Filezilla)",
        "Ressources activées",
    ),
    (
        "Q2",
        'on teste l\'accès en écriture sur la partition du serveur maître avec le fichier "essai1"',
        "« Home » est accessible sur le serveur maître",
    ): ("Tester l'accès en écriture sur la partition (touch /home/user/Documents/essai1)", "« Home » accessible"),
    ("Q2", _STANDBY, _MOVED): (
        "Mettre le serveur maître en « standby » (maintenance)",
        "Les ressources sont arrêtées sur le serveur maître et activées sur le serveur esclave (crm status)",
    ),
    (
        "Q2",
        'on vérifie sur le serveur esclave la présence du fichier "essai1"',
        "« essai1 » a bien été dupliqué sur le serveur esclave",
    ): ("Vérifier sur le serveur esclave la présence du fichier « essai1 »", "essai1 a bien été dupliqué"),
    (
        "Q2",
        'on teste l\'accès en écriture sur la partition du serveur esclave avec le fichier "essai2"',
        "« Home » est accessible sur le serveur esclave",
    ): (
        "Tester sur le serveur esclave l'accès en écriture sur la partition (touch /home/user/Documents/essai2)",
        "« Home » accessible",
    ),
    ("Q2", _ONLINE, _BACK): (
        "Mettre le serveur maître « online »",
        "Les ressources sont de nouveau activées sur le serveur maître (auto-failback)",
    ),
    (
        "Q2",
        'on vérifie sur le serveur maître la présence du fichier "essai2"',
        "« essai2 » a bien été dupliqué sur le serveur maître",
    ): ("Vérifier sur le serveur maître la présence du fichier « essai2 »", "essai2 a bien été dupliqué"),
    ("Q5", _Q2_CHECK, _Q2_ACTIVE): (
        "Sur le serveur maître, vérifier que les ressources sont bien activées (crm status, ifconfig, ps, tests à "
        "partir de Filezilla).",
        "Ressources activées.",
    ),
    ("Q5", _STANDBY, _MOVED): (
        "Mettre le serveur maître en « standby ».",
        "Les ressources sont arrêtées sur le serveur maître et activées sur le serveur esclave (crm status).",
    ),
    ("Q5", _FTP_WRITE, _FTP_OK): (
        "Tester l'accès en écriture au serveur FTP.",
        "Tests à partir de Filezilla concluants.",
    ),
    ("Q5", _ONLINE, _BACK): (
        "Mettre le serveur maître « online ».",
        "Les ressources sont de nouveau activées sur le serveur maître (auto-failback).",
    ),
}


def table_of(feature: str) -> str:
    """« Q2 — DRBD et système de fichiers » → « Q2 »: the lab's table a feature fills."""
    return feature.split(" ", 1)[0] if feature else ""


def in_lab_words(feature: str, scenario: str, action: str, expected: str) -> Row:
    """A row of this feature's table, in the lab's words for its Q2 or Q5 table, else the Gherkin's own."""
    lab = LAB_ROWS.get((table_of(feature), action, expected))
    return Row(feature, scenario, *lab) if lab is not None else Row(feature, scenario, action, expected)


@dataclass(frozen=True)
class StepRow:
    """A Then step of a scenario, and its row of the table."""

    row: Row
    step: object  # pytest-bdd's Step


def then_rows(steps: Iterable, action: str = "", feature: str = "", scenario: str = "") -> Iterator[StepRow]:
    """Each Then step of a scenario as a row of the lab's table: its action the text of the When before
    it (`action` for the Thens before any When), in the lab's words where the lab has some."""
    for s in steps:
        if s.type == "when":
            action = s.name
        elif s.type == "then":
            yield StepRow(in_lab_words(feature, scenario, action, s.name), s)
