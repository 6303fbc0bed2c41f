"""The network namespace that holds the embedded lab's networks.

libvirtd runs inside it, so every bridge, tap and dnsmasq it creates lives there, and the namespace
has no route to anywhere else: nothing the lab or the suite sends can leave this machine. The test
process joins it (setns on its own network namespace, before it opens any socket) so SSH and FTP
reach the VMs directly; an existing lab named by an inventory is reached without it.
"""

from __future__ import annotations

import ctypes
import os
import subprocess

from bascule.errors import LabError

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"


def exists(name: str) -> bool:
    return os.path.exists(f"{NETNS_DIR}/{name}")


def create(name: str) -> bool:
    """Create the namespace (with lo up) unless it exists; True when it was created."""
    if exists(name):
        return False
    res = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if res.returncode != 0:
        raise LabError(
            f"impossible de créer l'espace réseau {name} : {res.stderr.strip()}",
            "lancer bascule en root sur un hôte Linux avec iproute2",
        )
    subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
    return True


def delete(name: str) -> None:
    if exists(name):
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _inode(path: str) -> int:
    return os.stat(path).st_ino


def inside(name: str) -> bool:
    return exists(name) and _inode("/proc/self/ns/net") == _inode(f"{NETNS_DIR}/{name}")


_ORIGINAL: int | None = None  # this process's own network namespace, kept open to come back to


def _setns(fd: int, what: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise LabError(f"impossible d'entrer dans {what} : {os.strerror(err)}", "lancer bascule en root")


def leave() -> None:
    """Back to the namespace the process started in (to reach Debian's archive again)."""
    if _ORIGINAL is not None:
        _setns(_ORIGINAL, "l'espace réseau d'origine")


def enter(name: str) -> None:
    """Move this process (its calling thread, and every thread and child it starts later) into the
    namespace. Call it before any socket to the lab is opened."""
    if inside(name):
        return
    if not exists(name):
        raise LabError(f"l'espace réseau {name} n'existe pas", "lancer d'abord `bascule lab up`")
    global _ORIGINAL
    if _ORIGINAL is None:
        _ORIGINAL = os.open("/proc/self/ns/net", os.O_RDONLY)
    fd = os.open(f"{NETNS_DIR}/{name}", os.O_RDONLY)
    try:
        _setns(fd, f"l'espace réseau {name}")
    finally:
        os.close(fd)
