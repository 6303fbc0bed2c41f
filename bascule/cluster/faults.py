"""Faults injected into the cluster, each healing itself.

A fault is an object with inject() and an idempotent heal(); both go on the history as the fault's
start and end events, with a snapshot of crm_mon and DRBD before and after (Jepsen's nemesis). The
scenario's fixture heals every fault it injected in teardown, even when the scenario failed.
"""

from __future__ import annotations

import subprocess
import time
from typing import Callable, Iterator, TypeVar

from bascule.cluster.cluster import Cluster, Snapshot
from bascule.cluster.kernel_log import logged_lines
from bascule.cluster.nodes import Node, quote
from bascule.errors import BasculeError, NodeError
from bascule.record.history import FAIL, FAULT, OK
from bascule.waits import wait_until


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

    @property
    def snapshot_before(self) -> Snapshot | None:
        """The cluster as read right before this fault, once injected."""
        return next((snap for when, snap in self.snapshots if when == "avant"), None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.node.name})"

    def _record(self, op: str, outcome: str, value=None, error: str | None = None, t: float | None = None) -> None:
        self.cluster.history.append(FAULT, self.label, op, outcome, value, error, t=t)

    def inject(self, before: Snapshot | None = None) -> None:
        """before: a reading of the cluster that the step took right before, which stands for this
        fault's « avant » snapshot (one crm_mon and DRBD reading less)."""
        # attached to the step that injects it, kept under reports/captures/
        self.snapshots.append(("avant", self.cluster.capture(f"{self.label} (avant)", taken=before)))
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
        except Exception:  # noqa: BLE001 - a snapshot is a bonus: the heal itself succeeded
            pass

    @property
    def undo(self) -> str:
        """What healing this fault does, in the lab's words (the audit row lists it)."""
        return f"{self.label} défaite"

    def leaves_failure(self, resource: str, node: str) -> bool:
        """Is a failed action of `resource` on `node` what this fault is expected to leave behind?
        Those are cleaned up as part of undoing the fault; any other one is a finding."""
        return False

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

    @property
    def undo(self) -> str:
        return f"crm node online {self.node.name}"


def _wait_back(cluster: Cluster, node: Node, deadline: float) -> None:
    """Wait for a node to answer SSH again and to be online in the cluster."""
    wait_until(node.reachable, bool, f"la réponse SSH de {node.name}", deadline=deadline, interval=2)
    cluster.wait_state(
        f"{node.name} en ligne dans le cluster",
        lambda s: bool(s.node(node.name)) and s.node(node.name).online,
        deadline=deadline,
        interval=2,
    )


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

    @property
    def undo(self) -> str:
        return f"attendu le retour de {self.node.name} après son redémarrage"

    def leaves_failure(self, resource: str, node: str) -> bool:
        return node == self.node.name  # operations cut short on the node that went down

    def _heal(self):
        before = getattr(self, "boot_id", None)

        def new_boot():
            try:
                return boot_id(self.node) != before
            except NodeError:
                return False

        wait_until(
            new_boot, bool, f"le redémarrage de {self.node.name} et sa réponse SSH", deadline=self.deadline, interval=3
        )
        _wait_back(self.cluster, self.node, self.deadline)


class PowerLoss(Fault):
    """The node's power is cut: the hypervisor destroys the VM (embedded lab), or the inventory's
    power_off command runs on this machine (an existing lab)."""

    name = "coupure de courant"
    deadline = 420

    def __init__(
        self, cluster: Cluster, node: Node, power_off: Callable[[], None] | None, power_on: Callable[[], None] | None
    ):
        super().__init__(cluster, node)
        if power_off is None or power_on is None:
            raise FaultUnavailable(
                f"aucun moyen de couper le courant de {node.name}",
                "donner au nœud les commandes power_off et power_on dans l'inventaire",
            )
        self._off, self._on = power_off, power_on

    def _inject(self):
        self._off()
        self.node.close()

    def _heal(self):
        self._on()
        _wait_back(self.cluster, self.node, self.deadline)

    @property
    def undo(self) -> str:
        return f"courant de {self.node.name} rétabli"

    def leaves_failure(self, resource: str, node: str) -> bool:
        return True  # a node that vanishes mid-operation leaves failures on either side


