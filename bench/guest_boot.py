#!/usr/bin/env python3
"""Where a guest's time goes, read on each node: its last boot (`systemd-analyze`: kernel and
userspace, the critical chain, the slowest units) and one crmsh call (`crm configure show`: its
whole time, the interpreter's start alone, and the imports that cost most, from `python3 -X
importtime`). Read only: nothing is changed on the nodes. The lab at rest gives the figures a
change to the guests must be measured against.

    ip netns exec bascule .venv/bin/python bench/guest_boot.py --inventory lab.toml [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from guest_costs import timed  # noqa: E402  (a command timed inside the guest, as there)

from bascule.cluster.cluster import Cluster  # noqa: E402
from bascule.errors import BasculeError  # noqa: E402
from bascule.inventory import load as load_inventory  # noqa: E402
from bascule.record.history import History  # noqa: E402

SLOWEST_UNITS = 8
HEAVIEST_IMPORTS = 8
# crmsh's own entry point, found on the node: `crm` is a Python script whose first line names it
CRM_IMPORTS = "python3 -X importtime $(command -v crm) configure show 2>&1 >/dev/null"


def boot(node) -> None:
    """The node's last boot, as systemd measured it."""
    said = node.run("systemd-analyze 2>&1 | head -1", timeout=60, check=False).stdout.strip()
    print(f"{node.name}: {said}")
    chain = node.run("systemd-analyze critical-chain --no-pager 2>&1 | tail -n +4", timeout=60, check=False)
    print("  critical chain (unit @start +its own time):")
    for line in chain.stdout.splitlines()[:14]:
        print(f"    {line.strip()}")
    blame = node.run(f"systemd-analyze blame --no-pager 2>&1 | head -{SLOWEST_UNITS}", timeout=60, check=False)
    print("  slowest units:")
    for line in blame.stdout.splitlines():
        print(f"    {line.strip()}")


def crm_call(node, repeat: int) -> None:
    """One crmsh call: its whole time, the interpreter's start, and its heaviest imports."""
    whole = [timed(node, "crm configure show >/dev/null") for _ in range(repeat)]
    bare = [timed(node, "python3 -c pass") for _ in range(repeat)]
    print(f"{node.name}: crm configure show   median {statistics.median(whole):6.2f} s  ({_listed(whole)})")
    print(f"{node.name}: python3 -c pass       median {statistics.median(bare):6.2f} s  ({_listed(bare)})")
    out = node.run(CRM_IMPORTS, timeout=180, check=False).stdout
    imports = []
    for line in out.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[1].strip().isdigit():
            # cumulative µs, and the module: one space before a module crm imports itself, two more per level
            depth = (len(parts[2]) - len(parts[2].lstrip()) - 1) // 2
            imports.append((int(parts[1]), depth, parts[2].strip()))
    top = [(us, name) for us, depth, name in imports if depth == 0]
    total = sum(us for us, _ in top)
    print(f"  imports: {len(imports)} modules, {total / 1e6:.2f} s at the top level; the heaviest:")
    for us, name in sorted(top, reverse=True)[:HEAVIEST_IMPORTS]:
        print(f"    {us / 1e6:6.2f} s  {name}")


def _listed(runs: list[float]) -> str:
    return ", ".join(f"{r:.2f}" for r in runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inventory", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    try:
        cluster = Cluster(load_inventory(args.inventory), History())
        for node in cluster.nodes.values():
            boot(node)
            print()
        crm_call(cluster.master, args.repeat)
        cluster.close()
    except BasculeError as exc:
        sys.exit(f"bascule: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
