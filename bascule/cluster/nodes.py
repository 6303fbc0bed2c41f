"""SSH to the cluster's nodes with fabric. The only module that imports fabric or paramiko.

One Connection per node, opened on first use and reused; a connect timeout and a timeout on every
command; sudo when the inventory's user is not root. Results come back as frozen values. Every
failure to reach a node becomes one NodeError naming the node and the fix; a connection lost in the
middle of a command (the node is rebooting, its cable is pulled) is a NodeLost, which scenarios turn
into the verdict « inconnu ».
"""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import shlex
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import invoke
import paramiko
from fabric import Config, Connection

from bascule.cluster.kept_shell import KeptShell, ShellGone, ShellTimedOut
from bascule.errors import NodeError
from bascule.inventory import NodeSpec
from bascule.waits import ACCOUNTING

# paramiko's transport threads log their own failures with a traceback (« Error reading SSH protocol
# banner »), which Python prints on stderr, after pytest has ended when the thread outlives the run.
# bascule reports each failure itself, in one line: paramiko's log stays silent unless BASCULE_DEBUG.
if not os.environ.get("BASCULE_DEBUG"):
    logging.getLogger("paramiko").addHandler(logging.NullHandler())
    logging.getLogger("paramiko").propagate = False


_CRMSH = re.compile(r"(^|[;&|(]\s*)crm\s")


class _CommandTime:
    """Seconds spent in node commands outside any wait, and every command's span (epoch start, end,
    node, its first word, inside a wait or not), for bench/suite_timings.py: which part of a run
    the suite spent loading the guests it measures."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seconds = 0.0
        self.spans: list[tuple[float, float, str, str, bool]] = []

    def add(self, s: float) -> None:
        with self.lock:
            self.seconds += s

    def span(self, start: float, end: float, node: str, command: str, in_wait: bool) -> None:
        words = command.split()
        # a crmsh call is the lab's own action whatever comes before it on the line (rm -f …; crm configure save)
        kind = "crm" if _CRMSH.search(command) else (words[0] if words else "")
        with self.lock:
            self.spans.append((round(start, 3), round(end, 3), node, kind, in_wait))


COMMAND_TIME = _CommandTime()


class NodeLost(NodeError):
    """The node stopped answering in the middle of something: nothing can be concluded from it."""


class CommandFailed(NodeError):
    """A command on a node exited non-zero when it had to succeed."""

    def __init__(self, node: str, result: "CommandResult"):
        self.result = result
        err = (result.stderr or result.stdout).strip().splitlines()
        tail = err[-1] if err else ""
        super().__init__(
            f"nœud {node} : `{result.command}` a échoué (code de sortie {result.exit_code}) : {tail}",
            "la lancer à la main sur le nœud pour voir pourquoi",
        )


@dataclass(frozen=True)
class CommandResult:
    node: str
    command: str
    exit_code: int
    stdout: str
    stderr: str
    elapsed: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class _DeadTransport(Exception):
    """A command outlived its hard deadline: the SSH transport no longer carries anything."""


def _quietly(action) -> None:
    try:
        action()
    except Exception:  # noqa: BLE001 - best-effort cleanup of a connection being dropped
        pass


def _shown_banner(banner: str) -> str:
    """The server's version line, printable and short (it comes from whatever answers on the port)."""
    text = "".join(c if c.isprintable() else "?" for c in banner.strip())
    return text[:60] + ("…" if len(text) > 60 else "")


def quote(*args: str) -> str:
    """A shell command line from separate arguments, each quoted."""
    return " ".join(shlex.quote(str(a)) for a in args)


KEEPALIVE = 5  # seconds between SSH keepalives
# BASCULE_SHELL_GARDE=0 sends every command on a channel of its own, as before the kept shell: for
# bench/ A/B runs, and a way out should a node's shell misbehave
KEEP_SHELL = os.environ.get("BASCULE_SHELL_GARDE", "1") != "0"


def _auth_timed_out(exc: BaseException) -> bool:
    """paramiko's « Authentication timeout. »: the server took the TCP connection and the key exchange,
    then did not answer the login in auth_timeout seconds (an AuthenticationException in paramiko 2
    and later, a plain SSHException before). That is no refused password."""
    return "authentication timeout" in str(exc).lower()


