"""The kept shell (bascule/cluster/kept_shell.py) against a local paramiko SSH server whose exec
requests run real local processes (`sh`): commands keep their exact output, stderr and exit status,
one shell serves them all, and a stuck, killed or refused shell ends in one clear NodeLost or falls
back to a channel per command."""

import subprocess
import threading

import paramiko
import pytest

from bascule.cluster import nodes as nodes_module
from bascule.cluster.nodes import Node, NodeLost
from bascule.errors import NodeError
from bascule.inventory import NodeSpec, Secret, SSHSpec

PASSWORD = "mot-de-passe-du-test"


def _pump(read, write, done=None):
    try:
        while True:
            data = read()
            if not data:
                break
            write(data)
        if done:
            done()
    except Exception:  # noqa: BLE001 - the other end went away: the test says what it expected
        pass


class _Server(paramiko.ServerInterface):
    def __init__(self, execs: list, refuse_sudo: bool):
        self.execs = execs
        self.refuse_sudo = refuse_sudo

    def check_auth_password(self, username, password):
        return paramiko.AUTH_SUCCESSFUL if password == PASSWORD else paramiko.AUTH_FAILED

    def get_allowed_auths(self, username):
        return "password"

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel, command):
        command = command.decode()
        self.execs.append(command)
        if self.refuse_sudo and command.startswith("sudo"):
            command = "echo 'sudo: a password is required' >&2; exit 1"
        proc = subprocess.Popen(
            ["sh", "-c", command], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )

        def serve():
            err = threading.Thread(target=_pump, args=(lambda: proc.stderr.read1(65536), channel.sendall_stderr))
            err.start()
            threading.Thread(
                target=_pump,
                args=(lambda: channel.recv(65536), lambda d: (proc.stdin.write(d), proc.stdin.flush())),
                kwargs={"done": proc.stdin.close},
                daemon=True,
            ).start()
            _pump(lambda: proc.stdout.read1(65536), channel.sendall)
            err.join()
            status = proc.wait()
            try:
                # exit status and EOF only, as sshd does: closing here could reach the client before
                # the exit status (« Channel closed. »); the client closes
                channel.send_exit_status(status)
                channel.shutdown_write()
            except Exception:  # noqa: BLE001 - the client closed first
                pass

        threading.Thread(target=serve, daemon=True).start()
        return True


@pytest.fixture
def sshd(local_sshd):
    execs: list[str] = []
    return local_sshd(lambda: _Server(execs, refuse_sudo=False)), execs


@pytest.fixture
def sshd_refusing_sudo(local_sshd):
    execs: list[str] = []
    return local_sshd(lambda: _Server(execs, refuse_sudo=True)), execs


@pytest.fixture
def kept(sshd):
    """A node reached through the local server, and the exec requests that server saw."""
    port, execs = sshd
    n = node(port)
    yield n, execs
    n.close()


def node(port, user="root"):
    return Node(
        NodeSpec(
            "intralab01",
            SSHSpec(
                host="127.0.0.1",
                port=port,
                user=user,
                sudo=True,
                password=Secret(PASSWORD),
                connect_timeout=5,
                command_timeout=10,
            ),
        )
    )


def test_one_shell_answers_every_command_exactly(kept):
    n, execs = kept
    first = n.run("echo $PPID")
    assert n.run("printf 'sans fin de ligne'").stdout == "sans fin de ligne"
    both = n.run("echo dehors; echo erreur >&2; exit 3", check=False)
    assert (both.stdout, both.stderr, both.exit_code) == ("dehors\n", "erreur\n", 3)
    assert n.run("cd /; x=1; echo ok").stdout == "ok\n"
    assert n.run("pwd; echo ${x:-vide}").stdout != "/\n1\n"  # a child each: nothing leaks
    bad = n.run("echo 'sans fin", check=False)  # a syntax error stays in its child
    assert bad.exit_code == 2 and ("Syntax error" in bad.stderr or "unexpected" in bad.stderr)
    assert n.run("cat").stdout == ""  # its stdin is /dev/null: it cannot read the next command
    assert n.run("echo $PPID").stdout == first.stdout  # the same shell
    assert execs == ["sh"]  # one channel for all of them


def test_command_that_fails_raises_with_its_error(kept):
    n, _ = kept
    with pytest.raises(NodeError, match="code de sortie 2"):
        n.run("echo raté >&2; exit 2")


def test_stuck_command_is_node_lost_within_its_timeout_then_a_new_shell(kept):
    n, execs = kept
    before = n.run("echo $PPID").stdout
    with pytest.raises(NodeLost, match="ne s'est pas terminée en 1 s"):
        n.run("sleep 30", timeout=1)
    after = n.run("echo $PPID").stdout
    assert after != before and execs == ["sh", "sh"]


def test_shell_killed_under_a_command_is_node_lost(kept):
    n, _ = kept
    n.run("true")
    with pytest.raises(NodeLost, match="connexion perdue"):
        n.run("kill -9 $PPID")
    assert n.run("echo revenu").stdout == "revenu\n"


def test_commands_from_two_threads_each_get_their_own_answer(kept):
    n, _ = kept
    answers = {}

    def ask(i):
        answers[i] = n.run(f"sleep 0.2; echo {i}").stdout

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == {i: f"{i}\n" for i in range(4)}


def test_secret_on_stdin_takes_a_channel_of_its_own(kept):
    n, execs = kept
    assert n.run("cat", stdin="secret\n").stdout == "secret\n"
    assert execs == ["cat"]


def test_sudo_refused_falls_back_and_says_so(sshd_refusing_sudo):
    port, execs = sshd_refusing_sudo
    n = node(port, user="etudiant")
    try:
        with pytest.raises(NodeError, match="sudo demande un mot de passe à etudiant"):
            n.run("true")
        assert execs[0] == "sudo -n sh" and execs[1].startswith("sudo -n sh -c")
    finally:
        n.close()


def test_switched_off_every_command_has_its_channel(sshd):
    port, execs = sshd
    n = nodes_module.Node(node(port).spec, keep_shell=False)  # what BASCULE_SHELL_GARDE=0 makes the default
    try:
        n.run("true")
        n.run("true")
        assert execs == ["true", "true"]
    finally:
        n.close()
