"""FTP as a user sees it: an ftputil client on the virtual IP, and a background probe.

The client does what the lab does with FileZilla: log in on the VIP, list the home, upload a file
with known content, download it back and compare checksums. The probe keeps doing a small
write/read cycle while a fault is active and records every operation in the history, with an
outcome ok / fail / info (timeout: unknown). It never dies and never drops an operation.
"""

from __future__ import annotations

import ftplib
import hashlib
import io
import socket
import threading
import time
from dataclasses import dataclass

import ftputil
import ftputil.error
import ftputil.session

from bascule.errors import BasculeError
from bascule.facts.client_ops import usable
from bascule.facts.windows import downtime_windows
from bascule.inventory import Inventory
from bascule.record.history import CADENCE, CLIENT, CONNECT, FAIL, INFO, LOGIN, OK, READ, WRITE, History
from bascule.waits import Settled, WaitTimeout, wait_until


class FTPUnavailable(BasculeError):
    """The FTP service on the VIP did not answer as expected."""

    def __init__(
        self, what: str, fix: str = "", timed_out: bool = False, login_refused: bool = False, reason: str = ""
    ):
        super().__init__(what, fix)
        self.timed_out = timed_out
        self.login_refused = login_refused  # 530: the account, not the service
        self.reason = reason or what  # the server's answer alone (« identifiants refusés (530) »), without where


