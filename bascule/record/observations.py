"""What the steps observed, as typed values that a check judges.

Every value here is a frozen dataclass of plain data (text, numbers, raw crm_mon XML, DRBD status),
so that it can be written to the history and read back exactly: `bascule rejuger` judges a saved run
again, offline, from the very observations the live run judged. The live run itself judges the value
read back from its JSON form (`roundtrip`), so that both judgements see the same bytes.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from bascule.record.cluster_state import DrbdStatus

# --- the cluster at the start and after a scenario -----------------------------------------------


@dataclass(frozen=True)
class FtpAccess:
    """The FTP account on the VIP, tried before any fault: log in, list, write in Documents."""

    logged_in: bool
    error: str = ""  # why it could not log in or list
    login_refused: bool = False  # 530: the account's password (or the server's user list) is wrong
    wrote: bool = False
    write_error: str = ""
    served_by: str | None = None


@dataclass(frozen=True)
class ClusterReading:
    """One reading of the whole cluster: crm_mon XML (None: unreadable), DRBD on each node, the
    location constraints of the CIB, the cluster's maintenance-mode property."""

    crm_mon_xml: str | None
    crm_mon_error: str = ""
    drbd: dict[str, DrbdStatus | None] = field(default_factory=dict)
    drbd_errors: dict[str, str] = field(default_factory=dict)
    constraints_xml: str | None = None  # `cibadmin -Q --scope constraints`
    # the kernel's last words about DRBD (dmesg), read on each node whose DRBD is not healthy
    drbd_kernel: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class StartState:
    """« État du cluster au départ »: the cluster as bascule found it, before any row."""

    reading: ClusterReading
    ftp: FtpAccess | None  # None: not tried (the cluster was unreadable)
    ftp_side: FtpSide | None = None  # read on the master when the FTP account could not log in or write


@dataclass(frozen=True)
class Repair:
    """Something bascule did to the cluster after a scenario, and why."""

    what: str  # in the lab's words: « crm resource cleanup serviceFTP »
    why: str  # what was seen: « action en échec : serviceFTP monitor sur intralab01 »
    own: bool  # undoing bascule's own fault (or what that fault is expected to leave behind)


@dataclass(frozen=True)
class Audit:
    """After a scenario: what bascule undid, what else it had to repair, and whether the cluster
    came back to its baseline (CTS's audits)."""

    repairs: tuple[Repair, ...]
    baseline_after: tuple[str, ...]  # what still kept the cluster from its baseline ("": at baseline)
    error: str = ""  # the audit could not run (no node answered)
    waited: float = 0.0
    # the CIB's configuration when the scenario began and after the audit: a scenario must leave
    # the student's resources and constraints as it found them ("": not read)
    config_before: str = ""
    config_after: str = ""


# --- the rows of Q2 and Q5 ------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeSeen:
    """What a student checks by hand on one node: ifconfig, ps, the mount of /home."""

    node: str
    ip_addr: str  # `ip -o -4 addr show`
    proftpd: bool
    apache: bool
    home_source: str  # the device mounted on /home ("" when nothing is)


@dataclass(frozen=True)
class ResourcesSeen:
    """« vérifier que les ressources sont bien activées (crm status, ifconfig, ps, Filezilla) »."""

    crm_mon_xml: str
    nodes: dict[str, NodeSeen]
    ftp_listing: tuple[str, ...] | None  # the home as the FTP client lists it (None: failed)
    ftp_error: str = ""
    served_by: str | None = None
    on: str = ""  # the node the Then step names: where everything must be active


@dataclass(frozen=True)
class FileWrite:
    """The lab's `touch /home/user/Documents/essai1`, done as the user with known content."""

    node: str
    path: str
    sha256: str | None  # None: the write failed
    error: str = ""
    home_source: str = ""
    on: str = ""  # the node the Then step names ("" : the node written on)
    ftp_side: FtpSide | None = None  # read on the node when the write failed


@dataclass(frozen=True)
class FileRead:
    """A witness file read on a node, on the DRBD mount."""

    name: str
    node: str
    home_source: str
    sha256: str | None  # None: absent
    error: str = ""  # the node could not be read
    expected_sha256: str | None = None  # what was written (None: it could not be written)
    on: str = ""  # the node the Then step names ("" : the node read on)


@dataclass(frozen=True)
class FtpWitness:
    """A file written through the FTP client: where, and its checksum."""

    path: str
    sha256: str


