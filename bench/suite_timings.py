#!/usr/bin/env python3
"""Runs the acceptance suite (or a selection: any pytest argument, e.g. -k q2) and splits its wall
time into what the cluster did, what the suite did to the guests, and the rest:

- **the cluster operating**: at least one resource operation running on a node (start, stop,
  promote, demote, notify, monitor…), from each node's Pacemaker controller journal read after the
  run (`journalctl -t pacemaker-controld`, clocks set against this machine's);
- **the suite's node commands, cluster idle**: at least one bascule command running on a node
  (crm_mon polls, DRBD readings, crm, file checks…) while no operation runs;
- **the rest**: neither (timers, monitors' intervals, FTP operations, pytest itself).

It also prints the suite's command time that overlaps the cluster's operations (the load the suite
adds to what it measures), and the commands by kind.

    ip netns exec bascule .venv/bin/python bench/suite_timings.py --inventory lab.toml [-k q2]
    .venv/bin/python bench/suite_timings.py --again reports/        # split a saved run again
    ip netns exec bascule .venv/bin/python bench/suite_timings.py --again reports/ --inventory lab.toml
                                  # a run of bench/cross_check.py: its journals are read, then split

The journals are read from the nodes after the run: a node's last seconds before a power cut may be
missing from its journal (journald had not written them), and that time then counts as "the rest".

It also prints the fixed cost between two scenarios: from a scenario's last row of the lab to the
next scenario's first row or first fault, whichever comes first (the audit, the timeline, the next
baseline and its preparation), read off historique.jsonl.

Goals of issue 22 (printed, never asserted): a warm full suite in 14 min or less, and under 8 s
between two scenarios when the cluster is at its baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from bascule.cluster.cluster import Cluster
from bascule.errors import BasculeError
from bascule.inventory import load
from bascule.record.cluster_state import parse_controld_journal
from bascule.record.history import History

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GOAL_WARM = 14 * 60
GOAL_BETWEEN = 8.0


def merge_spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of spans, as disjoint sorted spans."""
    out: list[list[float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def length(spans: list[tuple[float, float]]) -> float:
    return sum(b - a for a, b in spans)


def minus(spans: list[tuple[float, float]], cut: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """spans without the parts covered by cut (both disjoint and sorted)."""
    out = []
    for a, b in spans:
        pos = a
        for c, d in cut:
            if d <= pos or c >= b:
                continue
            if c > pos:
                out.append((pos, c))
            pos = max(pos, d)
        if pos < b:
            out.append((pos, b))
    return out


def read_journals(inventory: Path, since: float, out: Path) -> None:
    """Each node's controller journal from epoch `since` on, read as a move's anatomy reads it
    (Cluster.journal: the node's clock offset from `date` over SSH), saved in `out`; split() keeps
    the run's window."""

    history = History()
    try:
        cluster = Cluster(load(inventory), history)
    except BasculeError as exc:  # one line, as bascule says it: the split goes on without journals
        print(f"journals not read: {exc}")
        return
    try:
        for j in cluster.journals(since - history.started_at.timestamp()):
            if j.error:  # a node that does not answer: the split says whose journal it read
                print(f"journal of {j.node} not read: {j.error}")
                continue
            (out / f"journal-{j.node}.json").write_text(json.dumps({"offset": j.offset, "text": j.text}))
    finally:
        cluster.close()


def between_scenarios(reports: Path) -> list[tuple[str, float, float]]:
    """(next scenario, seconds, of which the lab's own crm commands) for each pair of scenarios that
    follow each other: from the last row of the lab in one (not its audit) to the first row or fault
    of the next. A crm command in between is the next scenario's first step as the lab types it
    (`crm configure show`, `crm configure save`), not a cost of bascule's."""
    path = reports / "historique.jsonl"
    if not path.exists():
        return []
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
    scenarios: list[dict] = []  # in order: name, first and last lab row, its audit
    for e in events:
        value = e.get("value") if isinstance(e.get("value"), dict) else {}
        if e.get("source") == "verdict" and e.get("op") == "row" and value.get("scenario"):
            if not scenarios or scenarios[-1]["name"] != value["scenario"]:
                scenarios.append({"name": value["scenario"], "first": None, "last": None, "audit": None})
            current = scenarios[-1]
            if e.get("process") == "audit":
                current["audit"] = e["t"]
            else:
                current["first"] = e["t"] if current["first"] is None else current["first"]
                current["last"] = e["t"]
    faults = [e["t"] for e in events if e.get("source") == "fault" and e.get("op") == "start"]

    # the commands' spans are in epoch seconds, the history's events from its start
    t0 = datetime.fromisoformat(
        json.loads(path.read_text(encoding="utf-8").splitlines()[0])["history_started_at"]
    ).timestamp()
    durations = json.loads((reports / "durees.json").read_text())
    crm_commands = [(c[0] - t0, c[1] - t0, c[2], c[3], c[4]) for c in durations.get("commands", [])]
    found = []
    for before, after in zip(scenarios, scenarios[1:]):
        if before["last"] is None or before["audit"] is None or after["first"] is None:
            continue
        first_fault = next((t for t in faults if t > before["audit"]), after["first"])
        start, end = before["last"], min(after["first"], first_fault)
        lab = length(
            merge_spans(
                [
                    (max(a, start), min(b, end))
                    for a, b, _n, kind, _w in crm_commands
                    if kind == "crm" and b > start and a < end
                ]
            )
        )
        found.append((after["name"], end - start, lab))
    return found


def split(reports: Path) -> None:

    d = json.loads((reports / "durees.json").read_text())
    begin, end = d["session_epoch"]
    wall = end - begin
    ops, nodes_read = [], []
    for f in sorted(reports.glob("journal-*.json")):
        j = json.loads(f.read_text())
        nodes_read.append(f.stem.removeprefix("journal-"))
        for op in parse_controld_journal(j["text"]):
            a = op.start - j["offset"]
            b = (op.end if op.end is not None else op.start) - j["offset"]
            if b > begin and a < end:
                ops.append((max(a, begin), min(b, end)))
    commands = d.get("commands", [])
    cmd_spans = [(max(c[0], begin), min(c[1], end)) for c in commands if c[1] > begin]
    cluster = merge_spans(ops)
    suite = merge_spans(cmd_spans)
    suite_idle = minus(suite, cluster)
    overlap = length(suite) - length(suite_idle)
    rest = wall - length(cluster) - length(suite_idle)
    print()
    print(f"test session wall time                          {wall:8.1f} s")
    if nodes_read:
        print(
            f"  the cluster operating (journal of {', '.join(nodes_read)})"
            f"\n                                                  {length(cluster):8.1f} s  "
            f"({100 * length(cluster) / wall:5.1f} %)"
        )
    else:
        print("  the cluster operating                          (no journal read: not split)")
    print(
        f"  the suite's node commands, cluster idle       {length(suite_idle):8.1f} s  "
        f"({100 * length(suite_idle) / wall:5.1f} %)"
    )
    print(f"  the rest (timers, intervals, FTP, pytest)     {rest:8.1f} s  ({100 * rest / wall:5.1f} %)")
    print(f"suite's commands while the cluster operates     {overlap:8.1f} s  (the load it adds to what it measures)")
    print(f"time inside waits (polling)                     {d['waiting_on_cluster_s']:8.1f} s")
    if nodes_read:
        # what bascule cannot shorten: the cluster at work, and the lab's own crmsh commands
        # (`crm node standby`, `crm configure save`…), which must stay as the lab types them
        lab_crm = merge_spans([(max(c[0], begin), min(c[1], end)) for c in commands if c[3] == "crm" and c[1] > begin])
        floor = length(merge_spans(cluster + lab_crm))
        print(f"the cluster operating or the lab's crm commands  {floor:8.1f} s  ({100 * floor / wall:5.1f} %)")
    kinds = Counter()
    secs = Counter()
    for c in commands:
        kinds[c[3]] += 1
        secs[c[3]] += c[1] - c[0]
    print(f"node commands: {len(commands)}, {sum(secs.values()):.0f} s in all (both nodes, overlapping)")
    for k, n in kinds.most_common(8):
        print(f"  {k:<24} {n:5d}  {secs[k]:7.1f} s")
    gaps = between_scenarios(reports)
    if gaps:
        print(
            f"between two scenarios (last row of the lab → the next one's first row or fault, less the lab's "
            f"own crm commands), median {statistics.median(g - lab for _, g, lab in gaps):.1f} s, "
            f"goal <= {GOAL_BETWEEN:.0f} s:"
        )
        for name, g, lab in gaps:
            print(f"  {g - lab:6.1f} s  before « {name[:70]} »" + (f"  (+ {lab:.1f} s of crm)" if lab else ""))
    goal = "met" if wall <= GOAL_WARM else "not met"
    print(
        f"goal: a warm full suite <= {GOAL_WARM // 60} min: {goal} ({wall / 60:.1f} min; only meaningful for a full "
        "run)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inventory", type=Path, help="the cluster's inventory (the suite runs through it)")
    ap.add_argument("--again", type=Path, help="a reports/ directory from an earlier run of this script")
    args, pytest_args = ap.parse_known_args()
    if args.again:
        if args.inventory and not list(args.again.glob("journal-*.json")):
            # a run made by another script (bench/cross_check.py): its journals are read now
            d = json.loads((args.again / "durees.json").read_text())
            read_journals(args.inventory, d["session_epoch"][0], args.again)
        split(args.again)
        return 0
    if not args.inventory:
        ap.error("--inventory is required (or --again DIR)")
    reports = ROOT / "reports"
    start = time.monotonic()
    rc = subprocess.call(
        [
            str(ROOT / ".venv/bin/pytest"),
            "features/",
            "-p",
            "no:cacheprovider",
            "-q",
            "--bascule-inventaire",
            str(args.inventory),
            *pytest_args,
        ],
        cwd=ROOT,
    )
    outer = time.monotonic() - start
    d = json.loads((reports / "durees.json").read_text())
    read_journals(args.inventory, d["session_epoch"][0], reports)
    print(f"\npytest exit code {rc}; pytest process {outer:.1f} s")
    split(reports)
    return rc


if __name__ == "__main__":
    sys.exit(main())