def _session_factory(port: int, timeout: float):
    # ftputil's session_factory has no timeout argument: give ftplib.FTP one (python-stack notes §5).
    class FTPWithTimeout(ftplib.FTP):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("timeout", timeout)
            super().__init__(*args, **kwargs)

    return ftputil.session.session_factory(
        base_class=FTPWithTimeout, port=port, encoding="utf-8", use_passive_mode=True
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def describe_error(exc: BaseException) -> str:
    """A short reason in words: refused, timed out, login refused, 550 ..."""
    cause = exc.__cause__ or exc.__context__
    if is_login_refused(exc):
        return "identifiants refusés (530)"
    if isinstance(cause, ConnectionRefusedError) or "Connection refused" in str(exc):
        return "connexion refusée"
    if (
        isinstance(cause, (TimeoutError, socket.timeout))
        or isinstance(exc, (TimeoutError, socket.timeout))
        or "timed out" in str(exc)
    ):
        return "délai dépassé"
    # ftputil's str() adds "Debugging info: ..." lines; strerror is the server's or OS's message
    text = getattr(exc, "strerror", None) or str(exc)
    lines = [ln for ln in str(text).strip().splitlines() if ln.strip() and not ln.startswith("Debugging info")]
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
            return ftputil.FTPHost(
                self.host, self.user, self._password.reveal(), session_factory=_session_factory(self.port, self.timeout)
            )
        except ftputil.error.FTPError as exc:
            reason = describe_error(exc)
            raise FTPUnavailable(
                f"FTP sur {self.host}:{self.port} en tant que {self.user} : {reason}",
                "vérifier la VIP, que proftpd tourne sur le nœud actif, et le compte FTP",
                timed_out=is_timeout(exc),
                login_refused=is_login_refused(exc),
                reason=reason,
            ) from None

    def listing(self, directory: str = ".") -> list[str]:
        with self.session() as host:
            return sorted(host.listdir(directory))

    def listing_and_server(self, directory: str = ".") -> tuple[list[str], str | None]:
        """What FileZilla shows of the home, and which node answered (None: cannot tell)."""
        with self.session() as host:
            try:
                return sorted(host.listdir(directory)), self.served_by(host)
            except ftputil.error.FTPError as exc:
                reason = describe_error(exc)
                raise FTPUnavailable(
                    f"FTP sur {self.host}:{self.port} en tant que {self.user} : liste de {directory} : {reason}",
                    "vérifier les droits du répertoire personnel sur le nœud actif",
                    timed_out=is_timeout(exc),
                    reason=reason,
                ) from None

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
    """A background client that starts one FTP operation every `cadence` seconds, whatever the
    state of those still in flight (at most `in_flight` at once), so that one hung operation never
    blinds it (a power cut left the old one-at-a-time probe waiting 17.6 s on a dead connection).

    Each operation:
    - connects anew to the VIP and waits for the server's greeting (220), with its own short
      timeout: can a user connect now? (a session already open may outlive a stopped server);
    - takes a logged-in session from its pool, or opens one (a login costs about 1.4 s of the
      guest's CPU under emulation: logging in four times a second would load the node it measures),
      as FileZilla keeps its session;
    - one operation in two reads (the serving node's /etc/hostname, then a listing of the home),
      the other writes (uploads a small file and reads it back).
    Each is one history event with its start and end, ok or not; a failure says at which stage
    (value["failed_at"]: connexion, identification, lecture, écriture — the last only for an upload
    the server refused with a 5xx reply) and drops its session and the idle ones (opened on a
    server that may be gone, they would fail in turn after it comes back); no answer in time is
    « info » (unknown outcome). ftplib is used directly (ftputil wraps it) so
    that each stage is one command and is timed.
    """

    def __init__(
        self,
        client: FTPClient,
        history: History,
        directory: str,
        name: str = "sonde-ftp",
        cadence: float = CADENCE,
        connect_timeout: float = 2.0,
        in_flight: int = 8,
        logins: int = 2,
    ):
        self.client = client
        self.history = history
        self.directory = directory.rstrip("/")
        self.name = name
        self.cadence = cadence
        self.connect_timeout = min(connect_timeout, client.timeout)
        self.in_flight = in_flight
        self.skipped = 0  # ticks not started because `in_flight` operations were still running
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = threading.BoundedSemaphore(in_flight)
        self._ops: list[threading.Thread] = []
        self._idle: list[ftplib.FTP] = []  # logged-in sessions between two operations
        self._idle_cond = threading.Condition()
        self._files_in_use: set[int] = set()
        self.logins = logins
        self._logging_in = 0

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
        """Start probing; a probe already running goes on (it runs for the whole scenario)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._schedule, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop starting operations and wait for those in flight (each has its own timeouts)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.cadence * 4 + 1)
        deadline = time.monotonic() + self.connect_timeout + self.client.timeout * 4 + 2
        for op in list(self._ops):
            op.join(timeout=max(0.0, deadline - time.monotonic()))
        self._drop_idle()

    def wait_back(self, since: float, deadline: float, settled=None) -> float | None:
        """Wait until the client can use the service again: at least one usable operation since
        `since`, and every outage since then closed. The one way bascule waits for FTP to come back.
        Returns the seconds waited, None at the deadline (the verdict then says it did not come back);
        raises Settled when `settled` (see wait_until) says the cluster settled without it."""

        def served_again(evs) -> bool:
            mine = [e for e in evs if e.source == CLIENT and e.process == self.name]
            return any(usable(e) for e in mine) and all(w.end is not None for w in downtime_windows(mine))

        try:
            return wait_until(
                lambda: self.history.since(since),
                served_again,
                f"le retour du service FTP sur {self.client.host}",
                deadline=deadline,
                interval=0.5,
                settled=settled,
                describe=lambda evs: f"{len(downtime_windows(evs, self.name))} interruption(s)",
            ).elapsed
        except Settled:
            raise
        except WaitTimeout:
            return None

    def out_of_service(self, since: float) -> bool:
        """Does the client see the service down now (an outage since `since` still open)?"""
        mine = [e for e in self.history.since(since) if e.source == CLIENT and e.process == self.name]
        windows = downtime_windows(mine)
        return bool(windows) and windows[-1].end is None

    def _schedule(self) -> None:
        # a fixed cadence on the history's clock: tick k starts at t0 + k * cadence, never later
        # because an earlier operation is slow
        t0 = self.history.now()
        k = 0
        while not self._stop.is_set():
            if self._running.acquire(blocking=False):
                op = threading.Thread(target=self._operation, args=(k,), name=f"{self.name}-{k}", daemon=True)
                self._ops = [o for o in self._ops if o.is_alive()] + [op]
                op.start()
            else:
                self.skipped += 1
            k += 1
            self._stop.wait(max(0.0, t0 + k * self.cadence - self.history.now()))

    def _greeting(self) -> None:
        """A new connection gets the server's 220 in time (then QUIT): a user can connect now."""
        with socket.create_connection((self.client.host, self.client.port), timeout=self.connect_timeout) as sock:
            sock.settimeout(self.connect_timeout)
            line = sock.makefile("rb").readline(512)
            if not line.startswith(b"220"):
                raise FTPUnavailable(f"accueil inattendu : {line[:60].decode('latin-1').strip() or 'connexion fermée'}")
            try:
                sock.sendall(b"QUIT\r\n")
            except OSError:
                pass

    def _session(self) -> tuple[ftplib.FTP, bool]:
        """A logged-in session: an idle one from the pool; else a new one (True: it is new), unless
        `logins` are already under way, then the first that becomes idle (several operations that
        find the pool empty at once would otherwise all log in, and load the node they measure)."""
        deadline = time.monotonic() + self.client.timeout
        with self._idle_cond:
            while not self._idle and self._logging_in >= self.logins:
                if not self._idle_cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise TimeoutError("délai dépassé en attendant une session")
            if self._idle:
                return self._idle.pop(), False
            self._logging_in += 1
        try:
            ftp = ftplib.FTP(encoding="utf-8")
            ftp.connect(self.client.host, self.client.port, timeout=self.connect_timeout)
            ftp.timeout = self.client.timeout  # the data connections' and every later command's
            ftp.sock.settimeout(self.client.timeout)
            return ftp, True
        except BaseException:
            self._login_done()
            raise

    def _login_done(self) -> None:
        with self._idle_cond:
            self._logging_in -= 1
            self._idle_cond.notify()

    def _take_slot(self) -> int:
        """A file no upload in flight is writing: two uploads of one file, delayed together behind a
        login, would read each other's content back (seen in a failback: « lu … au lieu de … »)."""
        with self._idle_cond:
            slot = next(i for i in range(self.in_flight + 1) if i not in self._files_in_use)
            self._files_in_use.add(slot)
            return slot

    def _drop_idle(self) -> None:
        with self._idle_cond:
            idle, self._idle = self._idle, []
        for ftp in idle:
            _close(ftp)

    def _give_back(self, ftp: ftplib.FTP) -> None:
        with self._idle_cond:
            self._idle.append(ftp)
            self._idle_cond.notify()

    def _operation(self, k: int) -> None:
        t = self.history.now()
        stage = CONNECT
        served = None
        ftp = None
        slot = None
        kind = READ if k % 2 == 0 else WRITE
        try:
            self._greeting()
            stage = LOGIN
            ftp, new = self._session()
            if new:
                try:
                    ftp.login(self.client.user, self.client._password.reveal())
                finally:
                    self._login_done()
            if kind == READ:
                stage = READ
                served = hostname_over_ftp(ftp)
                ftp.nlst()  # the home, as the user's client shows it
                value = {"op": READ, "served_by": served}
            else:
                stage = WRITE
                slot = self._take_slot()
                path = f"{self.directory}/sonde-{slot}.txt"
                payload = f"bascule sonde {k} {time.time():.3f}\n".encode()
                try:
                    ftp.storbinary(f"STOR {path}", io.BytesIO(payload))
                except ftplib.error_perm:
                    # its directory may be missing (first upload, or a node whose /home was not
                    # replicated): make it and try once more; a second refusal is the answer
                    try:
                        ftp.mkd(self.directory)
                    except ftplib.error_perm:
                        pass
                    ftp.storbinary(f"STOR {path}", io.BytesIO(payload))
                stage = READ  # reading it back: a failure here is the service's, not a refused upload
                back = bytearray()
                ftp.retrbinary(f"RETR {path}", back.extend)
                if bytes(back) != payload:
                    raise FTPUnavailable(f"lu {sha256(bytes(back))[:12]} au lieu de {sha256(payload)[:12]} dans {path}")
                value = {"op": WRITE, "path": path, "sha256": sha256(payload)}
            self.history.append(CLIENT, self.name, kind, OK, value, t=t)
            self._give_back(ftp)
            ftp = None
        except BaseException as exc:  # noqa: BLE001 - the probe never dies: every error is an event
            if stage == WRITE and not isinstance(exc, ftplib.error_perm):
                stage = READ  # the upload was not refused (5xx): the transfer failed, the service with it
            if stage != WRITE:
                self._drop_idle()  # opened on a server that may be gone: reused, they would fail in turn
            reason = exc.what if isinstance(exc, BasculeError) else describe_error(exc)
            if stage == LOGIN and isinstance(exc, ftplib.error_perm) and str(exc).startswith("530"):
                reason = "identifiants refusés (530)"
            timed_out = isinstance(exc, (TimeoutError, socket.timeout)) or is_timeout(exc)
            # no answer in time: the operation's outcome is unknown (info), not a failure
            self.history.append(
                CLIENT,
                self.name,
                kind,
                INFO if timed_out else FAIL,
                {"failed_at": stage, "served_by": served},
                error=reason,
                t=t,
            )
        finally:
            if ftp is not None:  # a session that failed is not reused: the next operation logs in again
                _close(ftp)
            if slot is not None:
                with self._idle_cond:
                    self._files_in_use.discard(slot)
            self._running.release()


def hostname_over_ftp(ftp: ftplib.FTP) -> str | None:
    """Which node answers a session: its /etc/hostname, when the account may read it (not chrooted)."""
    data = bytearray()
    try:
        ftp.retrbinary("RETR /etc/hostname", data.extend)
    except ftplib.error_perm:
        return None
    return data.decode("utf-8", "replace").strip() or None


def _close(ftp: ftplib.FTP) -> None:
    try:
        ftp.close()
    except Exception:  # noqa: BLE001 - closing a session that failed: nothing more to learn from it
        pass
