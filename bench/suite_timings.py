#!/usr/bin/env python3
"""Runs the acceptance suite (or a selection: any pytest argument, e.g. -k q2) on the lab and prints
its total wall time, the time spent waiting on the cluster, and the suite's own overhead.

    .venv/bin/python bench/suite_timings.py -k q2
"""
import json
import subprocess
import sys
import time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
start = time.monotonic()
rc = subprocess.call([str(root / ".venv/bin/pytest"), "features/", "-p", "no:cacheprovider", "-q", *sys.argv[1:]], cwd=root)
outer = time.monotonic() - start
d = json.loads((root / "reports" / "durees.json").read_text())
wall = d["wall_s"]
waiting = d["waiting_on_cluster_s"]
commands = d["node_commands_outside_waits_s"]
overhead = max(0.0, wall - waiting - commands)
print()
print(f"total wall time (pytest process)     {outer:8.1f} s")
print(f"  of which the test session          {wall:8.1f} s")
print(f"  waiting on the cluster (polls)     {waiting:8.1f} s  ({100 * waiting / wall:5.1f} %)")
print(f"  node commands outside waits        {commands:8.1f} s  ({100 * commands / wall:5.1f} %)")
print(f"  bascule's own overhead             {overhead:8.1f} s  ({100 * overhead / wall:5.1f} %)")
print(f"  (start-up, collection, lab check:  {outer - wall:8.1f} s)")
sys.exit(rc)
