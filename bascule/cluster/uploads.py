"""Clients that upload files all along an endurance run, and the read-back of every acknowledged one.

Each upload has a unique name and known contents; the history keeps, for each, whether the server
acknowledged it (226), refused it, or never answered, and which node served the session. The FTP
uploader keeps one logged-in session as FileZilla does and logs in again after an error; the curl
uploader is an independent client (another FTP implementation, a new connection per file), whose
acknowledged files are checked the same way.
"""
from __future__ import annotations

import ftplib
import hashlib
import io
import os
import random
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bascule.cluster.ftp import FTPClient, describe_error, is_timeout
from bascule.record.endurance import CURL_UPLOADER, FTP_UPLOADER, READ_BACK, UPLOAD
from bascule.record.history import CLIENT, CONNECT, FAIL, INFO, LOGIN, OK, READ, WRITE, History


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def contents(name: str, size: int) -> bytes:
    """A file's known contents, from its name: what it must hold when read back."""
    seed = hashlib.sha256(name.encode()).digest()
    block = (name.encode() + b"\n" + seed.hex().encode() + b"\n")
    return (block * (size // len(block) + 1))[:size]


def _hostname(ftp: ftplib.FTP) -> str | None:
    data = bytearray()
    try:
        ftp.retrbinary("RETR /etc/hostname", data.extend)
    except ftplib.error_perm:
        return None
    return data.decode("utf-8", "replace").strip() or None


def make_dirs(ftp: ftplib.FTP, directory: str) -> None:
    """mkdir -p over FTP: each level, those already there refused and skipped."""
    parts = directory.strip("/").split("/")
    for i in range(1, len(parts) + 1):
        try:
            ftp.mkd(("/" if directory.startswith("/") else "") + "/".join(parts[:i]))
        except ftplib.error_perm:
            pass  # already there (or not ours to make: the upload then says so)


class FtpSession:
    """One logged-in session on the VIP, opened again after any error."""

    def __init__(self, client: FTPClient, timeout: float = 10.0):
        self.client = client
        self.timeout = timeout
        self.ftp: ftplib.FTP | None = None
        self.served_by: str | None = None

    def open(self) -> ftplib.FTP:
        if self.ftp is None:
            ftp = ftplib.FTP(encoding="utf-8")
            ftp.connect(self.client.host, self.client.port, timeout=self.timeout)
            try:
                ftp.login(self.client.user, self.client._password.reveal())
                self.served_by = _hostname(ftp)
            except BaseException:
                _close(ftp)
                raise
            self.ftp = ftp
        return self.ftp

    def drop(self) -> None:
        if self.ftp is not None:
            _close(self.ftp)
        self.ftp = None
        self.served_by = None

    def read(self, path: str) -> bytes:
        data = bytearray()
        self.open().retrbinary(f"RETR {path}", data.extend)
        return bytes(data)


def _close(ftp: ftplib.FTP) -> None:
    try:
        ftp.close()
    except Exception:
        pass


class FtpUploader(threading.Thread):
    """Uploads a new file every `period` seconds into `directory`, and reads back one earlier file
    in four, until stopped."""

    def __init__(self, client: FTPClient, history: History, directory: str, period: float = 1.0,
                 size: int = 2048, seed: int = 0):
        super().__init__(name=FTP_UPLOADER, daemon=True)
        self.session = FtpSession(client)
        self.history = history
        self.directory = directory
        self.period = period
        self.size = size
        self.rng = random.Random(seed)
        self.acked: list[tuple[str, str]] = []  # (path, sha256), in order
        self._stopping = threading.Event()
        self._made_dir = False
        self.count = 0

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            self.count += 1
            self._upload(f"{self.directory}/f-{self.count:06d}.bin")
            if self.acked and self.count % 4 == 0:
                self._read_back(*self.acked[self.rng.randrange(len(self.acked))])
            self._stopping.wait(max(0.0, self.period - (time.monotonic() - started)))

    def _upload(self, path: str) -> None:
        data = contents(path, self.size)
        t = self.history.now()
        stage = CONNECT
        value = {"name": path, "sha256": _sha(data), "size": len(data), "op": WRITE}
        try:
            stage = LOGIN
            ftp = self.session.open()
            value["served_by"] = self.session.served_by
            if not self._made_dir:
                make_dirs(ftp, self.directory)
                self._made_dir = True
            stage = WRITE
            ftp.storbinary(f"STOR {path}", io.BytesIO(data))  # returns on the server's 226, raises otherwise
            self.history.append(CLIENT, FTP_UPLOADER, UPLOAD, OK, value, t=t)
            self.acked.append((path, value["sha256"]))
        except BaseException as exc:
            if stage == WRITE and not isinstance(exc, ftplib.error_perm):
                stage = READ  # the transfer broke: the service, not a refusal
            self.session.drop()
            timed_out = isinstance(exc, (TimeoutError, socket.timeout)) or is_timeout(exc)
            self.history.append(CLIENT, FTP_UPLOADER, UPLOAD, INFO if timed_out else FAIL,
                                {**value, "failed_at": stage}, error=describe_error(exc), t=t)

    def _read_back(self, path: str, sha: str) -> None:
        t = self.history.now()
        try:
            data = self.session.read(path)
            self.history.append(CLIENT, FTP_UPLOADER, READ_BACK, OK,
                                {"name": path, "sha256": _sha(data), "served_by": self.session.served_by, "op": READ},
                                t=t)
        except BaseException as exc:
            self.session.drop()
            self.history.append(CLIENT, FTP_UPLOADER, READ_BACK, FAIL, {"name": path, "failed_at": READ},
                                error=describe_error(exc), t=t)


class CurlUploader(threading.Thread):
    """The independent client: curl uploads a new file every `period` seconds, on a new connection
    each time; curl exits 0 only on the server's 226. The password reaches curl in a netrc file
    (mode 600), never on its command line."""

    def __init__(self, client: FTPClient, history: History, directory: str, period: float = 2.0, size: int = 2048):
        super().__init__(name=CURL_UPLOADER, daemon=True)
        self.client = client
        self.history = history
        self.directory = directory
        self.period = period
        self.size = size
        self._stopping = threading.Event()
        self.count = 0
        self._tmp = Path(tempfile.mkdtemp(prefix="bascule-curl-"))
        netrc = self._tmp / "netrc"
        netrc.touch(mode=0o600)
        netrc.write_text(f"machine {client.host} login {client.user} password {client._password.reveal()}\n")
        self._netrc = netrc

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                started = time.monotonic()
                self.count += 1
                self._upload(f"{self.directory}/c-{self.count:06d}.bin")
                self._stopping.wait(max(0.0, self.period - (time.monotonic() - started)))
        finally:
            for p in self._tmp.iterdir():
                p.unlink()
            self._tmp.rmdir()

    def _upload(self, path: str) -> None:
        data = contents(path, self.size)
        local = self._tmp / "envoi.bin"
        local.write_bytes(data)
        t = self.history.now()
        value = {"name": path, "sha256": _sha(data), "size": len(data), "op": WRITE}
        url = f"ftp://{self.client.host}:{self.client.port}/{path}"
        try:
            proc = subprocess.run(["curl", "-sS", "--netrc-file", str(self._netrc), "--ftp-create-dirs",
                                   "--connect-timeout", "5", "--max-time", "20", "-T", str(local), url],
                                  capture_output=True, text=True, timeout=30, env={**os.environ, "LC_ALL": "C"})
        except subprocess.TimeoutExpired:
            self.history.append(CLIENT, CURL_UPLOADER, UPLOAD, INFO, {**value, "failed_at": WRITE},
                                error="curl : pas de réponse en 30 s", t=t)
            return
        if proc.returncode == 0:
            self.history.append(CLIENT, CURL_UPLOADER, UPLOAD, OK, value, t=t)
            return
        # curl's exit codes: 7 no connection, 28 timeout, 67 login refused, 25 upload refused
        stage = {7: CONNECT, 67: LOGIN, 9: LOGIN, 25: WRITE}.get(proc.returncode, READ)
        outcome = INFO if proc.returncode == 28 else FAIL
        self.history.append(CLIENT, CURL_UPLOADER, UPLOAD, outcome, {**value, "failed_at": stage},
                            error=f"curl code {proc.returncode} : {proc.stderr.strip()[:160]}", t=t)


def read_back_all(client: FTPClient, names: list[tuple[str, str]], directories: list[str],
                  deadline: float = 300) -> dict:
    """Every acknowledged file read back through FTP, and the directories listed: the value of a
    verification event. A file that cannot be read for a reason other than its absence (the server
    went away mid-verification) is retried on a new session until the deadline, then left
    « unreadable »."""
    session = FtpSession(client, timeout=15)
    read: dict[str, str | None] = {}
    unreadable: list[str] = []
    listed: list[str] = []
    sizes: dict[str, int] = {}
    end = time.monotonic() + deadline
    for directory in directories:
        while True:
            try:
                ftp = session.open()
                for name, facts in ftp.mlsd(directory, facts=["size", "type"]):
                    if facts.get("type") == "file":
                        listed.append(f"{directory}/{name}")
                        if facts.get("size", "").isdigit():
                            sizes[f"{directory}/{name}"] = int(facts["size"])
                break
            except ftplib.error_perm:
                break  # no such directory: nothing was ever written there
            except Exception:
                session.drop()
                if time.monotonic() > end:
                    break
                time.sleep(2)
    present = set(listed)
    for name, _sha_expected in names:
        if listed and name not in present:
            read[name] = None
            continue
        while True:
            try:
                read[name] = _sha(session.read(name))
                break
            except ftplib.error_perm as exc:
                if str(exc).startswith("550"):
                    read[name] = None  # no such file
                    break
                session.drop()
            except Exception:
                session.drop()
            if time.monotonic() > end:
                read[name] = None
                unreadable.append(name)
                break
            time.sleep(1)
    session.drop()
    return {"read": read, "unreadable": unreadable, "listed": listed, "sizes": sizes}