class KillService(Fault):
    """SIGKILL to every process of the service (proftpd): a crash, not a clean stop."""

    name = "kill"

    def __init__(
        self,
        cluster: Cluster,
        node: Node,
        process: str = "proftpd",
        resource: str | None = None,
        count_failures: bool = True,
    ):
        super().__init__(cluster, node)
        self.process = process
        self.resource = resource or cluster.inv.resources.ftp
        # the resource's fail-count on the node, read right before the kill: what a restart in place
        # raises (a kill whose restart is prevented does not need it, and skips a crm call)
        self.count_failures = count_failures
        self.fail_count_before = 0

    def inject(self, before: Snapshot | None = None) -> None:
        if not self.count_failures:
            super().inject(before)
            return
        # one reading gives the fail-count before and the kill's « avant » snapshot
        found = before or self.cluster.snapshot()
        state = found.state if found.state is not None else self.cluster.state()
        self.fail_count_before = self.cluster.fail_count(state, self.resource, self.node.name)
        super().inject(found)

    @property
    def undo(self) -> str:
        return ""  # nothing to heal: the failed monitor it leaves is cleaned up by the audit, as its own

    def leaves_failure(self, resource: str, node: str) -> bool:
        return resource == self.resource and node == self.node.name

    @property
    def label(self) -> str:
        return f"kill -9 {self.process} {self.node.name}"

    def _inject(self):
        res = self.node.run(quote("pkill", "-KILL", "-x", self.process), timeout=20, check=False)
        if res.exit_code == 1:
            raise BasculeError(
                f"aucun processus {self.process} à tuer sur {self.node.name}",
                "le service ne tournait pas là où le cluster le dit",
            )

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
            raise BasculeError(
                f"{self.binary} est toujours exécutable sur {self.node.name}",
                "le système de fichiers du nœud a refusé la modification",
            )

    def _heal(self):
        self.node.run(quote("chmod", "755", self.binary), timeout=20)
        self.node.run(quote("crm_resource", "--cleanup", "--resource", self.resource), timeout=60)

    @property
    def undo(self) -> str:
        return f"chmod 755 {self.binary} sur {self.node.name} ; crm resource cleanup {self.resource}"

    def leaves_failure(self, resource: str, node: str) -> bool:
        return resource == self.resource and node == self.node.name


class CablePull(Fault):
    """The node's cluster network link goes down (corosync and DRBD both ride on it)."""

    name = "câble débranché"

    def __init__(self, cluster: Cluster, node: Node, set_link: Callable[[bool], None] | None, seconds: float = 60):
        super().__init__(cluster, node)
        self._set_link = set_link
        self.seconds = seconds
        # document 3's line in each node's kernel log before the cut: only a split brain of this cut counts
        self.lines_before: dict[str, tuple[str, ...]] = {}
        # when the cut was asked for, before its « avant » snapshot (history time, and monotonic for
        # holding the cable out its drawn length): the endurance run's clients are judged from there
        self.asked_at: float | None = None
        self.asked_monotonic: float | None = None

    def inject(self, before: Snapshot | None = None) -> None:
        self.lines_before = logged_lines(self.cluster)  # read before the fault's time zero
        self.asked_at, self.asked_monotonic = self.cluster.history.now(), time.monotonic()
        super().inject(before)

    def _inject(self):
        if self._set_link is not None:
            self._set_link(False)  # the hypervisor sets the VM's NIC link down: a pulled cable
        else:
            # an existing lab: the node puts its own link down and back up by itself, detached,
            # because we may lose SSH through that very link
            iface = self.node.spec.cluster_interface
            self.node.run(
                f"nohup sh -c 'ip link set {iface} down; sleep {int(self.seconds)}; ip link set {iface} up' "
                ">/dev/null 2>&1 &",
                timeout=20,
            )

    def _heal(self):
        if self._set_link is not None:
            self._set_link(True)
        wait_until(
            self.node.reachable, bool, f"la réponse SSH de {self.node.name}", deadline=self.seconds + 120, interval=2
        )

    @property
    def undo(self) -> str:
        return f"câble de {self.node.name} rebranché"

    def leaves_failure(self, resource: str, node: str) -> bool:
        return True  # both halves ran alone: each may have failed operations on the other's resources


