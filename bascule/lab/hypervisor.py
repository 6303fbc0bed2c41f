"""The embedded lab's hypervisor: bascule's network namespace, the libvirt daemons started inside
it, the two VMs (Vagrant, through python-vagrant) and the faults only a hypervisor can make (power
cut, cable pulled).

Nothing here knows the Debian release or the cluster: the VMs boot whatever box the environment
names (BASCULE_BOX, BASCULE_BOX_DIR), and the lab (bascule.lab.embedded) provisions them. Only the prefix of boxes'
names is
here (BOX_PREFIX), for `down` to remove their images from libvirt's pool.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import vagrant  # python-vagrant

from bascule.errors import BasculeError, LabError
from bascule.lab import netns
from bascule.waits import wait_until

NAMESPACE = "bascule"
INFRA = Path(__file__).resolve().parents[2] / "infra"  # the Vagrantfile, the box recipe, provisioning
BOX_PREFIX = "bascule-debian"  # every box's name starts so (bascule.lab.box adds the release and the recipe's hash)
TOOLS = ("vagrant", "virsh", "libvirtd", "virtlogd", "qemu-system-x86_64", "qemu-img", "debootstrap", "ip")
NETWORKS = ("bascule-lab", "bascule-mgmt")


class Hypervisor:
    def __init__(self, state: Path, node_names: tuple[str, str], env, phase, out):
        self.state = state
        self.node_names = node_names
        self._env = env  # () -> the environment Vagrant runs in
        self._phase = phase
        self._out = out

    @property
    def run_dir(self) -> Path:
        return self.state / "run"

    def domain(self, node: str) -> str:
        return f"bascule-{node}"

    def virsh(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        res = subprocess.run(["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise LabError(f"virsh {' '.join(args)} a échoué : {res.stderr.strip()}", "voir `bascule lab status`")
        return res

    # -- host tools, namespace, libvirt -----------------------------------------------------------
    def check_tools(self) -> None:
        missing = [t for t in TOOLS if shutil.which(t) is None and not Path(f"/usr/sbin/{t}").exists()]
        if missing:
            raise LabError(
                f"absent de cette machine : {', '.join(missing)}",
                "lancer infra/install-host.sh (en root) pour installer les paquets Debian du lab",
            )
        if os.geteuid() != 0:
            raise LabError("le lab embarqué a besoin de root (espace réseau, libvirt)", "le lancer en root")

    def _pid_alive(self, pidfile: Path) -> bool:
        try:
            pid = int(pidfile.read_text().strip())
            os.kill(pid, 0)
            return Path(f"/proc/{pid}").exists() and b"zombie" not in Path(f"/proc/{pid}/status").read_bytes().lower()
        except (OSError, ValueError):
            return False

    def ensure_namespace(self) -> None:
        if netns.create(NAMESPACE):
            self._out(f"espace réseau {NAMESPACE} créé (aucune route vers l'extérieur)")

    def _foreign_libvirtd(self) -> list[int]:
        """libvirtd processes that do not live in bascule's namespace: with one of them running,
        virsh and Vagrant would talk to it and the lab's bridges would appear outside."""
        ns = os.stat(f"{netns.NETNS_DIR}/{NAMESPACE}").st_ino
        foreign = []
        for pid in subprocess.run(["pgrep", "-x", "libvirtd"], capture_output=True, text=True).stdout.split():
            try:
                if os.stat(f"/proc/{pid}/ns/net").st_ino != ns:
                    foreign.append(int(pid))
            except OSError:
                pass
        return foreign

    def ensure_libvirt(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        foreign = self._foreign_libvirtd()
        if foreign:
            raise LabError(
                f"un libvirtd tourne hors de l'espace réseau {NAMESPACE} (pid {', '.join(map(str, foreign))})",
                "l'arrêter (kill, ou `systemctl stop libvirtd` sur un hôte systemd) pour que les réseaux "
                "du lab restent dans l'espace réseau de bascule",
            )
        for daemon in ("virtlogd", "libvirtd"):
            pidfile = self.run_dir / f"{daemon}.pid"
            if self._pid_alive(pidfile):
                continue
            binary = shutil.which(daemon) or f"/usr/sbin/{daemon}"
            res = subprocess.run(
                ["ip", "netns", "exec", NAMESPACE, binary, "-d", "-p", str(pidfile)], capture_output=True, text=True
            )
            if res.returncode != 0:
                raise LabError(
                    f"{daemon} n'a pas démarré : {res.stderr.strip()[-200:]}",
                    "un autre libvirtd tourne peut-être hors de l'espace réseau de bascule : l'arrêter "
                    "(pkill libvirtd) et réessayer",
                )
        wait_until(
            lambda: self.virsh("version", check=False, timeout=20),
            lambda r: r.returncode == 0,
            "la réponse de libvirtd",
            deadline=60,
            interval=0.5,
            describe=lambda r: r.stderr.strip()[-80:],
        )
        if self.virsh("pool-info", "default", check=False).returncode != 0:
            images = "/var/lib/libvirt/images"
            Path(images).mkdir(parents=True, exist_ok=True)
            self.virsh("pool-define-as", "default", "dir", "--target", images)
            self.virsh("pool-start", "default")

    # -- VMs --------------------------------------------------------------------------------------
    def vagrant(self):
        return vagrant.Vagrant(root=str(INFRA), quiet_stdout=True, quiet_stderr=True, env=self._env())

    def console_tail(self, node: str, lines: int = 15) -> str:
        p = self.state / f"console-{node}.log"
        if not p.exists():
            return "(pas de journal de console)"
        return "\n".join(p.read_text(errors="replace").splitlines()[-lines:])

    def domains_running(self) -> bool:
        # virsh answers in milliseconds where `vagrant status` takes seconds (Ruby start-up)
        for n in self.node_names:
            res = self.virsh("domstate", self.domain(n), check=False)
            if res.returncode != 0 or res.stdout.strip() != "running":
                return False
        return (INFRA / ".vagrant" / "machines" / self.node_names[0] / "libvirt" / "id").exists()

    def _forget_stale_domains(self) -> None:
        """Domains left by another checkout (or by a crash) that this checkout's Vagrant does not
        know: vagrant up would fail on their names and volumes, so they are removed first."""
        if (INFRA / ".vagrant" / "machines" / self.node_names[0] / "libvirt" / "id").exists():
            return
        for n in self.node_names:
            if self.virsh("dominfo", self.domain(n), check=False).returncode == 0:
                self._out(f"suppression de la VM {self.domain(n)}, laissée par une autre copie de bascule")
                self.virsh("destroy", self.domain(n), check=False)
                self.virsh("undefine", self.domain(n), "--remove-all-storage", check=False)
            for vol in (f"{self.domain(n)}.img", f"{self.domain(n)}-vdb.qcow2"):
                self.virsh("vol-delete", vol, "--pool", "default", check=False)

    def ensure_vms(self) -> None:
        if self.domains_running():
            return
        self._forget_stale_domains()
        self._out(f"démarrage de {' et '.join(self.node_names)} (environ 80 s en émulation)")
        with self._phase("démarrage des VM"):
            v = self.vagrant()
            try:
                v.up(provider="libvirt")
            except subprocess.CalledProcessError:
                detail = "; ".join(f"{n}: {self.console_tail(n, 3)}" for n in self.node_names)
                raise LabError(
                    f"vagrant up a échoué ; fin des consoles : {detail}",
                    f"lire {self.state}/console-*.log, puis `bascule lab destroy` et `bascule lab up`",
                ) from None

    def management_address(self, node: str) -> str:
        """The VM's address on Vagrant's management network, from libvirt's DHCP lease: what
        `vagrant ssh-config` prints as HostName, without starting Ruby twice."""
        res = self.virsh("domifaddr", self.domain(node), "--source", "lease", check=False)
        for line in res.stdout.splitlines():
            cols = line.split()
            if len(cols) == 4 and cols[2] == "ipv4" and cols[3].startswith("192.168.121."):
                return cols[3].split("/")[0]
        raise LabError(f"la VM {node} du lab embarqué n'a pas d'adresse (arrêtée ?)", "lancer `bascule lab up`")

    def networks(self) -> tuple[str, ...]:
        return NETWORKS

    def remove_vms(self) -> None:
        """The VMs and their volumes (with any snapshot in them), through Vagrant, else libvirt."""
        try:
            self.vagrant().destroy()
        except Exception:  # noqa: BLE001 - Vagrant may know no VM: libvirt is cleaned up below all the same
            pass
        for n in self.node_names:  # what Vagrant left (a domain with snapshots, a failed destroy)
            if self.virsh("dominfo", self.domain(n), check=False).returncode == 0:
                self.virsh("destroy", self.domain(n), check=False)
                self.virsh("undefine", self.domain(n), "--remove-all-storage", "--snapshots-metadata", check=False)
        shutil.rmtree(INFRA / ".vagrant", ignore_errors=True)

    def down(self, remove_box_images: bool = False, keep_vms: bool = False) -> None:
        """Nothing left running: the VMs, the daemons and the namespace. keep_vms (a lab whose
        baseline snapshot is kept, bascule.lab.cache): the VMs are powered off and stay defined with
        their volumes and networks, for the next `up` to revert; else they are removed with their
        volumes and networks. The boxes' images in libvirt's pool stay (the next boot would copy
        them again) unless remove_box_images (`bascule lab destroy`)."""
        if netns.exists(NAMESPACE):
            netns.enter(NAMESPACE)
            if self._pid_alive(self.run_dir / "libvirtd.pid"):
                if keep_vms:
                    for n in self.node_names:
                        self.virsh("destroy", self.domain(n), check=False)
                    for net in NETWORKS:
                        self.virsh("net-destroy", net, check=False)
                else:
                    self.remove_vms()
                    for net in NETWORKS:
                        self.virsh("net-destroy", net, check=False)
                        self.virsh("net-undefine", net, check=False)
                if remove_box_images:  # the boxes' images libvirt copied into its pool, one per release and recipe
                    for line in self.virsh("vol-list", "default", check=False).stdout.splitlines():
                        if line.split() and line.split()[0].startswith(BOX_PREFIX):
                            self.virsh("vol-delete", line.split()[0], "--pool", "default", check=False)
        for daemon in ("libvirtd", "virtlogd"):
            pidfile = self.run_dir / f"{daemon}.pid"
            if self._pid_alive(pidfile):
                pid = int(pidfile.read_text().strip())
                os.kill(pid, 15)
                try:
                    wait_until(
                        lambda: self._pid_alive(pidfile),
                        lambda alive: not alive,
                        f"l'arrêt de {daemon}",
                        deadline=20,
                        interval=0.2,
                    )
                except BasculeError:
                    os.kill(pid, 9)
            pidfile.unlink(missing_ok=True)
        netns.leave()
        netns.delete(NAMESPACE)
        if not keep_vms:
            shutil.rmtree(INFRA / ".vagrant", ignore_errors=True)

    # -- the hypervisor's faults: power, cable ----------------------------------------------------
    def power_off(self, node: str) -> None:
        self.virsh("destroy", self.domain(node))

    def power_on(self, node: str) -> None:
        self.virsh("start", self.domain(node))

    def lab_interface(self, node: str) -> str:
        """The VM's NIC on the lab's network (the one carrying corosync and DRBD)."""
        out = self.virsh("domiflist", self.domain(node)).stdout
        for line in out.splitlines():
            cols = line.split()
            if len(cols) >= 5 and cols[2] == "bascule-lab":
                return cols[4]  # MAC: stable across reboots, unlike vnetN
        raise LabError(
            f"{node} n'a pas de carte réseau sur le réseau bascule-lab",
            "lancer `bascule lab destroy` puis `bascule lab up`",
        )

    def set_link(self, node: str, up: bool) -> None:
        self.virsh("domif-setlink", self.domain(node), self.lab_interface(node), "up" if up else "down")
