"""A move's anatomy and a scenario's timeline, from Pacemaker's controller journal.

The journal fixtures are captured from the embedded lab (Debian 12, Pacemaker 2.1.5): both nodes'
`journalctl -o short-unix -t pacemaker-controld` lines over the Q2 table's standby of intralab01
(at epoch 1795797374.7) and its return online."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_checks_report import inventory

from bascule.facts import moves
from bascule.judging import checks, judge
from bascule.record.cluster_state import parse_controld_journal
from bascule.record.history import CLIENT, FAIL, FAULT, OK, READ, VERDICT, History
from bascule.record.observations import CableTakeover, MoveSeen, NodeJournal, roundtrip, to_json
from bascule.reporting.rejudge import rejudge
from bascule.reporting.table import CompletedTable, Row
from bascule.reporting.timeline import draw, node_operations

FIXTURES = Path(__file__).parent / "fixtures"
T0 = 1795797370.0  # the history's t = 0 on this machine's clock, in these tests
STANDBY = 4.7  # the standby's start, history time (epoch 1795797374.7)


def journal(node: str, offset: float = 0.0) -> NodeJournal:
    return NodeJournal(node, (FIXTURES / f"journal-controld-q2-{node}.txt").read_text(), offset, 0.1, T0)


def test_the_captured_journal_pairs_every_request_with_its_result():
    ops = parse_controld_journal((FIXTURES / "journal-controld-q2-intralab01.txt").read_text())
    assert ops and all(o.end is not None and o.node == "intralab01" for o in ops)
    stop_ftp = next(o for o in ops if (o.task, o.resource) == ("stop", "serviceFTP"))
    assert stop_ftp.seconds == pytest.approx(1795797378.483483 - 1795797374.738798)
    assert stop_ftp.result == "ok"
    assert {o.task for o in ops} >= {"stop", "demote", "notify", "start"}
    assert [o.start for o in ops] == sorted(o.start for o in ops)


def test_a_request_without_its_result_stays_open():
    ops = parse_controld_journal(
        "1.5 n pacemaker-controld[1]:  notice: Requesting local execution of stop operation "
        "for fs0 on n\nnot a line of the controller\n"
    )
    assert [(o.task, o.resource, o.end) for o in ops] == [("stop", "fs0", None)]


def move(**kw) -> MoveSeen:
    base = dict(
        since=STANDBY,
        to="hdintralab01",
        cause="standby de intralab01",
        probe="sonde-ftp",
        journals=(journal("intralab01"), journal("hdintralab01")),
    )
    base.update(kw)
    return roundtrip(MoveSeen(**base))


def test_the_anatomy_of_a_standby_names_its_critical_path_and_its_waits():
    lines = moves.move_anatomy(move(), [], inventory())
    head, path, off = lines
    assert head.startswith(
        "Anatomie de la bascule (journal de Pacemaker de chaque nœud, horloges recalées à ±0,1 s) : "
        "chemin critique de +0,0 s à "
    )
    assert "d'attente entre elles" in head
    # the path in the order it ran: proftpd stopped first on the master, then the umount, demote, promote, mount
    order = [p.split(" (")[0] for p in path.removeprefix("Chemin critique : ").split(" → ")]
    assert order[0].startswith("stop serviceFTP sur intralab01 3,7 s")
    names = [" ".join(o.split()[:4]) for o in order]
    for a, b in [
        ("stop fs0 sur intralab01", "demote drbd0 sur intralab01"),
        ("demote drbd0 sur intralab01", "promote drbd0 sur hdintralab01"),
        ("promote drbd0 sur hdintralab01", "start fs0 sur hdintralab01"),
    ]:
        assert names.index(a) < names.index(b), (a, b, names)
    assert "notify drbd0" in off and "stop serviceMySQL" in off  # off the path: notifications, the MySQL clone


def test_the_anatomy_says_what_it_could_not_read():
    bad = NodeJournal("intralab01", "", 0.0, 0.0, T0, error="injoignable")
    lines = moves.move_anatomy(move(journals=(bad, journal("hdintralab01"))), [], inventory())
    assert "journal illisible sur intralab01 (injoignable)" in lines[0]
    assert "non journalisées : " in lines[1] and "stop serviceFTP sur intralab01" in lines[1]
    empty = moves.move_anatomy(move(journals=(NodeJournal("intralab01", "", 0.0, 0.0, T0),)), [], inventory())
    assert empty[0].endswith("aucune opération journalisée (Pacemaker antérieur à 2.0, ou journal absent)")
    assert moves.move_anatomy(move(journals=()), [], inventory()) == ()


def test_a_clock_offset_moves_the_operations_not_their_lengths():
    plain = moves.move_anatomy(move(), [], inventory())
    shifted = moves.move_anatomy(
        move(journals=(journal("intralab01", 1.0), journal("hdintralab01", 1.0))), [], inventory()
    )
    # nodes ahead by 1 s: their lines are read 1 s earlier, the path keeps its operations and lengths
    assert plain[1].split(" (")[0] == shifted[1].split(" (")[0]


def scenario_history() -> History:
    """A standby as a run records it: the probe's operations, the fault, and the row's verdict
    holding the move with its journals (what the timeline draws)."""
    h = History(clock=lambda: 0.0)
    h.append(FAULT, "standby intralab01", "start", OK, t=STANDBY, end=STANDBY)
    for i in range(400):
        t = i * 0.25
        down = 18.0 <= t < 62.0
        h.append(
            CLIENT,
            "sonde-ftp",
            READ,
            FAIL if down else OK,
            {"failed_at": "connexion"} if down else {"op": READ, "served_by": "intralab01"},
            error="connexion refusée" if down else None,
            t=t,
            end=t + 0.2,
        )
    h.append(FAULT, "standby intralab01", "end", OK, t=80.0, end=80.0)
    h.append(
        VERDICT,
        "moved",
        "row",
        "OK",
        {
            "check": "moved",
            "observation": to_json(move()),
            "since": STANDBY,
            "upto": 402,
            "table": "Q2",
            "scenario": "Bascule",
            "action": "a",
            "expected": "e",
        },
        t=90.0,
        end=90.0,
    )
    return h


def test_the_timeline_has_a_lane_per_node_and_is_drawn(tmp_path):
    h = scenario_history()
    lanes = node_operations(h.events)
    assert set(lanes) == {"intralab01", "hdintralab01"}
    assert all(end is None or end >= start for ops in lanes.values() for start, end, _, _ in ops)
    path = draw(list(h.events), 0.0, 100.0, "Bascule", tmp_path / "t" / "bascule.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_the_html_table_embeds_the_timeline_and_shows_details_under_the_row():
    report = CompletedTable(timelines={"Bascule": "timelines/bascule.png"})
    report.add(
        Row(
            "Q2",
            "Bascule",
            "crm node standby",
            "ressources sur B",
            "Ressources activées",
            "OK",
            ("Anatomie de la bascule : chemin critique …", "Chemin critique : stop serviceFTP …"),
        )
    )
    html = report.html()
    assert "<img src='timelines/bascule.png'" in html and "Chronologie — Bascule" in html
    assert "Anatomie de la bascule : chemin critique …<br>Chemin critique : stop serviceFTP …" in html
    md = report.markdown()
    assert "| ↳ | | Anatomie de la bascule : chemin critique … | |" in md
    assert "bascule.png" not in md  # the picture is for the HTML table and Allure only


def test_an_outage_outside_a_move_is_said_in_the_row_where_it_happened():
    h = History(clock=lambda: 0.0)
    for i in range(40):
        t = i * 0.25
        down = 3.0 <= t < 6.0
        h.append(
            CLIENT,
            "sonde-ftp",
            READ,
            FAIL if down else OK,
            {"failed_at": "identification"} if down else {"op": READ},
            error="identifiants refusés (530)" if down else None,
            t=t,
            end=t + 0.1,
        )
    evs = list(h.events)
    r = judge.judge_row(lambda o, e, i: checks.Result.ok("Split brain résolu"), None, [], evs, inventory())
    assert r.observed.startswith(
        "Split brain résolu ; pendant cette ligne, FTP indisponible 3,2 s : "
        "identification refusée 3,2 s (identifiants refusés (530))"
    )
    assert r.verdict is checks.Verdict.OK  # said, not judged: the lab expects no figure there

    def moved(o, e, i):
        return checks.Result.ok("Ressources activées")

    assert judge.judge_row(moved, None, [], evs, inventory()).observed == "Ressources activées"  # it quotes its own


def test_the_cable_row_has_the_same_anatomy_towards_the_node_that_must_serve():

    cable = roundtrip(
        CableTakeover(STANDBY, "hdintralab01", "sonde-ftp", {}, (journal("intralab01"), journal("hdintralab01")))
    )
    assert moves.move_anatomy(cable, [], inventory()) == moves.move_anatomy(move(), [], inventory())


def test_a_real_runs_move_rows_carry_their_anatomy_when_judged_again(tmp_path):

    run = FIXTURES / "runs" / "sain-q2-sonde-continue"
    rows = json.loads(rejudge(run, tmp_path)["json"].read_text(encoding="utf-8"))["rows"]
    moves = [r for r in rows if "standby" in r["action"] or "online" in r["action"]]
    assert len(moves) == 2
    for r in moves:
        assert r["details"][0].startswith("Anatomie de la bascule")
        assert "Chemin critique : stop serviceFTP sur" in r["details"][1]
        assert "[indisponible = ni connexion" in r["observed"]


def test_the_move_ends_with_the_last_start_on_the_destination_in_its_journal():
    # hdintralab01's journal: its start of serviceFTP, the last of the path, ends at 1795797423.49…
    ops = parse_controld_journal((FIXTURES / "journal-controld-q2-hdintralab01.txt").read_text())
    start_ftp = next(o for o in ops if (o.task, o.resource) == ("start", "serviceFTP"))
    assert moves.journal_move_end(move(), inventory()) == pytest.approx(start_ftp.end - T0 - STANDBY)


def test_without_the_destination_s_journal_the_move_ends_when_crm_mon_showed_it():
    assert moves.journal_move_end(move(journals=(journal("intralab01"),)), inventory()) is None
    unread = NodeJournal("hdintralab01", "", 0.0, 0.0, T0, error="injoignable")
    assert moves.journal_move_end(move(journals=(journal("intralab01"), unread)), inventory()) is None


def test_a_failed_start_on_the_destination_gives_no_end():
    failed = journal("hdintralab01")
    text = failed.text.replace(
        "Result of start operation for serviceFTP on hdintralab01: ok",
        "Result of start operation for serviceFTP on hdintralab01: error",
    )
    assert text != failed.text
    bad = NodeJournal("hdintralab01", text, 0.0, 0.1, T0)
    assert moves.journal_move_end(move(journals=(journal("intralab01"), bad)), inventory()) is None


def test_an_outage_that_began_before_the_row_is_said_whole_once():
    """A row that starts while the client is already without service (after a failed standby) says
    so, with the outage's total since it began, not only the part inside the row."""
    h = History(clock=lambda: 0.0)
    for i in range(80):
        t = i * 0.25
        down = 3.0 <= t < 15.0
        h.append(
            CLIENT,
            "sonde-ftp",
            READ,
            FAIL if down else OK,
            {"failed_at": "connexion"} if down else {"op": READ},
            error="connexion refusée" if down else None,
            t=t,
            end=t + 0.1,
        )
    evs = list(h.events)
    row_since = 10.0
    row = [e for e in evs if e.t >= row_since]
    earlier = judge.earlier_client_events(evs, row_since, len(evs))
    r = judge.judge_row(
        lambda o, e, i: checks.Result.ok("essai1 présent"), None, [], row, inventory(), earlier, row_since
    )
    assert r.observed.startswith(
        "essai1 présent ; FTP indisponible depuis la ligne précédente : 12,2 s au total"
    )  # from the last good operation, 2,75 s
    # still going on at the end of the row
    r = judge.judge_row(
        lambda o, e, i: checks.Result.ok("essai1 présent"),
        None,
        [],
        [e for e in row if e.t < 12.0],
        inventory(),
        earlier,
        row_since,
    )
    assert "FTP indisponible depuis la ligne précédente, toujours à la fin de cette ligne" in r.observed
