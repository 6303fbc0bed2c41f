#!/usr/bin/env python3
"""The client's outage of the lab's own moves, without the suite: `crm node standby` of the preferred
master, then `crm node online`, CYCLES times, measured by the independent client of cross_check.py
(four curl processes, no code shared with bascule's FTP module) and by nothing else. What a lab
setting is worth is measured here, before and after, on the same lab and host.

    export BASCULE_FTP_PASSWORD=...
    ip netns exec bascule .venv/bin/python bench/move_outage.py --inventory lab.toml [--cycles 2]
    ip netns exec bascule .venv/bin/python bench/move_outage.py --inventory lab.toml --propriete load-threshold=1000%
    ip netns exec bascule .venv/bin/python bench/move_outage.py --inventory lab.toml --cycles 4 --sonde alterne

`--sonde alterne` runs bascule's own FTP probe (bascule/cluster/ftp.Probe, as a scenario runs it)
during every other cycle, from the second on: the probe's cost on the outage that the independent
client saw, A/B on one lab and host, the conditions interleaved so that a drift of the host hits both
(`avec`: during every cycle; `sans`, the default: never).

`--propriete NAME=VALUE` sets a cluster property (crm_attribute) for the measurement and puts the
previous value back at the end: the benchmark leaves the cluster as it found it.
Between moves it reads the cluster only every 5 s, and not at all while curl sees the service down,
so that its own load stays out of what it measures. Printed for each move: curl's outage, the time
until crm_mon showed every resource on the destination, host load and each guest's CPU share.

Goal of issue 13 (printed, never asserted): a standby's outage <= 30 s under emulation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from cross_check import CurlClient, ftp_target, open_cluster, outages  # noqa: E402

from bascule.cluster.cluster import Cluster  # noqa: E402
from bascule.cluster.ftp import FTPClient, Probe  # noqa: E402
from bascule.cluster.nodes import quote  # noqa: E402
from bascule.errors import BasculeError  # noqa: E402
from bascule.facts.placement import move_problems, placement  # noqa: E402
from bascule.record.history import CLIENT, OK, History  # noqa: E402
from bascule.waits import wait_until  # noqa: E402

GOAL_STANDBY = 30.0
POLL = 5.0


def guest_cpu(cluster: Cluster) -> dict[str, tuple[float, float]]:
    """(busy, total) jiffies of each node from /proc/stat: the guest's own account of its CPU."""
    out = {}
    for name, node in cluster.nodes.items():
        f = [float(x) for x in node.run("head -1 /proc/stat", timeout=30).stdout.split()[1:]]
        idle = f[3] + (f[4] if len(f) > 4 else 0.0)
        out[name] = (sum(f) - idle, sum(f))
    return out