def _auth_cut(exc: BaseException) -> bool:
    """paramiko's « transport shut down or saw EOF » during the login: the server closed the connection."""
    return "transport shut down or saw eof" in str(exc).lower()


def hard_deadline(timeout: float) -> float:
    """How long a command may take in all, even on a dead transport: its timeout, plus a grace for
    invoke's own timeout to fire and report first."""
    return timeout + min(10.0, max(2.0, timeout / 2))


class Node:
    """One cluster node reached over SSH."""

    def __init__(self, spec: NodeSpec, keep_shell: bool | None = None):
        """keep_shell: send commands through one kept shell (the default, KEEP_SHELL), or each on a
        channel of its own (False: what bench/ compares it with)."""
        self.spec = spec
        self.name = spec.name
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        # the node's kept shell (kept_shell.py): every command without stdin goes through it, one at a
        # time; a command sent while it is busy (another thread) takes a channel of its own
        self._shell: KeptShell | None = None
        self._shell_lock = threading.Lock()
        self._shell_usable = KEEP_SHELL if keep_shell is None else keep_shell
        self._shell_answered = False  # has any kept shell on this node answered a command?

    def __repr__(self) -> str:  # shows in Allure step parameters: never the password
        return f"Node({self.name} via {self.spec.ssh.user}@{self.spec.ssh.host}:{self.spec.ssh.port})"

    # -- connection ------------------------------------------------------------------------------
    def _open(self) -> Connection:
        ssh = self.spec.ssh
        kwargs = {
            "look_for_keys": False,
            "allow_agent": False,
            "banner_timeout": ssh.connect_timeout,
            "auth_timeout": ssh.connect_timeout,
        }
        if ssh.key:
            kwargs["key_filename"] = [ssh.key]
        if ssh.password is not None:
            kwargs["password"] = ssh.password.reveal()
        config = Config(overrides={"load_ssh_configs": False, "run": {"in_stream": False}})
        conn = Connection(
            ssh.host,
            user=ssh.user,
            port=ssh.port,
            connect_kwargs=kwargs,
            connect_timeout=ssh.connect_timeout,
            config=config,
        )
        seen: dict = {}
        try:
            self._open_or_close(conn, seen)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise self._not_opened(exc, seen.get("banner", "")) from None
        # keepalives make a transport whose peer vanished (a node powered off, its cable pulled)
        # fail instead of waiting forever on a reply that cannot come
        conn.transport.set_keepalive(KEEPALIVE)
        return conn

    def _not_opened(self, exc: BaseException, banner: str) -> NodeError:
        """Why SSH to the node failed, in one line with its fix (checked in this order: the most
        specific exceptions first)."""
        ssh = self.spec.ssh
        where = f"{ssh.user}@{ssh.host}:{ssh.port}"
        how = f"la clé {ssh.key}" if ssh.key else "le mot de passe"
        if isinstance(exc, paramiko.PasswordRequiredException):
            return NodeError(
                f"nœud {self.name} : la clé SSH {ssh.key} est chiffrée (protégée par une phrase de passe)",
                "donner une clé sans phrase de passe (bascule n'utilise pas d'agent SSH)",
            )
        if isinstance(exc, paramiko.AuthenticationException):
            if _auth_timed_out(exc):
                return self._auth_timeout(where)
            if _auth_cut(exc):
                return NodeError(
                    f"nœud {self.name} : le serveur SSH de {where} a fermé la connexion pendant "
                    f"l'authentification avec {how}",
                    "vérifier l'utilisateur, la clé ou le mot de passe dans l'inventaire, et le journal de "
                    "sshd sur le nœud (journalctl -u ssh)",
                )
            return NodeError(
                f"nœud {self.name} : connexion SSH refusée pour {where} avec {how}",
                "vérifier l'utilisateur, la clé ou le mot de passe dans l'inventaire",
            )
        if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
            return NodeError(
                f"nœud {self.name} : rien n'écoute en SSH sur {where}",
                "vérifier host et port dans l'inventaire, et que sshd tourne sur le nœud",
            )
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return NodeError(
                f"nœud {self.name} : pas de réponse de {where} en {ssh.connect_timeout:.0f} s",
                "vérifier que le nœud est allumé et que son adresse dans l'inventaire est la bonne",
            )
        if isinstance(exc, socket.gaierror):
            return NodeError(
                f"nœud {self.name} : le nom d'hôte {ssh.host} ne se résout pas",
                "donner une adresse IP ou un nom que cette machine sait résoudre",
            )
        if isinstance(exc, FileNotFoundError):
            return NodeError(
                f"nœud {self.name} : la clé SSH {ssh.key} n'existe pas",
                "corriger le chemin de la clé dans l'inventaire",
            )
        if isinstance(exc, paramiko.SSHException):
            if _auth_timed_out(exc):
                return self._auth_timeout(where)
            if "No existing session" in str(exc) and banner:
                # the server sent its banner, then never completed the key exchange
                return NodeError(
                    f"nœud {self.name} : le serveur SSH de {where} ({_shown_banner(banner)}) a répondu "
                    f"mais n'a pas terminé la négociation en {ssh.connect_timeout:.0f} s",
                    "vérifier que sshd fonctionne sur le nœud (systemctl status ssh) et que le port de "
                    "l'inventaire est bien le sien",
                )
            if "banner" in str(exc).lower() or "No existing session" in str(exc):
                return NodeError(
                    f"nœud {self.name} : {where} accepte les connexions mais aucun serveur SSH n'y répond "
                    f"en {ssh.connect_timeout:.0f} s",
                    "vérifier le port dans l'inventaire (est-ce bien le sshd du nœud ?)",
                )
            if ssh.key and "key" in str(exc).lower():
                # paramiko tries every key type on a refused key and reports the last load error
                return NodeError(
                    f"nœud {self.name} : connexion SSH refusée pour {where} avec la clé {ssh.key} "
                    f"(ou la clé est illisible : {exc})",
                    "vérifier que la moitié publique de cette clé est dans le authorized_keys de "
                    "l'utilisateur sur le nœud",
                )
            return NodeError(
                f"nœud {self.name} : échec de SSH vers {where} (SSHException : {exc})",
                "vérifier que l'adresse est bien celle du serveur SSH du nœud",
            )
        return NodeError(
            f"nœud {self.name} : échec de SSH vers {where} ({type(exc).__name__} : {exc})",
            "vérifier que l'adresse est bien celle du serveur SSH du nœud",
        )

    def _auth_timeout(self, where: str) -> NodeError:
        ssh = self.spec.ssh
        return NodeError(
            f"nœud {self.name} : le serveur SSH de {where} n'a pas répondu pendant l'authentification "
            f"en {ssh.connect_timeout:.0f} s (ce n'est pas un refus du mot de passe ou de la clé)",
            f"essayer à la main ssh -p {ssh.port} {ssh.user}@{ssh.host} : s'il attend aussi, regarder "
            "sshd sur le nœud (journalctl -u ssh : PAM, DNS inverse avec UseDNS) ; un nœud très chargé "
            "peut demander un connect_timeout plus grand dans l'inventaire",
        )

    @staticmethod
    def _open_or_close(conn: Connection, seen: dict | None = None) -> None:
        """Open, and on any failure close what was started: a half-open transport's thread would
        otherwise print paramiko's traceback after pytest has ended. `seen` gets the server's banner
        ("banner": the SSH version line it sent, "" if none), which the close forgets."""
        try:
            conn.open()
        except BaseException:
            if seen is not None:
                transport = conn.client.get_transport() if conn.client is not None else None
                seen["banner"] = getattr(transport, "remote_version", "") or ""
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - best-effort close of a probe connection
                pass
            raise

    def connection(self) -> Connection:
        with self._lock:
            conn = self._conn
            if conn is not None and conn.is_connected and conn.transport.is_active():
                return conn
            if conn is not None:
                conn.close()
            self._conn = None
            self._conn = self._open()
            return self._conn

    def close(self) -> None:
        self._drop_shell()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def reachable(self) -> bool:
        try:
            return self.run("true", timeout=10, check=False).ok
        except NodeError:
            return False

    # -- commands --------------------------------------------------------------------------------
    def run(
        self,
        command: str,
        timeout: float | None = None,
        check: bool = True,
        display: str | None = None,
        stdin: str | None = None,
    ) -> CommandResult:
        """Run a shell command as root (through sudo -n when the SSH user is not root).

        `display` replaces the command in results and messages. A secret goes in `stdin`, never in the
        command: a node's process list shows the command line (and sudo logs it, when the command
        takes a channel of its own: through the kept shell, sudo logs the shell once)."""
        __tracebackhide__ = True
        ssh = self.spec.ssh
        timeout = ssh.command_timeout if timeout is None else timeout
        line = f"sudo -n sh -c {shlex.quote(command)}" if ssh.sudo and ssh.user != "root" else command
        conn = self.connection()
        start = time.monotonic()
        kwargs = {"hide": True, "warn": True, "timeout": timeout, "pty": False}
        if stdin is not None:
            kwargs["in_stream"] = io.StringIO(stdin)
        shown = display or command
        began = time.time()
        try:
            res = self._in_kept_shell(conn, command, timeout) if stdin is None else None
            if res is None:
                res = self._run_with_deadline(conn, line, kwargs, timeout)
        except (
            _DeadTransport,
            ShellGone,
            ShellTimedOut,
            invoke.exceptions.CommandTimedOut,
            paramiko.SSHException,
            OSError,
            EOFError,
            invoke.exceptions.UnexpectedExit,
        ) as exc:
            raise self._lost(exc, conn, shown, timeout) from None
        finally:
            COMMAND_TIME.span(began, time.time(), self.name, shown, ACCOUNTING.inside())
        result = CommandResult(
            self.name,
            shown,
            res.exited if res.exited is not None else -1,
            res.stdout,
            res.stderr,
            time.monotonic() - start,
        )
        if not ACCOUNTING.inside() and threading.current_thread() is threading.main_thread():
            COMMAND_TIME.add(result.elapsed)
        if (
            ssh.sudo
            and ssh.user != "root"
            and result.exit_code == 1
            and "sudo:" in result.stderr
            and "password" in result.stderr
        ):
            raise NodeError(
                f"nœud {self.name} : sudo demande un mot de passe à {ssh.user}",
                "autoriser sudo sans mot de passe pour cet utilisateur (NOPASSWD), ou se connecter en root",
            ) from None
        if check and not result.ok:
            raise CommandFailed(self.name, result)
        return result

    def _lost(self, exc: BaseException, conn: Connection, shown: str, timeout: float) -> NodeLost:
        """A command that got no answer: the connection dropped (and why, in one line)."""
        if isinstance(exc, _DeadTransport):
            self._abandon(conn)
            return NodeLost(
                f"nœud {self.name} : `{shown}` sans réponse en {hard_deadline(timeout):.0f} s (la connexion est morte)",
                "le nœud est tombé, ou son réseau",
            )
        if isinstance(exc, ShellGone):
            self._abandon(conn)
            return NodeLost(
                f"nœud {self.name} : connexion perdue pendant `{shown}` ({exc})", "le nœud est tombé, ou son réseau"
            )
        if isinstance(exc, (ShellTimedOut, invoke.exceptions.CommandTimedOut)):
            if isinstance(exc, ShellTimedOut):
                self._abandon(conn)  # its transport may be dead too: closing it could wait on the peer
            else:
                self.close()  # the channel may be stuck; the next command opens a fresh one
            return NodeLost(
                f"nœud {self.name} : `{shown}` ne s'est pas terminée en {timeout:.0f} s",
                "le nœud est peut-être surchargé ou bloqué ; l'examiner à la main",
            )
        self.close()
        return NodeLost(
            f"nœud {self.name} : connexion perdue pendant `{shown}` ({type(exc).__name__})",
            "le nœud est tombé, ou son réseau",
        )

    def _in_kept_shell(self, conn: Connection, command: str, timeout: float):
        """The command's answer from the node's kept shell, or None when it should take a channel of
        its own (the shell busy with another thread, or unusable on this node). The node's first
        shell dying before it ever answered (sudo asking for a password, no sh) gives the kept shell
        up for the run, and the command takes the ordinary path, which says what is wrong; a later
        shell dying so (the node going down) is the connection lost, never a second sending."""
        if not self._shell_usable or not self._shell_lock.acquire(blocking=False):
            return None
        try:
            shell = self._shell  # a local: another thread may drop the attribute meanwhile (_abandon)
            if shell is None or not shell.alive or shell.channel.get_transport() is not conn.transport:
                ssh = self.spec.ssh
                line = "sudo -n sh" if ssh.sudo and ssh.user != "root" else "sh"
                shell = self._shell = KeptShell(conn.transport, line, ssh.connect_timeout)
            try:
                answer = shell.run(command, timeout)
                self._shell_answered = True
                return answer
            except ShellGone as exc:
                self._shell = None
                if exc.dead_at_start and not self._shell_answered and conn.transport.is_active():
                    self._shell_usable = False
                    return None
                raise
            except ShellTimedOut:
                self._shell = None
                raise
        finally:
            self._shell_lock.release()

    def _drop_shell(self) -> None:
        shell, self._shell = self._shell, None
        if shell is not None:
            shell.close()

    @staticmethod
    def _run_with_deadline(conn: Connection, line: str, kwargs: dict, timeout: float):
        """conn.run in a worker thread, waited for at most hard_deadline(timeout): on a transport whose
        peer vanished, invoke's own timeout can block on closing the channel (202 s seen in a reboot)."""
        box: dict = {}

        def work():
            try:
                box["result"] = conn.run(line, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                box["error"] = exc

        worker = threading.Thread(target=work, name="ssh-command", daemon=True)
        worker.start()
        worker.join(hard_deadline(timeout))
        if worker.is_alive():
            raise _DeadTransport()
        if "error" in box:
            raise box["error"]
        return box["result"]

    def _abandon(self, conn: Connection) -> None:
        """Forget a connection whose transport is dead, closing its socket without waiting on it."""
        with self._lock:
            if self._conn is conn:
                self._conn = None
        self._shell = None  # its channel went with the transport
        try:
            sock = conn.transport.sock if conn.transport is not None else None
            if sock is not None:
                sock.close()
        except Exception:  # noqa: BLE001 - best-effort close of a connection being dropped
            pass
        threading.Thread(target=lambda: _quietly(conn.close), name="ssh-abandon", daemon=True).start()

    def write_file(self, path: str, content: str | bytes, owner: str | None = None, mode: str = "644") -> None:
        # inline base64 rather than stdin: no dependence on how the channel signals end of input;
        # the command shown in errors names only the path (the content may be a secret)
        raw = content.encode() if isinstance(content, str) else content
        data = base64.b64encode(raw).decode()
        self.run(
            f"umask 077; printf %s {data} | base64 -d > {shlex.quote(path)} && chmod {mode} {shlex.quote(path)}",
            display=f"écriture de {path}",
        )
        if owner:
            self.run(quote("chown", owner, path))

    def sha256(self, path: str) -> str | None:
        """The file's SHA-256, or None when it does not exist."""
        res = self.run(f"sha256sum {shlex.quote(path)}", check=False, timeout=30)
        return res.stdout.split()[0] if res.ok and res.stdout else None

    def require_tools(self, *tools: str) -> None:
        """One clear line when crm, crm_mon or drbdadm are missing on a node."""
        res = self.run(
            " ; ".join(f"command -v {shlex.quote(t)} >/dev/null || echo {shlex.quote(t)}" for t in tools),
            check=False,
            timeout=20,
        )
        missing = res.stdout.split()
        if missing:
            raise NodeError(
                f"nœud {self.name} : {', '.join(missing)} introuvable{'s' if len(missing) > 1 else ''}",
                "installer pacemaker, crmsh et drbd-utils sur le nœud (les paquets du lab)",
            )


def on_each(items: list, act: Callable) -> dict:
    """act(item) for every item at once (one thread each: the work is waiting on SSH), each answer or
    the exception it raised, keyed by the item's name (a Node's), or by the item itself. The one way
    bascule runs something on every node at once."""

    def attempt(item):
        try:
            return act(item)
        except Exception as exc:  # noqa: BLE001 - handed back to the caller, who decides
            return exc

    with ThreadPoolExecutor(max_workers=max(1, len(items))) as pool:
        answers = list(pool.map(attempt, items))
    return {getattr(item, "name", item): answer for item, answer in zip(items, answers)}
