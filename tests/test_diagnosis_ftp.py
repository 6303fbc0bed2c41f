"""The FTP side of a KO: what was read on the node that should serve, turned into a cause.

The raw output of FTP_SIDE_COMMAND is captured from the lab (tests/fixtures/README.md); the broken
variants are written by hand from it, one field each, and said so."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bascule.cluster.evidence import _side, _values
from bascule.inventory import FTPSpec, Inventory, NodeSpec, Secret, SSHSpec
from bascule.judging.checks import ftp_test, home_accessible
from bascule.judging.facts.diagnosis import diagnose_ftp
from bascule.judging.verdict import Verdict
from bascule.record.observations import FileWrite, FtpTest, roundtrip

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def inv():
    nodes = tuple(NodeSpec(n, SSHSpec(host=n, user="vagrant", sudo=True)) for n in ("intralab01", "hdintralab01"))
    return Inventory(nodes=nodes, preferred_master="intralab01", vip="10.22.100.220", ftp=FTPSpec("user", Secret("x")))


@pytest.fixture
def healthy():
    text = (FIXTURES / "ftp-side-2.1-sain.txt").read_text()
    return _side("intralab01", _values(text), _values(text))


def test_the_captured_healthy_side_reads_and_explains_nothing(healthy, inv):
    assert healthy.listening and healthy.config_exit == 0 and healthy.shell_allowed
    assert healthy.password_accepted and healthy.password_accepted_elsewhere and healthy.same_account_on_both
    assert healthy.home_source == "/dev/drbd0" and healthy.home_options.startswith("rw")
    assert healthy.documents_owner == "user:user"
    assert diagnose_ftp(healthy, inv) is None


def test_nothing_listening_on_the_ftp_port_but_elsewhere(healthy, inv):
    side = replace(healthy, listening=(), other_ftp_ports=("0.0.0.0:2121",))
    found = diagnose_ftp(side, inv)
    assert found.cause == ("aucun serveur FTP n'écoute sur le port 21 de intralab01 (un serveur FTP y écoute sur "
                           "0.0.0.0:2121) (vu : ss -ltn sur intralab01)")
    assert "Port 21" in found.fix


def test_a_shell_outside_etc_shells(healthy, inv):
    found = diagnose_ftp(replace(healthy, shell="/usr/sbin/nologin", shell_allowed=False), inv)
    assert found.cause.startswith("le shell de user (/usr/sbin/nologin) n'est pas dans /etc/shells de intralab01")
    assert found.fix.startswith("chsh -s /bin/bash user sur intralab01")


def test_passwords_that_differ_between_the_nodes(healthy, inv):
    found = diagnose_ftp(replace(healthy, node="hdintralab01", password_accepted=False), inv)
    assert found.cause.startswith("le mot de passe de user sur hdintralab01 n'est pas celui de l'autre nœud")
    assert found.fix == "passwd user sur hdintralab01 : le même mot de passe que sur l'autre nœud"
    # refused on both: the inventory's password, not the cluster
    both = diagnose_ftp(replace(healthy, password_accepted=False, password_accepted_elsewhere=False), inv)
    assert both.fix == "corriger le mot de passe FTP de l'inventaire ([ftp] password_env)"


def test_the_password_check_reads_each_nodes_answer_and_keeps_no_hash():
    here = _values((FIXTURES / "ftp-side-2.1-sain.txt").read_text())
    other = dict(here, pw_ok="0")
    side = _side("intralab01", here, other)
    assert side.password_accepted is True and side.password_accepted_elsewhere is False
    assert "$" not in repr(side)  # no crypt(3) hash in what is kept


def test_a_full_home_is_not_a_chown(healthy, inv):
    found = diagnose_ftp(replace(healthy, home_use_percent=100, home_available_kib=0), inv)
    assert found.cause == "/home plein sur intralab01 (vu : df : 100 %, 0 Kio libres)"
    assert "chown" not in found.fix


def test_documents_owned_by_root(healthy, inv):
    found = diagnose_ftp(replace(healthy, documents_owner="root:root", documents_mode="755"), inv)
    assert found.fix == "chown user:user /home/user/Documents sur intralab01"


def test_the_rows_say_the_cause_or_cause_non_identifiee(healthy, inv):
    full = replace(healthy, home_use_percent=100, home_available_kib=0)
    seen = FtpTest("Documents/essai.txt", "abc", 10, error="452 No space left on device", ftp_side=full)
    r = ftp_test(roundtrip(seen), [], inv)
    assert r.verdict is Verdict.KO and r.cause.startswith("/home plein sur intralab01")
    write = FileWrite("intralab01", "/home/user/Documents/essai1", None, "Permission denied", "/dev/drbd0",
                      ftp_side=healthy)
    r = home_accessible(write, [], inv)
    assert r.cause.startswith("cause non identifiée (vu : sur intralab01 : FTP à l'écoute sur")
    assert r.fix == ""


def test_the_ftp_servers_own_log_line_confirms_or_is_the_cause(healthy, inv):
    # the line as proftpd.log wrote it on the lab (depart-shell-ftp-refuse, 2026-12-05), after the sed of FTP_SIDE_COMMAND
    line = "USER user (Login failed): Invalid shell: '/usr/sbin/nologin'"
    shell = diagnose_ftp(replace(healthy, shell="/usr/sbin/nologin", shell_allowed=False, auth_log=(line,)), inv)
    assert shell.cause.endswith(f"; journal de proftpd : « {line} »)")
    alone = diagnose_ftp(replace(healthy, auth_log=("USER user (Login failed): Incorrect password",)), inv)
    assert alone.cause.startswith("proftpd a refusé la session sur intralab01 : « USER user (Login failed): Incorrect "
                                  "password »")
    assert alone.fix == ""  # nothing read says what to change


def test_the_auth_lines_are_read_one_per_line():
    text = (FIXTURES / "ftp-side-2.1-sain.txt").read_text() + "auth=USER user (Login failed): Incorrect password\nauth=x\n"
    assert _side("intralab01", _values(text), None).auth_log == ("USER user (Login failed): Incorrect password", "x")


def test_an_account_missing_on_the_node_is_not_a_shell_problem(inv):
    text = (FIXTURES / "ftp-side-2.1-sain.txt").read_text()
    # hand-made from the capture: what the command prints where getent passwd finds no such user
    missing = "\n".join(line for line in text.splitlines() if not line.startswith(("account=", "shell_ok="))) + "\naccount=\n"
    found = diagnose_ftp(_side("hdintralab01", _values(missing), _values(text)), inv)
    assert found.cause == ("le compte user n'existe pas sur hdintralab01, il existe sur l'autre nœud (vu : getent "
                           "passwd user sur les deux nœuds)")
    assert "chsh" not in found.fix and "même uid" in found.fix
    # missing on both: the inventory's account is the first suspect, never « as on the other node »
    neither = diagnose_ftp(_side("hdintralab01", _values(missing), _values(missing)), inv)
    assert "aucun des deux nœuds" in neither.cause and "l'autre nœud" not in neither.fix


def test_an_account_that_was_not_read_is_not_said_missing(inv):
    """Seen on a breakage no issue named: a start row whose client got « connexion refusée » was told to
    create the account « as on the other node », from a reading that held no account line at all."""
    text = (FIXTURES / "ftp-side-2.1-sain.txt").read_text()
    unread = "\n".join(line for line in text.splitlines() if not line.startswith(("account=", "shell_ok=", "pw_ok=")))
    found = diagnose_ftp(_side("hdintralab01", _values(unread), _values(unread)), inv)
    assert found is None or "créer" not in found.fix


def test_a_diagnosis_that_fails_leaves_the_ko_and_says_so(healthy, inv):
    broken = replace(healthy, home_use_percent="plein")  # a value the diagnosis cannot compare
    seen = FtpTest("Documents/essai.txt", "abc", 10, error="452", ftp_side=broken)
    r = ftp_test(seen, [], inv)
    assert r.verdict is Verdict.KO and r.cause.startswith("diagnostic impossible :")
