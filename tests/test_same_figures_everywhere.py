"""A move's figures are computed once (facts.moves.MoveFacts, carried on the row's Result): the
table's cell, Allure's parameters and the trend read the same numbers. Checked on a captured whole
run through the inventory: its history, and the parameters Allure wrote for each scenario
(tests/fixtures/README.md says how both were captured)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bascule.facts.client_view import secs
from bascule.judging.judge import judge_again, run_inventory, saved_verdicts
from bascule.record.history import History
from bascule.reporting.table import allure_figure
from bascule.reporting.trend import record_of

RUN = Path(__file__).parent / "fixtures" / "runs" / "serie-complete-par-inventaire"
QUOTES_FIGURES = ("moved", "taken_over", "service_restarted")


@pytest.fixture(scope="module")
def events():
    return History.load_events(RUN / "historique.jsonl")


def _figures_by_scenario(events) -> dict[str, list[tuple[str, str]]]:
    """Each scenario's figures, in the order its rows gave them, as Allure shows them."""
    inv = run_inventory(events)
    out: dict[str, list[tuple[str, str]]] = {}
    for saved in saved_verdicts(events):
        if saved.check in QUOTES_FIGURES:
            result = judge_again(events, saved, inv)
            out.setdefault(saved.row.scenario, []).extend((f.name, repr(allure_figure(f))) for f in result.figures)
    return out


def test_allure_shows_the_very_figures_of_the_table(events):
    allure = json.loads((RUN / "allure-parametres.json").read_text(encoding="utf-8"))
    judged = _figures_by_scenario(events)
    assert sum(len(f) for f in judged.values()) >= 12  # every move of the whole run, and the kill's restart
    for scenario, figures in judged.items():
        assert [tuple(p) for p in allure[scenario]] == figures, scenario


def test_each_move_row_quotes_its_figures_in_its_cell(events):
    inv = run_inventory(events)
    checked = 0
    for saved in saved_verdicts(events):
        if saved.check not in QUOTES_FIGURES:
            continue
        result = judge_again(events, saved, inv)
        for figure in result.figures:
            if figure.seconds == 0.0 and "indisponibilité" in figure.name:
                assert "sans interruption" in result.observed, result.observed
            else:
                assert secs(figure.seconds) in result.observed, (figure, result.observed)
            checked += 1
    assert checked >= 12


def test_the_trend_records_the_figures_of_the_table(events):
    inv = run_inventory(events)
    expected = {}
    for saved in saved_verdicts(events):
        if saved.check in ("moved", "taken_over"):
            move = judge_again(events, saved, inv).move
            expected[f"{saved.row.scenario} — {move.cause}"] = (move.took, move.downtime)
    assert {k: (v.took, v.downtime) for k, v in record_of(events).moves.items()} == expected
