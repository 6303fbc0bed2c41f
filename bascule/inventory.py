"""The inventory: which cluster bascule tests and how to reach it.

A TOML file (see examples/inventory.toml) or, without one, the embedded lab's (bascule.lab.embedded builds it
from `vagrant ssh-config`). Every problem is reported as one InventoryError naming the field and the
fix. Passwords are kept as Secret values, which never print.
"""

from __future__ import annotations

import dataclasses
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
    source: str = "inventaire"  # where it came from, for messages: a file path or "lab embarqué"
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
    return {
        "nodes": [{"name": n.name, "host": n.ssh.host, "cluster_interface": n.cluster_interface} for n in inv.nodes],
        "preferred_master": inv.preferred_master,
        "vip": inv.vip,
        "ftp": {"user": inv.ftp.user, "port": inv.ftp.port, "timeout": inv.ftp.timeout, "documents": inv.ftp.documents},
        "drbd": dataclasses.asdict(inv.drbd),
        "resources": dataclasses.asdict(inv.resources),
        "source": inv.source,
        "embedded": inv.embedded,
    }


def from_public(d: dict) -> Inventory:
    """The inventory a saved run describes (no passwords: enough to judge, not to connect)."""
    nodes = tuple(NodeSpec(n["name"], SSHSpec(n["host"]), n.get("cluster_interface", "eth0")) for n in d["nodes"])
    return Inventory(
        nodes=nodes,
        preferred_master=d["preferred_master"],
        vip=d["vip"],
        ftp=FTPSpec(**d["ftp"]),
        drbd=DRBDSpec(**d["drbd"]),
        resources=ResourceIds(**d["resources"]),
        source=d.get("source", ""),
        embedded=d.get("embedded", False),
    )


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
    "node": {
        "name",
        "host",
        "cluster_interface",
        "power_off",
        "power_on",
        "user",
        "port",
        "key",
        "password",
        "password_env",
        "sudo",
        "connect_timeout",
        "command_timeout",
    },
    "ftp": {"user", "password", "password_env", "port", "timeout", "documents"},
    "drbd": {"resource", "device", "mount_point"},
    "resources": set(ResourceIds.__dataclass_fields__),
}

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_NAME_SHOWN = re.compile(r"[A-Z_][A-Z0-9_]*")  # the usual shape of a variable: safe to print
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_MAX_SECONDS = 86400.0  # beyond a day, socket timeouts overflow (1e12 s already does) and nothing is tested


def _fail(src: str, what: str, fix: str) -> InventoryError:
    return InventoryError(f"inventaire {src} : {what}", fix)


# what a TOML value is, in the words of a user who wrote it (for « doit être un entier, pas du texte »)
_TOML_KINDS = {
    "str": "du texte",
    "int": "un entier",
    "float": "un nombre à virgule",
    "list": "une liste",
    "dict": "une table",
    "datetime": "une date et heure",
    "date": "une date",
    "time": "une heure",
}


def _shown(value: str, limit: int = 60) -> str:
    """A value that is not a secret, quoted on one line (control characters escaped), cut if long."""
    return repr(value[:limit]) + ("…" if len(value) > limit else "")


def _control(value: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in value)


def _check_keys(src: str, section: str, table: dict, known: set[str]) -> None:
    for key in table:
        if key not in known:
            raise _fail(
                src,
                f"clé inconnue '{key}' dans [{section}]",
                f"utiliser l'une de celles-ci : {', '.join(sorted(known))}",
            )


def _typed(src: str, where: str, value: Any, kind: type | tuple, kind_name: str):
    if isinstance(value, bool) and kind is not bool:
        raise _fail(
            src, f"{where} doit être {kind_name}, pas {str(value).lower()}", f"écrire {where} comme {kind_name}"
        )
    if not isinstance(value, kind):
        shown = _TOML_KINDS.get(type(value).__name__, type(value).__name__)
        raise _fail(src, f"{where} doit être {kind_name}, pas {shown}", f"écrire {where} comme {kind_name}")
    return value


def _port(src: str, where: str, value: Any) -> int:
    port = _typed(src, where, value, int, "un entier")
    if not 0 < port < 65536:
        raise _fail(src, f"{where} {port} n'est pas un port TCP", "donner un port entre 1 et 65535")
    return port


