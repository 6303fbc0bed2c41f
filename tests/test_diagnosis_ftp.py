"""The FTP side of a KO: what was read on the node that should serve, turned into a cause.

The raw output of FTP_SIDE_COMMAND is captured from the lab (tests/fixtures/README.md); the broken
variants are written by hand from it, one field each, and said so."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bascule.cluster.evidence import _side, _values
from bascule.facts.diagnosis import client_symptom, diagnose_ftp
from bascule.inventory import FTPSpec, Inventory, NodeSpec, Secret, SSHSpec
from bascule.judging.checks import ftp_test, home_accessible
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
    assert found.cause == (
        "aucun serveur FTP n'écoute sur le port 21 de intralab01 (un serveur FTP y écoute sur "
        "0.0.0.0:2121) (vu : ss -ltn sur intralab01)"
    )
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
    write = FileWrite(
        "intralab01", "/home/user/Documents/essai1", None, "Permission denied", "/dev/drbd0", ftp_side=healthy
    )
    r = home_accessible(write, [], inv)
    assert r.cause.startswith("cause non identifiée (vu : sur intralab01 : FTP à l'écoute sur")
    assert r.fix == ""


def test_the_ftp_servers_own_log_line_confirms_or_is_the_cause(healthy, inv):
    # the line as proftpd.log wrote it on the lab (depart-shell-ftp-refuse, 2026-12-05), after the sed of
    # FTP_SIDE_COMMAND
    line = "USER user (Login failed): Invalid shell: '/usr/sbin/nologin'"
    shell = diagnose_ftp(replace(healthy, shell="/usr/sbin/nologin", shell_allowed=False, auth_log=(line,)), inv)
    assert shell.cause.endswith(f"; journal de proftpd : « {line} »)")
    alone = diagnose_ftp(replace(healthy, auth_log=("USER user (Login failed): Incorrect password",)), inv)
    assert alone.cause.startswith(
        "proftpd a refusé la session sur intralab01 : « USER user (Login failed): Incorrect password »"
    )
    assert alone.fix == ""  # nothing read says what to change


def test_the_auth_lines_are_read_one_per_line():
    text = (
        FIXTURES / "ftp-side-2.1-sain.txt"
    ).read_text() + "auth=USER user (Login failed): Incorrect password\nauth=x\n"
    assert _side("intralab01", _values(text), None).auth_log == ("USER user (Login failed): Incorrect password", "x")


def test_an_account_missing_on_the_node_is_not_a_shell_problem(inv):
    text = (FIXTURES / "ftp-side-2.1-sain.txt").read_text()
    # hand-made from the capture: what the command prints where getent passwd finds no such user
    missing = (
        "\n".join(line for line in text.splitlines() if not line.startswith(("account=", "shell_ok="))) + "\naccount=\n"
    )
    found = diagnose_ftp(_side("hdintralab01", _values(missing), _values(text)), inv)
    assert found.cause == (
        "le compte user n'existe pas sur hdintralab01, il existe sur l'autre nœud (vu : getent "
        "passwd user sur les deux nœuds)"
    )
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


# --- the node's own view against the client's (issue 30). Hand-written from the captured healthy side,
# with the lines FTP_SIDE_COMMAND prints for them (self_lo=, self_vip=, filter=, setting=, auth=); the
# same breakages captured on the lab are in tests/fixtures/runs/ and re-judged by test_rejudge_real_runs.


def _with(lines: str):
    text = (FIXTURES / "ftp-side-2.1-sain.txt").read_text() + "\n" + lines + "\n"
    return _side("intralab01", _values(text), _values(text))


SERVED_ITSELF = "self_lo=127.0.0.1 ok\nself_vip=10.22.100.220 ok"
TC_PORT_21 = (
    "filter=tc ingress eth1 : filter parent ffff: protocol ip pref 1 u32 chain 0 fh 800::800 order 2048 key "
    "ht 800 bkt 0 flowid ??? not_in_hw match 00060000/00ff0000 at 8 match 00000015/0000ffff at 20 action "
    "order 1: gact action drop random type none pass val 0 index 1 ref 1 bind 1"
)


def test_a_node_that_serves_itself_behind_a_filter_on_the_ftp_port_names_the_filter_and_its_removal(inv):
    side = _with(SERVED_ITSELF + "\n" + TC_PORT_21)
    found = diagnose_ftp(side, inv, "délai dépassé")
    assert found.cause.startswith("intralab01 se sert lui-même, pas le client : un filtre de paquets de intralab01")
    assert "le client : pas de réponse dans le délai" in found.cause and "match 00000015/0000ffff at 20" in found.cause
    assert found.fix == "tc qdisc del dev eth1 ingress sur intralab01"


def test_logged_in_but_no_data_connection_points_at_the_passive_ports_filter(inv):
    tc = TC_PORT_21.replace("00000015/0000ffff", "0000c000/0000ff00")
    side = _with(SERVED_ITSELF + "\n" + tc + "\nsetting=PassivePorts 49152 49407")
    found = diagnose_ftp(side, inv, "identifié, liste impossible : délai dépassé")
    assert "identifié, mais connexions de données impossibles" in found.cause
    assert "réglages lus : PassivePorts 49152 49407" in found.cause and found.fix.startswith("tc qdisc del dev eth1")


def test_an_iptables_rule_far_from_the_ftp_ports_is_not_blamed(inv):
    side = _with(SERVED_ITSELF + "\nfilter=-A INPUT -p tcp -m tcp --dport 3306 -j DROP")
    found = diagnose_ftp(side, inv, "délai dépassé")
    assert "le chemin entre eux est en cause, hors de ce que intralab01 filtre" in found.cause
    assert "sans lien visible avec les ports du FTP : -A INPUT -p tcp -m tcp --dport 3306 -j DROP" in found.cause
    assert found.fix == ""  # no evidence for one
    side = _with(
        SERVED_ITSELF + "\nfilter=-A INPUT -p tcp -m tcp --dport 21 -j REJECT --reject-with icmp-port-unreachable"
    )
    assert diagnose_ftp(side, inv, "connexion refusée").fix == (
        "iptables -D INPUT -p tcp -m tcp --dport 21 -j REJECT --reject-with icmp-port-unreachable sur intralab01"
    )


def test_a_node_that_serves_itself_with_no_filter_at_all_blames_the_path_without_a_fix(inv):
    found = diagnose_ftp(_with(SERVED_ITSELF), inv, "délai dépassé")
    assert "aucun filtre de paquets de intralab01" in found.cause and found.fix == ""


def test_the_servers_words_and_the_setting_behind_them(inv):
    side = _with(
        "self_lo=127.0.0.1 identification : error_perm 530 Login incorrect.\n"
        "auth=USER user (Login failed): Limit access denies login\n"
        "setting=<Limit LOGIN>\nsetting=DenyUser user"
    )
    found = diagnose_ftp(side, inv, "identifiants refusés (530)")
    assert found.cause.startswith(
        "proftpd a refusé la session sur intralab01 : « USER user (Login failed): Limit access denies login »"
    )
    assert "session de intralab01 vers lui-même : 127.0.0.1 identification" in found.cause
    assert found.fix.startswith(
        "revoir les sections <Limit> de la configuration de proftpd sur intralab01 (lues : "
        "<Limit LOGIN>, DenyUser user)"
    )
    limits = _with("auth=MaxInstances (2) reached, new connection denied\nsetting=MaxInstances 2")
    assert diagnose_ftp(limits, inv, "EOFError").fix.startswith("augmenter MaxInstances")
    # the server's words alone, with no setting behind them: quoted, no fix
    assert diagnose_ftp(_with("auth=refused connection from 10.0.0.1"), inv).fix == ""


@pytest.mark.parametrize(
    "error, symptom",
    [
        ("connexion refusée", "pas de connexion TCP : refusée"),
        ("délai dépassé", "pas de réponse dans le délai"),
        ("accueil inattendu : connexion fermée", "connexion acceptée puis fermée avant l'accueil du serveur"),
        ("identifiants refusés (530)", "identification refusée (530)"),
        ("identifié, liste impossible : délai dépassé", "identifié, mais connexions de données impossibles"),
        ("425 Unable to build data connection", "identifié, mais connexions de données impossibles"),
        ("553 Could not create file", "le serveur répond 553"),
    ],
)
def test_the_clients_own_evidence_is_classified(error, symptom):

    assert client_symptom(error).startswith(symptom)


# every rule of the FTP side, walked: each fires on the evidence it reads, says it (« vu : »), and a fix
# names where it acts (the node, or the inventory) — never a fix that no evidence points to
RULES = [
    ("account missing here", dict(account_found=False, account_found_elsewhere=True)),
    ("account missing here, other unread", dict(account_found=False, account_found_elsewhere=None)),
    ("account missing on both", dict(account_found=False, account_found_elsewhere=False)),
    ("nothing listens", dict(listening=())),
    ("listens elsewhere", dict(listening=(), other_ftp_ports=("0.0.0.0:2121",))),
    ("not on the VIP", dict(listening=("127.0.0.1:21",))),
    ("configuration refused", dict(config_exit=1, config_said="Fatal: unknown directive")),
    ("shell refused", dict(shell_allowed=False, shell="/usr/sbin/nologin")),
    ("password differs", dict(password_accepted=False, password_accepted_elsewhere=True)),
    ("password refused by both", dict(password_accepted=False, password_accepted_elsewhere=False)),
    ("accounts differ", dict(same_account_on_both=False)),
    ("home read-only", dict(home_options="ro,relatime")),
    ("home full", dict(home_use_percent=100, home_available_kib=0)),
    ("documents not the user's", dict(documents_owner="root:root", documents_mode="755")),
    (
        "served itself, filter",
        dict(own_sessions=(("lo", "127.0.0.1 ok"),), filters=("-A INPUT -p tcp --dport 21 -j DROP",)),
    ),
    ("served itself, no filter", dict(own_sessions=(("lo", "127.0.0.1 ok"),))),
    (
        "server's words",
        dict(auth_log=("MaxInstances (2) reached, new connection denied",), settings=("MaxInstances 2",)),
    ),
]


@pytest.mark.parametrize("name, change", RULES, ids=[r[0] for r in RULES])
def test_every_ftp_rule_fires_on_its_evidence_and_ties_its_fix_to_it(healthy, inv, name, change):
    found = diagnose_ftp(replace(healthy, **change), inv, "délai dépassé")
    assert found is not None, name
    assert "vu :" in found.cause or "vu :" in found.cause.replace("(vu", "vu"), (name, found.cause)
    if found.fix:
        assert "intralab01" in found.fix or "inventaire" in found.fix or "deux nœuds" in found.fix, (name, found.fix)
    assert "attendre" not in found.fix


def test_a_drop_policy_is_quoted_without_a_guessed_fix(inv):
    side = _with(SERVED_ITSELF + "\nfilter=:INPUT DROP [0:0]")
    found = diagnose_ftp(side, inv, "délai dépassé")
    assert "« :INPUT DROP [0:0] »" in found.cause and found.fix == ""