@dataclass(frozen=True)
class WitnessRead:
    """A witness file read back through the FTP client on the VIP."""

    path: str
    expected: str
    found: str | None
    size: int | None = None
    error: str = ""


@dataclass(frozen=True)
class FtpTest:
    """« Tester l'accès en écriture au serveur FTP »: upload, download, compare; earlier files too."""

    path: str
    sha256: str
    size: int
    read_back: str | None = None
    served_by: str | None = None
    earlier: tuple[WitnessRead, ...] = ()
    error: str = ""
    ftp_side: FtpSide | None = None  # read on the node that should serve when the test failed


@dataclass(frozen=True)
class NodeJournal:
    """A node's controller journal over a move (journalctl -o short-unix -t pacemaker-controld), with
    how to put its clock on the history's: history t = node epoch - offset - t0."""

    node: str
    text: str
    offset: float  # node clock minus this machine's clock, seconds
    uncertainty: float  # half the time the clock reading took: the offset is known to ± this
    t0: float  # this machine's epoch at the history's t = 0
    error: str = ""  # why it could not be read ("" when it was)


@dataclass(frozen=True)
class ConfigTest:
    """A daemon's own configuration test on a node (`apache2ctl configtest`, `proftpd -t`), run where
    its resource failed: its exit code and its last lines."""

    resource: str
    node: str
    command: str
    exit_code: int | None  # None: the test could not be run (the node did not answer)
    output: str


@dataclass(frozen=True)
class FtpSide:
    """What a user's FTP session depends on, read on the node that serves (or should serve): who
    listens on the FTP port, whether the FTP server's own configuration test passes, the FTP account
    as the system sees it, and the file system behind its home. Passwords are compared, never kept:
    each node's hash is digested there, the digests compared in memory, only the answer kept."""

    node: str
    listening: tuple[str, ...] = ()  # local addresses listening on the FTP port (ss), e.g. "0.0.0.0:21"
    other_ftp_ports: tuple[str, ...] = ()  # addresses where an FTP server listens on another port
    config_exit: int | None = None  # proftpd -t
    config_said: str = ""
    shell: str = ""
    shell_allowed: bool | None = None  # the account's shell is in /etc/shells (proftpd's RequireValidShell)
    # getent passwd answered, and found the account (True) or not (False); None: not read
    account_found: bool | None = None
    account_found_elsewhere: bool | None = None  # the same, on the other node
    same_account_on_both: bool | None = None  # uid, home and shell the same on the other node
    password_accepted: bool | None = None  # this node's /etc/shadow accepts the inventory's FTP password
    password_accepted_elsewhere: bool | None = None  # the other node's does
    home_source: str = ""
    home_options: str = ""
    home_use_percent: int | None = None
    home_available_kib: int | None = None
    documents_owner: str = ""  # user:group
    documents_mode: str = ""
    auth_log: tuple[str, ...] = ()  # the FTP server's and the system's log lines of the last 10 min about a refusal
    # the node's own view: an FTP session from the node to its own server (("lo" | "vip", "ADDR ok" or
    # "ADDR STEP : ERROR")), with a listing and a small transfer; () when not tried
    own_sessions: tuple[tuple[str, str], ...] = ()
    filters: tuple[str, ...] = ()  # packet filters on the node that drop or reject (iptables, nftables, tc)
    settings: tuple[str, ...] = ()  # the FTP server's settings that bear on sessions (limits, passive ports…)
    error: str = ""


@dataclass(frozen=True)
class Evidence:
    """What bascule read on the cluster when a wait ended without its outcome, for the diagnosis:
    crm_mon (failed actions, fail-counts, where things are), the daemons' configuration tests where
    their resources failed, the location constraints."""

    crm_mon_xml: str | None
    config_tests: tuple[ConfigTest, ...] = ()
    constraints_xml: str | None = None
    error: str = ""  # what could not be read
    ftp: FtpSide | None = None  # the FTP side, on the node that should serve


@dataclass(frozen=True)
class MoveSeen:
    """A move of the resources, judged from the history from `since` on: the crm_mon readings and
    the probe's operations are there."""

    since: float
    to: str  # the node that the Then step names
    cause: str
    probe: str | None  # the probe's process name in the history (None: no probe ran)
    wait_error: str = ""  # the wait for the placement timed out: what was last seen
    unreachable: str = ""  # the cluster could not be read at all
    journals: tuple[NodeJournal, ...] = ()  # each node's controller journal over the move (its anatomy)
    settled: str = (
        ""  # the wait ended because the cluster settled without the move: why (« aucune transition depuis … »)
    )
    evidence: Evidence | None = None  # read on the cluster when the move did not happen, for the diagnosis


