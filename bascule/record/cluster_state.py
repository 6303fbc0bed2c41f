"""The cluster's state as values, parsed from machine-readable output only.

crm_mon's XML (Pacemaker 2.x `crm_mon --output-as=xml`: Promoted/Unpromoted; Pacemaker 1.1
`crm_mon -X`, as in the lab's dc-version 1.1.14: Master/Slave) and DRBD's status (8.4: /proc/drbd;
9: `drbdadm status`). No command is run here: bascule.cluster.nodes runs them, this module reads them.
"""

from __future__ import annotations

import ipaddress
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

# Pacemaker 1.1 names the roles of a multi-state resource Master/Slave, 2.1 Promoted/Unpromoted.
_ROLE = {
    "Master": "Promoted",
    "Slave": "Unpromoted",
    "Promoted": "Promoted",
    "Unpromoted": "Unpromoted",
    "Started": "Started",
    "Stopped": "Stopped",
}


class StateParseError(ValueError):
    """The output is not what crm_mon or DRBD prints."""


@dataclass(frozen=True)
class NodeStatus:
    name: str
    online: bool
    standby: bool
    is_dc: bool
    unclean: bool = False
    maintenance: bool = False


@dataclass(frozen=True)
class ResourceStatus:
    id: str
    agent: str
    role: str  # Started | Stopped | Promoted | Unpromoted | Starting ...
    nodes: tuple[str, ...]  # where it is active
    failed: bool
    managed: bool
    parent: str | None = None  # the group or clone it belongs to


@dataclass(frozen=True)
class FailedAction:
    resource: str
    node: str
    task: str
    exit_status: str
    exit_code: int
    exit_reason: str = ""


@dataclass(frozen=True)
class ClusterState:
    nodes: tuple[NodeStatus, ...]
    resources: tuple[ResourceStatus, ...]
    failed_actions: tuple[FailedAction, ...]
    fail_counts: tuple[tuple[str, str, int], ...]  # (node, resource, count)
    dc: str | None
    version: str
    with_quorum: bool
    maintenance_mode: bool = False  # the cluster property: Pacemaker manages nothing
    # crm_mon printed a <node_history> (the fail-counts' only place): Pacemaker 1.1.13 and older
    # never do, in XML; 1.1.14 and later always do (tools/crm_mon.c: "XML output always prints
    # everything"). Without it, fail-counts are read with crm_failcount (Cluster.fail_count).
    fail_counts_shown: bool = True

    def node(self, name: str) -> NodeStatus | None:
        return next((n for n in self.nodes if n.name == name), None)

    def instances(self, rid: str) -> tuple[ResourceStatus, ...]:
        """Every instance of a primitive (a clone has one per node) or the members of a group."""
        return tuple(r for r in self.resources if r.id == rid or r.parent == rid)

    def where(self, rid: str, role: str | None = None) -> tuple[str, ...]:
        """Nodes where rid (or its instances) is active, optionally in one role."""
        out: list[str] = []
        for r in self.instances(rid):
            if role is None or r.role == role:
                out.extend(n for n in r.nodes if n not in out)
        return tuple(out)

    def promoted_on(self, rid: str) -> tuple[str, ...]:
        return self.where(rid, "Promoted")

    def failures_of(self, rid: str) -> tuple[FailedAction, ...]:
        """Failed actions of rid or of its instances (a clone's failures are logged under its
        primitive's id, « serviceMySQL » or « serviceMySQL:0 »)."""
        ids = {rid} | {r.id for r in self.instances(rid)}
        return tuple(f for f in self.failed_actions if f.resource.split(":")[0] in ids)

    def started(self, rid: str) -> bool:
        inst = self.instances(rid)
        return bool(inst) and all(r.role in ("Started", "Promoted", "Unpromoted") and r.nodes for r in inst)

    def fail_count(self, resource: str, node: str | None = None) -> int:
        return sum(c for n, r, c in self.fail_counts if r == resource and (node is None or n == node))

    @property
    def online_nodes(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes if n.online)

    def summary(self) -> str:
        """One line, in the lab's words, for progress lines and reports."""
        parts = []
        for n in self.nodes:
            state = "online" if n.online else "offline"
            if n.standby:
                state += ", standby"
            parts.append(f"{n.name} {state}")
        seen = set()
        for r in self.resources:
            key = r.parent if r.parent else r.id
            if key in seen:
                continue
            seen.add(key)
            members = self.instances(key) if r.parent else (r,)
            desc = ", ".join(
                f"{m.role}@{'+'.join(m.nodes) or '-'}" for m in members if m.role != "Stopped" or not m.parent
            )
            parts.append(f"{key}: {desc or 'Stopped'}")
        if self.failed_actions:
            parts.append(
                "échecs: "
                + ", ".join(f"{f.resource} {f.task} sur {f.node} ({f.exit_status})" for f in self.failed_actions)
            )
        return "; ".join(parts)


