"""bascule.inventory: the TOML inventory, parsed to an Inventory or refused with one InventoryError."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bascule.errors import BasculeError, InventoryError
from bascule.inventory import (DRBDSpec, FTPSpec, Inventory, NodeSpec, ResourceIds, Secret, SSHSpec,
                               load, parse)

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
        "nodes": [{"name": "intralab01", "host": "10.22.100.11"},
                  {"name": "hdintralab01", "host": "10.22.100.12"}],
        "ftp": {"password_env": "BASCULE_FTP_PASSWORD"},
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def refused(data: dict, env: dict | None = None, base_dir: Path | None = None) -> InventoryError:
    with pytest.raises(InventoryError) as info:
        parse(data, "inv.toml", ENV if env is None else env, base_dir)
    err = info.value
    assert isinstance(err, BasculeError)
    assert str(err).startswith("inventory inv.toml: ")
    assert err.fix, "every inventory error names its fix"
    assert SECRET not in str(err)
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
        cluster_interface="eth1")
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
        nodes=[{"name": "intralab01", "host": "a", "password_env": "SSH_PW"},
               {"name": "hdintralab01", "host": "b", "user": "root", "connect_timeout": 3}],
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
    assert "no such file" in str(info.value)
    assert "absent.toml" in str(info.value)


def test_invalid_toml_does_not_echo_the_secret(tmp_path):
    # an unquoted password: not TOML; the message names the line, never the value
    p = write(tmp_path, f'[cluster]\nvip = "10.22.100.220"\n[ftp]\npassword = {SECRET}\n')
    with pytest.raises(InventoryError) as info:
        load(p, env=ENV)
    assert "not valid TOML" in str(info.value)
    assert "line 4" in str(info.value)
    assert SECRET not in str(info.value)


def test_not_utf8(tmp_path):
    p = tmp_path / "latin1.toml"
    p.write_bytes('[cluster]\nvip = "10.22.100.220" # réseau\n'.encode("latin-1"))
    with pytest.raises(InventoryError) as info:
        load(p, env=ENV)
    assert "not UTF-8" in str(info.value)


# --- contents that are refused -----------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    (base(extra={"a": 1}), "unknown section [extra]"),
    (base(cluster={"vip": "10.22.100.220", "master": "intralab01"}), "unknown key 'master' in [cluster]"),
    (base(ssh={"password_env": "SSH_PW", "username": "root"}), "unknown key 'username' in [ssh]"),
    (base(ftp={"password_env": "BASCULE_FTP_PASSWORD", "passwd": "x"}), "unknown key 'passwd' in [ftp]"),
    (base(drbd={"minor": "0"}), "unknown key 'minor' in [drbd]"),
    (base(resources={"vip": "IP"}), "unknown key 'vip' in [resources]"),
    (base(cluster=None), "no [cluster] section"),
    (base(cluster={"preferred_master": "intralab01"}), "[cluster] has no vip"),
    (base(cluster={"vip": "10.22.100"}), "cluster.vip '10.22.100' is not an IP address"),
    (base(cluster={"vip": "intralab"}), "is not an IP address"),
    (base(nodes=[{"name": "intralab01", "host": "a"}]), "the lab's cluster has two nodes, the inventory names 1"),
    (base(nodes=None), "the inventory names 0"),
    (base(nodes=[{"name": "intralab01", "host": "a"}, {"name": "hdintralab01"}]), "nodes[2] has no host"),
    (base(nodes=[{"host": "a"}, {"name": "hdintralab01", "host": "b"}]), "nodes[1] has no name"),
    (base(nodes=[{"name": "intralab01", "host": "a", "ip": "x"}, {"name": "hdintralab01", "host": "b"}]),
     "unknown key 'ip' in [nodes[1]]"),
    (base(nodes=[{"name": "intralab01", "host": "a"}, {"name": "intralab01", "host": "b"}]),
     "both nodes are named intralab01"),
    (base(cluster={"vip": "10.22.100.220", "preferred_master": "intralab02"}),
     "cluster.preferred_master 'intralab02' is not one of the nodes"),
    (base(nodes=[{"name": "intralab01", "host": "a", "port": 70000}, {"name": "hdintralab01", "host": "b"}]),
     "nodes[1].port 70000 is not a TCP port"),
    (base(nodes=[{"name": "intralab01", "host": "a"}, {"name": "hdintralab01", "host": "b", "port": 0}]),
     "nodes[2].port 0 is not a TCP port"),
    (base(ssh={"user": "root"}), "nodes[1] has neither key nor password"),
    (base(ssh={"password_env": "NOT_SET_ANYWHERE"}), "nodes[1].password_env names $NOT_SET_ANYWHERE, which is not set"),
    (base(ftp={"password_env": "NOT_SET_EITHER"}), "ftp.password_env names $NOT_SET_EITHER, which is not set"),
    (base(ftp={"user": "user"}), "[ftp] has no password"),
    (base(ftp=None), "[ftp] has no password"),
    (base(ftp={"password": "a", "password_env": "BASCULE_FTP_PASSWORD"}), "ftp has both password and password_env"),
    (base(nodes=[{"name": "intralab01", "host": "a", "port": "22"}, {"name": "hdintralab01", "host": "b"}]),
     "nodes[1].port must be an integer, not str"),
    (base(ssh={"password_env": "SSH_PW", "port": "22"}), "nodes[1].port must be an integer, not str"),
    (base(ssh={"password_env": "SSH_PW", "sudo": "yes"}), "nodes[1].sudo must be true or false, not str"),
    (base(nodes=[{"name": "intralab01", "host": "a", "port": True}, {"name": "hdintralab01", "host": "b"}]),
     "nodes[1].port must be an integer, not True"),
    (base(ftp={"password_env": "BASCULE_FTP_PASSWORD", "port": "21"}), "ftp.port must be an integer, not str"),
    (base(ftp={"password": 1234}), "ftp.password must be a string, not int"),
    (base(cluster={"vip": 10}), "cluster.vip must be an IP address, not int"),
    (base(drbd={"device": 0}), "drbd.device must be a string, not int"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_refused(data, message):
    err = refused(data)
    assert message in str(err)


def test_key_file_missing(tmp_path):
    data = base(ssh={"key": "absent_key"})
    err = refused(data, base_dir=tmp_path)
    assert f"nodes[1].key {tmp_path / 'absent_key'} does not exist" in str(err)


def test_key_file_missing_from_file(tmp_path):
    p = write(tmp_path, VALID)  # names key "id_test", which is not created here
    with pytest.raises(InventoryError) as info:
        load(p, env=ENV)
    assert "does not exist" in str(info.value)
    assert str(tmp_path / "id_test") in str(info.value)


def test_unknown_section_from_file(tmp_path, key):
    p = write(tmp_path, VALID + '\n[cluster_options]\nstonith = false\n')
    with pytest.raises(InventoryError) as info:
        load(p, env=ENV)
    assert "unknown section [cluster_options]" in str(info.value)


def test_wrong_type_from_file(tmp_path, key):
    p = write(tmp_path, VALID.replace("port = 2222", 'port = "22"'))
    with pytest.raises(InventoryError) as info:
        load(p, env=ENV)
    assert "nodes[1].port must be an integer, not str" in str(info.value)


def test_secret_absent_from_every_error(tmp_path, key):
    """Whatever the error, the passwords the inventory holds are not in its message."""
    data = base(ssh={"password": SECRET},
                ftp={"password": SECRET, "port": "x"})
    err = refused(data)
    assert "ftp.port" in str(err)
    data = base(ssh={"password": SECRET, "bogus": SECRET})
    err = refused(data)
    assert "unknown key 'bogus'" in str(err)



@pytest.mark.parametrize("section", ["ftp", "drbd", "resources"])
def test_section_that_is_not_a_table(section):
    assert f"[{section}] must be a table" in str(refused(base(**{section: 3})))


def test_ftp_port_out_of_range():
    assert "ftp.port 99999 is not a TCP port" in str(refused(base(ftp={"password_env": "BASCULE_FTP_PASSWORD", "port": 99999})))


def test_power_off_must_be_a_command():
    nodes = [{"name": "intralab01", "host": "10.22.100.11", "power_off": 3},
             {"name": "hdintralab01", "host": "10.22.100.12"}]
    assert "nodes[1].power_off must be a command" in str(refused(base(nodes=nodes)))
