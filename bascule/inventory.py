"""The inventory: which cluster bascule tests and how to reach it.

A TOML file (see examples/inventory.toml) or, without one, the embedded lab's (bascule.lab builds it
from `vagrant ssh-config`). Every problem is reported as one InventoryError naming the field and the
fix. Passwords are kept as Secret values, which never print.
"""
from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InventoryError


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


def _fail(src: str, what: str, fix: str) -> InventoryError:
    return InventoryError(f"inventory {src}: {what}", fix)


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


def _password(src: str, where: str, table: dict, env: dict) -> Secret | None:
    if "password" in table and "password_env" in table:
        raise _fail(src, f"{where} has both password and password_env", "keep only one of them")
    if "password_env" in table:
        var = _typed(src, f"{where}.password_env", table["password_env"], str, "a string")
        if var not in env:
            raise _fail(src, f"{where}.password_env names ${var}, which is not set",
                        f"export {var}=... before running bascule")
        return Secret(env[var])
    if "password" in table:
        return Secret(_typed(src, f"{where}.password", table["password"], str, "a string"))
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
        key = os.path.expanduser(_typed(src, f"{where}.key", key, str, "a path"))
        if not Path(key).is_file():
            raise _fail(src, f"{where}.key {key} does not exist",
                        "give the path of the private key that logs in to the node")
    password = _password(src, where, merged, env)
    if key is None and password is None:
        raise _fail(src, f"{where} has neither key nor password",
                    "add key = \"~/.ssh/id_ed25519\" or password_env = \"VAR\" to [ssh] or to the node")
    return SSHSpec(
        host=host, port=port,
        user=_typed(src, f"{where}.user", merged.get("user", "root"), str, "a string"),
        key=key, password=password,
        sudo=_typed(src, f"{where}.sudo", merged.get("sudo", merged.get("user", "root") != "root"), bool, "true or false"),
        connect_timeout=float(_typed(src, f"{where}.connect_timeout", merged.get("connect_timeout", 10), (int, float), "a number")),
        command_timeout=float(_typed(src, f"{where}.command_timeout", merged.get("command_timeout", 120), (int, float), "a number")),
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
        raise _fail(src, f"cluster.vip '{vip}' is not an IP address", "give the virtual IP of IPFailover, e.g. 10.22.100.220") from None

    ssh_defaults = data.get("ssh", {})
    if not isinstance(ssh_defaults, dict):
        raise _fail(src, "[ssh] must be a table", "write [ssh] followed by key = value lines")
    _check_keys(src, "ssh", ssh_defaults, _KNOWN["ssh"])
    if base_dir and isinstance(ssh_defaults.get("key"), str) and not os.path.isabs(os.path.expanduser(ssh_defaults["key"])):
        ssh_defaults = {**ssh_defaults, "key": str(base_dir / ssh_defaults["key"])}

    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list) or len(raw_nodes) != 2:
        n = len(raw_nodes) if isinstance(raw_nodes, list) else 0
        raise _fail(src, f"the lab's cluster has two nodes, the inventory names {n}",
                    "add two [[nodes]] tables, each with name and host")
    nodes = []
    for i, raw in enumerate(raw_nodes, 1):
        where = f"nodes[{i}]"
        if not isinstance(raw, dict):
            raise _fail(src, f"{where} must be a table", "write [[nodes]] followed by name = ... and host = ...")
        _check_keys(src, where, raw, _KNOWN["node"])
        for req in ("name", "host"):
            if req not in raw:
                raise _fail(src, f"{where} has no {req}",
                            "give name (the node's name in crm status) and host (its SSH address)")
        name = _typed(src, f"{where}.name", raw["name"], str, "a string")
        host = _typed(src, f"{where}.host", raw["host"], str, "a host name or address")
        if base_dir and isinstance(raw.get("key"), str) and not os.path.isabs(os.path.expanduser(raw["key"])):
            raw = {**raw, "key": str(base_dir / raw["key"])}
        nodes.append(NodeSpec(
            name=name,
            ssh=_ssh(src, where, raw, ssh_defaults, host, env),
            cluster_interface=_typed(src, f"{where}.cluster_interface", raw.get("cluster_interface", "eth0"), str, "an interface name"),
            power_off=_typed(src, f"{where}.power_off", raw["power_off"], str, "a command") if "power_off" in raw else None,
            power_on=_typed(src, f"{where}.power_on", raw["power_on"], str, "a command") if "power_on" in raw else None,
        ))
    if nodes[0].name == nodes[1].name:
        raise _fail(src, f"both nodes are named {nodes[0].name}", "give each node its name from crm status")

    preferred = cluster.get("preferred_master", nodes[0].name)
    if preferred not in (nodes[0].name, nodes[1].name):
        raise _fail(src, f"cluster.preferred_master '{preferred}' is not one of the nodes",
                    f"use {nodes[0].name} or {nodes[1].name}")

    for section in ("ftp", "drbd", "resources"):
        if not isinstance(data.get(section, {}), dict):
            raise _fail(src, f"[{section}] must be a table", f"write [{section}] followed by key = value lines")
    ftp_raw = data.get("ftp", {})
    _check_keys(src, "ftp", ftp_raw, _KNOWN["ftp"])
    ftp_password = _password(src, "ftp", ftp_raw, env)
    if ftp_password is None:
        raise _fail(src, "[ftp] has no password", 'add password_env = "BASCULE_FTP_PASSWORD" to [ftp] and export it')
    ftp = FTPSpec(
        user=_typed(src, "ftp.user", ftp_raw.get("user", "user"), str, "a string"),
        password=ftp_password,
        port=_port(src, "ftp.port", ftp_raw.get("port", 21)),
        timeout=float(_typed(src, "ftp.timeout", ftp_raw.get("timeout", 8), (int, float), "a number")),
        documents=_typed(src, "ftp.documents", ftp_raw.get("documents", "Documents"), str, "a directory name"),
    )
    drbd_raw = data.get("drbd", {})
    _check_keys(src, "drbd", drbd_raw, _KNOWN["drbd"])
    drbd = DRBDSpec(**{k: _typed(src, f"drbd.{k}", v, str, "a string") for k, v in drbd_raw.items()})
    res_raw = data.get("resources", {})
    _check_keys(src, "resources", res_raw, _KNOWN["resources"])
    resources = ResourceIds(**{k: _typed(src, f"resources.{k}", v, str, "a resource id") for k, v in res_raw.items()})
    master_first = tuple(sorted(nodes, key=lambda n: n.name != preferred))
    return Inventory(nodes=master_first, preferred_master=preferred, vip=vip, ftp=ftp, drbd=drbd,
                     resources=resources, source=src)


def load(path: str | os.PathLike, env: dict | None = None) -> Inventory:
    p = Path(path)
    if not p.is_file():
        raise InventoryError(f"inventory {p}: no such file", "give the path of your inventory TOML (see examples/inventory.toml)")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InventoryError(f"inventory {p}: not UTF-8 text", "save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(f"inventory {p}: not valid TOML ({exc})", "fix the line it names; see examples/inventory.toml") from None
    return parse(data, str(p), env, base_dir=p.parent)