def _bool(el: ET.Element, name: str, default: bool = False) -> bool:
    v = el.get(name)
    return default if v is None else v.lower() == "true"


def _agent(el: ET.Element) -> str:
    # 1.1 writes ocf::heartbeat:IPaddr2, 2.x ocf:heartbeat:IPaddr2
    return (el.get("resource_agent") or "").replace("::", ":")


def _resource(el: ET.Element, parent: str | None) -> ResourceStatus:
    nodes = tuple(n.get("name", "") for n in el.findall("node"))
    role = _ROLE.get(el.get("role", ""), el.get("role", "Unknown"))
    if not _bool(el, "active", default=bool(nodes)):
        nodes = ()
    return ResourceStatus(
        id=el.get("id", "?"),
        agent=_agent(el),
        role=role,
        nodes=nodes,
        failed=_bool(el, "failed"),
        managed=_bool(el, "managed", True),
        parent=parent,
    )


def _walk(container: ET.Element, parent: str | None, out: list[ResourceStatus]) -> None:
    for el in container:
        if el.tag == "resource":
            out.append(_resource(el, parent))
        elif el.tag in ("group", "clone", "bundle"):
            # a group inside a clone keeps the clone as parent: the lab's ids are flat enough
            _walk(el, el.get("id") if parent is None else parent, out)


def parse_crm_mon(xml_text: str) -> ClusterState:
    """Parse `crm_mon --output-as=xml` (2.x) or `crm_mon -X` (1.1)."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise StateParseError(f"crm_mon did not print XML ({exc})") from None
    if root.tag not in ("pacemaker-result", "crm_mon"):
        raise StateParseError(f"unexpected crm_mon XML root <{root.tag}>")
    status = root.find("status")
    if status is not None and status.get("code") not in (None, "0"):
        raise StateParseError(f"crm_mon failed: {status.get('message', '')} (code {status.get('code')})")
    summary = root.find("summary")
    dc_el = summary.find("current_dc") if summary is not None else None
    dc = dc_el.get("name") if dc_el is not None and _bool(dc_el, "present") else None
    version = dc_el.get("version", "") if dc_el is not None else (root.get("version") or "")
    quorum = _bool(dc_el, "with_quorum") if dc_el is not None else False
    options = summary.find("cluster_options") if summary is not None else None
    maintenance_mode = _bool(options, "maintenance-mode") if options is not None else False

    nodes = tuple(
        NodeStatus(
            name=n.get("name", "?"),
            online=_bool(n, "online"),
            standby=_bool(n, "standby"),
            is_dc=_bool(n, "is_dc"),
            unclean=_bool(n, "unclean"),
            maintenance=_bool(n, "maintenance"),
        )
        for n in root.findall("nodes/node")
    )
    resources: list[ResourceStatus] = []
    res_el = root.find("resources")
    if res_el is not None:
        _walk(res_el, None, resources)

    failed = []
    for f in root.findall("failures/failure"):
        op_key = f.get("op_key", "")
        # op_key is RESOURCE_TASK_INTERVAL; a clone instance may carry ":0"
        rsc = re.sub(r"_(start|stop|monitor|promote|demote|notify|migrate_to|migrate_from|reload)_\d+$", "", op_key)
        failed.append(
            FailedAction(
                resource=rsc.split(":")[0],
                node=f.get("node", "?"),
                task=f.get("task", "?"),
                exit_status=f.get("exitstatus", ""),
                exit_code=int(f.get("exitcode", "-1") or -1),
                # Pacemaker 1.1 prints exitreason="none" when the agent gave none
                exit_reason=_reason(f.get("exitreason", "")),
            )
        )
    counts = []
    for n in root.findall("node_history/node"):
        for rh in n.findall("resource_history"):
            c = rh.get("fail-count")
            if c and c not in ("0",):
                value = 1000000 if c == "INFINITY" else int(c)
                counts.append((n.get("name", "?"), rh.get("id", "?").split(":")[0], value))
    return ClusterState(
        nodes=nodes,
        resources=tuple(resources),
        failed_actions=tuple(failed),
        fail_counts=tuple(counts),
        dc=dc,
        version=version,
        with_quorum=quorum,
        maintenance_mode=maintenance_mode,
        fail_counts_shown=root.find("node_history") is not None,
    )


def parse_crm_failcount(text: str) -> int | None:
    """`crm_failcount -G -r RES -N NODE`: « scope=status  name=fail-count-RES value=N » (1.1 and
    2.x); INFINITY as Pacemaker's 1000000; None when no value was printed."""
    m = re.search(r"\bvalue=(\d+|INFINITY)\b", text)
    if not m:
        return None
    return 1000000 if m.group(1) == "INFINITY" else int(m.group(1))