def _seconds(src: str, where: str, value: Any) -> float:
    """A timeout: a finite number of seconds, more than 0, at most a day (TOML allows nan and inf)."""
    seconds = float(_typed(src, where, value, (int, float), "un nombre"))
    if not math.isfinite(seconds) or seconds <= 0:
        raise _fail(
            src,
            f"{where} {value!r} n'est pas une durée",
            f"donner {where} en secondes, un nombre supérieur à 0, par exemple 10",
        )
    if seconds > _MAX_SECONDS:
        raise _fail(
            src, f"{where} {value!r} dépasse un jour", f"donner {where} en secondes, au plus {_MAX_SECONDS:.0f}"
        )
    return seconds


def _name(src: str, where: str, value: Any, kind_name: str = "un nom") -> str:
    """A name (node, user, resource id, interface): one word, no whitespace, no control character."""
    name = _typed(src, where, value, str, kind_name)
    if not name:
        raise _fail(src, f"{where} est vide", f"donner {where} : {kind_name}")
    if any(c.isspace() for c in name) or _control(name):
        raise _fail(
            src,
            f"{where} {_shown(name)} contient un espace ou un caractère de contrôle",
            f"écrire {where} en un seul mot, sans espace",
        )
    return name


def _text(src: str, where: str, value: Any, kind_name: str) -> str:
    """A command or path: not empty, on one line."""
    text = _typed(src, where, value, str, kind_name)
    if not text.strip():
        raise _fail(src, f"{where} est vide", f"donner {where} : {kind_name}, ou enlever la ligne")
    if _control(text):
        raise _fail(
            src,
            f"{where} {_shown(text)} contient un caractère de contrôle (une fin de ligne ?)",
            f"écrire {where} sur une seule ligne",
        )
    return text


def _host(src: str, where: str, value: Any) -> str:
    """An SSH address: an IPv4 or IPv6 address or a host name; no user@, no :port, no spaces."""
    host = _typed(src, where, value, str, "un nom d'hôte ou une adresse")
    if not host:
        raise _fail(src, f"{where} est vide", "donner l'adresse SSH du nœud, par exemple 10.22.100.11")
    if "@" in host:  # what precedes @ may be user:password: never printed
        raise _fail(
            src,
            f"{where} contient un utilisateur (utilisateur@hôte)",
            "ne garder dans host que l'adresse qui suit « @ » et mettre l'utilisateur dans user = \"...\"",
        )
    if any(c.isspace() for c in host) or _control(host):
        raise _fail(
            src,
            f"{where} {_shown(host)} contient un espace ou un caractère de contrôle",
            "écrire host comme une seule adresse ou un seul nom, sans espace",
        )
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    bracketed = re.fullmatch(r"\[([^\]]*)\](?::([0-9]*))?", host)
    if bracketed and bracketed.group(2) is not None:
        raise _fail(
            src,
            f"{where} {_shown(host)} contient un port",
            f'écrire host = "{bracketed.group(1)}" et port = {bracketed.group(2) or 22}',
        )
    if bracketed:
        raise _fail(
            src, f"{where} {_shown(host)} est entre crochets", f'écrire host = "{bracketed.group(1)}", sans crochets'
        )
    if host.count(":") == 1:
        name, _, port = host.partition(":")
        if port.isdigit() and port.isascii():
            raise _fail(src, f"{where} {_shown(host)} contient un port", f'écrire host = "{name}" et port = {port}')
    if ":" in host:
        raise _fail(
            src,
            f"{where} {_shown(host)} n'est ni une adresse IP ni un nom d'hôte",
            "écrire une adresse IPv6 comme l'affiche `ip -6 addr` (par exemple fd00::11), sans crochets ni port",
        )
    bad = next((c for c in host if not (c.isascii() and (c.isalnum() or c in ".-"))), None)
    if bad is not None:
        raise _fail(
            src,
            f"{where} {_shown(host)} contient {bad!r}, qu'aucun nom d'hôte ne contient",
            "un nom d'hôte est fait de lettres, de chiffres, de tirets et de points (un nom internationalisé : "
            "sa forme xn--)",
        )
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253:
        raise _fail(src, f"{where} fait {len(name)} caractères", "un nom d'hôte a au plus 253 caractères")
    labels = name.split(".")
    for label in labels:
        if not label:
            raise _fail(src, f"{where} {_shown(host)} a une partie vide entre deux points", "enlever le point en trop")
        if len(label) > 63:
            raise _fail(
                src,
                f"{where} a une partie de {len(label)} caractères ({_shown(label, 20)})",
                "chaque partie d'un nom d'hôte (entre deux points) a de 1 à 63 caractères",
            )
        if not _LABEL.fullmatch(label):
            raise _fail(
                src,
                f"{where} {_shown(host)} : la partie {_shown(label)} commence ou finit par un tiret",
                "les parties d'un nom d'hôte commencent et finissent par une lettre ou un chiffre",
            )
    if labels[-1].isdigit():  # 10.22.100, 300.1.1.1: a mistyped IPv4 address, which the resolver would misread
        raise _fail(
            src,
            f"{where} {_shown(host)} n'est pas une adresse IPv4",
            "écrire quatre nombres de 0 à 255 séparés par des points, par exemple 10.22.100.11",
        )
    return host


