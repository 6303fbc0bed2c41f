#!/usr/bin/env python3
"""What one reading of a node costs, by the way it is sent (issue 22's question, measured first):

- a new SSH command per reading (what bascule does: a channel, sshd's session, a shell, the tool);
- the same tools in one command (crm_mon's XML, /proc/drbd and the clock in one round trip);
- a shell kept open on one channel for the whole run, each reading written to its standard input:
  bascule's own (bascule/cluster/kept_shell.py, through Node.run as every command now goes).

Each figure is the median of REPEAT round trips from this machine, on the preferred master at rest,
with the guest's own load average before and after. Nothing is changed on the node.

    ip netns exec bascule .venv/bin/python bench/channel_cost.py --inventory lab.toml [--repeat 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bascule.cluster.nodes import Node  # noqa: E402
from bascule.errors import BasculeError  # noqa: E402
from bascule.inventory import load as load_inventory  # noqa: E402

CRM_MON = "crm_mon --one-shot --inactive --output-as=xml"
READINGS = {"crm_mon XML": CRM_MON, "/proc/drbd": "cat /proc/drbd", "horloge": "date +%s.%N"}
TOGETHER = " ; ".join(f"{c} ; echo ---" for c in READINGS.values())


def median_of(repeat: int, action) -> float:
    times = []
    for _ in range(repeat):
        t = time.monotonic()
        action()
        times.append(time.monotonic() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inventory", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    node = kept = None
    try:
        inventory = load_inventory(args.inventory)
        spec = next(n for n in inventory.nodes if n.name == inventory.preferred_master)
        # the same node twice: each command on a channel of its own, and through the kept shell
        node, kept = Node(spec, keep_shell=False), Node(spec, keep_shell=True)
        load_before = node.run("cut -d' ' -f1-3 /proc/loadavg", timeout=30).stdout.strip()
        rows = [("new command: true", median_of(args.repeat, lambda: node.run("true", timeout=60)))]
        for name, command in READINGS.items():
            rows.append((f"new command: {name}", median_of(args.repeat, lambda c=command: node.run(c, timeout=60))))
        separate = sum(t for n, t in rows[1:])
        rows.append(("new commands: the three, one after the other (sum)", separate))
        rows.append(("new command: the three together", median_of(args.repeat, lambda: node.run(TOGETHER, timeout=60))))
        kept.run("true")  # the shell's own start is paid once
        rows.append(("kept shell: true", median_of(args.repeat, lambda: kept.run("true", timeout=60))))
        for name, command in READINGS.items():
            rows.append((f"kept shell: {name}", median_of(args.repeat, lambda c=command: kept.run(c, timeout=60))))
        rows.append(("kept shell: the three together", median_of(args.repeat, lambda: kept.run(TOGETHER, timeout=60))))
        load_after = node.run("cut -d' ' -f1-3 /proc/loadavg", timeout=30).stdout.strip()
    except BasculeError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    finally:
        for n in (node, kept):
            if n is not None:
                n.close()
    print(
        f"{node.name}, médiane de {args.repeat} allers-retours (charge du nœud avant : {load_before} ; après : "
        f"{load_after})"
    )
    for name, t in rows:
        print(f"  {name:<55} {t:6.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
