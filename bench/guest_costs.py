#!/usr/bin/env python3
"""What the suite's commands cost a guest: each command bascule runs often, timed on the node
(`/usr/bin/time` inside the guest: no SSH in the figure), median of REPEAT runs, on the preferred
master at rest. Also prints the guest's kernel command line and its speculative-execution
mitigations, so that a guest CPU or kernel setting can be measured before and after.

    ip netns exec bascule .venv/bin/python bench/guest_costs.py --inventory lab.toml [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bascule.cluster.cluster import Cluster  # noqa: E402
from bascule.errors import BasculeError  # noqa: E402
from bascule.inventory import load as load_inventory  # noqa: E402
from bascule.record.history import History  # noqa: E402

COMMANDS = {
    "crm configure show (crmsh)": "crm configure show >/dev/null",
    "crm_mon XML (C tool)": "crm_mon --one-shot --inactive --output-as=xml >/dev/null",
    "crm_attribute query (C tool)": "crm_attribute --type crm_config --name stonith-enabled --query >/dev/null",
    "cat /proc/drbd": "cat /proc/drbd >/dev/null",
    "python3 -c pass": "python3 -c pass",
}


def timed(node, command: str) -> float:
    res = node.run(
        f"/usr/bin/env TIMEFORMAT=%R bash -c 'time ( {command} ) 2>&1 >/dev/null' 2>&1 | tail -1", timeout=180
    )
    return float(res.stdout.strip().replace(",", "."))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inventory", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    try:
        cluster = Cluster(load_inventory(args.inventory), History())
        node = cluster.master
        cmdline = node.run("cat /proc/cmdline", timeout=30).stdout.strip()
        vulns = (
            node.run("grep -H . /sys/devices/system/cpu/vulnerabilities/* 2>/dev/null | sed 's|.*/||'", timeout=30)
            .stdout.strip()
            .splitlines()
        )
        model = node.run("sed -n 's/^model name\\s*: //p' /proc/cpuinfo | head -1", timeout=30).stdout.strip()
        print(f"{node.name}: {model}\nkernel command line: {cmdline}")
        mitigated = [v for v in vulns if "Mitigation" in v]
        print(f"mitigations in force: {len(mitigated)} ({'; '.join(mitigated) or 'none'})\n")
        for label, command in COMMANDS.items():
            runs = [timed(node, command) for _ in range(args.repeat)]
            print(
                f"{label:<32} median {statistics.median(runs):6.2f} s  ({', '.join(f'{r:.2f}' for r in runs)})",
                flush=True,
            )
        cluster.close()
    except BasculeError as exc:
        sys.exit(f"bascule: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