def _secret_value(src: str, where: str, value: str, origin: str, fix_origin: str) -> Secret:
    """A password as given (origin: 'le mot de passe' or '$VAR'); refused if it cannot be typed. Never printed."""
    try:
        value.encode("utf-8")
        utf8 = True
    except UnicodeEncodeError:  # surrogate escapes: bytes os.environ could not decode
        utf8 = False
    if not utf8:  # raised outside the except: no chained exception holds the value
        raise _fail(src, f"{where} : {origin} n'est pas du texte UTF-8 valide", f"{fix_origin} en texte UTF-8")
    if not value:
        raise _fail(
            src, f"{where} : {origin} est vide", f"{fix_origin} (une commande qui a échoué donne une valeur vide)"
        )
    if value.endswith(("\r", "\n")):
        raise _fail(
            src,
            f"{where} : {origin} finit par une fin de ligne (\\r ou \\n : un fichier écrit sous Windows, "
            "ou echo sans -n ?)",
            f"{fix_origin} sans la fin de ligne (par exemple avec tr -d '\\r\\n') ; le mot de passe n'est pas affiché "
            "ici",
        )
    if _control(value):
        raise _fail(
            src,
            f"{where} : {origin} contient un caractère de contrôle",
            f"{fix_origin} sans ce caractère ; le mot de passe n'est pas affiché ici",
        )
    return Secret(value)


def _password(src: str, where: str, table: dict, env: dict) -> Secret | None:
    if "password" in table and "password_env" in table:
        raise _fail(src, f"{where} a à la fois password et password_env", "n'en garder qu'un des deux")
    if "password_env" in table:
        var = _typed(src, f"{where}.password_env", table["password_env"], str, "une chaîne de caractères")
        if not _ENV_NAME.fullmatch(var):  # perhaps the password itself, pasted here: never printed
            raise _fail(
                src,
                f"{where}.password_env doit nommer une variable d'environnement (lettres, chiffres, _), "
                "pas contenir le mot de passe",
                'écrire password_env = "BASCULE_PASSWORD" et faire export BASCULE_PASSWORD=... avant de lancer bascule',
            )
        if var not in env:
            if not _ENV_NAME_SHOWN.fullmatch(var):  # a lower-case word may be the password itself
                raise _fail(
                    src,
                    f"{where}.password_env nomme une variable qui n'est pas définie (son nom n'est pas "
                    "affiché : ce pourrait être le mot de passe)",
                    "vérifier l'orthographe de password_env et exporter cette variable avant de lancer bascule",
                )
            raise _fail(
                src,
                f"{where}.password_env nomme ${var}, qui n'est pas définie",
                f"faire export {var}=... avant de lancer bascule",
            )
        shown = f"${var}" if _ENV_NAME_SHOWN.fullmatch(var) else "la variable que nomme password_env"
        return _secret_value(src, f"{where}.password_env", env[var], shown, "l'exporter de nouveau")
    if "password" in table:
        value = _typed(src, f"{where}.password", table["password"], str, "une chaîne de caractères")
        return _secret_value(src, f"{where}.password", value, "le mot de passe", "l'écrire")
    return None


