#!/usr/bin/env python3
"""How long a healthy cluster stays quiet in the middle of a move: what bascule's settle grace
periods (cluster/settling.py SETTLE_GRACE, cluster/moves.py FTP_GRACE) are chosen from.

    export BASCULE_FTP_PASSWORD=...
    ip netns exec bascule .venv/bin/python bench/settle_grace.py --inventory lab.toml [--cycles 2]

For each of the lab's moves (`crm node standby` of the preferred master, then `crm node online`),
CYCLES times, it reads the controller (the DC's state and the CIB's version, as a wait does) every
READ seconds, crm_mon every READ seconds, and the independent client of cross_check.py (curl) all
along, and prints:
- the longest quiet stretch before the move was over: the DC idle with one CIB version across
  readings (a wait that took this for « settled » would end a healthy move too early: the grace must
  be longer);
- when crm_mon showed every resource on the destination, when the cluster was quiet after it, and
  when curl was served again after the move (FTP_GRACE must cover a healthy proftpd's start and the
  first login on a loaded guest).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from cross_check import CurlClient, ftp_target, open_cluster  # noqa: E402

from bascule.cluster.cluster import Cluster  # noqa: E402
from bascule.cluster.nodes import quote  # noqa: E402
from bascule.errors import BasculeError  # noqa: E402
from bascule.facts.placement import move_problems, placement  # noqa: E402
from bascule.facts.settling import quiet_for  # noqa: E402

READ = 2.0


def longest_quiet(events) -> float:
    """The longest quiet stretch among the controller readings (each prefix's trailing quiet run)."""
    best, seen = 0.0, []
    for e in events:
        seen.append(e)
        q = quiet_for(seen)
        best = max(best, q or 0.0)
    return best


def move(cluster: Cluster, curl: CurlClient, action: str, node: str, to: str, deadline: float = 300) -> dict:
    history = cluster.history
    t0 = history.now()
    wall0 = time.time()
    cluster.master.run(f"crm node {action} {quote(node)}", timeout=120)
    placed = quiet_after = None
    while history.now() - t0 < deadline:
        tick = history.now()
        try:
            cluster.controller(prefer=cluster.nodes[to])
            if placed is None:
                state = cluster.state(prefer=cluster.nodes[to])
                if not move_problems(placement(state, cluster.inv), cluster.inv, to):
                    placed = history.now() - t0
        except BasculeError:
            pass
        if placed is not None:
            after = [e for e in history.since(t0 + placed) if e.op == "controller"]
            q = quiet_for(after)
            if q is not None and q >= 10.0:
                quiet_after = next(e.t for e in after if e.op == "controller") - t0
                break
        time.sleep(max(0.0, READ - (history.now() - tick)))
    before_end = [e for e in history.since(t0) if e.op == "controller" and (placed is None or e.t <= t0 + placed)]
    served = sorted(o[0] for o in curl.ops if o[2] and o[0] >= wall0 + (placed or 0.0))
    return {
        "action": action,
        "placed": placed,
        "quiet_before": longest_quiet(before_end),
        "quiet_after": quiet_after,
        "ftp_after_placed": (served[0] - wall0 - placed) if served and placed is not None else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inventory", type=Path, required=True)
    ap.add_argument("--cycles", type=int, default=2)
    args = ap.parse_args()
    cluster = open_cluster(args.inventory)
    inv = cluster.inv
    master, slave = inv.preferred_master, inv.slave.name
    curl = CurlClient(*ftp_target(args.inventory), ROOT / "reports" / ".settle-grace")
    curl.start()
    rows = []
    try:
        for cycle in range(args.cycles):
            for action, to in (("standby", slave), ("online", master)):
                r = move(cluster, curl, action, master, to)
                rows.append(r)
                print(
                    f"cycle {cycle + 1} {action:<8} placed by crm_mon {fmt(r['placed'])}; longest quiet stretch before "
                    f"that {r['quiet_before']:.1f} s; quiet again from {fmt(r['quiet_after'])}; curl served "
                    f"{fmt(r['ftp_after_placed'])} after crm_mon showed it placed",
                    flush=True,
                )
    finally:
        curl.stop()
        cluster.close()
    print(
        f"\nlongest quiet stretch inside a healthy move: {max(r['quiet_before'] for r in rows):.1f} s "
        f"(over {len(rows)} moves; the settle grace must exceed it)"
    )
    late = [r["ftp_after_placed"] for r in rows if r["ftp_after_placed"] is not None]
    if late:
        print(f"latest FTP service after crm_mon showed a move over: {max(late):.1f} s (FTP_GRACE must exceed it)")
    return 0


def fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f} s"


if __name__ == "__main__":
    sys.exit(main())
