"""The cluster under test: its two nodes, and reading its state into values and the history.

Every reading of crm_mon or DRBD goes on the history as an observation, so the failover and
failback times in the report are read off the same timeline as the client's operations.
"""

from __future__ import annotations

import hashlib
import shlex
import time
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from bascule.cluster.ftp import FTPClient, FTPUnavailable
from bascule.cluster.nodes import Node, NodeLost, on_each, quote
from bascule.errors import NodeError
from bascule.facts.configuration import monitor_interval
from bascule.facts.placement import baseline_problems, placement
from bascule.inventory import Inventory, drbd_minor
from bascule.record.cluster_state import (
    CONTROLLER_COMMAND,
    ClusterState,
    ControllerState,
    DrbdStatus,
    StateParseError,
    parse_controller,
    parse_crm_failcount,
    parse_crm_mon,
    parse_drbdadm_status,
    parse_proc_drbd,
)
from bascule.record.history import FAIL, INFO, OBSERVATION, OK, History
from bascule.record.observations import ClusterReading, FileRead, FileWrite, NodeJournal, NodeSeen, ResourcesSeen
from bascule.waits import Waited, wait_until

T = TypeVar("T")
SNAPSHOT_DRBD_TIMEOUT = 8.0  # seconds for /proc/drbd in a snapshot


@dataclass(frozen=True)
class Snapshot:
    """What the cluster looked like at one moment, raw text kept for attachments."""

    t: float
    state: ClusterState | None
    crm_mon_xml: str
    drbd: dict[str, DrbdStatus | None]
    drbd_text: dict[str, str]
    errors: tuple[str, ...] = ()
    unreachable: dict[str, str] = field(default_factory=dict)  # node: why it did not answer


