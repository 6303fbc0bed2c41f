"""Shared by the tests that stand a local SSH server in for a node (test_nodes, test_kept_shell)."""

import socket
import threading

import paramiko
import pytest
from test_ftp import ServerThread
from test_nodes import _Server as SSHStub


@pytest.fixture
def local_sshd():
    """start(make_server) → port: a paramiko SSH server on 127.0.0.1, each connection answered by
    make_server() (a paramiko.ServerInterface); every server started is stopped after the test."""
    stops = []
    transports: list[paramiko.Transport] = []

    def start(make_server) -> int:
        host_key = paramiko.RSAKey.generate(1024)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(5)
        sock.settimeout(0.2)
        stop = threading.Event()

        def serve():
            while not stop.is_set():
                try:
                    client, _ = sock.accept()
                except OSError:
                    continue
                transport = paramiko.Transport(client)
                transports.append(transport)
                transport.add_server_key(host_key)
                try:
                    transport.start_server(server=make_server())
                except Exception:  # noqa: BLE001 - a client that went away: the test says what it expected
                    pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        stops.append((stop, thread, sock))
        return sock.getsockname()[1]

    yield start
    for stop, thread, sock in stops:
        stop.set()
        thread.join(2)
        sock.close()
    for transport in transports:
        transport.close()


@pytest.fixture
def ftpd(tmp_path):
    """A local FTP server (pyftpdlib) in a thread, its home under tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    srv = ServerThread(home)
    srv.home = home
    yield srv
    srv.stop()


@pytest.fixture
def ftpd_local(tmp_path):
    """A local FTP server that names itself intralab01 (hostname over FTP); its port."""
    home = tmp_path / "ftp-home"
    home.mkdir()
    srv = ServerThread(home, hostname="intralab01")
    yield srv.port
    srv.stop()


@pytest.fixture
def sshd(local_sshd):
    """A paramiko SSH server that answers as test_nodes' stub node."""
    return local_sshd(SSHStub)