def _reason(text: str) -> str:
    return "" if text == "none" else text


# --- DRBD --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrbdStatus:
    """One node's view of one DRBD resource."""

    resource: str
    configured: bool
    role: str  # Primary | Secondary | Unknown
    peer_role: str
    connection: str  # Connected | StandAlone | WFConnection | SyncSource | ... (8.4 names)
    disk: str  # UpToDate | Inconsistent | Diskless ...
    peer_disk: str
    sync_percent: float | None = None
    version: str = ""

    @property
    def healthy(self) -> bool:
        return self.connection == "Connected" and self.disk == "UpToDate" and self.peer_disk == "UpToDate"

    def summary(self) -> str:
        if not self.configured:
            return f"{self.resource} non configurée"
        s = f"{self.role}/{self.peer_role} {self.connection} {self.disk}/{self.peer_disk}"
        if self.sync_percent is not None:
            s += f" sync {self.sync_percent:.1f}%"
        return s


_PROC_LINE = re.compile(r"^\s*(?P<minor>\d+): cs:(?P<cs>\S+)(?: ro:(?P<ro>\S+))?(?: ds:(?P<ds>\S+))?", re.M)
_SYNC = re.compile(r"sync'ed:\s*(?P<pct>[\d.]+)%")


def parse_proc_drbd(text: str, resource: str, minor: int = 0) -> DrbdStatus:
    """DRBD 8.4's /proc/drbd, for the device of the given minor (/dev/drbd0 → 0)."""
    version = ""
    m = re.search(r"^version: (\S+)", text, re.M)
    if m:
        version = m.group(1)
    elif not text.strip():
        return DrbdStatus(resource, False, "Unknown", "Unknown", "Unconfigured", "Diskless", "DUnknown")
    else:
        raise StateParseError("not the text of /proc/drbd")
    for line in _PROC_LINE.finditer(text):
        if int(line.group("minor")) != minor:
            continue
        cs = line.group("cs")
        if cs == "Unconfigured" or not line.group("ro"):
            return DrbdStatus(resource, False, "Unknown", "Unknown", cs, "Diskless", "DUnknown", version=version)
        role, peer_role = (line.group("ro").split("/") + ["Unknown"])[:2]
        disk, peer_disk = (line.group("ds").split("/") + ["DUnknown"])[:2]
        rest = text[line.end() :]
        nxt = _PROC_LINE.search(rest)
        block = rest[: nxt.start()] if nxt else rest
        sm = _SYNC.search(block)
        return DrbdStatus(
            resource, True, role, peer_role, cs, disk, peer_disk, float(sm.group("pct")) if sm else None, version
        )
    return DrbdStatus(resource, False, "Unknown", "Unknown", "Unconfigured", "Diskless", "DUnknown", version=version)


_OUT_OF_SYNC = re.compile(r"\b(?:oos|out-of-sync):(\d+)")