def _ssh(src: str, where: str, table: dict, defaults: dict, host: str, env: dict, resolve_key) -> SSHSpec:
    """A node's SSH settings: its own keys over the [ssh] defaults. Every message names the place a
    value was written: nodes[N].key when the node sets it, ssh.key when it comes from [ssh]."""
    own = {k for k in table if k in _KNOWN["ssh"]}
    merged = {**defaults, **{k: table[k] for k in own}}

    def at(key: str) -> str:
        return f"{where}.{key}" if key in own else f"ssh.{key}"

    # a node's own password replaces the default one, whichever way either was given
    password_where = where if own & {"password", "password_env"} else "ssh"
    if password_where == where:
        merged.pop("password", None)
        merged.pop("password_env", None)
        merged.update({k: table[k] for k in ("password", "password_env") if k in table})
    port = _port(src, at("port"), merged.get("port", 22))
    user = _name(src, at("user"), merged.get("user", "root"), "un nom d'utilisateur")
    key = merged.get("key")
    if key is not None:
        written = _text(src, at("key"), key, "un chemin")
        key = resolve_key(written)
        shown = written if key == written else f"{written} ({key})"
        section = where if "key" in own else "[ssh]"
        if Path(key).is_dir():
            raise _fail(
                src,
                f"{at('key')} {shown} est un répertoire",
                f"donner dans {section} le chemin du fichier de la clé privée qui ouvre la session sur le nœud",
            )
        if not Path(key).is_file():
            given = f"key dans {where}" if "key" in own else "key dans [ssh], la valeur par défaut des nœuds"
            path = written if written.startswith("~") else key
            raise _fail(
                src,
                f"la clé SSH {shown} n'existe pas ; elle est donnée par {given}",
                f"créer la clé (ssh-keygen -t ed25519 -f {path}, puis ssh-copy-id -i {path} {user}@ADRESSE "
                f"vers chaque nœud), ou corriger key dans {section}, ou se connecter par mot de passe : "
                f'y remplacer key par password_env = "BASCULE_SSH_PASSWORD"',
            )
    password = _password(src, password_where, merged, env)
    if key is None and password is None:
        raise _fail(
            src,
            f"{where} n'a ni clé ni mot de passe (ni dans [[nodes]] ni dans [ssh])",
            'ajouter key = "~/.ssh/id_ed25519" ou password_env = "VARIABLE" à [ssh] ou au nœud',
        )
    return SSHSpec(
        host=host,
        port=port,
        user=user,
        key=key,
        password=password,
        sudo=_typed(src, at("sudo"), merged.get("sudo", user != "root"), bool, "true ou false"),
        connect_timeout=_seconds(src, at("connect_timeout"), merged.get("connect_timeout", 10)),
        command_timeout=_seconds(src, at("command_timeout"), merged.get("command_timeout", 120)),
    )


def _drbd(src: str, raw: dict) -> DRBDSpec:
    d = DRBDSpec()
    resource = _name(src, "drbd.resource", raw.get("resource", d.resource), "un nom de ressource DRBD")
    device = _typed(src, "drbd.device", raw.get("device", d.device), str, "une chaîne de caractères")
    minor = _DRBD_MINOR.fullmatch(device)
    by_res = _DRBD_BY_RES.fullmatch(device)
    if minor and int(minor.group(1)) > _DRBD_MAX_MINOR:
        raise _fail(
            src,
            f"drbd.device {_shown(device)} a un numéro mineur supérieur à {_DRBD_MAX_MINOR}",
            "donner le périphérique comme l'affiche `drbdadm sh-dev RESSOURCE`, par exemple /dev/drbd0",
        )
    if by_res and by_res.group(1) != resource:
        raise _fail(
            src,
            f"drbd.device {_shown(device)} est celui de la ressource {by_res.group(1)}, drbd.resource est {resource}",
            "nommer la même ressource dans les deux",
        )
    if not (minor or by_res or _DRBD_BY_DISK.fullmatch(device)):
        raise _fail(
            src,
            f"drbd.device {_shown(device)} n'est pas un périphérique DRBD",
            "écrire /dev/drbdN (par exemple /dev/drbd0) ou /dev/drbd/by-res/RESSOURCE/VOLUME, comme l'affiche "
            "`drbdadm sh-dev RESSOURCE`",
        )
    mount_point = _text(src, "drbd.mount_point", raw.get("mount_point", d.mount_point), "un chemin absolu")
    if not mount_point.startswith("/") or any(c.isspace() for c in mount_point):
        raise _fail(
            src,
            f"drbd.mount_point {_shown(mount_point)} n'est pas un chemin absolu sans espace",
            "donner le répertoire où est monté le système de fichiers DRBD, par exemple /home",
        )
    return DRBDSpec(resource=resource, device=device, mount_point=mount_point)


def _documents(src: str, value: Any) -> str:
    documents = _text(src, "ftp.documents", value, "un nom de répertoire")
    if documents.startswith("/") or ".." in documents.split("/"):
        raise _fail(
            src,
            f"ftp.documents {_shown(documents)} n'est pas sous le répertoire personnel de l'utilisateur FTP",
            'donner un répertoire relatif au répertoire personnel, par exemple documents = "Documents"',
        )
    return documents


