"""bascule.ftp against a real FTP server (pyftpdlib on 127.0.0.1): the client, and the probe measuring
an outage of known length."""
from __future__ import annotations

import os
import socket
import threading
import time
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    # pyftpdlib 2.2 still imports asyncore/asynchat, deprecated in Python 3.11
    warnings.filterwarnings("ignore", category=DeprecationWarning, message="The asyn")
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.ioloop import IOLoop
    from pyftpdlib.servers import FTPServer

from bascule.errors import BasculeError
from bascule.ftp import FTPClient, FTPUnavailable, Probe, Transfer, describe_error, sha256
from bascule.history import CLIENT, FAIL, OK, History, downtime_windows, served_by, total_downtime
from bascule.inventory import Secret

USER = "user"
PASSWORD = "S3cr3t-ftp"


class ServerThread:
    """A pyftpdlib server on 127.0.0.1 with its own IO loop, served by a daemon thread.

    stop() closes the listening socket and every client connection from the server's own thread, so
    that the port refuses connections as soon as stop() returns."""

    def __init__(self, home: Path, port: int = 0, hostname: str | None = None):
        if hostname is not None:  # what the probe reads to tell which node serves it
            (home / "etc").mkdir(parents=True, exist_ok=True)
            (home / "etc" / "hostname").write_text(hostname + "\n", encoding="utf-8")
        authorizer = DummyAuthorizer()
        authorizer.add_user(USER, PASSWORD, str(home), perm="elradfmwMT")
        handler = type("Handler", (FTPHandler,), {"authorizer": authorizer, "auth_failed_timeout": 0})
        # FTPServer sets SO_REUSEADDR: a new server may bind the port of one just closed
        self.server = FTPServer(("127.0.0.1", port), handler, ioloop=IOLoop())
        self.port = self.server.address[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ftpd-{self.port}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.server.serve_forever(timeout=0.02, blocking=False, handle_exit=False)
        finally:
            self.server.close_all()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive(), "the FTP server thread did not stop"


@pytest.fixture
def ftpd(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    srv = ServerThread(home)
    srv.home = home
    yield srv
    srv.stop()


def client_for(port: int, password: str = PASSWORD) -> FTPClient:
    return FTPClient("127.0.0.1", USER, Secret(password), port, timeout=3)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # never listened: connecting is refused at once
    return port


def refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


# --- the client --------------------------------------------------------------------------------

def test_upload_download_round_trip(ftpd):
    client = client_for(ftpd.port)
    payload = os.urandom(200 * 1024)
    path = "Données/été/fichier-à-vérifier.bin"
    up = client.upload(path, payload)
    assert isinstance(up, Transfer)
    assert (up.path, up.size, up.sha256) == (path, len(payload), sha256(payload))
    assert up.seconds >= 0
    on_disk = ftpd.home / "Données" / "été" / "fichier-à-vérifier.bin"
    assert on_disk.read_bytes() == payload
    data, down = client.download(path)
    assert data == payload
    assert down.sha256 == up.sha256 == sha256(on_disk.read_bytes())
    assert down.size == 200 * 1024
    assert client.listing() == ["Données"]
    assert client.listing("Données/été") == ["fichier-à-vérifier.bin"]


def test_listing_sorted(ftpd):
    for name in ("b.txt", "a.txt", "Éclair"):
        if name.endswith(".txt"):
            (ftpd.home / name).write_text(name)
        else:
            (ftpd.home / name).mkdir()
    assert client_for(ftpd.port).listing(".") == sorted(["a.txt", "b.txt", "Éclair"])


def test_repr_hides_password(ftpd):
    client = client_for(ftpd.port)
    assert repr(client) == f"FTPClient(user@127.0.0.1:{ftpd.port})"
    assert PASSWORD not in repr(client)


def test_wrong_password(ftpd):
    client = client_for(ftpd.port, password="mauvais")
    with pytest.raises(FTPUnavailable) as info:
        client.listing()
    msg = str(info.value)
    assert "530" in msg or "identifiants" in msg
    assert "identifiants refusés (530)" in info.value.what
    assert info.value.login_refused and not info.value.timed_out
    assert "mauvais" not in msg
    assert isinstance(info.value, BasculeError) and info.value.fix


def test_connection_refused():
    port = closed_port()
    client = client_for(port)
    start = time.monotonic()
    with pytest.raises(FTPUnavailable) as info:
        client.listing()
    assert "refusée" in str(info.value)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert time.monotonic() - start < 2, "a refused connection is reported at once, not after a timeout"


def test_download_missing_file_is_an_error(ftpd):
    client = client_for(ftpd.port)
    with pytest.raises(Exception) as info:
        client.download("absent.bin")
    assert "550" in describe_error(info.value)


def test_describe_error_words():
    assert describe_error(TimeoutError("timed out")) == "délai dépassé"
    assert describe_error(OSError("[Errno 111] Connection refused")) == "connexion refusée"
    assert describe_error(RuntimeError("une\nDebugging info: x")) == "une"
    assert describe_error(RuntimeError("")) == "RuntimeError"


# --- the probe ---------------------------------------------------------------------------------

def wait_for(condition, deadline: float, what: str) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_probe_measures_a_known_outage(tmp_path):
    home1, home2 = tmp_path / "intralab01", tmp_path / "hdintralab01"
    home1.mkdir()
    home2.mkdir()
    srv = ServerThread(home1, hostname="intralab01")
    port = srv.port
    history = History()
    probe = Probe(client_for(port), history, "sonde", interval=0.1)
    assert probe.name == "sonde-ftp"
    srv2 = None
    try:
        probe.start()

        def oks_since(t: float) -> list:
            return [e for e in history.events
                    if e.process == probe.name and e.outcome == OK and e.t >= t]

        wait_for(lambda: len(oks_since(0.0)) >= 3, 10, "the probe's first successful cycles")

        srv.stop()
        down_at = history.now()
        assert refuses(port), "the port must refuse connections during the outage"
        time.sleep(2.0)
        srv2 = ServerThread(home2, port=port, hostname="hdintralab01")  # the same port, a new server
        up_at = history.now()
        outage = up_at - down_at
        assert srv2.port == port

        wait_for(lambda: len(oks_since(up_at)) >= 2 * probe.slots, 10, "the probe's recovery")
    finally:
        probe.stop()
        if srv2 is not None:
            srv2.stop()
        else:
            srv.stop()

    events = history.events
    ops = [e for e in events if e.source == CLIENT and e.process == probe.name]
    assert len(ops) >= 3 + 2 * probe.slots
    windows = downtime_windows(events, probe.name)
    assert len(windows) == 1, windows
    (w,) = windows
    assert w.failed >= 1 and w.unknown == 0  # refused at once: failures, never a timeout
    assert any(e.outcome == OK and e.t < w.start for e in ops), "an ok before the outage"
    assert any(e.outcome == OK and e.t >= w.end for e in ops), "an ok after the outage"
    measured = total_downtime(events, probe.name)
    assert measured is not None
    assert measured == pytest.approx(outage, abs=0.3)
    assert w.start == pytest.approx(down_at, abs=0.3)
    assert w.end == pytest.approx(up_at, abs=0.3)
    failures = [e for e in ops if e.outcome == FAIL]
    assert all(e.error for e in failures)
    assert any("refusée" in e.error for e in failures)

    # which node answered, read from each server's /etc/hostname
    assert [node for _, node in served_by(events, probe.name)] == ["intralab01", "hdintralab01"]

    # every write the probe acknowledged is on the server that answered last, with its checksum
    assert probe.acknowledged
    assert set(probe.acknowledged) == {f"sonde/sonde-{i}.txt" for i in range(probe.slots)}
    for path, digest in probe.acknowledged.items():
        assert sha256((home2 / path).read_bytes()) == digest, path
    ok_values = [e.value for e in ops if e.outcome == OK]
    assert all(v["sha256"] and v["path"].startswith("sonde/sonde-") for v in ok_values)


def test_probe_context_manager_stops(ftpd):
    history = History()
    with Probe(client_for(ftpd.port), history, "sonde2", name="p2", interval=0.05, slots=2) as probe:
        wait_for(lambda: sum(e.outcome == OK for e in history.events) >= 2, 10, "two cycles")
    n = len(history.events)
    time.sleep(0.15)
    assert len(history.events) == n, "no cycle after stop()"
    assert all(e.process == "p2" and e.op == "write+read" for e in history.events)
    assert downtime_windows(history.events, "p2") == []
    assert set(probe.acknowledged) <= {"sonde2/sonde-0.txt", "sonde2/sonde-1.txt"}
    assert (ftpd.home / "sonde2").is_dir()


def test_probe_against_nothing_never_dies():
    history = History()
    probe = Probe(client_for(closed_port()), history, "sonde", interval=0.05)
    probe.start()
    try:
        wait_for(lambda: len(history.events) >= 3, 10, "three failed cycles")
    finally:
        probe.stop()
    evs = history.events
    assert all(e.outcome == FAIL for e in evs)
    assert all("refusée" in e.error for e in evs)
    assert total_downtime(evs, probe.name) is None
    assert probe.acknowledged == {}


def test_listing_and_server(tmp_path):
    home = tmp_path / "hdintralab01"
    (home / "Documents").mkdir(parents=True)
    srv = ServerThread(home, hostname="hdintralab01")
    try:
        names, server = client_for(srv.port).listing_and_server(".")
    finally:
        srv.stop()
    assert "Documents" in names and server == "hdintralab01"


def test_listing_and_server_without_hostname(ftpd):
    names, server = client_for(ftpd.port).listing_and_server(".")
    assert server is None  # a chrooted account cannot tell; the row then judges without it
