"""The embedded lab's Vagrant box: built once per Debian release and per recipe, from Debian packages
(infra/box/build.sh), then cached under the state directory.

A box's name carries its release and a hash of its recipe, so that changing the recipe or the
release builds a new box instead of booting a stale one.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from bascule.errors import LabError
from bascule.lab.hypervisor import BOX_PREFIX, INFRA
from bascule.lab.release import Release


class Box:
    def __init__(self, release: Release, state: Path, env, phase, out):
        self.release = release
        self.state = state
        self._env = env  # () -> the environment Vagrant runs in
        self._phase = phase  # a context manager that times and announces a phase
        self._out = out

    def recipe_hash(self) -> str:
        h = hashlib.sha256(self.release.codename.encode() + b"\0")
        for f in sorted((INFRA / "box").iterdir()):
            if f.is_file():
                h.update(f.name.encode() + b"\0" + f.read_bytes())
        return h.hexdigest()[:10]

    @property
    def name(self) -> str:
        return f"{BOX_PREFIX}{self.release.name}-{self.recipe_hash()}"

    @property
    def dir(self) -> Path:
        """Where the kernel and initrd stay for direct boot (the VMs boot them, not a bootloader)."""
        return self.state / "boxes" / f"debian{self.release.name}-{self.recipe_hash()}"

    def ensure(self) -> None:
        name = self.name
        if (self.state / "vagrant.d" / "boxes" / name).exists() and (self.dir / "vmlinuz").exists():
            return
        boxfile = self.dir / f"{name}.box"
        if not boxfile.exists():
            self._out(
                f"construction de la box {name} à partir des paquets de Debian {self.release.name} (environ 3 minutes)"
            )
            with self._phase("construction de la box"):
                res = subprocess.run(
                    ["bash", str(INFRA / "box" / "build.sh"), str(self.dir), name, self.release.codename],
                    env=self._env(),
                )
            if res.returncode != 0:
                raise LabError(
                    "la construction de la box a échoué (voir les lignes ci-dessus)",
                    "corriger l'erreur, puis relancer `bascule lab up`",
                )
        with self._phase("ajout de la box"):
            res = subprocess.run(
                ["vagrant", "box", "add", "--force", "--name", name, str(boxfile)],
                env=self._env(),
                capture_output=True,
                text=True,
            )
        if res.returncode != 0:
            raise LabError(
                f"vagrant box add a échoué : {res.stderr.strip()[-300:]}", "lancer `bascule lab destroy` et réessayer"
            )
        boxfile.unlink()  # vagrant keeps its own copy; the kernel and initrd stay for direct boot


def remove_all_boxes(state: Path) -> None:
    """Every release's box and cached image (`bascule lab destroy`)."""
    shutil.rmtree(state / "vagrant.d" / "boxes", ignore_errors=True)
    shutil.rmtree(state / "boxes", ignore_errors=True)