def _node(src: str, where: str, raw: Any, ssh_defaults: dict, env: dict, resolve_key) -> NodeSpec:
    """One [[nodes]] table."""
    if not isinstance(raw, dict):
        raise _fail(src, f"{where} doit être une table", "écrire [[nodes]] suivi de name = ... et host = ...")
    _check_keys(src, where, raw, _KNOWN["node"])
    for req in ("name", "host"):
        if req not in raw:
            raise _fail(
                src,
                f"{where} n'a pas de {req}",
                "donner name (le nom du nœud dans crm status) et host (son adresse SSH)",
            )
    name = _name(src, f"{where}.name", raw["name"], "le nom du nœud dans crm status")
    host = _host(src, f"{where}.host", raw["host"])
    interface = _name(src, f"{where}.cluster_interface", raw.get("cluster_interface", "eth0"), "un nom d'interface")
    if len(interface) > 15 or "/" in interface:
        raise _fail(
            src,
            f"{where}.cluster_interface {_shown(interface)} n'est pas un nom d'interface réseau",
            "donner l'interface comme la nomme `ip link`, par exemple eth1 (15 caractères au plus)",
        )
    return NodeSpec(
        name=name,
        ssh=_ssh(src, where, raw, ssh_defaults, host, env, resolve_key),
        cluster_interface=interface,
        power_off=_text(src, f"{where}.power_off", raw["power_off"], "une commande") if "power_off" in raw else None,
        power_on=_text(src, f"{where}.power_on", raw["power_on"], "une commande") if "power_on" in raw else None,
    )


def _ftp(src: str, ftp_raw: dict, env: dict) -> FTPSpec:
    """The [ftp] table: the account a user logs in with on the VIP."""
    _check_keys(src, "ftp", ftp_raw, _KNOWN["ftp"])
    ftp_password = _password(src, "ftp", ftp_raw, env)
    if ftp_password is None:
        raise _fail(
            src,
            "[ftp] n'a pas de mot de passe",
            'ajouter password_env = "BASCULE_FTP_PASSWORD" à [ftp] et exporter cette variable',
        )
    return FTPSpec(
        user=_name(src, "ftp.user", ftp_raw.get("user", "user"), "un nom d'utilisateur"),
        password=ftp_password,
        port=_port(src, "ftp.port", ftp_raw.get("port", 21)),
        timeout=_seconds(src, "ftp.timeout", ftp_raw.get("timeout", 8)),
        documents=_documents(src, ftp_raw.get("documents", "Documents")),
    )


