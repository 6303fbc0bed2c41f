"""A root shell kept open on one SSH channel of a node's connection, for the whole run.

Why: under emulation a new SSH command costs a guest about 0.33 s before its tool even starts (a
channel, sshd's session, sudo, a shell: bench/channel_cost.py), and the suite sends hundreds of them,
most of them readings while the cluster works. Through a kept shell a round trip costs about 5 ms.

How: the shell (`sh`, or `sudo -n sh` for a user who is not root) reads commands on its stdin. Each
command runs as `sh -c COMMAND`, as a command on a channel of its own would, with its stdin from
/dev/null (an `exit`, a `cd` or a syntax error stays in that child, and it cannot eat the next
command); then the shell prints a marker unique to this command, with its exit status, on stdout and
on stderr. What comes before the markers is the command's output, exactly.

A command that outlives its timeout, or a channel that closes, is reported and the shell dropped:
the next command opens a new one. Nothing here blocks longer than the timeout it is given.
"""

from __future__ import annotations

import re
import secrets
import select
import shlex
import time
from dataclasses import dataclass

import paramiko


class ShellTimedOut(Exception):
    """The command did not end within its timeout; the shell has been closed."""


class ShellGone(Exception):
    """The channel closed under the command: the node went down, or the shell could not start
    (`dead_at_start`: it never answered a single command, e.g. sudo asking for a password)."""

    def __init__(self, message: str, dead_at_start: bool):
        super().__init__(message)
        self.dead_at_start = dead_at_start


@dataclass(frozen=True)
class ShellAnswer:
    exited: int
    stdout: str
    stderr: str


def _framed(command: str, token: str) -> bytes:
    # the newline before each marker ends an output that has none; it is taken off again when read
    return (
        f"sh -c {shlex.quote(command)} </dev/null\nprintf '\\n{token} %d\\n' $?\nprintf '\\n{token}\\n' >&2\n"
    ).encode()


class KeptShell:
    def __init__(self, transport: paramiko.Transport, line: str, open_timeout: float):
        self.channel = transport.open_session(timeout=open_timeout)
        self.channel.exec_command(line)
        self.answered = False  # has it ever run a command to its end?

    @property
    def alive(self) -> bool:
        return not self.channel.closed and not self.channel.exit_status_ready()

    def run(self, command: str, timeout: float) -> ShellAnswer:
        token = "bascule-" + secrets.token_hex(8)
        # what follows the status (a process left in the background writing on) is not this answer's
        out_end, err_end = re.compile(rb"\n" + token.encode() + rb" (\d+)\n"), f"\n{token}\n".encode()
        out, err = bytearray(), bytearray()
        deadline = time.monotonic() + timeout
        try:
            self.channel.settimeout(timeout)  # sendall too gives up within the command's timeout
            self.channel.sendall(_framed(command, token))
        except (OSError, EOFError, paramiko.SSHException) as exc:  # socket.timeout is an OSError
            self.close()
            raise ShellGone(f"{type(exc).__name__}", not self.answered) from None
        while True:
            ended = out_end.search(out)
            if ended is not None and err.find(err_end) >= 0:
                self.answered = True
                return ShellAnswer(
                    int(ended.group(1)),
                    out[: ended.start()].decode(errors="replace"),
                    err[: err.find(err_end)].decode(errors="replace"),
                )
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise ShellTimedOut()
            select.select([self.channel], [], [], min(left, 1.0))
            got = False
            while self.channel.recv_ready():
                out += self.channel.recv(65536)
                got = True
            while self.channel.recv_stderr_ready():
                err += self.channel.recv_stderr(65536)
                got = True
            if not got and (self.channel.closed or self.channel.exit_status_ready() or self.channel.eof_received):
                said = err.decode(errors="replace").strip().splitlines()
                self.close()
                raise ShellGone(said[-1] if said else "canal fermé", not self.answered)

    def close(self) -> None:
        try:
            self.channel.close()
        except Exception:  # noqa: BLE001 - closing a channel on a dead transport: nothing to save
            pass
