"""The inventory: which cluster bascule tests and how to reach it.

A TOML file (see examples/inventory.toml) or, without one, the embedded lab's (bascule.lab.embedded builds it
from `vagrant ssh-config`). Every problem is reported as one InventoryError naming the field and the
fix. Passwords are kept as Secret values, which never print.
"""
from __future__ import annotations

import ipaddress
import math
import os
import re
import stat
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bascule.errors import InventoryError


class Secret:
    """A password. It prints as *** everywhere (logs, reprs, Allure step parameters)."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class SSHSpec:
    host: str
    port: int = 22
    user: str = "root"
    key: str | None = None
    password: Secret | None = None
    sudo: bool = False
    connect_timeout: float = 10.0
    command_timeout: float = 120.0


@dataclass(frozen=True)
class NodeSpec:
    name: str  # the node's name in the cluster (crm_mon), e.g. intralab01
    ssh: SSHSpec
    cluster_interface: str = "eth0"  # the NIC that carries corosync and DRBD ("the cable")
    power_off: str | None = None  # a command run on this machine that cuts the node's power
    power_on: str | None = None


@dataclass(frozen=True)
class FTPSpec:
    user: str = "user"
    password: Secret | None = None
    port: int = 21
    timeout: float = 8.0
    documents: str = "Documents"  # relative to the FTP user's home


@dataclass(frozen=True)
class DRBDSpec:
    resource: str = "resftp"
    device: str = "/dev/drbd0"
    mount_point: str = "/home"


@dataclass(frozen=True)
class ResourceIds:
    ms: str = "ms-drbd0"
    drbd: str = "drbd0"
    fs: str = "fs0"
    ftp: str = "serviceFTP"
    web: str = "serviceWeb"
    ip: str = "IPFailover"
    group: str = "servIntralab"
    mysql_clone: str = "cServiceMySQL"


@dataclass(frozen=True)
class Inventory:
    nodes: tuple[NodeSpec, NodeSpec]
    preferred_master: str
    vip: str
    ftp: FTPSpec = field(default_factory=FTPSpec)
    drbd: DRBDSpec = field(default_factory=DRBDSpec)
    resources: ResourceIds = field(default_factory=ResourceIds)
    source: str = "inventory"  # where it came from, for messages: a file path or "embedded lab"
    embedded: bool = False  # the embedded lab: faults may use the hypervisor

    @property
    def master(self) -> NodeSpec:
        return next(n for n in self.nodes if n.name == self.preferred_master)

    @property
    def slave(self) -> NodeSpec:
        return next(n for n in self.nodes if n.name != self.preferred_master)

    def node(self, name: str) -> NodeSpec:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    @property
    def home(self) -> str:
        """The FTP user's home, on the DRBD file system."""
        return f"{self.drbd.mount_point.rstrip('/')}/{self.ftp.user}"

    @property
    def documents_dir(self) -> str:
        return f"{self.home}/{self.ftp.documents}"


def public(inv: Inventory) -> dict:
    """What a saved run keeps of the inventory: everything a check reads, never a password."""
    import dataclasses
    return {
        "nodes": [{"name": n.name, "host": n.ssh.host, "cluster_interface": n.cluster_interface} for n in inv.nodes],
        "preferred_master": inv.preferred_master, "vip": inv.vip,
        "ftp": {"user": inv.ftp.user, "port": inv.ftp.port, "timeout": inv.ftp.timeout, "documents": inv.ftp.documents},
        "drbd": dataclasses.asdict(inv.drbd), "resources": dataclasses.asdict(inv.resources),
        "source": inv.source, "embedded": inv.embedded,
    }


def from_public(d: dict) -> Inventory:
    """The inventory a saved run describes (no passwords: enough to judge, not to connect)."""
    nodes = tuple(NodeSpec(n["name"], SSHSpec(n["host"]), n.get("cluster_interface", "eth0")) for n in d["nodes"])
    return Inventory(nodes=nodes, preferred_master=d["preferred_master"], vip=d["vip"], ftp=FTPSpec(**d["ftp"]),
                     drbd=DRBDSpec(**d["drbd"]), resources=ResourceIds(**d["resources"]), source=d.get("source", ""),
                     embedded=d.get("embedded", False))


# --- DRBD device names -------------------------------------------------------------------------