def parse_out_of_sync(text: str) -> int | None:
    """DRBD's own count of blocks the peer does not have, in KiB: `oos:` in 8.4's /proc/drbd,
    `out-of-sync:` in 9's `drbdsetup status --statistics`; None when neither says it."""
    found = _OUT_OF_SYNC.findall(text)
    return sum(int(n) for n in found) if found else None


# DRBD 9 says "replication:Established" where 8.4 says "Connected"; keep the 8.4 words.
_REPL_TO_84 = {"Established": "Connected"}


def parse_drbdadm_status(text: str, resource: str) -> DrbdStatus:
    """DRBD 9's `drbdadm status RESOURCE` (two nodes: one peer)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return DrbdStatus(resource, False, "Unknown", "Unknown", "Unconfigured", "Diskless", "DUnknown")
    head = lines[0].split()
    if head[0] != resource:
        if "No such resource" in text or "not defined" in text:
            return DrbdStatus(resource, False, "Unknown", "Unknown", "Unconfigured", "Diskless", "DUnknown")
        raise StateParseError(f"drbdadm status does not describe {resource}")
    fields: dict[str, str] = {}
    peer: dict[str, str] = {}
    in_peer = False
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        words = line.split()
        if i > 0 and indent == 2 and not words[0].startswith(("disk:", "volume:")):
            in_peer = True  # "  peername role:Secondary" or "  peername connection:StandAlone"
            words = words[1:]
        for w in words:
            if ":" in w:
                k, v = w.split(":", 1)
                (peer if in_peer else fields)[k] = v
    # A connected peer shows no "connection:" and no "replication:" while all is well
    # (Established); a sync shows replication:SyncSource/SyncTarget; a cut shows connection:...
    if not peer:
        connection = "StandAlone"
    elif "connection" in peer:
        connection = peer["connection"]
        if connection == "Connected" and peer.get("replication", "Established") != "Established":
            connection = peer["replication"]
    else:
        connection = _REPL_TO_84.get(peer.get("replication", "Established"), peer.get("replication", ""))
    done = peer.get("done")
    return DrbdStatus(
        resource,
        True,
        fields.get("role", "Unknown"),
        peer.get("role", "Unknown"),
        connection,
        fields.get("disk", "DUnknown"),
        peer.get("peer-disk", "DUnknown"),
        float(done) if done else None,
        version="9",
    )


# --- the virtual IP on a node's interfaces (`ip -o -4 addr show`) -----------------------------


@dataclass(frozen=True)
class VipInterface:
    interface: str  # "" when the VIP is on no interface
    prefix: int | None  # the VIP's prefix length as configured (cidr_netmask)
    on_network: bool  # does that interface carry another address of the VIP's network?
    neighbours: tuple[str, ...] = ()  # the interface's other addresses, for the message


def parse_vip_interface(ip_addr_text: str, vip: str) -> VipInterface:
    """Where IPaddr2 put the VIP. An interface that holds no other address of the VIP's network is
    the wrong NIC (a nic= naming the administration network): the node sends its gratuitous ARP
    there, and clients on the lab's network only find the VIP again by luck of ARP."""
    addrs: list[tuple[str, ipaddress.IPv4Interface]] = []
    for line in ip_addr_text.splitlines():
        m = re.match(r"\s*\d+:\s+(\S+?)(?:@\S+)?\s+inet\s+(\d+\.\d+\.\d+\.\d+/\d+)", line)
        if m:
            try:
                addrs.append((m.group(1), ipaddress.IPv4Interface(m.group(2))))
            except ValueError:
                continue  # not an address ip(8) would print; nothing to judge
    target = ipaddress.IPv4Address(vip)
    for iface, ifa in addrs:
        if ifa.ip == target:
            others = [a for i, a in addrs if i == iface and a.ip != target]
            ok = any(target in a.network for a in others)
            return VipInterface(iface, ifa.network.prefixlen, ok, tuple(str(a) for a in others))
    return VipInterface("", None, False)


# --- the cluster's own account of its operations (Pacemaker's controller, in the journal) --------