class Cluster:
    def __init__(
        self,
        inventory: Inventory,
        history: History,
        nodes: dict[str, Node] | None = None,
        keep_snapshot: Callable[[str, "Snapshot"], None] | None = None,
    ):
        self.inv = inventory
        self.history = history
        self.nodes = nodes or {spec.name: Node(spec) for spec in inventory.nodes}
        self._crm_mon_cmd: str | None = None
        # what a fault's snapshot becomes (the pytest plugin attaches it to Allure and keeps it under
        # reports/captures/): the reporting's business, handed in so that the observer does not import it
        self._keep_snapshot = keep_snapshot

    def __repr__(self) -> str:
        return f"Cluster({' + '.join(self.nodes)}, VIP {self.inv.vip})"

    @property
    def master(self) -> Node:
        return self.nodes[self.inv.preferred_master]

    @property
    def slave(self) -> Node:
        return self.nodes[self.inv.slave.name]

    def peer(self, node: Node) -> Node:
        return self.slave if node.name == self.master.name else self.master

    def close(self) -> None:
        for n in self.nodes.values():
            n.close()

    def on_every_node(self, act: Callable[[Node], T]) -> dict[str, T | Exception]:
        """act(node) on every node at once, each answer or the exception it raised, by node name: one
        reading of the cluster costs the time of the slowest node, not their sum."""
        return on_each(list(self.nodes.values()), act)

    def flush_to_disk(self) -> dict[str, float]:
        """`sync` on every node: what an FTP server has acknowledged (226) may still sit in the page
        cache, and no server, clustered or not, keeps that through a power cut. Flushing first makes
        the witness test what the cluster promises: data on disk is on DRBD's peer too (protocol C).
        Returns how long each node took; goes on the history."""
        took = {}
        for node in self.nodes.values():
            res = node.run("sync", timeout=120)
            took[node.name] = round(res.elapsed, 2)
            self.history.append(OBSERVATION, node.name, "sync", OK, took[node.name])
        return took

    # -- crm_mon ----------------------------------------------------------------------------------
    def _crm_mon_command(self, node: Node) -> str:
        if self._crm_mon_cmd is None:
            # Pacemaker 2.x: --output-as=xml; 1.1 (the lab's dc-version 1.1.14): -X (--as-xml)
            res = node.run("crm_mon --help-all 2>&1 | grep -q -- '--output-as' && echo 2 || echo 1", timeout=20)
            self._crm_mon_cmd = (
                "crm_mon --one-shot --inactive --output-as=xml"
                if res.stdout.strip() == "2"
                else "crm_mon --one-shot --inactive -X"
            )
        return self._crm_mon_cmd

    def crm_mon(
        self, node: Node | None = None, record: bool = True, prefer: Node | None = None
    ) -> tuple[str, ClusterState]:
        """Read crm_mon on `node`, or on the first node that answers (`prefer` asked first: during a
        move, the destination; a node shutting down still answers, slowly, with its own stale view)."""

        def read(n: Node) -> tuple[str, ClusterState]:
            out = n.run(self._crm_mon_command(n), timeout=45, check=False).stdout
            return out, parse_crm_mon(out)

        return self._first_answer("crm_mon", read, lambda found: self._placement(found[1]), node, prefer, record)

    def controller(self, prefer: Node | None = None) -> ControllerState:
        """The DC's controller state and the CIB's version, read on the first node that answers
        (`prefer` first); on the history as a "controller" observation (settling's facts read it)."""
        return self._first_answer(
            "controller",
            lambda n: parse_controller(n.run(CONTROLLER_COMMAND, timeout=45, check=False).stdout),
            lambda found: {"dc": found.dc, "state": found.state, "cib": found.cib_version},
            prefer=prefer,
        )

    def _first_answer(
        self,
        op: str,
        read: Callable[[Node], T],
        recorded: Callable[[T], object],
        node: Node | None = None,
        prefer: Node | None = None,
        record: bool = True,
    ) -> T:
        """read() on `node`, or on each node in turn (`prefer` first) until one answers; every attempt
        goes on the history as an `op` observation: what recorded() keeps of the answer, or the error."""
        candidates = (
            [node] if node else sorted(self.nodes.values(), key=lambda n: prefer is None or n.name != prefer.name)
        )
        last: Exception | None = None
        for n in candidates:
            t = self.history.now()
            try:
                found = read(n)
            except (NodeError, StateParseError) as exc:
                last = exc
                if record:
                    self.history.append(
                        OBSERVATION, n.name, op, INFO if isinstance(exc, NodeLost) else FAIL, error=str(exc), t=t
                    )
                continue
            if record:
                self.history.append(OBSERVATION, n.name, op, OK, recorded(found), t=t)
            return found
        raise last if last else NodeError("aucun nœud à interroger")

    def state(self, node: Node | None = None, prefer: Node | None = None) -> ClusterState:
        try:
            return self.crm_mon(node, prefer=prefer)[1]
        except StateParseError as exc:
            raise NodeError(
                f"crm_mon : {exc}", "corosync et pacemaker tournent-ils sur les nœuds ? (crm status)"
            ) from None

    def _placement(self, state: ClusterState) -> dict:
        return placement(state, self.inv)

    def fail_count(self, state: ClusterState, resource: str, node: str) -> int:
        """The resource's fail-count on a node: crm_mon's, or, where crm_mon prints no node history
        (Pacemaker 1.1.13 and older), crm_failcount's (-1 when neither says)."""
        if state.fail_counts_shown:
            return state.fail_count(resource, node)
        res = self.master.run(
            quote("crm_failcount", "-G", "-r", resource, "-N", node) + " 2>&1", timeout=30, check=False
        )
        found = parse_crm_failcount(res.stdout)
        return -1 if found is None else found

    def cib(self, scope: str) -> str:
        """One section of the CIB (`cibadmin -Q --scope SCOPE`), asked of the master, then of the
        slave; "" when neither answers."""
        for node in (self.master, self.slave):
            try:
                return node.run(quote("cibadmin", "-Q", "--scope", scope), timeout=60).stdout
            except NodeError:
                continue
        return ""

    def monitor_interval(self, resource: str) -> float | None:
        """The interval of the resource's monitor op, from the CIB (None: no monitor op, or unreadable)."""
        return monitor_interval(self.cib("configuration"), resource)

    def reading(self) -> "ClusterReading":
        """One reading of the whole cluster for a check: crm_mon, DRBD on each node, the location
        constraints. What cannot be read is said, never guessed."""
        xml, error = None, ""
        try:
            xml, _ = self.crm_mon()
        except (NodeError, StateParseError) as exc:
            error = str(exc)
        drbd, drbd_errors = {}, {}
        for name, seen in self.on_every_node(self.drbd).items():
            if isinstance(seen, (NodeError, StateParseError)):
                drbd[name], drbd_errors[name] = None, str(seen)
            elif isinstance(seen, Exception):
                raise seen
            else:
                drbd[name] = seen
        # where DRBD is not healthy, what the kernel said of it (a split brain, a refused handshake)
        kernel = {}
        for name, st in drbd.items():
            if st is not None and not st.healthy and name in self.nodes:
                try:
                    said = (
                        self.nodes[name]
                        .run("dmesg 2>/dev/null | grep -i 'drbd' | tail -4 | cut -c1-200", timeout=20, check=False)
                        .stdout
                    )
                    kernel[name] = tuple(line.strip() for line in said.splitlines() if line.strip())
                except NodeError:
                    pass  # the state itself is read: the kernel's words are a bonus
        return ClusterReading(xml, error, drbd, drbd_errors, self.cib("constraints") or None, kernel)

    # -- DRBD -------------------------------------------------------------------------------------
    def drbd_raw(self, node: Node, timeout: float = 20) -> tuple[str, DrbdStatus]:
        minor = drbd_minor(self.inv.drbd.device)
        if minor is None:  # a /dev/drbd/by-res/… path: the node knows the minor
            said = node.run(
                quote("drbdadm", "sh-minor", self.inv.drbd.resource) + " 2>/dev/null || true", timeout=20
            ).stdout
            minor = int(said.strip()) if said.strip().isdigit() else 0
        res = node.run("cat /proc/drbd 2>/dev/null || true", timeout=timeout)
        text = res.stdout
        if text.startswith("version: 9") or (
            not text.strip()
            and node.run("command -v drbdadm", check=False, timeout=20).ok
            and node.run("drbdadm --version 2>/dev/null | grep -q 'DRBD_KERNEL_VERSION=9'", check=False, timeout=20).ok
        ):
            st = node.run(quote("drbdadm", "status", self.inv.drbd.resource) + " 2>&1 || true", timeout=20).stdout
            return st, parse_drbdadm_status(st, self.inv.drbd.resource)
        return text, parse_proc_drbd(text, self.inv.drbd.resource, minor)

    def drbd(self, node: Node, record: bool = True) -> DrbdStatus:
        t = self.history.now()
        try:
            _, st = self.drbd_raw(node)
        except NodeError as exc:
            if record:
                self.history.append(OBSERVATION, node.name, "drbd", INFO, error=str(exc), t=t)
            raise
        if record:
            self.history.append(
                OBSERVATION,
                node.name,
                "drbd",
                OK,
                {
                    "summary": st.summary(),
                    "role": st.role,
                    "connection": st.connection,
                    "disk": st.disk,
                    "peer_disk": st.peer_disk,
                },
                t=t,
            )
        return st

    def snapshot(self, prefer: Node | None = None) -> Snapshot:
        """crm_mon (asked of `prefer` first: after a move, the destination) and DRBD on every node,
        all at once: one reading of the cluster costs the time of the slowest node, not their sum."""
        errors = []
        xml, state = "", None
        drbd, texts, unreachable = {}, {}, {}
        # a short deadline for /proc/drbd, which a node answers in milliseconds through its kept shell:
        # a node going down (a reboot, a power cut) would hold the snapshot, and the row, 20 s more
        readings = on_each(
            [None, *self.nodes.values()],
            lambda node: (
                self.crm_mon(prefer=prefer) if node is None else self.drbd_raw(node, timeout=SNAPSHOT_DRBD_TIMEOUT)
            ),
        )
        mon = readings.pop(None)
        for name, raw in readings.items():
            if isinstance(raw, Exception):
                drbd[name], texts[name], unreachable[name] = None, f"(injoignable : {raw})", str(raw)
                errors.append(str(raw))
            else:
                texts[name], drbd[name] = raw
        if isinstance(mon, Exception):
            errors.insert(0, str(mon))
        else:
            xml, state = mon
        return Snapshot(self.history.now(), state, xml, drbd, texts, tuple(errors), unreachable)

    def baseline_problems(self) -> list[str]:
        """What keeps the cluster from its baseline, in words (empty: at baseline)."""
        return baseline_problems(self.state(), self.drbd_everywhere(), self.inv)

    def drbd_everywhere(self, strict: bool = False) -> dict[str, DrbdStatus | None]:
        """DRBD as each node sees it, read on the nodes at once; None where a node could not be read
        (strict: the NodeError is raised instead)."""
        found = self.on_every_node(self.drbd)
        for seen in found.values():
            if isinstance(seen, Exception) and (strict or not isinstance(seen, NodeError)):
                raise seen
        return {name: None if isinstance(seen, Exception) else seen for name, seen in found.items()}

    def capture(self, label: str, prefer: Node | None = None, taken: Snapshot | None = None) -> Snapshot:
        """A snapshot (or `taken`, one already read), handed to keep_snapshot (the run attaches it to
        the current Allure step and keeps it under reports/captures/)."""
        snap = taken if taken is not None else self.snapshot(prefer)
        if self._keep_snapshot is not None:
            self._keep_snapshot(label, snap)
        return snap

    def versions(self) -> dict[str, str]:
        """The cluster's software, read from the preferred master's package database (cheap: no crm
        call, which costs seconds of a guest's CPU): for the report and Allure's environment."""
        command = (
            "dpkg-query -W -f '${Package}=${Version}\\n' pacemaker corosync crmsh drbd-utils proftpd-core "
            "proftpd-basic 2>/dev/null || rpm -q --qf '%{NAME}=%{VERSION}-%{RELEASE}\\n' pacemaker corosync crmsh "
            "drbd-utils proftpd 2>/dev/null; echo kernel=$(uname -r); "
            "echo drbd-kernel=$(sed -n 's/^version: \\([^ ]*\\).*/\\1/p' /proc/drbd 2>/dev/null); "
            "echo debian=$(cat /etc/debian_version 2>/dev/null)"
        )
        res = self.master.run(command, timeout=30, check=False)
        found = {}
        for line in res.stdout.splitlines():
            name, _, version = line.partition("=")
            if name and version.strip() and "no packages found" not in version:
                found[name.strip()] = version.strip()
        return found

    def journals(self, since: float, unreachable: dict[str, str] | None = None) -> tuple:
        """Every node's controller journal from `since` on, read on the nodes at once; a node in
        `unreachable` (name: why, seen just before) is not asked again: its journal says why."""
        unreachable = unreachable or {}
        t0 = self.history.started_at.timestamp()
        return tuple(
            self.on_every_node(
                lambda n: (
                    NodeJournal(n.name, "", 0.0, 0.0, t0, error=unreachable[n.name])
                    if n.name in unreachable
                    else self.journal(n, since)
                )
            ).values()
        )

    def journal(self, node: Node, since: float):
        """The node's Pacemaker controller journal from history time `since` on (the cluster's own
        account of the operations it ran), with the node's clock offset to put it on the history: a
        NodeJournal, whose error says why when it could not be read."""
        t0 = self.history.started_at.timestamp()
        try:
            best = None
            for _ in range(2):  # the quicker of two readings bounds the offset better
                before = time.time()
                res = node.run("date +%s.%N", timeout=20)
                after = time.time()
                reading = (float(res.stdout.strip()) - (before + after) / 2, (after - before) / 2)
                best = reading if best is None or reading[1] < best[1] else best
            offset, uncertainty = best
            start = int(t0 + since + offset) - 2
            res = node.run(
                f"journalctl -o short-unix --no-pager -q -t pacemaker-controld --since @{start} "
                "| grep -E 'Requesting local execution|Result of' || true",
                timeout=60,
            )
            return NodeJournal(node.name, res.stdout, offset, uncertainty, t0)
        except (NodeError, ValueError) as exc:
            return NodeJournal(node.name, "", 0.0, 0.0, t0, error=str(exc))

    # -- waiting ----------------------------------------------------------------------------------
    def wait_state(
        self,
        what: str,
        holds: Callable[[ClusterState], bool],
        deadline: float,
        interval: float = 1.0,
        prefer: Node | None = None,
    ) -> Waited[ClusterState]:
        """Poll crm_mon until holds(state), recording each reading on the history."""
        return wait_until(
            lambda: self.state(prefer=prefer), holds, what, deadline, interval, describe=lambda s: s.summary()
        )

    def wait_drbd(
        self, node: Node, what: str, holds: Callable[[DrbdStatus], bool], deadline: float, interval: float = 1.0
    ) -> Waited[DrbdStatus]:
        return wait_until(lambda: self.drbd(node), holds, what, deadline, interval, describe=lambda s: s.summary())


