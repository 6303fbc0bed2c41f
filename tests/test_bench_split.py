"""bench/suite_timings.py's split of a run's wall time: the cluster operating (its journals), the
suite's commands while the cluster is idle, the rest. Hand-written inputs: a 100 s session."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import suite_timings  # noqa: E402


def test_union_and_difference_of_spans():
    assert suite_timings.merge_spans([(5, 8), (0, 2), (1, 3), (8, 9)]) == [(0, 3), (5, 9)]
    assert suite_timings.minus([(0, 10)], [(2, 3), (5, 12)]) == [(0, 2), (3, 5)]
    assert suite_timings.length([(0, 3), (5, 9)]) == 7


def test_split_of_a_run(tmp_path, capsys):
    t0 = 1795797000.0
    # node clock 2 s ahead of this machine's: a stop from +10 to +30 s, a start from +20 to +40 s
    journal = (
        f"{t0 + 12:.3f} n1 pacemaker-controld[1]:  notice: Requesting local execution of stop operation for fs0 on n1\n"
        f"{t0 + 32:.3f} n1 pacemaker-controld[1]:  notice: Result of stop operation for fs0 on n1: ok\n"
        f"{t0 + 22:.3f} n1 pacemaker-controld[1]:  notice: Requesting local execution of start operation for ip on n1\n"
        f"{t0 + 42:.3f} n1 pacemaker-controld[1]:  notice: Result of start operation for ip on n1: ok\n"
    )
    (tmp_path / "journal-n1.json").write_text(json.dumps({"offset": 2.0, "text": journal}))
    # the suite: a poll inside the cluster's work (25-35 s) and one while it is idle (50-60 s)
    commands = [[t0 + 25, t0 + 35, "n1", "crm_mon", True], [t0 + 50, t0 + 60, "n1", "crm_mon", True]]
    (tmp_path / "durees.json").write_text(
        json.dumps({"session_epoch": [t0, t0 + 100], "waiting_on_cluster_s": 40.0, "commands": commands})
    )
    suite_timings.split(tmp_path)
    out = " ".join(capsys.readouterr().out.split())
    assert "(journal of n1) 30.0 s ( 30.0 %)" in out  # the cluster operating: 10-40 s
    assert "the suite's node commands, cluster idle 10.0 s" in out
    assert "the rest (timers, intervals, FTP, pytest) 60.0 s" in out
    assert "suite's commands while the cluster operates 10.0 s" in out