def host_load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def move(cluster: Cluster, curl: CurlClient, action: str, node: str, to: str, deadline: float = 300) -> dict:
    before = guest_cpu(cluster)
    since = time.time()
    cluster.master.run(f"crm node {action} {quote(node)}", timeout=120)
    said = time.time() - since
    seen = None
    while time.time() - since < deadline:
        ws = outages(curl.ops, since - 1, time.time())
        if ws and ws[-1][1] is None:  # curl sees the service down: do not load the guests
            time.sleep(1)
            continue
        try:
            state = cluster.state(prefer=cluster.nodes[to])
            if not move_problems(placement(state, cluster.inv), cluster.inv, to):
                seen = time.time() - since
                break
        except BasculeError:
            pass
        time.sleep(POLL)
    # the client's outage: wait until curl has been served again after it
    while time.time() - since < deadline:
        ws = outages(curl.ops, since - 1, time.time())
        if ws and ws[-1][1] is not None:
            break
        time.sleep(1)
    ws = outages(curl.ops, since - 1, time.time())
    down = None if not ws or ws[-1][1] is None else sum(e - s for s, e in ws)
    # let the transition finish (first monitors, notifications) before the next move: one blocking
    # command on the node, not a poll
    cluster.nodes[to].run("crm_resource --wait --timeout=180s >/dev/null 2>&1 || true", timeout=240)
    after = guest_cpu(cluster)
    share = {n: 100 * (after[n][0] - before[n][0]) / max(1.0, after[n][1] - before[n][1]) for n in after}
    return {
        "action": action,
        "down": down,
        "windows": len(ws),
        "crm_said": said,
        "placed": seen,
        "load": host_load(),
        "cpu": share,
        "took": time.time() - since,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inventory", type=Path, required=True)
    ap.add_argument("--cycles", type=int, default=2)
    ap.add_argument("--propriete", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument(
        "--sonde",
        choices=("sans", "avec", "alterne"),
        default="sans",
        help="bascule's FTP probe running during the cycles: never, always, or every other cycle",
    )
    args = ap.parse_args()
    cluster = open_cluster(args.inventory)
    inv = cluster.inv
    master, slave = inv.preferred_master, inv.slave.name
    previous = {}
    for prop in args.propriete:
        name, _, value = prop.partition("=")
        res = cluster.master.run(
            quote("crm_attribute", "--type", "crm_config", "--name", name, "--query", "--quiet"),
            timeout=60,
            check=False,
        )
        previous[name] = res.stdout.strip() if res.ok and res.stdout.strip() else None
        cluster.master.run(
            quote("crm_attribute", "--type", "crm_config", "--name", name, "--update", value), timeout=60
        )
        print(f"property {name}={value} (was {previous[name] or 'unset'})")
    curl = CurlClient(*ftp_target(args.inventory), ROOT / "reports" / ".move-outage")
    curl.start()
    rows = []
    try:
        # the client must be served before the first move, or its first outage has no start

        waited = wait_until(
            lambda: sum(o[2] for o in curl.ops),
            lambda n: n >= 4,
            "curl to list the home 4 times",
            deadline=60,
            interval=0.5,
        )
        print(f"curl served after {waited.elapsed:.1f} s")
        for cycle in range(args.cycles):
            probing = args.sonde == "avec" or (args.sonde == "alterne" and cycle % 2 == 1)
            probe = bascule_probe(cluster) if probing else None
            try:
                for action, to in (("standby", slave), ("online", master)):
                    r = move(cluster, curl, action, master, to)
                    r["probe"] = probing
                    rows.append(r)
                    cpu = ", ".join(f"{n} {v:.0f} %" for n, v in r["cpu"].items())
                    print(
                        f"cycle {cycle + 1} {action:<8} {'avec' if probing else 'sans'} sonde : outage "
                        f"{fmt(r['down'])} "
                        f"({r['windows']} window(s)); crm returned after {r['crm_said']:.1f} s; placed by "
                        f"{fmt(r['placed'])}; host load {r['load']:.2f}; guest CPU {cpu}",
                        flush=True,
                    )
            finally:
                if probe is not None:
                    probe.stop()
    finally:
        curl.stop()
        for name, value in previous.items():
            op = ("--update", value) if value is not None else ("--delete",)
            cluster.master.run(
                quote("crm_attribute", "--type", "crm_config", "--name", name, *op), timeout=60, check=False
            )
        cluster.close()
    print()
    _summary(rows)
    return 0


def _summary(rows: list[dict]) -> None:
    """Each action's median outage, with and without bascule's probe."""
    for probing in sorted({r["probe"] for r in rows}):
        for action in ("standby", "online"):
            downs = [
                r["down"] for r in rows if r["action"] == action and r["down"] is not None and r["probe"] == probing
            ]
            if downs:
                print(
                    f"{action:<8} {'avec' if probing else 'sans'} sonde : outage median "
                    f"{statistics.median(downs):6.2f} s "
                    f"over {len(downs)} ({', '.join(f'{d:.2f}' for d in downs)})"
                    + (
                        f"   goal <= {GOAL_STANDBY:.0f} s: "
                        f"{'met' if statistics.median(downs) <= GOAL_STANDBY else 'not met'}"
                        if action == "standby"
                        else ""
                    )
                )


def bascule_probe(cluster: Cluster):
    """bascule's own FTP probe on the VIP, started as a scenario starts it (its own history)."""

    history = History()
    probe = Probe(FTPClient.for_inventory(cluster.inv), history, f"{cluster.inv.ftp.documents}/bascule-sonde")
    probe.start()
    # its first logins (about 1.4 s of the guest's CPU each) before the move, not inside it
    wait_until(
        lambda: sum(1 for e in history.events if e.source == CLIENT and e.outcome == OK),
        lambda n: n >= 8,
        "the probe's first operations",
        deadline=60,
        interval=0.5,
    )
    return probe


def fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f} s"


if __name__ == "__main__":
    sys.exit(main())