@dataclass(frozen=True)
class ClusterOperation:
    """One resource operation as the node's controller logged it, on the node's clock (epoch s)."""

    node: str
    resource: str
    task: str  # start, stop, promote, demote, notify, monitor
    start: float
    end: float | None  # None: its result was not logged (still running, or the node went away)
    result: str = ""

    @property
    def seconds(self) -> float | None:
        return None if self.end is None else self.end - self.start

    @property
    def ok(self) -> bool:
        """Its result was logged and was a success (Pacemaker writes « ok »)."""
        return self.end is not None and self.result.strip().lower() == "ok"


# Pacemaker 2.x logs these two notices for every operation it runs on its node (1.1 logs other
# words: nothing is parsed there, and the anatomy says so)
_REQUEST = re.compile(
    r"^(\d+\.\d+) \S+ pacemaker-controld\[\d+\]:\s+\w+: Requesting local execution of (\w+) "
    r"operation for (\S+) on (\S+)"
)
_RESULT = re.compile(
    r"^(\d+\.\d+) \S+ pacemaker-controld\[\d+\]:\s+\w+: Result of (\w+) operation for (\S+) "
    r"on (\S+): ([^|]+?)\s*(?:\||$)"
)


def parse_controld_journal(text: str) -> list[ClusterOperation]:
    """Operations from `journalctl -o short-unix -t pacemaker-controld` lines: each request paired
    with the next result of the same task on the same resource."""
    open_: dict[tuple[str, str, str], tuple[float, str]] = {}
    ops: list[ClusterOperation] = []
    for line in text.splitlines():
        m = _REQUEST.match(line)
        if m:
            t, task, rsc, node = float(m[1]), m[2], m[3], m[4]
            open_[(node, rsc, task)] = (t, node)
            continue
        m = _RESULT.match(line)
        if m:
            t, task, rsc, node, result = float(m[1]), m[2], m[3], m[4], m[5]
            started = open_.pop((node, rsc, task), None)
            if started is not None:
                ops.append(ClusterOperation(node, rsc, task, started[0], t, result.strip()))
    ops.extend(ClusterOperation(node, rsc, task, t, None) for (node, rsc, task), (t, _) in open_.items())
    return sorted(ops, key=lambda o: o.start)


# --- the controller: is a transition in flight? ------------------------------------------------

# One command for one reading: the DC's name (crmadmin -D, the same words in 1.1 and 2.x), its
# controller's state (S_IDLE when no transition is in flight) and the CIB's version, which every
# operation result and every change of configuration bumps (so that two idle readings with the
# same version say that nothing happened between them).
CONTROLLER_COMMAND = (
    "dc=$(crmadmin -D 2>/dev/null | sed -n 's/.*: *//p' | tail -1); echo \"dc=$dc\"; "
    'echo "state=$(crmadmin -S "$dc" 2>&1 | grep -o \'S_[A-Z_]*\' | head -1)"; '
    "echo \"cib=$(cibadmin -Q 2>/dev/null | head -c 2000 | grep -o '<cib [^>]*>' | head -1)\""
)


@dataclass(frozen=True)
class ControllerState:
    dc: str  # "" when no DC was named (an election)
    state: str  # S_IDLE, S_TRANSITION_ENGINE, S_POLICY_ENGINE, S_ELECTION…; "" when unreadable
    cib_version: str  # "admin_epoch.epoch.num_updates", "" when unreadable

    @property
    def idle(self) -> bool:
        return self.state == "S_IDLE" and bool(self.cib_version)


def parse_controller(text: str) -> ControllerState:
    """What CONTROLLER_COMMAND printed."""
    values = dict(
        line.split("=", 1)
        for line in text.splitlines()
        if "=" in line and line.split("=", 1)[0] in ("dc", "state", "cib")
    )
    root = values.get("cib", "")
    attrs = dict(re.findall(r'\b(admin_epoch|epoch|num_updates)="(\d+)"', root))
    version = ".".join(attrs[k] for k in ("admin_epoch", "epoch", "num_updates")) if len(attrs) == 3 else ""
    state = values.get("state", "").strip()
    return ControllerState(values.get("dc", "").strip(), state if re.fullmatch(r"S_[A-Z_]+", state) else "", version)