def parse(data: dict, src: str, env: dict | None = None, base_dir: Path | None = None) -> Inventory:
    env = dict(os.environ if env is None else env)
    for section in data:
        if section not in ("cluster", "ssh", "nodes", "ftp", "drbd", "resources"):
            raise _fail(
                src,
                f"section inconnue [{section}]",
                "les sections sont [cluster], [ssh], [[nodes]], [ftp], [drbd], [resources]",
            )
    cluster = data.get("cluster")
    if not isinstance(cluster, dict):
        raise _fail(src, "pas de section [cluster]", 'ajouter [cluster] avec vip = "..." et preferred_master = "..."')
    _check_keys(src, "cluster", cluster, _KNOWN["cluster"])
    if "vip" not in cluster:
        raise _fail(src, "[cluster] n'a pas de vip", "ajouter vip = \"10.22.100.220\" (l'adresse d'IPFailover)")
    vip = _typed(src, "cluster.vip", cluster["vip"], str, "une adresse IP")
    try:
        ipaddress.ip_address(vip)
    except ValueError:
        raise _fail(
            src,
            f"cluster.vip {_shown(vip)} n'est pas une adresse IP",
            "donner l'IP virtuelle d'IPFailover, par exemple 10.22.100.220",
        ) from None

    def resolve_key(key: str) -> str:
        """A key's path as written: ~ expanded; relative to the inventory's directory."""
        if base_dir and not os.path.isabs(os.path.expanduser(key)):
            key = str(base_dir / key)
        return os.path.expanduser(key)

    ssh_defaults = data.get("ssh", {})
    if not isinstance(ssh_defaults, dict):
        raise _fail(src, "[ssh] doit être une table", "écrire [ssh] suivi de lignes clé = valeur")
    _check_keys(src, "ssh", ssh_defaults, _KNOWN["ssh"])

    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list) or len(raw_nodes) != 2:
        n = len(raw_nodes) if isinstance(raw_nodes, list) else 0
        raise _fail(
            src,
            f"le cluster du lab a deux nœuds, l'inventaire en nomme {n}",
            "ajouter deux tables [[nodes]], chacune avec name et host",
        )
    nodes = [_node(src, f"nodes[{i}]", raw, ssh_defaults, env, resolve_key) for i, raw in enumerate(raw_nodes, 1)]
    if nodes[0].name == nodes[1].name:
        raise _fail(src, f"les deux nœuds s'appellent {nodes[0].name}", "donner à chaque nœud son nom dans crm status")

    preferred = _name(
        src, "cluster.preferred_master", cluster.get("preferred_master", nodes[0].name), "le nom d'un nœud"
    )
    if preferred not in (nodes[0].name, nodes[1].name):
        raise _fail(
            src,
            f"cluster.preferred_master '{preferred}' n'est aucun des deux nœuds",
            f"mettre {nodes[0].name} ou {nodes[1].name}",
        )

    for section in ("ftp", "drbd", "resources"):
        if not isinstance(data.get(section, {}), dict):
            raise _fail(src, f"[{section}] doit être une table", f"écrire [{section}] suivi de lignes clé = valeur")
    ftp = _ftp(src, data.get("ftp", {}), env)
    drbd_raw = data.get("drbd", {})
    _check_keys(src, "drbd", drbd_raw, _KNOWN["drbd"])
    drbd = _drbd(src, drbd_raw)
    res_raw = data.get("resources", {})
    _check_keys(src, "resources", res_raw, _KNOWN["resources"])
    resources = ResourceIds(
        **{k: _name(src, f"resources.{k}", v, "un identifiant de ressource") for k, v in res_raw.items()}
    )
    master_first = tuple(sorted(nodes, key=lambda n: n.name != preferred))
    return Inventory(
        nodes=master_first, preferred_master=preferred, vip=vip, ftp=ftp, drbd=drbd, resources=resources, source=src
    )


def load(path: str | os.PathLike, env: dict | None = None) -> Inventory:
    """The inventory in the TOML file at path. An empty path is refused, never read as the current directory."""
    fix = "donner le chemin de votre inventaire TOML (voir examples/inventory.toml)"
    raw = os.fspath(path)
    if isinstance(raw, bytes):
        raw = os.fsdecode(raw)
    if not raw:  # Path("") is ".": an unset variable must not become the working directory
        raise InventoryError(
            'inventaire "" : le chemin est vide (une variable du shell non définie ?)',
            "donner le chemin de votre inventaire TOML, par exemple --inventory examples/inventory.toml",
        )
    if _control(raw):
        raise InventoryError(f"inventaire {_shown(raw)} : le chemin contient un caractère de contrôle", fix)
    p = Path(raw)
    try:
        st = p.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise InventoryError(f"inventaire {p} : fichier introuvable", fix) from None
    except PermissionError:
        raise InventoryError(
            f"inventaire {p} : illisible (permission refusée sur le chemin)",
            "rendre le fichier et ses répertoires lisibles par cet utilisateur",
        ) from None
    except OSError as exc:
        raise InventoryError(f"inventaire {p} : illisible ({exc.strerror or type(exc).__name__})", fix) from None
    if stat.S_ISDIR(st.st_mode):
        raise InventoryError(
            f"inventaire {p} : c'est un répertoire, pas un fichier d'inventaire",
            f"donner le chemin du fichier TOML, par exemple {p / 'inventory.toml'}",
        )
    if not stat.S_ISREG(st.st_mode):
        raise InventoryError(f"inventaire {p} : ce n'est pas un fichier ordinaire", fix)
    try:
        raw_bytes = p.read_bytes()
    except PermissionError:
        raise InventoryError(
            f"inventaire {p} : illisible (permission refusée)",
            f"le rendre lisible par cet utilisateur (chmod u+r {p}) ou lancer bascule sous le compte "
            "de son propriétaire",
        ) from None
    except OSError as exc:
        raise InventoryError(f"inventaire {p} : illisible ({exc.strerror or type(exc).__name__})", fix) from None
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise InventoryError(
            f"inventaire {p} : ce n'est pas du texte UTF-8", "enregistrer le fichier en UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(
            f"inventaire {p} : TOML invalide ({exc})", "corriger la ligne indiquée ; voir examples/inventory.toml"
        ) from None
    return parse(data, str(p), env, base_dir=p.parent)
