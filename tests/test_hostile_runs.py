"""Whole runs of the acceptance suite (`pytest features/ --inventory …`) against hostile inventories,
as a careless user would start them, with every option that prints frames and locals
(`-l --tb=long -vv`) and Allure recording: one line that names what is wrong, no traceback, and
the passwords nowhere (stdout, stderr, reports/, Allure results).

The nodes are a local paramiko SSH server on 127.0.0.1 (it answers « ok » to any command: not a
cluster), or a port that accepts and never speaks; the FTP server is pyftpdlib on 127.0.0.1. No
VM and no traffic beyond loopback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_ftp import PASSWORD as FTP_PASSWORD
from test_nodes import GOOD_PASSWORD as SSH_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
SECRETS = (SSH_PASSWORD, FTP_PASSWORD, "mauvais-mot-de-passe-77")


@pytest.fixture
def silent_port():
    """A port that accepts connections and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held, stop = [], threading.Event()

    def accept():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    yield sock.getsockname()[1]
    stop.set()
    th.join(2)
    for c in held:
        c.close()
    sock.close()


def inventory(
    tmp_path: Path,
    ssh_port: int,
    ftp_port: int,
    ssh_password_env: str = "HOSTILE_SSH_PASSWORD",
    ftp_password_env: str = "HOSTILE_FTP_PASSWORD",
) -> Path:
    path = tmp_path / "hostile.toml"
    path.write_text(
        f"""
[cluster]
vip = "127.0.0.1"
preferred_master = "intralab01"

[ssh]
user = "root"
port = {ssh_port}
password_env = "{ssh_password_env}"
connect_timeout = 3
command_timeout = 5

[[nodes]]
name = "intralab01"
host = "127.0.0.1"
cluster_interface = "lo"

[[nodes]]
name = "hdintralab01"
host = "127.0.0.1"
cluster_interface = "lo"

[ftp]
user = "user"
port = {ftp_port}
password_env = "{ftp_password_env}"
timeout = 3
""",
        encoding="utf-8",
    )
    return path


def run(tmp_path: Path, inv: Path, env: dict) -> tuple[int, str, Path]:
    reports, allure = tmp_path / "reports", tmp_path / "allure-results"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTILE_")}
    full_env.update(env)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "features/",
            "-p",
            "no:cacheprovider",
            "-l",
            "--tb=long",
            "-vv",
            f"--bascule-inventaire={inv}",
            f"--bascule-rapports={reports}",
            f"--alluredir={allure}",
        ],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    return proc.returncode, proc.stdout + proc.stderr, tmp_path


def assert_clean(rc: int, out: str, where: Path, *expected: str) -> None:
    assert rc != 0, out[-3000:]
    assert "Traceback" not in out and "INTERNALERROR" not in out, out[-5000:]
    # the line that stops the run is bascule's own, not framed by pytest as « !!! _pytest.outcomes.Exit: … !!! »
    assert "_pytest.outcomes.Exit" not in out and "Exit: bascule" not in out, out[-3000:]
    bascule_lines = [
        line
        for line in out.splitlines()
        if "bascule:" in line and ("!" in line or "ERROR" in line or line.startswith("bascule:"))
    ]
    assert bascule_lines, out[-3000:]
    for e in expected:
        assert e in out, (e, out[-3000:])
    for secret in SECRETS:
        assert secret not in out, f"a password in the output:\n{out[-3000:]}"
        for f in [*(where / "reports").rglob("*"), *(where / "allure-results").rglob("*")]:
            if f.is_file():
                assert secret.encode() not in f.read_bytes(), f"a password in {f}"


def test_a_refused_ssh_password_is_one_line_and_leaks_nothing(tmp_path, sshd, ftpd_local):
    inv = inventory(tmp_path, sshd, ftpd_local)
    rc, out, where = run(
        tmp_path, inv, {"HOSTILE_SSH_PASSWORD": "mauvais-mot-de-passe-77", "HOSTILE_FTP_PASSWORD": FTP_PASSWORD}
    )
    assert_clean(rc, out, where, "intralab01")


