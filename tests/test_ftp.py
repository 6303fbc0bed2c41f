"""bascule.cluster.ftp against a real FTP server (pyftpdlib on 127.0.0.1): the client, and the probe measuring
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

from test_history import total_downtime

from bascule.cluster.ftp import FTPClient, FTPUnavailable, Probe, Transfer, describe_error, sha256
from bascule.errors import BasculeError
from bascule.facts.client_ops import served_by
from bascule.facts.windows import downtime_windows, write_refusals
from bascule.inventory import Secret
from bascule.record.history import CLIENT, CONNECT, FAIL, INFO, OK, READ, WRITE, History

USER = "user"
PASSWORD = "S3cr3t-ftp"


class ServerThread:
    """A pyftpdlib server on 127.0.0.1 with its own IO loop, served by a daemon thread.

    stop() closes the listening socket and every client connection from the server's own thread, so
    that the port refuses connections as soon as stop() returns."""

    def __init__(self, home: Path, port: int = 0, hostname: str | None = None, perm: str = "elradfmwMT"):
        if hostname is not None:  # what the probe reads to tell which node serves it
            (home / "etc").mkdir(parents=True, exist_ok=True)
            (home / "etc" / "hostname").write_text(hostname + "\n", encoding="utf-8")
        authorizer = DummyAuthorizer()
        authorizer.add_user(USER, PASSWORD, str(home), perm=perm)
        server = self

        class Handler(FTPHandler):
            def ftp_RETR(self, file):
                if server._hang.is_set():  # the IO loop stops here: every connection hangs
                    server.hanging = True
                    server._released.wait(30)
                    server._hang.clear()
                return super().ftp_RETR(file)

        Handler.authorizer = authorizer
        Handler.auth_failed_timeout = 0
        handler = Handler
        self._hang, self._released, self.hanging = threading.Event(), threading.Event(), False
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

    def hang_next_transfer(self) -> float:
        """The next download blocks the whole server (its IO loop) until release()."""
        self._released.clear()
        self._hang.set()
        return time.monotonic()

    def release(self) -> None:
        self._released.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive(), "the FTP server thread did not stop"


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
    assert info.value.reason == "identifiants refusés (530)"  # what the start row shows, without where
    assert info.value.login_refused and not info.value.timed_out
    assert "mauvais" not in msg
    assert isinstance(info.value, BasculeError) and info.value.fix


def test_connection_refused():
    port = closed_port()
    client = client_for(port)
    start = time.monotonic()
    with pytest.raises(FTPUnavailable) as info:
        client.listing()
    assert "refusée" in str(info.value) and info.value.reason == "connexion refusée"
    assert f"FTP sur 127.0.0.1:{port} en tant que user : connexion refusée" in str(info.value)
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


CADENCE = 0.1


def ops_of(history: History, probe: Probe) -> list:
    return sorted((e for e in history.events if e.source == CLIENT and e.process == probe.name), key=lambda e: e.t)


def test_probe_measures_a_known_outage(tmp_path):
    home1, home2 = tmp_path / "intralab01", tmp_path / "hdintralab01"
    home1.mkdir()
    home2.mkdir()
    srv = ServerThread(home1, hostname="intralab01")
    port = srv.port
    history = History()
    probe = Probe(client_for(port), history, "sonde", cadence=CADENCE)
    assert probe.name == "sonde-ftp"
    srv2 = None
    try:
        probe.start()

        def oks_since(t: float) -> list:
            return [e for e in history.events if e.process == probe.name and e.outcome == OK and e.t >= t]

        wait_for(lambda: len(oks_since(0.0)) >= 3, 10, "the probe's first successful operations")

        srv.stop()
        down_at = history.now()
        assert refuses(port), "the port must refuse connections during the outage"
        time.sleep(2.0)
        srv2 = ServerThread(home2, port=port, hostname="hdintralab01")  # the same port, a new server
        up_at = history.now()
        outage = up_at - down_at
        assert srv2.port == port

        wait_for(lambda: len(oks_since(up_at)) >= 8, 10, "the probe's recovery")
    finally:
        probe.stop()
        if srv2 is not None:
            srv2.stop()
        else:
            srv.stop()

    events = history.events
    ops = ops_of(history, probe)
    windows = downtime_windows(events, probe.name)
    assert len(windows) == 1, windows
    (w,) = windows
    assert w.failed >= 1 and w.unknown == 0  # refused at once: failures, never a timeout
    assert {p.kind for p in w.phases} == {CONNECT} and "refusée" in w.phases[0].reason
    measured = total_downtime(events, probe.name)
    # from the last good operation before the outage to the first good one after: one cadence of slack each side
    assert outage - 0.05 <= measured <= outage + 2 * CADENCE + 0.1
    assert w.start == pytest.approx(down_at, abs=CADENCE + 0.05)
    assert w.end == pytest.approx(up_at, abs=CADENCE + 0.05)
    assert not w.uncertain  # operations on loopback last milliseconds

    # which node answered, read from each server's /etc/hostname
    assert [node for _, node in served_by(events, probe.name)] == ["intralab01", "hdintralab01"]

    # the last good upload of each file is on the server that answered last, with its checksum
    last_writes = {}
    for e in ops:
        if e.outcome == OK and e.value["op"] == WRITE and e.t >= up_at:
            last_writes[e.value["path"]] = e.value["sha256"]
    assert last_writes and set(last_writes) <= {f"sonde/sonde-{i}.txt" for i in range(probe.in_flight + 1)}
    for path, digest in last_writes.items():
        assert sha256((home2 / path).read_bytes()) == digest, path


def test_probe_keeps_its_cadence_through_a_server_that_hangs_mid_transfer(tmp_path):
    """The power cut's lesson: an operation hung on a dead connection must not stop the others."""
    home = tmp_path / "home"
    home.mkdir()
    srv = ServerThread(home, hostname="intralab01")
    history = History()
    probe = Probe(
        FTPClient("127.0.0.1", USER, Secret(PASSWORD), srv.port, timeout=0.6),
        history,
        "sonde",
        cadence=CADENCE,
        connect_timeout=0.4,
    )
    try:
        probe.start()
        wait_for(lambda: sum(e.outcome == OK for e in ops_of(history, probe)) >= 4, 10, "good operations")
        hung_at = history.now()
        srv.hang_next_transfer()  # the next RETR blocks the whole server, data connection open
        wait_for(lambda: srv.hanging, 10, "a transfer to hang")
        time.sleep(2.0)
        released_at = history.now()
        srv.release()
        wait_for(
            lambda: sum(e.outcome == OK and e.t > released_at for e in ops_of(history, probe)) >= 4, 10, "recovery"
        )
    finally:
        probe.stop()
        srv.release()
        srv.stop()
    ops = ops_of(history, probe)
    hang_start = next(e.t for e in ops if e.t >= hung_at and e.outcome != OK)
    during = [e for e in ops if hang_start <= e.t < released_at]
    # operations kept starting at the cadence while one was stuck (never more than one cadence late)
    starts = [e.t for e in during]
    assert len(starts) >= (released_at - hang_start) / CADENCE - 3
    assert max(b - a for a, b in zip(starts, starts[1:])) < 2 * CADENCE
    # the hung transfer timed out: its outcome is unknown, at the read stage; the others could not even connect
    assert any(e.outcome == INFO and e.value["failed_at"] == READ for e in during)
    # (those started less than a timeout before the release were answered late, and that is right)
    stuck = [e for e in during if e.t < released_at - 0.6]
    assert stuck and all(e.outcome == INFO for e in stuck), [
        (e.outcome, e.value, e.error) for e in stuck if e.outcome != INFO
    ]
    assert {e.value["failed_at"] for e in stuck} <= {CONNECT, READ}
    (w,) = downtime_windows(history.events, probe.name)
    assert w.duration == pytest.approx(released_at - hang_start, abs=0.7)
    # the first good operation was sent during the hang and answered after the release, from the
    # server's backlog: the window ends when it was sent, within a connect timeout of the release
    assert w.end is not None and released_at - 0.4 - CADENCE <= w.end <= released_at + CADENCE
    assert w.longest >= released_at - hang_start  # the late answer is in the upper bound