# --- what a student checks by hand on a node: ifconfig, ps, the mount of /home ------------------


def node_seen(cluster: Cluster, node: Node) -> NodeSeen:
    inv = cluster.inv
    mnt = inv.drbd.mount_point
    out = node.run(
        "ip -o -4 addr show | sed 's/^/ip=/'; "
        "pgrep -x proftpd >/dev/null && echo ftp=1 || echo ftp=0; "
        "(pgrep -x apache2 || pgrep -x httpd) >/dev/null && echo web=1 || echo web=0; "
        f"echo home=$(findmnt -n -o SOURCE --mountpoint {mnt} 2>/dev/null)",
        timeout=30,
    ).stdout
    ip_lines = "\n".join(line[3:] for line in out.splitlines() if line.startswith("ip="))
    kv = dict(line.split("=", 1) for line in out.splitlines() if "=" in line and not line.startswith("ip="))
    return NodeSeen(node.name, ip_lines, kv.get("ftp") == "1", kv.get("web") == "1", kv.get("home", "").strip())


def resources_seen(cluster: Cluster, client: FTPClient, on: Node) -> ResourcesSeen:
    """« vérifier que les ressources sont bien activées (crm status, ifconfig, ps, Filezilla) »: crm_mon,
    what each node shows, and the home as the FTP client lists it through the VIP."""
    xml, _ = cluster.crm_mon()
    seen = {n.name: node_seen(cluster, n) for n in cluster.nodes.values()}
    try:
        home, server = client.listing_and_server(".")
        return ResourcesSeen(xml, seen, tuple(home), "", server, on.name)
    except FTPUnavailable as exc:  # what the client saw
        return ResourcesSeen(xml, seen, None, exc.what, None, on.name)