def test_a_node_that_is_not_a_cluster_stops_at_the_start_row(tmp_path, sshd, ftpd_local):
    # SSH works (the stub answers « ok » to crm_mon): the start row cannot read a cluster there
    inv = inventory(tmp_path, sshd, ftpd_local)
    rc, out, where = run(tmp_path, inv, {"HOSTILE_SSH_PASSWORD": SSH_PASSWORD, "HOSTILE_FTP_PASSWORD": FTP_PASSWORD})
    assert_clean(rc, out, where)
    table = (where / "reports" / "tableau-de-tests.md").read_text(encoding="utf-8")
    assert "**Exécution arrêtée avant la fin** : nœud intralab01" in table
    assert "| OK |" not in table  # nothing could be read: never OK


def test_a_port_that_never_speaks_is_one_line(tmp_path, silent_port, ftpd_local):
    inv = inventory(tmp_path, silent_port, ftpd_local)
    rc, out, where = run(tmp_path, inv, {"HOSTILE_SSH_PASSWORD": SSH_PASSWORD, "HOSTILE_FTP_PASSWORD": FTP_PASSWORD})
    assert_clean(rc, out, where)


@pytest.mark.parametrize("bad", ["S3cr3t-ftp\r", "S3cr3t-ftp\n", "S3cr3t\x00ftp"], ids=["CR", "LF", "NUL"])
def test_a_password_that_cannot_be_typed_is_named_not_shown(tmp_path, sshd, ftpd_local, bad):
    inv = inventory(tmp_path, sshd, ftpd_local)
    if "\x00" in bad:  # an environment variable cannot hold NUL: give it in the file
        text = inv.read_text().replace('password_env = "HOSTILE_FTP_PASSWORD"', 'password = "S3cr3t\\u0000ftp"')
        inv.write_text(text)
        env = {"HOSTILE_SSH_PASSWORD": SSH_PASSWORD}
    else:
        env = {"HOSTILE_SSH_PASSWORD": SSH_PASSWORD, "HOSTILE_FTP_PASSWORD": bad}
    rc, out, where = run(tmp_path, inv, env)
    assert_clean(rc, out, where, "ftp.password")
    assert "S3cr3t" not in out


def test_a_password_pasted_into_password_env_is_not_echoed(tmp_path, sshd, ftpd_local):
    inv = inventory(tmp_path, sshd, ftpd_local, ftp_password_env="mauvais-mot-de-passe-77")
    rc, out, where = run(tmp_path, inv, {"HOSTILE_SSH_PASSWORD": SSH_PASSWORD})
    assert_clean(rc, out, where, "password_env")


# inventories that once gave a traceback or a misleading message (issue « Hostile inputs »), each
# now one line naming the field
BROKEN = {
    "host-with-user": ('host = "127.0.0.1"', 'host = "root@127.0.0.1"', "host"),
    "host-with-port": ('host = "127.0.0.1"', 'host = "127.0.0.1:2201"', "host"),
    "host-empty": ('host = "127.0.0.1"', 'host = ""', "host"),
    "host-label-64": ('host = "127.0.0.1"', f'host = "{"a" * 64}.lab"', "host"),
    "timeout-nan": ("connect_timeout = 3", "connect_timeout = nan", "connect_timeout"),
    "timeout-inf": ("connect_timeout = 3", "connect_timeout = inf", "connect_timeout"),
    "name-empty": ('name = "hdintralab01"', 'name = ""', "name"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_inventory_field_is_one_line(tmp_path, case):
    old, new, field = BROKEN[case]
    inv = inventory(tmp_path, 2222, 2121)
    inv.write_text(inv.read_text().replace(old, new, 1))
    rc, out, where = run(tmp_path, inv, {"HOSTILE_SSH_PASSWORD": SSH_PASSWORD, "HOSTILE_FTP_PASSWORD": FTP_PASSWORD})
    assert_clean(rc, out, where, field)
    assert len([line for line in out.splitlines() if line.strip()]) <= 2, out  # one line (and pytest's own)


def test_an_unreadable_or_directory_inventory_is_one_line(tmp_path):
    d = tmp_path / "inventaire.d"
    d.mkdir()
    rc, out, where = run(tmp_path, d, {})
    assert_clean(rc, out, where, "répertoire")
    unreadable = tmp_path / "secret.toml"
    unreadable.write_text("[cluster]\n")
    unreadable.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make it unreadable another way (a broken symlink)
        unreadable.unlink()
        unreadable.symlink_to(tmp_path / "absent.toml")
    rc, out, where = run(tmp_path, unreadable, {})
    assert_clean(rc, out, where)
