"""bascule.inventory: the TOML inventory, parsed to an Inventory or refused with one InventoryError."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from bascule.errors import BasculeError, InventoryError
from bascule.inventory import (
    DRBDSpec,
    FTPSpec,
    Inventory,
    NodeSpec,
    ResourceIds,
    Secret,
    SSHSpec,
    drbd_minor,
    load,
    parse,
)

SECRET = "S3cr3t-xyz"
ENV = {"BASCULE_FTP_PASSWORD": SECRET, "SSH_PW": "ssh-" + SECRET}

VALID = """\
[cluster]
vip = "10.22.100.220"
preferred_master = "intralab01"

[ssh]
user = "vagrant"
key = "id_test"

[[nodes]]
name = "hdintralab01"
host = "10.22.100.12"
port = 2222

[[nodes]]
name = "intralab01"
host = "10.22.100.11"
cluster_interface = "eth1"

[ftp]
user = "user"
password_env = "BASCULE_FTP_PASSWORD"
"""


@pytest.fixture
def key(tmp_path: Path) -> Path:
    k = tmp_path / "id_test"
    k.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n")
    return k


def write(tmp_path: Path, text: str, name: str = "inventory.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def base(**over) -> dict:
    """A valid inventory as a dict (key file given by absolute path), with sections replaced."""
    data = {
        "cluster": {"vip": "10.22.100.220", "preferred_master": "intralab01"},
        "ssh": {"user": "root", "password_env": "SSH_PW"},
        "nodes": [{"name": "intralab01", "host": "10.22.100.11"}, {"name": "hdintralab01", "host": "10.22.100.12"}],
        "ftp": {"password_env": "BASCULE_FTP_PASSWORD"},
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def refused(data: dict, env: dict | None = None, base_dir: Path | None = None) -> InventoryError:
    with pytest.raises(InventoryError) as info:
        parse(data, "inv.toml", ENV if env is None else env, base_dir)
    err = info.value
    assert isinstance(err, BasculeError)
    assert str(err).startswith("inventaire inv.toml : ")
    assert err.fix, "every inventory error names its fix"
    assert "\n" not in str(err) and "\r" not in str(err), "one line"
    assert SECRET not in str(err) and SECRET not in repr(err)
    return err


# --- a valid file ------------------------------------------------------------------------------


def test_valid_file_loads_with_defaults(tmp_path, key):
    inv = load(write(tmp_path, VALID), env=ENV)
    assert isinstance(inv, Inventory)
    assert inv.vip == "10.22.100.220"
    assert inv.preferred_master == "intralab01"
    # the preferred master comes first, whatever the order in the file
    assert [n.name for n in inv.nodes] == ["intralab01", "hdintralab01"]
    assert inv.master.name == "intralab01" and inv.slave.name == "hdintralab01"
    master, slave = inv.nodes
    assert master == NodeSpec(
        name="intralab01",
        ssh=SSHSpec(host="10.22.100.11", port=22, user="vagrant", key=str(key), password=None, sudo=True),
        cluster_interface="eth1",
    )
    assert slave.ssh.port == 2222 and slave.ssh.host == "10.22.100.12"
    assert slave.cluster_interface == "eth0"
    # the relative key is resolved against the inventory's directory
    assert Path(slave.ssh.key) == key
    assert slave.ssh.connect_timeout == 10.0 and slave.ssh.command_timeout == 120.0
    # defaults for what the file does not say
    assert inv.drbd == DRBDSpec() == DRBDSpec("resftp", "/dev/drbd0", "/home")
    assert inv.resources == ResourceIds()
    assert inv.resources.ms == "ms-drbd0" and inv.resources.group == "servIntralab"
    assert inv.ftp == FTPSpec(user="user", password=Secret(SECRET), port=21, timeout=8.0, documents="Documents")
    assert inv.ftp.password.reveal() == SECRET
    assert inv.home == "/home/user" and inv.documents_dir == "/home/user/Documents"
    assert inv.source == str(tmp_path / "inventory.toml")
    assert inv.embedded is False
    assert inv.node("hdintralab01") is slave
    with pytest.raises(KeyError):
        inv.node("intralab99")


def test_preferred_master_defaults_to_first_node_and_reorders(tmp_path, key):
    data = tomllib.loads(VALID)
    del data["cluster"]["preferred_master"]
    inv = parse(data, "x", ENV, tmp_path)
    assert inv.preferred_master == "hdintralab01"
    assert [n.name for n in inv.nodes] == ["hdintralab01", "intralab01"]


def test_secret_password_and_overrides():
    data = base(
        ssh={"user": "admin", "password": "ssh-pw", "sudo": False},
        nodes=[
            {"name": "intralab01", "host": "a", "password_env": "SSH_PW"},
            {"name": "hdintralab01", "host": "b", "user": "root", "connect_timeout": 3},
        ],
        ftp={"password": SECRET, "port": 2121, "timeout": 5, "documents": "Docs"},
        drbd={"resource": "r0", "mount_point": "/srv/"},
        resources={"ftp": "proftpd"},
    )
    inv = parse(data, "inv.toml", ENV)
    a, b = inv.nodes
    # a node's password_env replaces the default password
    assert a.ssh.password == Secret("ssh-" + SECRET)
    assert b.ssh.password == Secret("ssh-pw") and b.ssh.user == "root" and b.ssh.sudo is False
    assert b.ssh.connect_timeout == 3.0 and isinstance(b.ssh.connect_timeout, float)
    assert inv.ftp.password.reveal() == SECRET and inv.ftp.port == 2121 and inv.ftp.timeout == 5.0
    assert inv.drbd == DRBDSpec(resource="r0", device="/dev/drbd0", mount_point="/srv/")
    assert inv.home == "/srv/user" and inv.documents_dir == "/srv/user/Docs"
    assert inv.resources.ftp == "proftpd" and inv.resources.web == "serviceWeb"


def test_secret_never_printed(tmp_path, key):
    inv = load(write(tmp_path, VALID), env=ENV)
    assert SECRET not in repr(inv)
    assert SECRET not in str(inv)
    assert "Secret('***')" in repr(inv)
    s = Secret(SECRET)
    assert repr(s) == str(s) == "Secret('***')"
    assert f"{s}" == "Secret('***')"
    assert s == Secret(SECRET) and s != Secret("other") and s != SECRET
    assert hash(s) == hash(Secret(SECRET))


def test_env_defaults_to_os_environ(monkeypatch):
    monkeypatch.setenv("BASCULE_TEST_FTP_PW", SECRET)
    monkeypatch.setenv("SSH_PW", "x")
    inv = parse(base(ftp={"password_env": "BASCULE_TEST_FTP_PW"}), "inv.toml")
    assert inv.ftp.password.reveal() == SECRET


# --- files that cannot be read -----------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(InventoryError) as info:
        load(tmp_path / "absent.toml", env=ENV)
    assert "fichier introuvable" in str(info.value)
    assert "absent.toml" in str(info.value)


def test_invalid_toml_does_not_echo_the_secret(tmp_path):
    # an unquoted password: not TOML; the message names the line, never the value
    p = write(tmp_path, f'[cluster]\nvip = "10.22.100.220"\n[ftp]\npassword = {SECRET}\n')
    with pytest.raises(InventoryError) as info:
        load(p, env=ENV)
    assert "TOML invalide" in str(info.value)
    assert "line 4" in str(info.value)
    assert SECRET not in str(info.value)


def test_not_utf8(tmp_path):
    p = tmp_path / "latin1.toml"
    p.write_bytes('[cluster]\nvip = "10.22.100.220" # réseau\n'.encode("latin-1"))
    with pytest.raises(InventoryError) as info:
        load(p, env=ENV)
    assert "pas du texte UTF-8" in str(info.value)


# --- contents that are refused -----------------------------------------------------------------


@pytest.mark.parametrize(
    "data, message",
    [
        (base(extra={"a": 1}), "section inconnue [extra]"),
        (base(cluster={"vip": "10.22.100.220", "master": "intralab01"}), "clé inconnue 'master' dans [cluster]"),
        (base(ssh={"password_env": "SSH_PW", "username": "root"}), "clé inconnue 'username' dans [ssh]"),
        (base(ftp={"password_env": "BASCULE_FTP_PASSWORD", "passwd": "x"}), "clé inconnue 'passwd' dans [ftp]"),
        (base(drbd={"minor": "0"}), "clé inconnue 'minor' dans [drbd]"),
        (base(resources={"vip": "IP"}), "clé inconnue 'vip' dans [resources]"),
        (base(cluster=None), "pas de section [cluster]"),
        (base(cluster={"preferred_master": "intralab01"}), "[cluster] n'a pas de vip"),
        (base(cluster={"vip": "10.22.100"}), "cluster.vip '10.22.100' n'est pas une adresse IP"),
        (base(cluster={"vip": "intralab"}), "n'est pas une adresse IP"),
        (base(nodes=[{"name": "intralab01", "host": "a"}]), "le cluster du lab a deux nœuds, l'inventaire en nomme 1"),
        (base(nodes=None), "l'inventaire en nomme 0"),
        (base(nodes=[{"name": "intralab01", "host": "a"}, {"name": "hdintralab01"}]), "nodes[2] n'a pas de host"),
        (base(nodes=[{"host": "a"}, {"name": "hdintralab01", "host": "b"}]), "nodes[1] n'a pas de name"),
        (
            base(nodes=[{"name": "intralab01", "host": "a", "ip": "x"}, {"name": "hdintralab01", "host": "b"}]),
            "clé inconnue 'ip' dans [nodes[1]]",
        ),
        (
            base(nodes=[{"name": "intralab01", "host": "a"}, {"name": "intralab01", "host": "b"}]),
            "les deux nœuds s'appellent intralab01",
        ),
        (
            base(cluster={"vip": "10.22.100.220", "preferred_master": "intralab02"}),
            "cluster.preferred_master 'intralab02' n'est aucun des deux nœuds",
        ),
        (
            base(nodes=[{"name": "intralab01", "host": "a", "port": 70000}, {"name": "hdintralab01", "host": "b"}]),
            "nodes[1].port 70000 n'est pas un port TCP",
        ),
        (
            base(nodes=[{"name": "intralab01", "host": "a"}, {"name": "hdintralab01", "host": "b", "port": 0}]),
            "nodes[2].port 0 n'est pas un port TCP",
        ),
        (base(ssh={"user": "root"}), "nodes[1] n'a ni clé ni mot de passe"),
        (
            base(ssh={"password_env": "NOT_SET_ANYWHERE"}),
            "ssh.password_env nomme $NOT_SET_ANYWHERE, qui n'est pas définie",
        ),
        (base(ftp={"password_env": "NOT_SET_EITHER"}), "ftp.password_env nomme $NOT_SET_EITHER, qui n'est pas définie"),
        (base(ftp={"user": "user"}), "[ftp] n'a pas de mot de passe"),
        (base(ftp=None), "[ftp] n'a pas de mot de passe"),
        (
            base(ftp={"password": "a", "password_env": "BASCULE_FTP_PASSWORD"}),
            "ftp a à la fois password et password_env",
        ),
        (
            base(nodes=[{"name": "intralab01", "host": "a", "port": "22"}, {"name": "hdintralab01", "host": "b"}]),
            "nodes[1].port doit être un entier, pas du texte",
        ),
        (base(ssh={"password_env": "SSH_PW", "port": "22"}), "ssh.port doit être un entier, pas du texte"),
        (base(ssh={"password_env": "SSH_PW", "sudo": "yes"}), "ssh.sudo doit être true ou false, pas du texte"),
        (
            base(nodes=[{"name": "intralab01", "host": "a", "port": True}, {"name": "hdintralab01", "host": "b"}]),
            "nodes[1].port doit être un entier, pas true",
        ),
        (
            base(ftp={"password_env": "BASCULE_FTP_PASSWORD", "port": "21"}),
            "ftp.port doit être un entier, pas du texte",
        ),
        (base(ftp={"password": 1234}), "ftp.password doit être une chaîne de caractères, pas un entier"),
        (base(cluster={"vip": 10}), "cluster.vip doit être une adresse IP, pas un entier"),
        (base(drbd={"device": 0}), "drbd.device doit être une chaîne de caractères, pas un entier"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_refused(data, message):
    err = refused(data)
    assert message in str(err)


def test_key_file_missing(tmp_path):
    # set under [ssh]: the message names [ssh], where the user wrote it, not the first node
    data = base(ssh={"key": "absent_key"})
    err = refused(data, base_dir=tmp_path)
    assert (
        f"la clé SSH absent_key ({tmp_path / 'absent_key'}) n'existe pas ; elle est donnée par key dans [ssh]"
        in str(err)
    )
    assert "nodes[1]" not in str(err)
    assert "ssh-keygen" in err.fix and "password_env" in err.fix and "[ssh]" in err.fix


def test_key_file_missing_set_on_the_node(tmp_path):
    data = base(
        nodes=[
            {"name": "intralab01", "host": "10.22.100.11"},
            {"name": "hdintralab01", "host": "10.22.100.12", "key": str(tmp_path / "absent_key")},
        ]
    )
    err = refused(data)
    assert f"la clé SSH {tmp_path / 'absent_key'} n'existe pas ; elle est donnée par key dans nodes[2]" in str(err)
    assert "corriger key dans nodes[2]" in err.fix


def test_key_file_missing_from_file(tmp_path):
    p = write(tmp_path, VALID)  # names key "id_test", which is not created here
    with pytest.raises(InventoryError) as info:
        load(p, env=ENV)
    assert "n'existe pas" in str(info.value)
    assert str(tmp_path / "id_test") in str(info.value)


def test_the_example_inventory_names_its_ssh_key_where_it_is_set(monkeypatch, tmp_path):
    # examples/inventory.toml run unedited, on a machine without ~/.ssh/id_ed25519
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(InventoryError) as info:
        load(Path(__file__).resolve().parent.parent / "examples" / "inventory.toml", env={"BASCULE_FTP_PASSWORD": "x"})
    err = info.value
    assert (
        f"la clé SSH ~/.ssh/id_ed25519 ({tmp_path}/.ssh/id_ed25519) n'existe pas ; "
        "elle est donnée par key dans [ssh], la valeur par défaut des nœuds"
    ) in err.what
    assert "nodes[" not in str(err)
    assert "ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519" in err.fix
    assert 'password_env = "BASCULE_SSH_PASSWORD"' in err.fix


def test_unknown_section_from_file(tmp_path, key):
    p = write(tmp_path, VALID + "\n[cluster_options]\nstonith = false\n")
    with pytest.raises(InventoryError) as info:
        load(p, env=ENV)
    assert "section inconnue [cluster_options]" in str(info.value)


def test_wrong_type_from_file(tmp_path, key):
    p = write(tmp_path, VALID.replace("port = 2222", 'port = "22"'))
    with pytest.raises(InventoryError) as info:
        load(p, env=ENV)
    assert "nodes[1].port doit être un entier, pas du texte" in str(info.value)


def test_secret_absent_from_every_error(tmp_path, key):
    """Whatever the error, the passwords the inventory holds are not in its message."""
    data = base(ssh={"password": SECRET}, ftp={"password": SECRET, "port": "x"})
    err = refused(data)
    assert "ftp.port" in str(err)
    data = base(ssh={"password": SECRET, "bogus": SECRET})
    err = refused(data)
    assert "clé inconnue 'bogus'" in str(err)


@pytest.mark.parametrize("section", ["ftp", "drbd", "resources"])
def test_section_that_is_not_a_table(section):
    assert f"[{section}] doit être une table" in str(refused(base(**{section: 3})))


def test_ftp_port_out_of_range():
    assert "ftp.port 99999 n'est pas un port TCP" in str(
        refused(base(ftp={"password_env": "BASCULE_FTP_PASSWORD", "port": 99999}))
    )


def test_power_off_must_be_a_command():
    nodes = [
        {"name": "intralab01", "host": "10.22.100.11", "power_off": 3},
        {"name": "hdintralab01", "host": "10.22.100.12"},
    ]
    assert "nodes[1].power_off doit être une commande" in str(refused(base(nodes=nodes)))


# --- hostile inputs: every field checked for what it is ------------------------------------------


def node1(**fields) -> dict:
    """base() with nodes[1] given these fields (name and host default to valid ones)."""
    return base(
        nodes=[
            {"name": "intralab01", "host": "10.22.100.11", **fields},
            {"name": "hdintralab01", "host": "10.22.100.12"},
        ]
    )


def hidden(err: InventoryError, *secrets: str) -> None:
    """No password in any form the error takes: message, repr, args, what, fix."""
    for s in secrets:
        for text in (str(err), repr(err), repr(err.args), err.what, err.fix):
            assert s not in text


@pytest.mark.parametrize(
    "host",
    [
        "10.22.100.11",
        "fd00::11",
        "fe80::1%eth1",
        "::1",
        "a",
        "intralab01",
        "intralab01.example.org",
        "intralab01.example.org.",
        "xn--rseau-bsa.example",
        "a" * 63,
        ".".join(["a" * 63] * 3) + "." + "a" * 61,
    ],
)
def test_host_accepted(host):
    inv = parse(node1(host=host), "inv.toml", ENV)
    assert inv.node("intralab01").ssh.host == host


def test_host_with_user_is_refused_without_echoing_it():
    err = refused(node1(host=f"admin:{SECRET}@10.22.100.11"))
    assert "nodes[1].host contient un utilisateur (utilisateur@hôte)" in str(err)
    assert 'user = "..."' in err.fix
    assert "admin" not in str(err)


@pytest.mark.parametrize(
    "host, fix",
    [
        ("10.22.100.11:2222", 'host = "10.22.100.11" et port = 2222'),
        ("intralab01:22", 'host = "intralab01" et port = 22'),
        ("[fd00::11]:2222", 'host = "fd00::11" et port = 2222'),
    ],
)
def test_host_with_port_is_refused(host, fix):
    err = refused(node1(host=host))
    assert f"nodes[1].host '{host}' contient un port" in str(err)
    assert fix in err.fix


@pytest.mark.parametrize(
    "host", [" 10.22.100.11", "10.22.100.11 ", "intra lab01", "intra\tlab", "intralab01\n", "intra\x00lab"]
)
def test_host_with_whitespace_or_control_is_refused(host):
    assert "nodes[1].host" in str(err := refused(node1(host=host)))
    assert "contient un espace ou un caractère de contrôle" in str(err)


@pytest.mark.parametrize(
    "host, message",
    [
        ("a" * 64, "nodes[1].host a une partie de 64 caractères"),
        ("intralab01." + "b" * 64 + ".org", "nodes[1].host a une partie de 64 caractères"),
        (".".join(["a" * 63] * 4), "nodes[1].host fait 255 caractères"),
    ],
)
def test_host_too_long_is_refused_cleanly(host, message):
    # fabric would raise UnicodeError ("label too long") at the first connection
    err = refused(node1(host=host))
    assert message in str(err)
    assert "de 1 à 63 caractères" in err.fix or "253" in err.fix


@pytest.mark.parametrize(
    "host, message",
    [
        ("", "nodes[1].host est vide"),
        ("-oProxyCommand=sh", "contient '='"),
        ("-intralab01", "commence ou finit par un tiret"),
        ("intralab01-", "commence ou finit par un tiret"),
        ("intra..lab", "partie vide entre deux points"),
        ("réseau", "contient 'é'"),
        ("intra_lab", "contient '_'"),
        ("10.22.100", "'10.22.100' n'est pas une adresse IPv4"),
        ("300.1.1.1", "n'est pas une adresse IPv4"),
        ("[fd00::11]", "est entre crochets"),
        ("fd00::zz", "n'est ni une adresse IP ni un nom d'hôte"),
    ],
)
def test_host_that_is_no_address_nor_name(host, message):
    assert message in str(refused(node1(host=host)))


@pytest.mark.parametrize(
    "where, data",
    [
        ("nodes[1].connect_timeout", lambda v: node1(connect_timeout=v)),
        ("ssh.command_timeout", lambda v: base(ssh={"password_env": "SSH_PW", "command_timeout": v})),
        ("ftp.timeout", lambda v: base(ftp={"password_env": "BASCULE_FTP_PASSWORD", "timeout": v})),
    ],
)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), 0, 0.0, -1, -0.5, 1e12])
def test_timeout_must_be_finite_and_positive(where, data, value):
    err = refused(data(value))
    assert str(err).startswith(f"inventaire inv.toml : {where} ")
    assert "en secondes" in err.fix


def test_timeout_accepted_and_from_file(tmp_path, key):
    inv = parse(node1(connect_timeout=0.5, command_timeout=86400), "inv.toml", ENV)
    assert inv.node("intralab01").ssh.connect_timeout == 0.5
    assert inv.node("intralab01").ssh.command_timeout == 86400.0
    # TOML writes nan and inf as bare words
    p = write(tmp_path, VALID + "timeout = nan\n")
    with pytest.raises(InventoryError) as info:
        load(p, env=ENV)
    assert "ftp.timeout nan n'est pas une durée" in str(info.value)


@pytest.mark.parametrize(
    "data, message",
    [
        (node1(port=-1), "nodes[1].port -1 n'est pas un port TCP"),
        (node1(port=65536), "nodes[1].port 65536 n'est pas un port TCP"),
        (node1(port=2.5), "nodes[1].port doit être un entier, pas un nombre à virgule"),
        (base(ftp={"password_env": "BASCULE_FTP_PASSWORD", "port": 0}), "ftp.port 0 n'est pas un port TCP"),
    ],
)
def test_port_out_of_range(data, message):
    assert message in str(refused(data))


def test_port_bounds_accepted():
    inv = parse(
        base(
            nodes=[
                {"name": "intralab01", "host": "a", "port": 1},
                {"name": "hdintralab01", "host": "b", "port": 65535},
            ],
            ftp={"password_env": "BASCULE_FTP_PASSWORD", "port": 65535},
        ),
        "inv.toml",
        ENV,
    )
    assert [n.ssh.port for n in inv.nodes] == [1, 65535] and inv.ftp.port == 65535


@pytest.mark.parametrize(
    "where, data",
    [
        (
            "nodes[1].name",
            lambda v: base(
                cluster={"vip": "10.22.100.220"},
                nodes=[{"name": v, "host": "a"}, {"name": "hdintralab01", "host": "b"}],
            ),
        ),
        ("cluster.preferred_master", lambda v: base(cluster={"vip": "10.22.100.220", "preferred_master": v})),
        ("ftp.user", lambda v: base(ftp={"password_env": "BASCULE_FTP_PASSWORD", "user": v})),
        ("resources.fs", lambda v: base(resources={"fs": v})),
        ("resources.ms", lambda v: base(resources={"ms": v})),
        ("drbd.resource", lambda v: base(drbd={"resource": v})),
        ("ssh.user", lambda v: base(ssh={"password_env": "SSH_PW", "user": v})),
        ("nodes[1].cluster_interface", lambda v: node1(cluster_interface=v)),
    ],
)
@pytest.mark.parametrize(
    "value, message",
    [
        ("", "est vide"),
        (" ", "contient un espace ou un caractère de contrôle"),
        ("fs0 ", "contient un espace ou un caractère de contrôle"),
        ("serv Intralab", "contient un espace ou un caractère de contrôle"),
        ("fs0\r", "contient un espace ou un caractère de contrôle"),
        ("fs\x000", "contient un espace ou un caractère de contrôle"),
    ],
)
def test_name_not_empty_nor_with_whitespace(where, data, value, message):
    err = refused(data(value))
    assert str(err).startswith(f"inventaire inv.toml : {where} ")
    assert message in str(err)


def test_cluster_interface_is_an_interface_name():
    assert "n'est pas un nom d'interface réseau" in str(refused(node1(cluster_interface="enp0s31f6-very-long")))


@pytest.mark.parametrize("ending", ["\r", "\n", "\r\n"])
def test_password_with_line_end_is_refused_naming_the_field(ending):
    # a password file written on Windows (or by echo): the line end would be sent with the password
    err = refused(base(), env={**ENV, "BASCULE_FTP_PASSWORD": SECRET + ending})
    assert "ftp.password_env : $BASCULE_FTP_PASSWORD finit par une fin de ligne" in str(err)
    hidden(err, SECRET)
    err = refused(node1(password=SECRET + ending))
    assert "nodes[1].password : le mot de passe finit par une fin de ligne" in str(err)
    hidden(err, SECRET)


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\t", "\x7f", "\x85"])
def test_password_with_control_character_is_refused(char):
    err = refused(base(ftp={"password": SECRET[:3] + char + SECRET[3:]}))
    assert "ftp.password : le mot de passe contient un caractère de contrôle" in str(err)
    hidden(err, SECRET[:3], SECRET[3:])
    err = refused(base(), env={**ENV, "SSH_PW": SECRET + char + "x"})
    assert "ssh.password_env : $SSH_PW contient un caractère de contrôle" in str(err)
    hidden(err, SECRET)


def test_password_from_env_must_be_utf8():
    # os.environ gives undecodable bytes as surrogate escapes
    err = refused(base(), env={**ENV, "BASCULE_FTP_PASSWORD": SECRET + "\udcff"})
    assert "ftp.password_env : $BASCULE_FTP_PASSWORD n'est pas du texte UTF-8 valide" in str(err)
    hidden(err, SECRET)


def test_password_empty_is_refused():
    assert "ftp.password_env : $BASCULE_FTP_PASSWORD est vide" in str(
        refused(base(), env={**ENV, "BASCULE_FTP_PASSWORD": ""})
    )
    assert "nodes[1].password : le mot de passe est vide" in str(refused(node1(password="")))


@pytest.mark.parametrize("pasted", [SECRET, SECRET + "!", "my password", "1" + SECRET, ""])
def test_password_env_that_is_no_variable_name_is_not_echoed(pasted):
    # the password pasted into password_env: refused, and never printed
    err = refused(base(ftp={"password_env": pasted}))
    assert str(err) == (
        "inventaire inv.toml : ftp.password_env doit nommer une variable d'environnement (lettres, chiffres, _), "
        f"pas contenir le mot de passe — {err.fix}"
    )
    hidden(err, pasted or "\x00")


def test_password_env_unset_lowercase_name_is_not_echoed():
    # hunter2 is a valid variable name, and perhaps the password: not printed when unset
    err = refused(base(ftp={"password_env": "hunter2"}))
    assert "ftp.password_env nomme une variable qui n'est pas définie" in str(err)
    hidden(err, "hunter2")


def test_password_never_in_str_nor_repr():
    """Every refusal of a password, inline or through the environment: the value is in no form of the error."""
    bad = [SECRET + "\r\n", SECRET + "\x00", SECRET + "\udcff", "\n" + SECRET]
    for value in bad:
        for data, env in (
            (base(ftp={"password": value}), ENV)
            if "\udcff" not in value
            else (base(), {**ENV, "BASCULE_FTP_PASSWORD": value}),
            (base(), {**ENV, "SSH_PW": value}),
            (node1(password=value), ENV),
        ):
            with pytest.raises(InventoryError) as info:
                parse(data, "inv.toml", env)
            hidden(info.value, SECRET, value)
            assert info.value.__cause__ is None and info.value.__context__ is None  # nor does a chained exception


@pytest.mark.parametrize(
    "device, minor",
    [
        ("/dev/drbd0", 0),
        ("/dev/drbd12", 12),
        ("/dev/drbd1048575", 1048575),
        ("/dev/drbd/by-res/resftp/0", None),
        ("/dev/drbd/by-res/resftp", None),
        ("/dev/drbd/by-disk/vg0/home", None),
    ],
)
def test_drbd_device_accepted_and_its_minor(device, minor):
    inv = parse(base(drbd={"device": device}), "inv.toml", ENV)
    assert inv.drbd.device == device
    assert drbd_minor(device) == minor


@pytest.mark.parametrize(
    "device, message",
    [
        ("/dev/sdb1", "drbd.device '/dev/sdb1' n'est pas un périphérique DRBD"),
        ("drbd0", "n'est pas un périphérique DRBD"),
        ("/dev/drbd", "n'est pas un périphérique DRBD"),
        ("/dev/drbd01", "n'est pas un périphérique DRBD"),
        ("/dev/drbd0 ", "n'est pas un périphérique DRBD"),
        ("/dev/drbd/by-res/resftp/x", "n'est pas un périphérique DRBD"),
        ("/dev/drbd/by-res/resftp/0/", "n'est pas un périphérique DRBD"),
        ("", "n'est pas un périphérique DRBD"),
        ("/dev/drbd1048576", "a un numéro mineur supérieur à 1048575"),
        ("/dev/drbd/by-res/r0/0", "est celui de la ressource r0, drbd.resource est resftp"),
    ],
)
def test_drbd_device_of_another_shape(device, message):
    err = refused(base(drbd={"device": device}))
    assert message in str(err)
    assert "/dev/drbd" in err.fix or "même ressource" in err.fix


def test_drbd_minor_of_other_strings():
    assert drbd_minor("/dev/sdb1") is None and drbd_minor("") is None and drbd_minor("/dev/drbd01") is None


@pytest.mark.parametrize(
    "data, message",
    [
        (base(drbd={"mount_point": "home"}), "drbd.mount_point 'home' n'est pas un chemin absolu"),
        (base(drbd={"mount_point": "/my home"}), "n'est pas un chemin absolu sans espace"),
        (base(drbd={"mount_point": ""}), "drbd.mount_point est vide"),
        (
            base(ftp={"password_env": "BASCULE_FTP_PASSWORD", "documents": "/Documents"}),
            "n'est pas sous le répertoire personnel de l'utilisateur FTP",
        ),
        (
            base(ftp={"password_env": "BASCULE_FTP_PASSWORD", "documents": "../root"}),
            "n'est pas sous le répertoire personnel de l'utilisateur FTP",
        ),
        (base(ftp={"password_env": "BASCULE_FTP_PASSWORD", "documents": ""}), "ftp.documents est vide"),
        (node1(power_off=""), "nodes[1].power_off est vide"),
        (
            node1(power_on="virsh start a\nrm -rf /"),
            "nodes[1].power_on 'virsh start a\\nrm -rf /' contient un caractère de contrôle",
        ),
        (base(ssh={"key": ""}), "ssh.key est vide"),
    ],
)
def test_paths_and_commands(data, message):
    assert message in str(refused(data))


def test_key_that_is_a_directory(tmp_path):
    assert f"ssh.key {tmp_path} est un répertoire" in str(refused(base(ssh={"key": str(tmp_path)})))


def test_empty_path_never_falls_back(tmp_path, key, monkeypatch):
    # `--inventory "$INVENTORY"` with the variable unset: never the working directory, nor its inventory.toml
    write(tmp_path, VALID)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InventoryError) as info:
        load("", env=ENV)
    assert str(info.value).startswith('inventaire "" : le chemin est vide (une variable du shell non définie ?)')
    assert "--inventory" in info.value.fix


def test_directory_is_not_an_inventory(tmp_path):
    with pytest.raises(InventoryError) as info:
        load(tmp_path, env=ENV)
    assert str(info.value).startswith(f"inventaire {tmp_path} : c'est un répertoire, pas un fichier d'inventaire")
    assert str(tmp_path / "inventory.toml") in info.value.fix


def test_unreadable_file(tmp_path, monkeypatch):
    p = write(tmp_path, VALID)
    p.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the read fail as it would for a user

        def denied(self):
            raise PermissionError(13, "Permission denied", str(self))

        monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(InventoryError) as info:
        load(p, env=ENV)
    assert str(info.value).startswith(f"inventaire {p} : illisible (permission refusée)")
    assert "\n" not in str(info.value)
    assert "chmod" in info.value.fix