# /dev/drbdN (N: minor), DRBD 9's /dev/drbd/by-res/RES[/VOLUME], and /dev/drbd/by-disk/BACKING-DEVICE
_DRBD_MINOR = re.compile(r"/dev/drbd(0|[1-9][0-9]{0,6})")
_DRBD_BY_RES = re.compile(r"/dev/drbd/by-res/([^/\s]+)(?:/(0|[1-9][0-9]{0,4}))?")
_DRBD_BY_DISK = re.compile(r"/dev/drbd/by-disk/[A-Za-z0-9_.:+-]+(?:/[A-Za-z0-9_.:+-]+)*")
_DRBD_MAX_MINOR = (1 << 20) - 1


def drbd_minor(device: str) -> int | None:
    """The minor of /dev/drbdN (N); None for the by-res and by-disk names, whose minor only the node knows."""
    m = _DRBD_MINOR.fullmatch(device)
    return int(m.group(1)) if m else None


# --- reading the TOML file ---------------------------------------------------------------------

_KNOWN = {
    "cluster": {"vip", "preferred_master"},
    "ssh": {"user", "port", "key", "password", "password_env", "sudo", "connect_timeout", "command_timeout"},
    "node": {"name", "host", "cluster_interface", "power_off", "power_on",
             "user", "port", "key", "password", "password_env", "sudo", "connect_timeout", "command_timeout"},
    "ftp": {"user", "password", "password_env", "port", "timeout", "documents"},
    "drbd": {"resource", "device", "mount_point"},
    "resources": set(ResourceIds.__dataclass_fields__),
}

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_NAME_SHOWN = re.compile(r"[A-Z_][A-Z0-9_]*")  # the usual shape of a variable: safe to print
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_MAX_SECONDS = 86400.0  # beyond a day, socket timeouts overflow (1e12 s already does) and nothing is tested


def _fail(src: str, what: str, fix: str) -> InventoryError:
    return InventoryError(f"inventory {src}: {what}", fix)


def _shown(value: str, limit: int = 60) -> str:
    """A value that is not a secret, quoted on one line (control characters escaped), cut if long."""
    return repr(value[:limit]) + ("…" if len(value) > limit else "")


def _control(value: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in value)


def _check_keys(src: str, section: str, table: dict, known: set[str]) -> None:
    for key in table:
        if key not in known:
            raise _fail(src, f"unknown key '{key}' in [{section}]",
                        f"use one of: {', '.join(sorted(known))}")


def _typed(src: str, where: str, value: Any, kind: type | tuple, kind_name: str):
    if isinstance(value, bool) and kind is not bool:
        raise _fail(src, f"{where} must be {kind_name}, not {value!r}", f"write {where} as {kind_name}")
    if not isinstance(value, kind):
        raise _fail(src, f"{where} must be {kind_name}, not {type(value).__name__}",
                    f"write {where} as {kind_name}")
    return value


def _port(src: str, where: str, value: Any) -> int:
    port = _typed(src, where, value, int, "an integer")
    if not 0 < port < 65536:
        raise _fail(src, f"{where} {port} is not a TCP port", "use a port between 1 and 65535")
    return port


def _seconds(src: str, where: str, value: Any) -> float:
    """A timeout: a finite number of seconds, more than 0, at most a day (TOML allows nan and inf)."""
    seconds = float(_typed(src, where, value, (int, float), "a number"))
    if not math.isfinite(seconds) or seconds <= 0:
        raise _fail(src, f"{where} {value!r} is not a duration", f"give {where} in seconds, a number greater than 0, e.g. 10")
    if seconds > _MAX_SECONDS:
        raise _fail(src, f"{where} {value!r} is more than a day", f"give {where} in seconds, at most {_MAX_SECONDS:.0f}")
    return seconds


def _name(src: str, where: str, value: Any, kind_name: str = "a name") -> str:
    """A name (node, user, resource id, interface): one word, no whitespace, no control character."""
    name = _typed(src, where, value, str, kind_name)
    if not name:
        raise _fail(src, f"{where} is empty", f"give {where} as {kind_name}")
    if any(c.isspace() for c in name) or _control(name):
        raise _fail(src, f"{where} {_shown(name)} contains whitespace or a control character",
                    f"write {where} as one word, without spaces")
    return name


