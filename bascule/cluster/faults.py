"""Faults injected into the cluster, each healing itself.

A fault is an object with inject() and an idempotent heal(); both go on the history as the fault's
start and end events, with a snapshot of crm_mon and DRBD before and after (Jepsen's nemesis). The
scenario's fixture heals every fault it injected in teardown, even when the scenario failed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from bascule.cluster.cluster import Cluster, Snapshot
from bascule.errors import BasculeError, NodeError
from bascule.judging.history import FAULT, OK, FAIL
from bascule.cluster.nodes import Node, quote
from bascule.waits import wait_until

if TYPE_CHECKING:
    from bascule.judging.observations import MoveSeen


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

    @property
    def undo(self) -> str:
        return f"courant de {self.node.name} rétabli"

    def leaves_failure(self, resource: str, node: str) -> bool:
        return True  # a node that vanishes mid-operation leaves failures on either side


class KillService(Fault):
    """SIGKILL to every process of the service (proftpd): a crash, not a clean stop."""
    name = "kill"

    def __init__(self, cluster: Cluster, node: Node, process: str = "proftpd", resource: str | None = None):
        super().__init__(cluster, node)
        self.process = process
        self.resource = resource or cluster.inv.resources.ftp

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

    @property
    def undo(self) -> str:
        return f"câble de {self.node.name} rebranché"

    def leaves_failure(self, resource: str, node: str) -> bool:
        return True  # both halves ran alone: each may have failed operations on the other's resources


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
        from bascule.cluster.recovery import resolve_split_brain
        resolve_split_brain(self.cluster, keep=self.cluster.master)

    def resolved(self) -> None:
        """Document 3's recovery was run by the scenario itself: that is this fault's heal."""
        self.healed = True
        self._record("end", OK)

    @property
    def undo(self) -> str:
        return "split brain résolu comme le dit le document 3"

    def leaves_failure(self, resource: str, node: str) -> bool:
        return True  # both nodes were primary: Pacemaker's monitors see what it did not do


SILENT_READ = 15.0  # seconds between two crm_mon readings while the client sees the service down


def reading_while_served(cluster: Cluster, probe, since: float, prefer: Node | None = None) -> Callable:
    """A crm_mon reading for a wait on a move or a restart, which reads the cluster only every
    SILENT_READ s while the probe sees the service down since `since` (and returns None then).
    Each crm_mon costs the destination a third of its CPU during a move under emulation, and the
    service being down says the move is not over; a cluster that moved but serves no FTP is still
    seen. The move's end is the earlier of this reading and the cluster's journal (facts.moves.move_timing)."""
    probing = probe is not None and probe.started
    last_read = [float("-inf")]

    def reading():
        now = cluster.history.now()
        if probing and probe.out_of_service(since) and now - last_read[0] < SILENT_READ:
            return None
        last_read[0] = now
        # asked first: the destination (the node left behind may be shutting down and answer late, with
        # its own view; a clean reboot measured 345.8 s that way in a full run where FTP was back at 152.9 s)
        return cluster.state(prefer=prefer)
    return reading


def describe_reading(state) -> str:
    """What a wait on reading_while_served says it last saw."""
    return "FTP client still without service" if state is None else state.summary()


@dataclass(frozen=True)
class Movement:
    """A move of the resources that a scenario waits for: since when, towards which node."""
    since: float
    to: str
    cause: str


def await_move(cluster: Cluster, probe, movement: Movement, to: str, deadline: float) -> "MoveSeen":
    """Wait until the cluster shows every resource on `to` (the very condition the verdict uses,
    facts.placement.move_problems on crm_mon's recorded placement) and the probe is served again (it goes on
    running: it runs for the whole scenario). Returns what the check judges: the rest is on the history."""
    from bascule.judging.facts.placement import move_problems, placement
    from bascule.judging.observations import MoveSeen
    from bascule.waits import WaitTimeout
    error = unreachable = ""
    reading = reading_while_served(cluster, probe, movement.since, prefer=cluster.nodes.get(to))
    try:
        wait_until(reading, lambda s: s is not None and not move_problems(placement(s, cluster.inv), cluster.inv, to),
                   f"resources on {to}", deadline, interval=2,
                   describe=describe_reading)
    except WaitTimeout as exc:
        error = exc.last_seen
    except NodeError as exc:
        unreachable = str(exc)
    probe_name = probe.name if probe is not None and probe.started else None
    if probe_name and not error and not unreachable:
        probe.wait_back(movement.since, deadline=120)
    try:
        cluster.capture(f"après {movement.cause}", prefer=cluster.nodes.get(to))
    except Exception:  # a snapshot is a bonus; the verdict does not depend on it
        pass
    # the cluster's own account of the move, for its anatomy (a node that does not answer says so)
    journals = cluster.journals(movement.since)
    return MoveSeen(movement.since, to, movement.cause, probe_name, error, unreachable, journals)
