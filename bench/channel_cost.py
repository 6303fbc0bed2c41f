#!/usr/bin/env python3
"""What one reading of a node costs, by the way it is sent (issue 22's question, measured first):

- a new SSH command per reading (what bascule does: a channel, sshd's session, a shell, the tool);
- the same tools in one command (crm_mon's XML, /proc/drbd and the clock in one round trip);
- a shell kept open on one channel for the whole run, each reading written to its standard input.

Each figure is the median of REPEAT round trips from this machine, on the preferred master at rest,
with the guest's own load average before and after. Nothing is changed on the node.

    ip netns exec bascule .venv/bin/python bench/channel_cost.py --inventory lab.toml [--repeat 10]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bascule.cluster.cluster import Cluster  # noqa: E402
from bascule.errors import BasculeError  # noqa: E402
from bascule.inventory import load as load_inventory  # noqa: E402
from bascule.record.history import History  # noqa: E402

CRM_MON = "crm_mon --one-shot --inactive --output-as=xml"
READINGS = {"crm_mon XML": CRM_MON, "/proc/drbd": "cat /proc/drbd", "horloge": "date +%s.%N"}
TOGETHER = " ; ".join(f"{c} ; echo ---" for c in READINGS.values())


class KeptShell:
    """A root shell on one SSH channel of the node's existing connection, read up to a marker."""

    def __init__(self, node):
        ssh = node.spec.ssh
        self.channel = node.connection().transport.open_session()
        self.channel.exec_command("sudo -n sh" if ssh.sudo and ssh.user != "root" else "sh")  # root, as Node.run
        self.buffer = b""

    def run(self, command: str, timeout: float = 60.0) -> str:
        marker = f"__fin_{uuid.uuid4().hex}__"
        self.channel.sendall(f"{{ {command} ; }} 2>&1; echo {marker}$?\n".encode())
        deadline = time.monotonic() + timeout
        while marker.encode() not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError(command)
            if self.channel.recv_ready():
                self.buffer += self.channel.recv(65536)
            else:
                time.sleep(0.005)
        while b"\n" not in self.buffer.partition(marker.encode())[2]:  # the exit status after the marker
            if time.monotonic() > deadline:
                raise TimeoutError(command)
            self.buffer += self.channel.recv(65536)
        out, _, rest = self.buffer.partition(marker.encode())
        status, _, self.buffer = rest.partition(b"\n")
        if status.strip() != b"0":
            raise RuntimeError(f"`{command}` exited {status.decode(errors='replace').strip()}: {out[-200:]!r}")
        return out.decode(errors="replace")

    def close(self) -> None:
        self.channel.close()


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
    cluster = None
    try:
        cluster = Cluster(load_inventory(args.inventory), History())
        node = cluster.master
        load_before = node.run("cut -d' ' -f1-3 /proc/loadavg", timeout=30).stdout.strip()
        rows = [("new command: true", median_of(args.repeat, lambda: node.run("true", timeout=60)))]
        for name, command in READINGS.items():
            rows.append((f"new command: {name}", median_of(args.repeat, lambda c=command: node.run(c, timeout=60))))
        separate = sum(t for n, t in rows[1:])
        rows.append(("new commands: the three, one after the other (sum)", separate))
        rows.append(("new command: the three together", median_of(args.repeat, lambda: node.run(TOGETHER, timeout=60))))
        shell = KeptShell(node)
        try:
            shell.run("true")  # the shell's own start is paid once
            rows.append(("kept shell: true", median_of(args.repeat, lambda: shell.run("true"))))
            rows.append(("kept shell: the three together", median_of(args.repeat, lambda: shell.run(TOGETHER))))
        finally:
            shell.close()
        load_after = node.run("cut -d' ' -f1-3 /proc/loadavg", timeout=30).stdout.strip()
    except BasculeError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    finally:
        if cluster is not None:
            cluster.close()
    print(f"{node.name}, médiane de {args.repeat} allers-retours (charge du nœud avant : {load_before} ; après : {load_after})")
    for name, t in rows:
        print(f"  {name:<55} {t:6.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