@dataclass(frozen=True)
class Takeover:
    """The service moved away from a node whose FTP could not restart, with its data."""

    move: MoveSeen
    witnesses: tuple[WitnessRead, ...]


@dataclass(frozen=True)
class RestartSeen:
    """proftpd killed: did Pacemaker restart it where it was (fail-count + 1), and when did the
    client get the service back?"""

    since: float
    resource: str
    node: str
    fail_count_before: int
    probe: str
    restarted: bool  # crm_mon showed it Started on the node with a higher fail-count
    fail_count_after: int | None = None
    wait_error: str = ""
    deadline: float = 0.0
    still_started_unseen: bool = False  # after the deadline: still Started, fail-count unchanged
    settled: str = ""  # the wait ended because the cluster settled: why
    evidence: Evidence | None = None  # read on the cluster when the restart did not happen, for the diagnosis


# --- the extra cases: cable and split brain --------------------------------------------------------


@dataclass(frozen=True)
class CableTakeover:
    since: float
    node: str  # the node that must serve the VIP
    probe: str
    views: dict[str, str | None]  # crm_mon XML as each node sees the cluster (None: unreachable)
    journals: tuple[NodeJournal, ...] = ()  # each node's controller journal over the failover (its anatomy)


@dataclass(frozen=True)
class CableOutcome:
    reformed: bool
    drbd: dict[str, DrbdStatus] = field(default_factory=dict)
    new_split_brain_lines: dict[str, tuple[str, ...]] = field(default_factory=dict)
    wait_error: str = ""
    unreachable: str = ""


@dataclass(frozen=True)
class SplitBrainDetection:
    detected: bool
    elapsed: float = 0.0
    new_lines: dict[str, tuple[str, ...]] = field(default_factory=dict)
    drbd: dict[str, DrbdStatus] = field(default_factory=dict)
    wait_error: str = ""


@dataclass(frozen=True)
class SplitBrainResolution:
    drbd: dict[str, DrbdStatus]
    master_took_back_error: str  # "" when the master holds DRBD and /home again
    kept: FileRead
    dropped: FileRead


# --- configuration: Q6/Q7 and conformance -------------------------------------------------------


@dataclass(frozen=True)
class SaveSeen:
    ok: bool
    saved_text: str
    error: str = ""


@dataclass(frozen=True)
class RestoreSeen:
    before_xml: str
    deleted: tuple[str, ...]
    still_there: tuple[str, ...]
    load_ok: bool
    load_error: str
    restored_xml: str
    clone: str
    clone_back_after: float | None = None
    clone_wait_error: str = ""


@dataclass(frozen=True)
class ConfigurationLine:
    line: str  # the lab's line, with the inventory's names
    configuration_xml: str  # `cibadmin -Q --scope configuration`


# --- JSON, both ways ------------------------------------------------------------------------------

OBSERVATION_TYPES: dict[str, type] = {}


def _register() -> None:
    module = sys.modules[__name__]
    for name in dir(module):
        obj = getattr(module, name)
        if isinstance(obj, type) and dataclasses.is_dataclass(obj):
            OBSERVATION_TYPES[name] = obj


def to_json(obs: Any) -> dict:
    """{"type": …, "value": …}: what the history keeps of an observation."""
    return {"type": type(obs).__name__, "value": _plain(obs)}


def _plain(x: Any) -> Any:
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: _plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def from_json(data: dict) -> Any:
    cls = OBSERVATION_TYPES.get(data.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown observation type {data.get('type')!r}")
    return _build(cls, data["value"])


def _build(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _build(args[0], value) if len(args) == 1 else value
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{k: _build(hints[k], v) for k, v in value.items() if k in hints})
    if origin is dict:
        _, vt = typing.get_args(tp)
        return {k: _build(vt, v) for k, v in value.items()}
    if origin in (tuple, list):
        args = typing.get_args(tp)
        inner = args[0] if args else Any
        return tuple(_build(inner, v) for v in value)
    if tp is float and isinstance(value, int):
        return float(value)
    return value


def roundtrip(obs: Any) -> Any:
    """The observation as a saved run will hold it: what the live run judges too."""
    return from_json(json.loads(json.dumps(to_json(obs), ensure_ascii=False)))


_register()
