"""A verdict and what it carries: OK, KO or « inconnu », with what was observed.

Combined, KO beats inconnu beats OK; a check that raises gives inconnu, never OK (Jepsen's checker
rules). Every check of bascule (bascule.judging.checks, bascule.judging.conformance) returns a Result.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable, Iterable

from bascule.facts.moves import MoveFacts


class Verdict(enum.Enum):
    OK = "OK"
    KO = "KO"
    INCONNU = "inconnu"

    @staticmethod
    def combine(verdicts: Iterable["Verdict"]) -> "Verdict":
        vs = list(verdicts)
        if Verdict.KO in vs:
            return Verdict.KO
        if Verdict.INCONNU in vs or not vs:
            return Verdict.INCONNU
        return Verdict.OK


@dataclass(frozen=True)
class Figure:
    """A figure a row quotes, as Allure shows it beside the row's step."""

    name: str
    seconds: float


@dataclass(frozen=True)
class Result:
    verdict: Verdict
    observed: str  # « Résultats obtenus »
    details: tuple[str, ...] = ()
    cause: str = ""  # the likely cause, when it is known
    fix: str = ""  # the lab's command that fixes it
    # the figures the row quotes, computed once by its check: Allure and the trend read them here
    figures: tuple[Figure, ...] = ()
    move: MoveFacts | None = None

    @staticmethod
    def ok(observed: str, *details: str) -> "Result":
        return Result(Verdict.OK, observed, details)

    @staticmethod
    def ko(observed: str, *details: str, cause: str = "", fix: str = "") -> "Result":
        return Result(Verdict.KO, observed, details, cause, fix)

    @staticmethod
    def unknown(observed: str, *details: str) -> "Result":
        return Result(Verdict.INCONNU, observed, details)

    @staticmethod
    def of(problems: list[str], ok_text: str) -> "Result":
        return Result.ok(ok_text) if not problems else Result.ko(" ; ".join(problems))


def guarded(check: Callable[..., Result], *args, **kwargs) -> Result:
    """Run a check; an exception inside it is « inconnu » with the reason, never OK."""
    try:
        return check(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any failure to judge is an unknown verdict
        return Result.unknown(f"impossible de conclure : {exc}")
