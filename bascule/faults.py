"""Faults injected into the cluster, each healing itself.

A fault is an object with inject() and an idempotent heal(); both go on the history as the fault's
start and end events, with a snapshot of crm_mon and DRBD before and after (Jepsen's nemesis). The
scenario's fixture heals every fault it injected in teardown, even when the scenario failed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .cluster import Cluster, Snapshot
from .errors import BasculeError, NodeError
from .history import FAULT, OK, FAIL
from .nodes import Node, quote
from .waits import wait_until


class FaultUnavailable(BasculeError):
    """This fault cannot be injected into this cluster (e.g. no way to cut a real node's power)."""


class Fault:
    name = "fault"

    def __init__(self, cluster: Cluster, node: Node):
        self.cluster = cluster
        self.node = node
        self.injected = False
        self.healed = False
        self.started_at: float | None = None
        self.heal_started_at: float | None = None
        self.snapshots: list[tuple[str, Snapshot]] = []

    @property
    def label(self) -> str:
        return f"{self.name} {self.node.name}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.node.name})"

    def _record(self, op: str, outcome: str, value=None, error: str | None = None, t: float | None = None) -> None:
        self.cluster.history.append(FAULT, self.label, op, outcome, value, error, t=t)

    def inject(self) -> None:
        # attached to the step that injects it, kept under reports/captures/
        self.snapshots.append(("avant", self.cluster.capture(f"{self.label} (avant)")))
        self.started_at = self.cluster.history.now()  # the fault's time zero: right before the act
        self.injected = True  # even half-done, a fault is healed: heal() is idempotent
        try:
            self._inject()
        except Exception as exc:
            self._record("start", FAIL, error=str(exc), t=self.started_at)
            raise
        self._record("start", OK, t=self.started_at)

    def heal(self) -> None:
        if not self.injected or self.healed:
            return
        self.heal_started_at = self.cluster.history.now()
        try:
            self._heal()
        except Exception as exc:
            self._record("end", FAIL, error=str(exc), t=self.heal_started_at)
            raise
        self.healed = True
        self._record("end", OK, t=self.heal_started_at)
        try:
            self.snapshots.append(("après", self.cluster.capture(f"{self.label} (après)")))
        except Exception:  # a snapshot is a bonus: the heal itself succeeded
            pass

    def _inject(self) -> None:
        raise NotImplementedError

    def _heal(self) -> None:
        raise NotImplementedError


class Standby(Fault):
    """`crm node standby NODE`: the lab's maintenance mode."""
    name = "standby"

    def _inject(self):
        self.node.run(quote("crm", "node", "standby", self.node.name), timeout=60)

    def _heal(self):
        self.node.run(quote("crm", "node", "online", self.node.name), timeout=60)


def _wait_back(cluster: Cluster, node: Node, deadline: float) -> None:
    """Wait for a node to answer SSH again and to be online in the cluster."""
    wait_until(node.reachable, bool, f"{node.name} to answer SSH", deadline=deadline, interval=2)
    cluster.wait_state(f"{node.name} online in the cluster",
                       lambda s: bool(s.node(node.name)) and s.node(node.name).online, deadline=deadline, interval=2)


def boot_id(node: Node) -> str:
    return node.run("cat /proc/sys/kernel/random/boot_id", timeout=20).stdout.strip()


class Reboot(Fault):
    """A clean reboot of the node (`systemctl reboot`, or `reboot`). A clean shutdown first stops
    Pacemaker, which moves the resources away: under emulation the node answers SSH for minutes
    before it goes down, so the reboot is told apart by the kernel's boot id, not by SSH."""
    name = "redémarrage"
    deadline = 600

    def _inject(self):
        self.boot_id = boot_id(self.node)
        # detached, so the SSH command returns before the node goes down
        self.node.run("nohup sh -c 'sleep 1; systemctl reboot || reboot' >/dev/null 2>&1 &", timeout=20)

    def _heal(self):
        before = getattr(self, "boot_id", None)

        def new_boot():
            try:
                return boot_id(self.node) != before
            except NodeError:
                return False
        wait_until(new_boot, bool, f"{self.node.name} to reboot and answer SSH", deadline=self.deadline, interval=3)
        _wait_back(self.cluster, self.node, self.deadline)


class PowerLoss(Fault):
    """The node's power is cut: the hypervisor destroys the VM (embedded lab), or the inventory's
    power_off command runs on this machine (an existing lab)."""
    name = "coupure de courant"
    deadline = 420

    def __init__(self, cluster: Cluster, node: Node, power_off: Callable[[], None] | None,
                 power_on: Callable[[], None] | None):
        super().__init__(cluster, node)
        if power_off is None or power_on is None:
            raise FaultUnavailable(f"no way to cut {node.name}'s power",
                                   "set power_off and power_on commands for the node in the inventory")
        self._off, self._on = power_off, power_on

    def _inject(self):
        self._off()
        self.node.close()

    def _heal(self):
        self._on()
        _wait_back(self.cluster, self.node, self.deadline)


class KillService(Fault):
    """SIGKILL to every process of the service (proftpd): a crash, not a clean stop."""
    name = "kill"

    def __init__(self, cluster: Cluster, node: Node, process: str = "proftpd"):
        super().__init__(cluster, node)
        self.process = process

    @property
    def label(self) -> str:
        return f"kill -9 {self.process} {self.node.name}"

    def _inject(self):
        res = self.node.run(quote("pkill", "-KILL", "-x", self.process), timeout=20, check=False)
        if res.exit_code == 1:
            raise BasculeError(f"no {self.process} process on {self.node.name} to kill",
                               "the service was not running where the cluster says it runs")

    def _heal(self):
        pass  # the cluster's job; the baseline guard cleans up fail counts


class BlockRestart(Fault):
    """Prevent proftpd from starting again on the node: its binary loses its execute bit, so
    `/etc/init.d/proftpd start` fails (start-stop-daemon cannot exec it). Healed by restoring the
    bit and `crm resource cleanup`."""
    name = "empêchement de redémarrage"
    binary = "/usr/sbin/proftpd"

    def __init__(self, cluster: Cluster, node: Node, resource: str):
        super().__init__(cluster, node)
        self.resource = resource

    def _inject(self):
        self.node.run(quote("chmod", "a-x", self.binary), timeout=20)
        if self.node.run(quote("test", "-x", self.binary), check=False, timeout=20).ok:
            raise BasculeError(f"{self.binary} on {self.node.name} is still executable",
                               "the node's file system refused the change")

    def _heal(self):
        self.node.run(quote("chmod", "755", self.binary), timeout=20)
        self.node.run(quote("crm", "resource", "cleanup", self.resource), timeout=60)


class CablePull(Fault):
    """The node's cluster network link goes down (corosync and DRBD both ride on it)."""
    name = "câble débranché"

    def __init__(self, cluster: Cluster, node: Node, set_link: Callable[[bool], None] | None, seconds: float = 60):
        super().__init__(cluster, node)
        self._set_link = set_link
        self.seconds = seconds

    def _inject(self):
        if self._set_link is not None:
            self._set_link(False)  # the hypervisor sets the VM's NIC link down: a pulled cable
        else:
            # an existing lab: the node puts its own link down and back up by itself, detached,
            # because we may lose SSH through that very link
            iface = self.node.spec.cluster_interface
            self.node.run(f"nohup sh -c 'ip link set {iface} down; sleep {int(self.seconds)}; ip link set {iface} up' "
                          ">/dev/null 2>&1 &", timeout=20)

    def _heal(self):
        if self._set_link is not None:
            self._set_link(True)
        wait_until(self.node.reachable, bool, f"{self.node.name} to answer SSH", deadline=self.seconds + 120, interval=2)


class ReplicationCut(Fault):
    """DRBD's replication link is cut (`drbdadm disconnect` on both nodes), with Pacemaker in
    maintenance mode so that the lab's manual steps (document 3) are not undone under our feet."""
    name = "réplication coupée"

    def _inject(self):
        res = self.cluster.inv.drbd.resource
        self.node.run("crm configure property maintenance-mode=true", timeout=60)
        for n in self.cluster.nodes.values():
            n.run(quote("drbdadm", "disconnect", res), timeout=60)

    def _heal(self):
        # Healing means the document 3 recovery has run; if the scenario stopped before, the
        # recovery keeps the preferred master's data.
        from .recovery import resolve_split_brain
        resolve_split_brain(self.cluster, keep=self.cluster.master)


@dataclass(frozen=True)
class Movement:
    """A move of the resources that a scenario waits for: since when, towards which node."""
    since: float
    to: str
    cause: str