F = TypeVar("F", bound=Fault)


def online_again(faults: Faults, cluster: Cluster, node: Node) -> Standby:
    """`crm node online NODE`: heals the scenario's standby of that node; a standby the scenario
    found in place (it did not inject it) is brought online all the same."""
    fault = faults.find(Standby, node)
    if fault is None:
        fault = Standby(cluster, node)
        fault.injected = True  # in place already: healing it is what the row asks
    fault.heal()
    return fault


class Faults:
    """The faults a scenario injected, in order. One call starts a fault (it is registered before it
    is injected, so that even a half-done injection is healed); at teardown every one is healed,
    the last first, even after a failure."""

    def __init__(self) -> None:
        self._started: list[Fault] = []

    def __iter__(self) -> Iterator[Fault]:
        return iter(self._started)

    def __repr__(self) -> str:
        return f"Faults({', '.join(f.label for f in self._started)})"

    def start(self, fault: F, before: Snapshot | None = None) -> F:
        self._started.append(fault)
        fault.inject(before)
        return fault

    def find(self, kind: type[F], node: Node | None = None) -> F | None:
        """The last fault of that kind started (on that node), or None."""
        return next(
            (f for f in reversed(self._started) if isinstance(f, kind) and (node is None or f.node is node)), None
        )

    def heal_all(self) -> list[str]:
        """Heal every fault, the last first; what could not be healed, in words (the others are still healed)."""
        errors = []
        for fault in reversed(self._started):
            try:
                fault.heal()
            except Exception as exc:  # noqa: BLE001 - keep healing the others; the audit then judges
                errors.append(f"{fault.label} : {exc}")
        return errors


def power_switch(node: Node, hypervisor=None) -> tuple[Callable[[], None] | None, Callable[[], None] | None]:
    """How to cut and restore a node's power: the embedded lab's hypervisor, or the inventory's
    power_off/power_on commands run on this machine; (None, None) when neither exists."""
    if hypervisor is not None:
        return (lambda: hypervisor.power_off(node.name)), (lambda: hypervisor.power_on(node.name))
    spec = node.spec
    if not (spec.power_off and spec.power_on):
        return None, None

    def run(command: str) -> Callable[[], None]:
        return lambda: subprocess.run(command, shell=True, check=True, timeout=120, capture_output=True)

    return run(spec.power_off), run(spec.power_on)


def cable_switch(node: Node, hypervisor=None) -> Callable[[bool], None] | None:
    """How to pull a node's cable from outside: the embedded lab's hypervisor sets the VM's link; on
    an existing lab None (the node puts its own link down and back, see CablePull)."""
    return (lambda up: hypervisor.set_link(node.name, up)) if hypervisor is not None else None


def power_loss(cluster: Cluster, node: Node, hypervisor=None) -> PowerLoss:
    """A power cut of the node, through the embedded lab's hypervisor or the inventory's commands;
    FaultUnavailable when this cluster has neither."""
    off, on = power_switch(node, hypervisor)
    return PowerLoss(cluster, node, off, on)


def cable_pull(cluster: Cluster, node: Node, hypervisor=None, seconds: float = 60) -> CablePull:
    """The node's cable pulled, from outside (the embedded lab) or by the node itself."""
    return CablePull(cluster, node, cable_switch(node, hypervisor), seconds=seconds)