def home_source(node: Node, path: str) -> str:
    """The device mounted where `path` lives (findmnt), "" when it cannot be told."""
    return node.run(f"findmnt -n -o SOURCE --target {shlex.quote(path)} 2>/dev/null || true", timeout=20).stdout.strip()


def write_as_user(cluster: Cluster, node: Node, path: str, content: str) -> FileWrite:
    """What the lab's `touch /home/user/Documents/essai1` does, as the FTP user, with known content
    (so that the copy on the other node can be compared byte for byte)."""
    user = cluster.inv.ftp.user
    data = content.encode()
    cmd = (
        f"printf %s {shlex.quote(content)} | runuser -u {shlex.quote(user)} -- sh -c "
        f"{shlex.quote('cat > ' + shlex.quote(path))}"
    )
    res = node.run(cmd, timeout=30, check=False)
    src = home_source(node, path.rsplit("/", 1)[0])
    if not res.ok:
        said = (res.stderr or res.stdout).strip()
        return FileWrite(node.name, path, None, said.splitlines()[-1] if said else f"code {res.exit_code}", src)
    found = node.sha256(path)
    if found != hashlib.sha256(data).hexdigest():
        return FileWrite(node.name, path, None, "le contenu relu diffère de celui écrit", src)
    return FileWrite(node.name, path, found, "", src)


def read_on(cluster: Cluster, node: Node, name: str, path: str, expected: str | None) -> FileRead:
    """A witness file read on a node's DRBD mount; what cannot be read is said."""
    try:
        return FileRead(name, node.name, home_source(node, path.rsplit("/", 1)[0]), node.sha256(path), "", expected)
    except NodeError as exc:
        return FileRead(name, node.name, "", None, str(exc), expected)
