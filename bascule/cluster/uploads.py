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
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bascule.cluster.ftp import FTPClient, describe_error, hostname_over_ftp, is_timeout
from bascule.record.endurance import CURL_UPLOADER, FTP_UPLOADER, READ_BACK, UPLOAD
from bascule.record.history import CLIENT, CONNECT, FAIL, INFO, LOGIN, OK, READ, UNKNOWN_STAGE, WRITE, History
from bascule.waits import WaitTimeout, wait_until


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def contents(name: str, size: int) -> bytes:
    """A file's known contents, from its name: what it must hold when read back."""
    seed = hashlib.sha256(name.encode()).digest()
    block = name.encode() + b"\n" + seed.hex().encode() + b"\n"
    return (block * (size // len(block) + 1))[:size]


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
                self.served_by = hostname_over_ftp(ftp)
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
    except Exception:  # noqa: BLE001 - closing a session that failed: nothing more to learn from it
        pass


class FtpUploader(threading.Thread):
    """Uploads a new file every `period` seconds into `directory`, and reads back one earlier file
    in four, until stopped."""

    def __init__(
        self, client: FTPClient, history: History, directory: str, period: float = 1.0, size: int = 2048, seed: int = 0
    ):
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
            try:
                ftp.storbinary(f"STOR {path}", io.BytesIO(data))  # returns on the server's 226, raises otherwise
            except ftplib.error_perm:
                # its directory may be missing on the node now serving (a /home not replicated): made
                # again, as curl's --ftp-create-dirs does; a second refusal is the answer
                make_dirs(ftp, self.directory)
                ftp.storbinary(f"STOR {path}", io.BytesIO(data))
            self.history.append(CLIENT, FTP_UPLOADER, UPLOAD, OK, value, t=t)
            self.acked.append((path, value["sha256"]))
        except BaseException as exc:  # noqa: BLE001 - the uploader never dies: every error is an event
            if stage == WRITE and not isinstance(exc, ftplib.error_perm):
                stage = READ  # the transfer broke: the service, not a refusal
            self.session.drop()
            timed_out = isinstance(exc, (TimeoutError, socket.timeout)) or is_timeout(exc)
            self.history.append(
                CLIENT,
                FTP_UPLOADER,
                UPLOAD,
                INFO if timed_out else FAIL,
                {**value, "failed_at": stage},
                error=describe_error(exc),
                t=t,
            )

    def _read_back(self, path: str, sha: str) -> None:
        t = self.history.now()
        try:
            data = self.session.read(path)
            self.history.append(
                CLIENT,
                FTP_UPLOADER,
                READ_BACK,
                OK,
                {"name": path, "sha256": _sha(data), "served_by": self.session.served_by, "op": READ},
                t=t,
            )
        except ftplib.error_perm as exc:
            # the server answered (a file gone is for the verification to judge): no outage, session kept
            self.history.append(
                CLIENT,
                FTP_UPLOADER,
                READ_BACK,
                OK,
                {
                    "name": path,
                    "sha256": None,
                    "refused": str(exc)[:120],
                    "served_by": self.session.served_by,
                    "op": READ,
                },
                t=t,
            )
        except Exception as exc:  # noqa: BLE001 - the uploader never dies: every error is an event, its session dropped
            self.session.drop()
            self.history.append(
                CLIENT, FTP_UPLOADER, READ_BACK, FAIL, {"name": path, "failed_at": READ}, error=describe_error(exc), t=t
            )


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
                try:
                    self._upload(f"{self.directory}/c-{self.count:06d}.bin")
                except OSError as exc:  # this machine's side (a full /tmp, curl gone): said, never a traceback
                    self.history.append(
                        CLIENT,
                        CURL_UPLOADER,
                        UPLOAD,
                        INFO,
                        {"name": "", "failed_at": CONNECT},
                        error=f"curl n'a pas pu être lancé : {exc}",
                    )
                self._stopping.wait(max(0.0, self.period - (time.monotonic() - started)))
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)  # the netrc with the password goes with it

    def _upload(self, path: str) -> None:
        data = contents(path, self.size)
        local = self._tmp / "envoi.bin"
        local.write_bytes(data)
        t = self.history.now()
        value = {"name": path, "sha256": _sha(data), "size": len(data), "op": WRITE}
        server = f"ftp://{self.client.host}:{self.client.port}"
        hostname = self._tmp / "hostname"
        hostname.unlink(missing_ok=True)
        common = ["-sS", "--netrc-file", str(self._netrc), "--connect-timeout", "5", "--max-time", "20"]
        try:
            # which node serves: its /etc/hostname read first, then the upload on the same connection
            # (curl keeps it between the two: the upload's %{num_connects} is then 1, its passive data
            # connection alone; 2 when it had to log in again, and the node is left unnamed).
            # curl's exit code is the last transfer's: the upload's. A session of its own: Ctrl-C goes
            # to bascule, which stops the uploaders, not to curl
            proc = subprocess.run(
                [
                    "curl",
                    *common,
                    "-o",
                    str(hostname),
                    f"{server}/%2Fetc/hostname",
                    "--next",
                    *common,
                    "--ftp-create-dirs",
                    "-w",
                    "connexions=%{num_connects}\n",
                    "-T",
                    str(local),
                    f"{server}/{path}",
                ],
                capture_output=True,
                text=True,
                timeout=45,
                start_new_session=True,
                env={**os.environ, "LC_ALL": "C"},
            )
        except subprocess.TimeoutExpired:
            self.history.append(
                CLIENT,
                CURL_UPLOADER,
                UPLOAD,
                INFO,
                {**value, "failed_at": WRITE},
                error="curl : pas de réponse en 45 s",
                t=t,
            )
            return
        if proc.returncode == 0:
            same = "connexions=1" in proc.stdout.split()
            served = hostname.read_text(errors="replace").strip() if same and hostname.is_file() else ""
            self.history.append(CLIENT, CURL_UPLOADER, UPLOAD, OK, {**value, "served_by": served or None}, t=t)
            return
        if proc.returncode < 0:  # curl killed by a signal (bascule stopping): says nothing of the server
            self.history.append(
                CLIENT,
                CURL_UPLOADER,
                UPLOAD,
                INFO,
                {**value, "failed_at": UNKNOWN_STAGE},
                error=f"curl arrêté par le signal {-proc.returncode}",
                t=t,
            )
            return
        # curl's exit codes: 7 no connection, 28 no answer in time, 67 login refused, 9 a directory
        # refused, 25 the upload refused (the server answered: not an outage)
        stage = {7: CONNECT, 67: LOGIN, 9: WRITE, 25: WRITE, 28: CONNECT}.get(proc.returncode, READ)
        outcome = INFO if proc.returncode == 28 else FAIL
        self.history.append(
            CLIENT,
            CURL_UPLOADER,
            UPLOAD,
            outcome,
            {**value, "failed_at": stage},
            error=f"curl code {proc.returncode} : {proc.stderr.strip()[:160]}",
            t=t,
        )


_RETRY = object()


def read_back_all(
    client: FTPClient, names: list[tuple[str, str]], directories: list[str], deadline: float = 300
) -> dict:
    """Every acknowledged file read back through FTP, and the directories listed: the value of a
    verification event. A file is « absent » only when the server says so (550 No such file) or a
    complete listing of its directory lacks it; a file that cannot be read for another reason (the
    server went away mid-verification) is retried on a new session until the deadline, then left
    « unreadable », as is every file not reached by then."""
    reader = _ReadBack(FtpSession(client, timeout=15), time.monotonic() + deadline)
    for directory in directories:
        if reader.left() <= 0:
            break
        reader.list(directory)
    for name, _expected in names:
        reader.read(name)
    reader.session.drop()
    return {
        "read": reader.found,
        "unreadable": reader.unreadable,
        "listed": reader.listed,
        "sizes": reader.sizes,
        "served_by": list(reader.served),
    }


class _ReadBack:
    """One verification's reads: what each file gave back, what each directory listed."""

    def __init__(self, session: FtpSession, end: float):
        self.session, self.end = session, end
        self.found: dict[str, str | None] = {}
        self.unreadable: list[str] = []
        self.listed: list[str] = []
        self.present: set[str] = set()  # the listed files, to look up
        self.sizes: dict[str, int] = {}
        self.complete: set[str] = set()  # directories listed to their end
        self.served: dict[str, None] = {}  # the nodes that served the read, in order

    def left(self) -> float:
        return self.end - time.monotonic()

    def _listing(self, directory: str):
        try:
            return [
                (f"{directory}/{name}", facts)
                for name, facts in self.session.open().mlsd(directory, facts=["size", "type"])
            ]
        except ftplib.error_perm as exc:
            return [] if _absent(exc) else None  # no such directory: nothing was ever written there
        except Exception:  # noqa: BLE001 - a session broken mid-listing: dropped, the listing is unknown
            self.session.drop()
            return _RETRY

    def list(self, directory: str) -> None:
        try:
            found = wait_until(
                lambda: self._listing(directory),
                lambda r: r is not _RETRY,
                f"la liste de {directory}",
                deadline=self.left(),
                interval=2,
                describe=lambda r: "pas de réponse",
            ).value
        except WaitTimeout:
            return
        if found is None:
            return  # refused (not « absent »): its files are read one by one
        self.complete.add(directory)
        if self.session.served_by:
            self.served.setdefault(self.session.served_by)
        for path, facts in found:
            if facts.get("type") == "file":
                self.listed.append(path)
                self.present.add(path)
                if facts.get("size", "").isdigit():
                    self.sizes[path] = int(facts["size"])

    def _reading(self, name: str):
        try:
            return _sha(self.session.read(name))
        except ftplib.error_perm as exc:
            return None if _absent(exc) else _RETRY
        except Exception:  # noqa: BLE001 - a session broken mid-read: dropped, the read is tried again
            self.session.drop()
            return _RETRY

    def read(self, name: str) -> None:
        if name.rsplit("/", 1)[0] in self.complete and name not in self.present:
            self.found[name] = None  # a complete listing of its directory lacks it
            return
        if self.left() <= 0:
            self.found[name] = None
            self.unreadable.append(name)
            return
        try:
            self.found[name] = wait_until(
                lambda: self._reading(name),
                lambda r: r is not _RETRY,
                f"la relecture de {name}",
                deadline=self.left(),
                interval=1,
                describe=lambda r: "pas lisible",
            ).value
        except WaitTimeout:
            self.found[name] = None
            self.unreadable.append(name)
        if self.session.served_by:
            self.served.setdefault(self.session.served_by)


def _absent(exc: ftplib.error_perm) -> bool:
    """Whether a 550 says the file is not there (proftpd: « No such file or directory »), not that it
    may not be read."""
    text = str(exc)
    return text.startswith("550") and ("No such file" in text or "not found" in text.lower())
