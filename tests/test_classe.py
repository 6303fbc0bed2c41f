"""`bascule classe` and the trend: a class summary from real group runs against local stand-ins (a
paramiko SSH stub that is not a cluster, a bad inventory), and the summary's cells and causes."""

from __future__ import annotations

import json
from pathlib import Path

from test_ftp import PASSWORD as FTP_PASSWORD
from test_hostile_runs import inventory
from test_nodes import GOOD_PASSWORD as SSH_PASSWORD

from bascule.record.history import History
from bascule.reporting.class_run import Group, GroupRun, groups_from, run_class, short_ids, write_summary
from bascule.reporting.trend import MoveFigures, RunRecord, append, load, plot, record_of


def test_a_class_run_gives_one_line_per_group_even_for_broken_ones(tmp_path, sshd, ftpd_local, monkeypatch):
    monkeypatch.setenv("HOSTILE_SSH_PASSWORD", SSH_PASSWORD)
    monkeypatch.setenv("HOSTILE_FTP_PASSWORD", FTP_PASSWORD)
    inv_dir = tmp_path / "inventaires"
    inv_dir.mkdir()
    good = inventory(tmp_path, sshd, ftpd_local)  # reachable, but not a cluster: stops at the start row
    (inv_dir / "groupe-01.toml").write_text(good.read_text())
    (inv_dir / "groupe-02.toml").write_text(good.read_text().replace("[cluster]", "[cluster]\nvip = 3"))  # bad TOML
    out = tmp_path / "classe"
    groups = groups_from([str(inv_dir), str(tmp_path / "absent.toml")], out)
    assert [g.name for g in groups] == ["groupe-01", "groupe-02", "absent"]
    said = []
    runs = run_class(groups, 2, [], None, say=said.append)
    assert [r.group.name for r in runs] == ["groupe-01", "groupe-02", "absent"]
    one, two, absent = runs
    assert one.rows and one.stopped and not one.error  # its table exists, every row « non exécuté »
    assert two.error and "groupe-02.toml" in two.error and not two.rows
    assert absent.error and "absent.toml" in absent.error
    assert any("groupe-01 terminé" in s for s in said)
    paths = write_summary(runs, out)
    page = paths["html"].read_text(encoding="utf-8")
    assert page.count("<tr><td>") == 3
    assert "groupe-01/tableau-de-tests.html" in page and "pas de tableau" in page
    md = paths["md"].read_text(encoding="utf-8")
    assert md.count("\n| ") >= 4  # header + 3 groups


def run_with(name: str, statuses: list[str], cause: str = "") -> GroupRun:
    rows = [
        {
            "table": "Q2 — DRBD",
            "scenario": "Bascule",
            "action": f"action {i}",
            "expected": "e",
            "observed": f"vu {i} ; détail",
            "status": s,
            "cause": cause if s == "KO" else "",
        }
        for i, s in enumerate(statuses)
    ]
    return GroupRun(
        Group(name, Path(f"{name}.toml"), Path(name)),
        0 if "KO" not in statuses else 1,
        1.0,
        rows,
        moves={"Bascule — standby de intralab01": (72.5, 63.1)},
    )


def test_the_summary_has_a_column_per_row_and_the_cause_of_each_ko(tmp_path):
    runs = [run_with("g1", ["OK", "OK", "OK"]), run_with("g2", ["OK", "KO", "OK"], cause="nic=eth0 de IPFailover")]
    paths = write_summary(runs, tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert page.count("<th title=") == 3
    assert "Q2-2 : nic=eth0 de IPFailover" in page
    assert "Bascule standby de intralab01 : 72,5 s (FTP 63,1 s)" in page
    assert "#f8d7da" in page  # the KO cell is red
    assert short_ids([("Q2 — a", "s", "x"), ("Q2 — a", "s", "y"), ("Q5 — b", "s", "z")]) == ["Q2-1", "Q2-2", "Q5-1"]


def test_the_trend_file_keeps_each_run_and_plots_each_move(tmp_path):
    path = tmp_path / "tendance.jsonl"
    for night, took in enumerate((72.5, 70.1, 95.0)):
        append(
            path,
            RunRecord(
                f"2026-11-2{night}",
                "intralab01+hdintralab01",
                "g1",
                {"OK": 54},
                {"Q2 — standby de intralab01": MoveFigures(took, took - 9.0)},
            ),
        )
    records = load(path)
    assert [r.moves["Q2 — standby de intralab01"].took for r in records] == [72.5, 70.1, 95.0]
    assert json.loads(path.read_text().splitlines()[0])["group"] == "g1"
    pngs = plot(records, tmp_path / "tendance", nights=2)
    (png,) = pngs.values()
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_a_real_runs_record_has_each_move_with_the_figures_its_rows_quote():

    runs = Path(__file__).parent / "fixtures" / "runs" / "sain-q2-sonde-continue"
    record = record_of(History.load_events(runs / "historique.jsonl"), "g1")
    standby, online = record.moves.values()
    # the same figures as bench/cross_check.py beside curl (66.96 s and 81.21 s for curl)
    assert round(standby.downtime, 2) == 67.25 and round(online.downtime, 2) == 81.25
    assert 60 < standby.took < 100 and record.counts == {"OK": 9} and record.group == "g1"