def _text(src: str, where: str, value: Any, kind_name: str) -> str:
    """A command or path: not empty, on one line."""
    text = _typed(src, where, value, str, kind_name)
    if not text.strip():
        raise _fail(src, f"{where} is empty", f"give {where} as {kind_name}, or leave it out")
    if _control(text):
        raise _fail(src, f"{where} {_shown(text)} contains a control character (a line end?)",
                    f"write {where} on one line")
    return text


def _host(src: str, where: str, value: Any) -> str:
    """An SSH address: an IPv4 or IPv6 address or a host name; no user@, no :port, no spaces."""
    host = _typed(src, where, value, str, "a host name or address")
    if not host:
        raise _fail(src, f"{where} is empty", "give the node's SSH address, e.g. 10.22.100.11")
    if "@" in host:  # what precedes @ may be user:password: never printed
        raise _fail(src, f"{where} holds a user (user@host)",
                    'keep only the address after "@" in host and put the user in user = "..."')
    if any(c.isspace() for c in host) or _control(host):
        raise _fail(src, f"{where} {_shown(host)} contains whitespace or a control character",
                    "write host as one address or name, without spaces")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    bracketed = re.fullmatch(r"\[([^\]]*)\](?::([0-9]*))?", host)
    if bracketed and bracketed.group(2) is not None:
        raise _fail(src, f"{where} {_shown(host)} holds a port",
                    f'write host = "{bracketed.group(1)}" and port = {bracketed.group(2) or 22}')
    if bracketed:
        raise _fail(src, f"{where} {_shown(host)} is in brackets", f'write host = "{bracketed.group(1)}", without brackets')
    if host.count(":") == 1:
        name, _, port = host.partition(":")
        if port.isdigit() and port.isascii():
            raise _fail(src, f"{where} {_shown(host)} holds a port", f'write host = "{name}" and port = {port}')
    if ":" in host:
        raise _fail(src, f"{where} {_shown(host)} is neither an IP address nor a host name",
                    "write an IPv6 address as in `ip -6 addr` (e.g. fd00::11), without brackets or port")
    bad = next((c for c in host if not (c.isascii() and (c.isalnum() or c in ".-"))), None)
    if bad is not None:
        raise _fail(src, f"{where} {_shown(host)} contains {bad!r}, which no host name holds",
                    "a host name is made of letters, digits, hyphens and dots (an internationalised name: its xn-- form)")
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253:
        raise _fail(src, f"{where} is {len(name)} characters long", "a host name has at most 253 characters")
    labels = name.split(".")
    for label in labels:
        if not label:
            raise _fail(src, f"{where} {_shown(host)} has an empty part between dots", "remove the extra dot")
        if len(label) > 63:
            raise _fail(src, f"{where} has a part of {len(label)} characters ({_shown(label, 20)})",
                        "each dot-separated part of a host name has 1 to 63 characters")
        if not _LABEL.fullmatch(label):
            raise _fail(src, f"{where} {_shown(host)}: the part {_shown(label)} starts or ends with a hyphen",
                        "a host name's parts start and end with a letter or a digit")
    if labels[-1].isdigit():  # 10.22.100, 300.1.1.1: a mistyped IPv4 address, which the resolver would misread
        raise _fail(src, f"{where} {_shown(host)} is not an IPv4 address",
                    "write four numbers from 0 to 255 separated by dots, e.g. 10.22.100.11")
    return host


def _secret_value(src: str, where: str, value: str, origin: str, fix_origin: str) -> Secret:
    """A password as given (origin: 'password' or '$VAR'); refused if it cannot be typed. Never printed."""
    try:
        value.encode("utf-8")
        utf8 = True
    except UnicodeEncodeError:  # surrogate escapes: bytes os.environ could not decode
        utf8 = False
    if not utf8:  # raised outside the except: no chained exception holds the value
        raise _fail(src, f"{where}: {origin} is not valid UTF-8 text", f"{fix_origin} as UTF-8 text")
    if not value:
        raise _fail(src, f"{where}: {origin} is empty", f"{fix_origin} (a command that failed gives an empty value)")
    if value.endswith(("\r", "\n")):
        raise _fail(src, f"{where}: {origin} ends with a line end (\\r or \\n: a file written on Windows, or echo without -n?)",
                    f"{fix_origin} without the line end (e.g. tr -d '\\r\\n'); the password is not shown here")
    if _control(value):
        raise _fail(src, f"{where}: {origin} holds a control character",
                    f"{fix_origin} without it; the password is not shown here")
    return Secret(value)


