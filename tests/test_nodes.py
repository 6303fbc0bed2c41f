"""Errors a user can act on when reaching a node: a local paramiko SSH server on 127.0.0.1 stands
in for a node (password and key logins), and a closed port for an unreachable one."""

import socket
import threading
import time

import paramiko
import pytest

from bascule.cluster.nodes import Node, NodeLost, hard_deadline
from bascule.errors import NodeError
from bascule.inventory import NodeSpec, Secret, SSHSpec

GOOD_PASSWORD = "bon-mot-de-passe-42"


class _Server(paramiko.ServerInterface):
    def check_auth_password(self, username, password):
        return paramiko.AUTH_SUCCESSFUL if password == GOOD_PASSWORD else paramiko.AUTH_FAILED

    def check_auth_publickey(self, username, key):
        return paramiko.AUTH_FAILED

    def get_allowed_auths(self, username):
        return "password,publickey"

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel, command):
        # Runs before paramiko sends its reply to the exec request: closing the channel here
        # could reach the client first ("Channel closed."). Only EOF is sent; the client closes.
        def answer():
            channel.sendall(b"ok\n")
            channel.send_exit_status(0)
            channel.shutdown_write()

        threading.Thread(target=answer, daemon=True).start()
        return True


def node(port, password=None, key=None):
    return Node(
        NodeSpec(
            "intralab01",
            SSHSpec(
                host="127.0.0.1",
                port=port,
                user="root",
                key=key,
                password=Secret(password) if password else None,
                connect_timeout=3,
                command_timeout=5,
            ),
        )
    )


def test_password_login_runs_a_command(sshd):
    res = node(sshd, GOOD_PASSWORD).run("echo ok")
    assert res.ok and res.stdout == "ok\n" and res.node == "intralab01"


def test_wrong_password_is_one_line_without_the_password(sshd):
    with pytest.raises(NodeError) as info:
        node(sshd, "mauvais-mot-de-passe").run("true")
    text = str(info.value)
    assert "nœud intralab01 : connexion SSH refusée pour root@127.0.0.1" in text and "avec le mot de passe" in text
    assert "mauvais-mot-de-passe" not in text and "\n" not in text


def test_unauthorised_key(sshd, tmp_path):
    key = tmp_path / "id_rsa"
    paramiko.RSAKey.generate(1024).write_private_key_file(str(key))
    with pytest.raises(NodeError, match="connexion SSH refusée .* avec la clé"):
        node(sshd, key=str(key)).run("true")


def test_refused_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(NodeError, match=f"rien n'écoute en SSH sur root@127.0.0.1:{port}"):
        node(port, GOOD_PASSWORD).run("true")


def test_garbage_key_file(tmp_path):
    key = tmp_path / "id_rsa"
    key.write_text("not a key\n")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        with pytest.raises(NodeError, match="nœud intralab01"):
            node(s.getsockname()[1], key=str(key)).run("true")
    finally:
        s.close()


def test_repr_never_shows_the_password():
    assert GOOD_PASSWORD not in repr(node(22, GOOD_PASSWORD)) + repr(node(22, GOOD_PASSWORD).spec)


class _BlackHole:
    """A TCP relay to the test sshd that can stop carrying anything, both ways, without closing:
    what a node powered off or a pulled cable looks like to this side of the connection."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.frozen = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        client, _ = self.sock.accept()
        upstream = socket.create_connection(("127.0.0.1", self.target))
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src, dst):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                return
            if self.frozen.is_set():
                continue  # swallowed: nothing gets through any more, and nothing is closed
            try:
                dst.sendall(data)
            except OSError:
                return


def test_a_command_on_a_dead_connection_returns_within_its_deadline(sshd):

    hole = _BlackHole(sshd)
    n = node(hole.port, GOOD_PASSWORD)
    assert n.run("echo ok").ok  # the connection works
    hole.frozen.set()
    start = time.monotonic()
    with pytest.raises(NodeLost) as info:
        n.run("echo ok", timeout=2)
    took = time.monotonic() - start
    assert took <= hard_deadline(2) + 1.5, took
    assert "nœud intralab01" in str(info.value) and "\n" not in str(info.value)


def test_a_port_that_never_speaks_is_one_line():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)  # accepts (the kernel does), never sends a banner
    try:
        with pytest.raises(NodeError) as info:
            node(s.getsockname()[1], GOOD_PASSWORD).run("true")
        text = str(info.value)
        assert "aucun serveur SSH n'y répond" in text and GOOD_PASSWORD not in text and "\n" not in text
    finally:
        s.close()


class _HangingAuth(_Server):
    """An SSH server that takes the connection, sends its banner, completes the key exchange, then never
    answers the login (sshd stuck in PAM, a reverse DNS lookup, an overloaded node)."""

    def __init__(self, release: threading.Event):
        self.release = release

    def check_auth_password(self, username, password):
        self.release.wait(30)
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username, key):
        self.release.wait(30)
        return paramiko.AUTH_FAILED


@pytest.fixture
def hanging_sshd(local_sshd):
    release = threading.Event()
    yield local_sshd(lambda: _HangingAuth(release))
    release.set()  # the server's threads stop waiting before the harness closes their transports


def test_a_server_that_hangs_during_authentication_is_no_refused_password(hanging_sshd):

    n = Node(
        NodeSpec(
            "intralab01",
            SSHSpec(
                host="127.0.0.1",
                port=hanging_sshd,
                user="root",
                password=Secret(GOOD_PASSWORD),
                connect_timeout=2,
                command_timeout=5,
            ),
        )
    )
    start = time.monotonic()
    with pytest.raises(NodeError) as info:
        n.run("true")
    assert time.monotonic() - start < 10
    text = str(info.value)
    assert (
        f"nœud intralab01 : le serveur SSH de root@127.0.0.1:{hanging_sshd} n'a pas répondu pendant "
        "l'authentification en 2 s"
    ) in text
    assert "refusée" not in info.value.what
    assert GOOD_PASSWORD not in text and "\n" not in text


def test_a_server_that_sends_its_banner_then_nothing_is_one_line():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    held = []

    def banner_only():
        try:
            client, _ = s.accept()
        except OSError:
            return
        held.append(client)
        client.sendall(b"SSH-2.0-OpenSSH_9.2p1 bouchon\r\n")  # then never another byte

    threading.Thread(target=banner_only, daemon=True).start()
    try:
        with pytest.raises(NodeError) as info:
            node(s.getsockname()[1], GOOD_PASSWORD).run("true")
        text = str(info.value)
        assert "(SSH-2.0-OpenSSH_9.2p1 bouchon) a répondu mais n'a pas terminé la négociation en 3 s" in text
        assert "refusée" not in text and GOOD_PASSWORD not in text and "\n" not in text
    finally:
        for c in held:
            c.close()
        s.close()