def test_probe_against_a_server_that_refuses_connections_never_dies():
    history = History()
    probe = Probe(client_for(closed_port()), history, "sonde", cadence=0.05)
    probe.start()
    try:
        time.sleep(1.0)
    finally:
        probe.stop()
    ops = ops_of(history, probe)
    assert len(ops) >= 15  # one every 0.05 s, refused at once
    assert all(e.outcome == FAIL and e.value["failed_at"] == CONNECT for e in ops)
    assert all("refusée" in e.error for e in ops)
    assert total_downtime(history.events, probe.name) is None


def test_probe_tells_a_refused_upload_from_an_outage(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    srv = ServerThread(home, hostname="intralab01", perm="elr")  # reads only: every upload refused (550)
    history = History()
    with Probe(client_for(srv.port), history, "sonde", cadence=0.05) as probe:
        wait_for(lambda: len(ops_of(history, probe)) >= 10, 10, "ten operations")
    srv.stop()
    ops = ops_of(history, probe)
    assert downtime_windows(history.events, probe.name) == []
    refused = [e for e in ops if e.outcome == FAIL]
    assert refused and all(e.value["failed_at"] == WRITE for e in refused)

    (w,) = write_refusals(history.events, probe.name)
    assert w.end is None and w.phases[0].kind == WRITE and "550" in w.phases[0].reason


def test_probe_context_manager_stops(ftpd):
    history = History()
    with Probe(client_for(ftpd.port), history, "sonde2", name="p2", cadence=0.05) as probe:
        wait_for(lambda: sum(e.outcome == OK for e in history.events) >= 2, 10, "two operations")
    n = len(history.events)
    time.sleep(0.15)
    assert len(history.events) == n, "no operation after stop()"
    assert all(e.process == "p2" and e.op in (READ, WRITE) for e in history.events)
    assert downtime_windows(history.events, "p2") == []
    assert (ftpd.home / "sonde2").is_dir()
    probe.start()  # a probe can be started again, and starting it twice is harmless
    probe.start()
    wait_for(lambda: len(history.events) > n, 10, "a restart")
    probe.stop()


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