def _password(src: str, where: str, table: dict, env: dict) -> Secret | None:
    if "password" in table and "password_env" in table:
        raise _fail(src, f"{where} has both password and password_env", "keep only one of them")
    if "password_env" in table:
        var = _typed(src, f"{where}.password_env", table["password_env"], str, "a string")
        if not _ENV_NAME.fullmatch(var):  # perhaps the password itself, pasted here: never printed
            raise _fail(src, f"{where}.password_env must name an environment variable (letters, digits, _), not hold the password",
                        'write password_env = "BASCULE_PASSWORD" and export BASCULE_PASSWORD=... before running bascule')
        if var not in env:
            if not _ENV_NAME_SHOWN.fullmatch(var):  # a lower-case word may be the password itself
                raise _fail(src, f"{where}.password_env names a variable that is not set (its name is not shown: it may be the password)",
                            "check the spelling of password_env and export that variable before running bascule")
            raise _fail(src, f"{where}.password_env names ${var}, which is not set",
                        f"export {var}=... before running bascule")
        shown = f"${var}" if _ENV_NAME_SHOWN.fullmatch(var) else "the variable password_env names"
        return _secret_value(src, f"{where}.password_env", env[var], shown, "export it again")
    if "password" in table:
        value = _typed(src, f"{where}.password", table["password"], str, "a string")
        return _secret_value(src, f"{where}.password", value, "the password", "write it")
    return None


def _ssh(src: str, where: str, table: dict, defaults: dict, host: str, env: dict) -> SSHSpec:
    merged = {**defaults, **{k: v for k, v in table.items() if k in _KNOWN["ssh"]}}
    # a node's own password replaces the default one, whichever way either was given
    if "password" in table or "password_env" in table:
        merged.pop("password", None); merged.pop("password_env", None)
        merged.update({k: table[k] for k in ("password", "password_env") if k in table})
    port = _port(src, f"{where}.port", merged.get("port", 22))
    key = merged.get("key")
    if key is not None:
        key = _text(src, f"{where}.key", key, "a path")
        key = os.path.expanduser(key)
        if Path(key).is_dir():
            raise _fail(src, f"{where}.key {key} is a directory",
                        "give the path of the private key file that logs in to the node")
        if not Path(key).is_file():
            raise _fail(src, f"{where}.key {key} does not exist",
                        "give the path of the private key that logs in to the node")
    password = _password(src, where, merged, env)
    if key is None and password is None:
        raise _fail(src, f"{where} has neither key nor password",
                    "add key = \"~/.ssh/id_ed25519\" or password_env = \"VAR\" to [ssh] or to the node")
    user = _name(src, f"{where}.user", merged.get("user", "root"), "a user name")
    return SSHSpec(
        host=host, port=port, user=user, key=key, password=password,
        sudo=_typed(src, f"{where}.sudo", merged.get("sudo", user != "root"), bool, "true or false"),
        connect_timeout=_seconds(src, f"{where}.connect_timeout", merged.get("connect_timeout", 10)),
        command_timeout=_seconds(src, f"{where}.command_timeout", merged.get("command_timeout", 120)),
    )


def _drbd(src: str, raw: dict) -> DRBDSpec:
    d = DRBDSpec()
    resource = _name(src, "drbd.resource", raw.get("resource", d.resource), "a DRBD resource name")
    device = _typed(src, "drbd.device", raw.get("device", d.device), str, "a string")
    minor = _DRBD_MINOR.fullmatch(device)
    by_res = _DRBD_BY_RES.fullmatch(device)
    if minor and int(minor.group(1)) > _DRBD_MAX_MINOR:
        raise _fail(src, f"drbd.device {_shown(device)} has a minor above {_DRBD_MAX_MINOR}",
                    "give the device as `drbdadm sh-dev RESOURCE` prints it, e.g. /dev/drbd0")
    if by_res and by_res.group(1) != resource:
        raise _fail(src, f"drbd.device {_shown(device)} is resource {by_res.group(1)}'s, drbd.resource is {resource}",
                    "name the same resource in both")
    if not (minor or by_res or _DRBD_BY_DISK.fullmatch(device)):
        raise _fail(src, f"drbd.device {_shown(device)} is not a DRBD device",
                    "write /dev/drbdN (e.g. /dev/drbd0) or /dev/drbd/by-res/RESOURCE/VOLUME, as `drbdadm sh-dev RESOURCE` prints it")
    mount_point = _text(src, "drbd.mount_point", raw.get("mount_point", d.mount_point), "an absolute path")
    if not mount_point.startswith("/") or any(c.isspace() for c in mount_point):
        raise _fail(src, f"drbd.mount_point {_shown(mount_point)} is not an absolute path without spaces",
                    "give the directory the DRBD file system is mounted on, e.g. /home")
    return DRBDSpec(resource=resource, device=device, mount_point=mount_point)


