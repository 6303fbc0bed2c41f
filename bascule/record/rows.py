"""A row of the lab's table, as the history records it and the reports show it: the one row type of
bascule, judged or not, live or re-judged."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Row:
    """One row of the lab's table: where it stands (its table, its scenario, the lab's « Actions à
    effectuer » and « Résultats attendus ») and what was found (« Résultats obtenus », « Statut »,
    and for a KO its likely cause and fix). A row about to be judged has no status yet."""

    table: str  # the feature (e.g. « Q2 — DRBD et système de fichiers »)
    scenario: str
    action: str
    expected: str
    observed: str = ""
    status: str = ""  # OK | KO | inconnu | non exécuté
    details: tuple[str, ...] = ()
    cause: str = ""  # the likely cause, when known
    fix: str = ""  # the lab's command that fixes it

    @property
    def new_details(self) -> tuple[str, ...]:
        """The details that the « Résultats obtenus » cell does not already say (a move's anatomy;
        not the start row's departures, which its text lists)."""
        return tuple(d for d in self.details if d not in self.observed)

    @property
    def observed_in_full(self) -> str:
        """The « Résultats obtenus » cell: what was seen, then the likely cause and its fix."""
        text = self.observed
        if self.cause:
            text += f" — cause probable : {self.cause}"
        if self.fix:
            text += f" — pour corriger : {self.fix}"
        return text

    def found(self, observed: str, status: str, details: tuple[str, ...] = (), cause: str = "", fix: str = "") -> "Row":
        """This row with what was found."""
        return replace(self, observed=observed, status=status, details=tuple(details), cause=cause, fix=fix)
