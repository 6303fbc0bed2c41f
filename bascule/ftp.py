"""FTP as a user sees it: an ftputil client on the virtual IP, and a background probe.

The client does what the lab does with FileZilla: log in on the VIP, list the home, upload a file
with known content, download it back and compare checksums. The probe keeps doing a small
write/read cycle while a fault is active and records every operation in the history, with an
outcome ok / fail / info (timeout: unknown). It never dies and never drops an operation.
"""
from __future__ import annotations

import ftplib
import hashlib
import socket
import threading
import time
from dataclasses import dataclass

import ftputil
import ftputil.error
import ftputil.session

from .errors import BasculeError
from .history import CLIENT, FAIL, INFO, OK, History
from .inventory import Inventory


class FTPUnavailable(BasculeError):
    """The FTP service on the VIP did not answer as expected."""

    def __init__(self, what: str, fix: str = "", timed_out: bool = False, login_refused: bool = False):
        super().__init__(what, fix)
        self.timed_out = timed_out
        self.login_refused = login_refused  # 530: the account, not the service


def _session_factory(port: int, timeout: float):
    # ftputil's session_factory has no timeout argument: give ftplib.FTP one (python-stack notes §5).
    class FTPWithTimeout(ftplib.FTP):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("timeout", timeout)
            super().__init__(*args, **kwargs)

    return ftputil.session.session_factory(base_class=FTPWithTimeout, port=port, encoding="utf-8",
                                           use_passive_mode=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def describe_error(exc: BaseException) -> str:
    """A short reason in words: refused, timed out, login refused, 550 ..."""
    cause = exc.__cause__ or exc.__context__
    if is_login_refused(exc):
        return "identifiants refusés (530)"
    if isinstance(cause, ConnectionRefusedError) or "Connection refused" in str(exc):
        return "connexion refusée"
    if isinstance(cause, (TimeoutError, socket.timeout)) or isinstance(exc, (TimeoutError, socket.timeout)) or "timed out" in str(exc):
        return "délai dépassé"
    # ftputil's str() adds "Debugging info: ..." lines; strerror is the server's or OS's message
    text = getattr(exc, "strerror", None) or str(exc)
    lines = [l for l in str(text).strip().splitlines() if l.strip() and not l.startswith("Debugging info")]
    return lines[0][:120] if lines else type(exc).__name__


def is_login_refused(exc: BaseException) -> bool:
    return isinstance(exc, ftputil.error.PermanentError) and "530" in str(exc)


def is_timeout(exc: BaseException) -> bool:
    return describe_error(exc) == "délai dépassé"


@dataclass(frozen=True)
class Transfer:
    path: str
    size: int
    sha256: str
    seconds: float


class FTPClient:
    """A user's FTP session on the VIP, opened per use (`with client.session() as host:`)."""

    def __init__(self, host: str, user: str, password, port: int = 21, timeout: float = 8.0):
        self.host = host
        self.user = user
        self._password = password  # a Secret
        self.port = port
        self.timeout = timeout

    @classmethod
    def for_inventory(cls, inv: Inventory) -> "FTPClient":
        return cls(inv.vip, inv.ftp.user, inv.ftp.password, inv.ftp.port, inv.ftp.timeout)

    def __repr__(self) -> str:
        return f"FTPClient({self.user}@{self.host}:{self.port})"

    def session(self) -> ftputil.FTPHost:
        try:
            return ftputil.FTPHost(self.host, self.user, self._password.reveal(),
                                   session_factory=_session_factory(self.port, self.timeout))
        except ftputil.error.FTPError as exc:
            raise FTPUnavailable(f"FTP on {self.host}:{self.port} as {self.user}: {describe_error(exc)}",
                                 "check the VIP, that proftpd runs on the active node, and the FTP account",
                                 timed_out=is_timeout(exc), login_refused=is_login_refused(exc)) from None

    def listing(self, directory: str = ".") -> list[str]:
        with self.session() as host:
            return sorted(host.listdir(directory))

    def listing_and_server(self, directory: str = ".") -> tuple[list[str], str | None]:
        """What FileZilla shows of the home, and which node answered (None: cannot tell)."""
        with self.session() as host:
            try:
                return sorted(host.listdir(directory)), self.served_by(host)
            except ftputil.error.FTPError as exc:
                raise FTPUnavailable(f"FTP on {self.host}:{self.port} as {self.user}: listing {directory}: "
                                     f"{describe_error(exc)}", "check the home's permissions on the active node",
                                     timed_out=is_timeout(exc)) from None

    def upload(self, path: str, data: bytes) -> Transfer:
        start = time.monotonic()
        with self.session() as host:
            parent = path.rsplit("/", 1)[0] if "/" in path else ""
            if parent:
                host.makedirs(parent, exist_ok=True)
            with host.open(path, "wb") as fh:
                fh.write(data)
        return Transfer(path, len(data), sha256(data), time.monotonic() - start)

    def download(self, path: str) -> tuple[bytes, Transfer]:
        start = time.monotonic()
        with self.session() as host:
            with host.open(path, "rb") as fh:
                data = fh.read()
        return data, Transfer(path, len(data), sha256(data), time.monotonic() - start)

    def served_by(self, host: ftputil.FTPHost) -> str | None:
        """Which node answers: its /etc/hostname, when the account may read it (not chrooted)."""
        try:
            with host.open("/etc/hostname", "r", encoding="utf-8") as fh:
                return fh.read().strip() or None
        except ftputil.error.FTPError:
            return None


class Probe:
    """A background client that writes and reads a small file every `interval` seconds.

    Each cycle is one history event: ok (the file read back has the written checksum), fail (an
    error came back), or info (no answer within the client's timeout: the write may or may not have
    happened). The session is kept while it works and reopened after an error, as FileZilla does.
    """

    def __init__(self, client: FTPClient, history: History, directory: str, name: str = "sonde-ftp",
                 interval: float = 0.25, slots: int = 4):
        self.client = client
        self.history = history
        self.directory = directory.rstrip("/")
        self.name = name
        self.interval = interval
        self.slots = slots
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._host: ftputil.FTPHost | None = None
        self._served_by: str | None = None
        self.acknowledged: dict[str, str] = {}  # path -> sha256 of the last write that was confirmed

    def __repr__(self) -> str:
        return f"Probe({self.name} on {self.client.host})"

    def __enter__(self) -> "Probe":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def started(self) -> bool:
        """Whether the probe ran at some point in this scenario (its operations are in the history)."""
        return self._thread is not None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.client.timeout * 3 + 5)
        self._drop()

    def wait_back(self, since: float, deadline: float) -> float | None:
        """Wait until the client is served again: at least one good operation since `since`, and
        every outage since then closed. The one way bascule waits for FTP to come back. Returns the
        seconds waited, None at the deadline (the verdict then says the service did not come back)."""
        from .history import downtime_windows
        from .waits import WaitTimeout, wait_until

        def served_again(evs) -> bool:
            mine = [e for e in evs if e.source == CLIENT and e.process == self.name]
            return any(e.outcome == OK for e in mine) and all(w.end is not None for w in downtime_windows(mine))
        try:
            return wait_until(lambda: self.history.since(since), served_again, f"FTP to answer again on {self.client.host}",
                              deadline=deadline, interval=0.5,
                              describe=lambda evs: f"{len(downtime_windows(evs, self.name))} interruption(s)").elapsed
        except WaitTimeout:
            return None

    def _drop(self) -> None:
        if self._host is not None:
            try:
                self._host.close()
            except Exception:
                pass
        self._host = None
        self._served_by = None

    def _cycle(self, n: int) -> dict:
        if self._host is None:
            self._host = self.client.session()
            self._served_by = self.client.served_by(self._host)
            self._host.makedirs(self.directory, exist_ok=True)
        path = f"{self.directory}/sonde-{n % self.slots}.txt"
        payload = f"bascule sonde {n} {time.time():.3f}\n".encode()
        with self._host.open(path, "wb") as fh:
            fh.write(payload)
        with self._host.open(path, "rb") as fh:
            back = fh.read()
        if back != payload:
            raise FTPUnavailable(f"lu {sha256(back)[:12]} au lieu de {sha256(payload)[:12]} dans {path}")
        self.acknowledged[path] = sha256(payload)
        return {"path": path, "sha256": sha256(payload), "served_by": self._served_by}

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            t = self.history.now()
            try:
                value = self._cycle(n)
                self.history.append(CLIENT, self.name, "write+read", OK, value, t=t)
            except BaseException as exc:  # the probe never dies: every error is an event
                reason = describe_error(exc) if not isinstance(exc, BasculeError) else exc.what
                # no answer in time: the operation's outcome is unknown (info), not a failure
                outcome = INFO if (getattr(exc, "timed_out", False) or is_timeout(exc)) else FAIL
                self.history.append(CLIENT, self.name, "write+read", outcome, {"served_by": self._served_by},
                                    error=reason, t=t)
                self._drop()
            # pace the cycles, but never more than `interval` between two starts when all is well
            remaining = self.interval - (self.history.now() - t)
            if remaining > 0:
                self._stop.wait(remaining)