def _documents(src: str, value: Any) -> str:
    documents = _text(src, "ftp.documents", value, "a directory name")
    if documents.startswith("/") or ".." in documents.split("/"):
        raise _fail(src, f"ftp.documents {_shown(documents)} is not under the FTP user's home",
                    'give a directory relative to the home, e.g. documents = "Documents"')
    return documents


def _node(src: str, where: str, raw: Any, ssh_defaults: dict, env: dict, relative_key) -> NodeSpec:
    """One [[nodes]] table."""
    if not isinstance(raw, dict):
        raise _fail(src, f"{where} must be a table", "write [[nodes]] followed by name = ... and host = ...")
    _check_keys(src, where, raw, _KNOWN["node"])
    for req in ("name", "host"):
        if req not in raw:
            raise _fail(src, f"{where} has no {req}",
                        "give name (the node's name in crm status) and host (its SSH address)")
    name = _name(src, f"{where}.name", raw["name"], "the node's name in crm status")
    host = _host(src, f"{where}.host", raw["host"])
    raw = relative_key(raw)
    interface = _name(src, f"{where}.cluster_interface", raw.get("cluster_interface", "eth0"), "an interface name")
    if len(interface) > 15 or "/" in interface:
        raise _fail(src, f"{where}.cluster_interface {_shown(interface)} is not a network interface name",
                    "give the interface as `ip link` names it, e.g. eth1 (at most 15 characters)")
    return NodeSpec(
        name=name,
        ssh=_ssh(src, where, raw, ssh_defaults, host, env),
        cluster_interface=interface,
        power_off=_text(src, f"{where}.power_off", raw["power_off"], "a command") if "power_off" in raw else None,
        power_on=_text(src, f"{where}.power_on", raw["power_on"], "a command") if "power_on" in raw else None,
    )


def _ftp(src: str, ftp_raw: dict, env: dict) -> FTPSpec:
    """The [ftp] table: the account a user logs in with on the VIP."""
    _check_keys(src, "ftp", ftp_raw, _KNOWN["ftp"])
    ftp_password = _password(src, "ftp", ftp_raw, env)
    if ftp_password is None:
        raise _fail(src, "[ftp] has no password", 'add password_env = "BASCULE_FTP_PASSWORD" to [ftp] and export it')
    return FTPSpec(
        user=_name(src, "ftp.user", ftp_raw.get("user", "user"), "a user name"),
        password=ftp_password,
        port=_port(src, "ftp.port", ftp_raw.get("port", 21)),
        timeout=_seconds(src, "ftp.timeout", ftp_raw.get("timeout", 8)),
        documents=_documents(src, ftp_raw.get("documents", "Documents")),
    )


def parse(data: dict, src: str, env: dict | None = None, base_dir: Path | None = None) -> Inventory:
    env = dict(os.environ if env is None else env)
    for section in data:
        if section not in ("cluster", "ssh", "nodes", "ftp", "drbd", "resources"):
            raise _fail(src, f"unknown section [{section}]",
                        "sections are [cluster], [ssh], [[nodes]], [ftp], [drbd], [resources]")
    cluster = data.get("cluster")
    if not isinstance(cluster, dict):
        raise _fail(src, "no [cluster] section", 'add [cluster] with vip = "..." and preferred_master = "..."')
    _check_keys(src, "cluster", cluster, _KNOWN["cluster"])
    if "vip" not in cluster:
        raise _fail(src, "[cluster] has no vip", 'add vip = "10.22.100.220" (the IPFailover address)')
    vip = _typed(src, "cluster.vip", cluster["vip"], str, "an IP address")
    try:
        ipaddress.ip_address(vip)
    except ValueError:
        raise _fail(src, f"cluster.vip {_shown(vip)} is not an IP address", "give the virtual IP of IPFailover, e.g. 10.22.100.220") from None

    def relative_key(table: dict) -> dict:
        key = table.get("key")
        if base_dir and isinstance(key, str) and key and not os.path.isabs(os.path.expanduser(key)):
            return {**table, "key": str(base_dir / key)}
        return table

    ssh_defaults = data.get("ssh", {})
    if not isinstance(ssh_defaults, dict):
        raise _fail(src, "[ssh] must be a table", "write [ssh] followed by key = value lines")
    _check_keys(src, "ssh", ssh_defaults, _KNOWN["ssh"])
    ssh_defaults = relative_key(ssh_defaults)

    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list) or len(raw_nodes) != 2:
        n = len(raw_nodes) if isinstance(raw_nodes, list) else 0
        raise _fail(src, f"the lab's cluster has two nodes, the inventory names {n}",
                    "add two [[nodes]] tables, each with name and host")
    nodes = [_node(src, f"nodes[{i}]", raw, ssh_defaults, env, relative_key) for i, raw in enumerate(raw_nodes, 1)]
    if nodes[0].name == nodes[1].name:
        raise _fail(src, f"both nodes are named {nodes[0].name}", "give each node its name from crm status")

    preferred = _name(src, "cluster.preferred_master", cluster.get("preferred_master", nodes[0].name), "a node's name")
    if preferred not in (nodes[0].name, nodes[1].name):
        raise _fail(src, f"cluster.preferred_master '{preferred}' is not one of the nodes",
                    f"use {nodes[0].name} or {nodes[1].name}")

    for section in ("ftp", "drbd", "resources"):
        if not isinstance(data.get(section, {}), dict):
            raise _fail(src, f"[{section}] must be a table", f"write [{section}] followed by key = value lines")
    ftp = _ftp(src, data.get("ftp", {}), env)
    drbd_raw = data.get("drbd", {})
    _check_keys(src, "drbd", drbd_raw, _KNOWN["drbd"])
    drbd = _drbd(src, drbd_raw)
    res_raw = data.get("resources", {})
    _check_keys(src, "resources", res_raw, _KNOWN["resources"])
    resources = ResourceIds(**{k: _name(src, f"resources.{k}", v, "a resource id") for k, v in res_raw.items()})
    master_first = tuple(sorted(nodes, key=lambda n: n.name != preferred))
    return Inventory(nodes=master_first, preferred_master=preferred, vip=vip, ftp=ftp, drbd=drbd,
                     resources=resources, source=src)


def load(path: str | os.PathLike, env: dict | None = None) -> Inventory:
    """The inventory in the TOML file at path. An empty path is refused, never read as the current directory."""
    fix = "give the path of your inventory TOML (see examples/inventory.toml)"
    raw = os.fspath(path)
    if isinstance(raw, bytes):
        raw = os.fsdecode(raw)
    if not raw:  # Path("") is ".": an unset variable must not become the working directory
        raise InventoryError('inventory "": the path is empty (an unset shell variable?)',
                             "give the path of your inventory TOML, e.g. --inventory examples/inventory.toml")
    if _control(raw):
        raise InventoryError(f"inventory {_shown(raw)}: the path contains a control character", fix)
    p = Path(raw)
    try:
        st = p.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise InventoryError(f"inventory {p}: no such file", fix) from None
    except PermissionError:
        raise InventoryError(f"inventory {p}: cannot be read (permission denied on the path)",
                             "make the file and its directories readable by this user") from None
    except OSError as exc:
        raise InventoryError(f"inventory {p}: cannot be read ({exc.strerror or type(exc).__name__})", fix) from None
    if stat.S_ISDIR(st.st_mode):
        raise InventoryError(f"inventory {p}: is a directory, not an inventory file",
                             f"give the path of the TOML file, e.g. {p / 'inventory.toml'}")
    if not stat.S_ISREG(st.st_mode):
        raise InventoryError(f"inventory {p}: not a regular file", fix)
    try:
        raw_bytes = p.read_bytes()
    except PermissionError:
        raise InventoryError(f"inventory {p}: cannot be read (permission denied)",
                             f"make it readable by this user (chmod u+r {p}) or run bascule as its owner") from None
    except OSError as exc:
        raise InventoryError(f"inventory {p}: cannot be read ({exc.strerror or type(exc).__name__})", fix) from None
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise InventoryError(f"inventory {p}: not UTF-8 text", "save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(f"inventory {p}: not valid TOML ({exc})", "fix the line it names; see examples/inventory.toml") from None
    return parse(data, str(p), env, base_dir=p.parent)
