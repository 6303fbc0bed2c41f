"""The embedded lab: two VMs (intralabXX, hdintralabXX) that reproduce the lab's cluster.

Built from three parts, one concept each: the Debian release (bascule.lab.release: data), its box
(bascule.lab.box) and the hypervisor that boots it (bascule.lab.hypervisor: namespace, libvirt, VMs,
power and cable faults). This module provisions the VMs into the lab's cluster and brings it to its
baseline. `up` is idempotent: on a lab already at its baseline it only checks it. Every wait polls
with a deadline and says what it waits for.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from contextlib import contextmanager
from pathlib import Path

from bascule.cluster.cluster import Cluster
from bascule.cluster.ftp import FTPClient
from bascule.cluster.nodes import on_each
from bascule.errors import BasculeError, LabError
from bascule.inventory import FTPSpec, Inventory, NodeSpec, Secret, SSHSpec
from bascule.lab import netns
from bascule.lab.box import Box, remove_all_boxes
from bascule.lab.cache import KEY_FILE, BaselineCache, build_key
from bascule.lab.hypervisor import INFRA, NAMESPACE, Hypervisor
from bascule.lab.release import DEFAULT, RELEASES, Release, lab_commands
from bascule.lab.release import release as release_named
from bascule.record.history import History
from bascule.waits import PROGRESS, heartbeat, wait_until

VIP = "10.22.100.220"
# has the lab's configuration been entered? Pacemaker's C tool, not crmsh: `crm configure show` costs a
# guest about 7 s under emulation, and only the lab's own commands go through crmsh
KNOWS_MS_DRBD0 = "crm_resource --resource ms-drbd0 --query-xml >/dev/null 2>&1"
NODE_IPS = ("10.22.100.11", "10.22.100.12")


def both(action, nodes) -> None:
    """Run action(node) on every node at once; the first error is raised once all have ended."""
    for answer in on_each(list(nodes), action).values():
        if isinstance(answer, Exception):
            raise answer


def state_dir() -> Path:
    return Path(os.environ.get("BASCULE_STATE", "/var/lib/bascule"))


class EmbeddedLab:
    def __init__(self, xx: str = "01", state: Path | None = None, out=None, debian: str | None = None):
        """debian: the release to build ("12", "13"); None is the running lab's, else the default."""
        self.xx = os.environ.get("BASCULE_XX", xx)
        self.state = state or state_dir()
        self.out = out or (lambda msg: PROGRESS.say(f"bascule lab: {msg}"))
        self.timings: dict[str, float] = {}
        self.spans: list[tuple[str, float, float]] = []  # (phase, monotonic start, end): for bench/lab_timings.py
        self.master_name = f"intralab{self.xx}"
        self.slave_name = f"hdintralab{self.xx}"
        self.asked_release = debian
        self.hypervisor = Hypervisor(self.state, (self.master_name, self.slave_name), self._env, self.phase, self.out)
        self.release: Release = release_named(debian if debian is not None else self.running_release_name())
        self.box = Box(self.release, self.state, self._env, self.phase, self.out)

    @property
    def cache(self) -> BaselineCache:
        """The lab's baseline snapshot, keyed on what builds the lab: the box, the Vagrantfile and
        the provisioning, the lab's FTP password and corosync key, its addresses."""
        # this module and release.py: provisioning written in Python, and each release's crm adaptations
        files = [
            INFRA / "Vagrantfile",
            *sorted((INFRA / "provision").glob("*")),
            Path(__file__),
            Path(__file__).with_name("release.py"),
        ]
        parts = [
            self.box.name,
            self.release.name,
            self.xx,
            VIP,
            *NODE_IPS,
            self.ftp_password(),
            self.authkey(),
            os.environ.get("BASCULE_LIBVIRT_DRIVER", ""),
        ]
        return BaselineCache(self.hypervisor, build_key(parts, files), self.out)

    # -- small helpers ----------------------------------------------------------------------------
    @contextmanager
    def phase(self, name: str):
        """Time a phase; while it lasts, say every HEARTBEAT seconds that it still runs (a box build
        is minutes of silence otherwise, in a CI log as on a terminal)."""
        start = time.monotonic()
        try:
            with heartbeat(lambda seconds: self.out(f"{name} : toujours en cours ({seconds:.0f} s)")):
                yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.monotonic() - start
            self.spans.append((name, start, time.monotonic()))

    @property
    def release_file(self) -> Path:
        """The release of the lab that exists (running or stopped), written once its box is chosen,
        before its VMs are created, and removed by `down`: status, break, heal and down act on it,
        and a lab up for another release refuses while it is there."""
        return self.hypervisor.run_dir / "release"

    def running_release_name(self) -> str | None:
        """The existing lab's release; an unknown one (a newer checkout's) is said and read as the
        default, so that `bascule lab down` can still remove it."""
        try:
            name = self.release_file.read_text().strip() or None
        except OSError:
            return None
        if name is not None and name not in RELEASES:
            self.out(f"{self.release_file} nomme une version inconnue « {name} » : prise pour Debian {DEFAULT.name}")
            return DEFAULT.name
        return name

    def _env(self) -> dict:
        env = dict(os.environ)
        env.update(
            {
                "VAGRANT_HOME": str(self.state / "vagrant.d"),
                "VAGRANT_CHECKPOINT_DISABLE": "1",
                "VAGRANT_DEFAULT_PROVIDER": "libvirt",
                "BASCULE_XX": self.xx,
                "BASCULE_BOX": self.box.name,
                "BASCULE_BOX_DIR": str(self.box.dir),
                "BASCULE_STATE": str(self.state),
                "LIBVIRT_DEFAULT_URI": "qemu:///system",
            }
        )
        return env

    def running_cluster(self) -> Cluster:
        """The running lab's cluster, reached from inside its namespace (for status, break, heal);
        raises LabError when the lab is not up."""
        if not netns.exists(NAMESPACE):
            raise LabError(
                f"le lab embarqué ne tourne pas (pas d'espace réseau {NAMESPACE})", "lancer `bascule lab up`"
            )
        netns.enter(NAMESPACE)
        return Cluster(self.inventory(), History())

    def inventory(self) -> Inventory:
        key = self.state / "vagrant.d" / "insecure_private_key"  # what `vagrant ssh-config` names
        nodes = []
        for name in (self.master_name, self.slave_name):
            nodes.append(
                NodeSpec(
                    name=name,
                    ssh=SSHSpec(
                        host=self.hypervisor.management_address(name),
                        port=22,
                        user="vagrant",
                        key=str(key),
                        sudo=True,
                        connect_timeout=15,
                        command_timeout=120,
                    ),
                    cluster_interface="eth1",
                )
            )
        return Inventory(
            nodes=tuple(nodes),
            preferred_master=self.master_name,
            vip=VIP,
            ftp=FTPSpec(user="user", password=Secret(self.ftp_password()), timeout=8.0),
            source="lab embarqué",
            embedded=True,
        )

    def inventory_toml(self) -> str:
        """This running lab as an inventory file, as a teacher would write it for an existing lab;
        the FTP password is named through BASCULE_FTP_PASSWORD, never written."""
        inv = self.inventory()
        lines = [
            "# inventaire bascule du lab embarqué (bascule lab inventaire) ; à joindre depuis son espace réseau :",
            "#   export BASCULE_FTP_PASSWORD=$(.venv/bin/bascule lab mot-de-passe-ftp)",
            "#   ip netns exec bascule .venv/bin/pytest features/ --bascule-inventaire CE_FICHIER",
            "",
            "[cluster]",
            f'vip = "{inv.vip}"',
            f'preferred_master = "{inv.preferred_master}"',
            "",
            "[ssh]",
            'user = "vagrant"',
            f'key = "{inv.nodes[0].ssh.key}"',
            "sudo = true",
            "connect_timeout = 15",
            "command_timeout = 120",
            "",
        ]
        for n in inv.nodes:
            dom = self.hypervisor.domain(n.name)
            lines += [
                "[[nodes]]",
                f'name = "{n.name}"',
                f'host = "{n.ssh.host}"',
                f'cluster_interface = "{n.cluster_interface}"',
                f'power_off = "virsh -c qemu:///system destroy {dom}"',
                f'power_on = "virsh -c qemu:///system start {dom}"',
                "",
            ]
        lines += ["[ftp]", f'user = "{inv.ftp.user}"', 'password_env = "BASCULE_FTP_PASSWORD"', ""]
        return "\n".join(lines)

    def ftp_password(self) -> str:
        p = self.state / "lab.json"
        if p.exists():
            return json.loads(p.read_text())["ftp_password"]
        self.state.mkdir(parents=True, exist_ok=True)
        pw = secrets.token_urlsafe(12)
        p.write_text(json.dumps({"ftp_password": pw}))
        p.chmod(0o600)
        return pw

    def authkey(self) -> bytes:
        p = self.state / "corosync-authkey"
        if not p.exists():
            p.write_bytes(secrets.token_bytes(256))
            p.chmod(0o600)
        return p.read_bytes()

    # -- provisioning -----------------------------------------------------------------------------
    def provision(self, cluster: Cluster) -> None:
        master, slave = cluster.master, cluster.slave

        def prepare(node) -> None:
            wait_until(node.reachable, bool, f"la réponse SSH de {node.name}", deadline=300, interval=2)
            node.write_file("/root/bascule-authkey", self.authkey(), mode="400")
            node.write_file("/root/bascule-ftp-password", self.ftp_password(), mode="400")
            node.write_file("/root/node.sh", (INFRA / "provision" / "node.sh").read_text(), mode="755")
            env = (
                f"NODE={node.name} MASTER={master.name} MASTER_IP={NODE_IPS[0]} SLAVE={slave.name} "
                f"SLAVE_IP={NODE_IPS[1]} "
                "AUTHKEY_FILE=/root/bascule-authkey FTP_PASSWORD_FILE=/root/bascule-ftp-password"
            )
            node.run(f"{env} /root/node.sh", timeout=120)

        # Both nodes at once: each has its own CPU, and nothing in node.sh needs the peer.
        with self.phase("préparation des nœuds"):
            both(prepare, (master, slave))
        if not master.run("test -e /var/lib/bascule-drbd-init", check=False).ok:
            self.out("DRBD : première synchronisation de resftp")
            with self.phase("synchronisation DRBD"):
                both(lambda node: node.run("drbdadm up resftp 2>/dev/null || drbdadm adjust resftp"), (master, slave))
                master.run("drbdadm -- --overwrite-data-of-peer primary resftp || drbdadm primary --force resftp")
                cluster.wait_drbd(master, "DRBD UpToDate/UpToDate", lambda s: s.healthy, deadline=300)
                master.write_file("/root/drbd-init.sh", (INFRA / "provision" / "drbd-init.sh").read_text(), mode="755")
                master.run("/root/drbd-init.sh")
                both(lambda node: node.run("drbdadm down resftp"), (master, slave))
        with self.phase("démarrage du cluster"):
            both(
                lambda node: node.run("systemctl enable --now corosync pacemaker >/dev/null 2>&1", timeout=120),
                (master, slave),
            )
            cluster.wait_state(
                "les deux nœuds en ligne",
                lambda s: set(s.online_nodes) == {master.name, slave.name},
                deadline=240,
                interval=2,
            )
        if not master.run(KNOWS_MS_DRBD0, check=False, timeout=60).ok:
            self.out("saisie de la configuration crm du lab (Q1, Q3, Q4)")
            with self.phase("crm configure"):
                crm = lab_commands((INFRA / "provision" / "lab.crm").read_text(), self.release, VIP, master.name)
                master.write_file("/root/lab.crm", crm)
                entered = master.run("crm -f /root/lab.crm", timeout=300, check=False)
            # crm -f goes on after a refused line and its final `quit` exits 0: a line crmsh
            # refused (crmsh 5 and the lab's `ms`) would leave a lab without DRBD and no error
            refused = [
                line.strip()
                for line in (entered.stdout + entered.stderr).splitlines()
                if line.lstrip().startswith("ERROR")
            ]
            if refused or not entered.ok:
                raise LabError(
                    f"le crmsh de Debian {self.release.name} a refusé les commandes du lab : "
                    + " | ".join(refused[:3] or [f"code de sortie {entered.exit_code}"]),
                    "adapter la ligne dans bascule/lab/release.py (les adaptations crm de la version), puis "
                    "`bascule lab down` et `bascule lab up`",
                )

    def provisioned(self, cluster: Cluster) -> bool:
        """Has the lab's configuration been entered (pacemaker answers and knows ms-drbd0)?"""
        try:
            return cluster.master.run(KNOWS_MS_DRBD0, check=False, timeout=60).ok
        except BasculeError:
            return False

    # -- baseline ---------------------------------------------------------------------------------
    def baseline(self, cluster: Cluster) -> list[str]:
        return cluster.baseline_problems()

    def wait_baseline(self, cluster: Cluster, deadline: float = 420) -> float:
        waited = wait_until(
            lambda: self.baseline(cluster),
            lambda p: not p,
            "l'état de référence du lab",
            deadline=deadline,
            interval=3,
            describe=lambda p: "; ".join(p),
        )
        return waited.elapsed

    # -- commands ---------------------------------------------------------------------------------
    def up(self, check_ftp: bool = True, as_found: bool = False) -> Inventory:
        """Bring the lab to its baseline, idempotently. FTP on the VIP is always checked right after
        provisioning (a fresh lab must serve it); on a lab already at baseline only when check_ftp:
        the acceptance suite passes False so that a breakage applied to FTP shows in its rows
        instead of stopping the run before the first one. as_found (the acceptance suite): a
        provisioned lab away from its baseline is handed over as it is, for the start-state row
        to judge, instead of being waited for."""
        start = time.monotonic()
        hv = self.hypervisor
        hv.check_tools()
        existing = self.running_release_name()
        if self.asked_release is not None and existing is not None and existing != self.release.name:
            raise self._other_release(existing)
        with self.phase("netns + libvirt"):
            hv.ensure_namespace()
            hv.ensure_libvirt()  # libvirtd runs in the namespace; virsh reaches it by its socket
        if existing is None and hv.domains_running() and self.release is not DEFAULT:
            raise self._other_release(DEFAULT.name)  # VMs of a checkout older than releases: the default's
        if not hv.domains_running() and self._restore_cached():
            self.timings["total"] = time.monotonic() - start
            return self.inventory()
        if not hv.domains_running():
            # built from this (root) namespace: debootstrap needs Debian's archive
            netns.leave()
            self.out(f"le lab sur {self.release.label}")
            self.box.ensure()
            self.release_file.parent.mkdir(parents=True, exist_ok=True)
            self.release_file.write_text(self.release.name + "\n")
        netns.enter(NAMESPACE)
        hv.ensure_vms()
        inv = self.inventory()
        cluster = Cluster(inv, History())
        try:
            try:
                problems = self.baseline(cluster)
            except Exception as exc:  # noqa: BLE001 - not provisioned yet: pacemaker is not even running
                problems = [str(exc)]
            fresh = bool(problems) and not self.provisioned(cluster)
            if fresh:
                self.provision(cluster)
                self.out("attente de l'état de référence (ressources démarrées, DRBD UpToDate/UpToDate)")
                with self.phase("état de référence"):
                    self.wait_baseline(cluster)
            elif problems and as_found:
                self.out("le lab est préparé mais pas dans son état de référence : la série le juge tel quel")
            elif problems:
                # provisioned, but settling (a breakage just applied, a scenario just ended) or
                # broken: provisioning again would silently repair what the user broke on purpose
                self.out("le lab est préparé mais pas dans son état de référence : attente qu'il y revienne")
                with self.phase("état de référence"):
                    try:
                        self.wait_baseline(cluster, deadline=300)
                    except BasculeError as exc:
                        raise LabError(
                            f"le lab n'est pas dans son état de référence : {exc.what}",
                            "`bascule lab heal NOM` si vous l'avez cassé exprès, sinon `bascule lab down` "
                            "puis `bascule lab up`",
                        ) from None
            if fresh or check_ftp:
                self._wait_ftp(inv)
            if fresh:
                self.out(
                    "instantané de l'état de référence (le prochain `lab up` après `lab down` y revient en secondes)"
                )
                with self.phase("instantané de l'état de référence"):
                    self.cache.take()
        finally:
            cluster.close()
        self.timings["total"] = time.monotonic() - start
        return inv

    def _wait_ftp(self, inv: Inventory) -> None:
        with self.phase("FTP sur la VIP"):
            wait_until(
                lambda: FTPClient.for_inventory(inv).listing("."),
                lambda _: True,
                f"FTP sur {VIP}",
                deadline=120,
                interval=2,
            )

    def _restore_cached(self) -> bool:
        """The VMs reverted to the baseline snapshot and checked at their baseline, FTP served: True.
        Without a snapshot of what builds the lab now, or when the reverted lab is not at its
        baseline within 90 s, the VMs left are removed, and the caller builds the lab the full way."""
        hv, cache = self.hypervisor, self.cache
        defined = any(hv.virsh("dominfo", hv.domain(n), check=False).returncode == 0 for n in hv.node_names)
        if not defined:
            return False
        netns.enter(NAMESPACE)  # Vagrant, which removes stale VMs, works from the lab's namespace
        why = (
            ""
            if cache.present()
            else "pas d'instantané de l'état de référence pour ce qui construit le lab aujourd'hui"
        )
        if not why:
            self.out("retour à l'instantané de l'état de référence")
            with self.phase("retour à l'instantané"):
                why = cache.restore()
        if not why:
            self.release_file.parent.mkdir(parents=True, exist_ok=True)
            self.release_file.write_text(self.release.name + "\n")
            cluster = None
            try:
                inv = self.inventory()  # a VM without its DHCP lease says so here: the full path then
                cluster = Cluster(inv, History())
                with self.phase("état de référence"):
                    # the snapshot's clock is the day it was taken: set to this machine's, so that
                    # the nodes' journals read as the run lived it
                    both(
                        lambda node: node.run(f"date -s @{time.time():.3f} >/dev/null", timeout=30),
                        cluster.nodes.values(),
                    )
                    self.wait_baseline(cluster, deadline=90)
                self._wait_ftp(inv)
                return True
            except BasculeError as exc:
                why = f"le lab revenu de l'instantané n'est pas dans son état de référence ({exc.what})"
            finally:
                if cluster is not None:
                    cluster.close()
        self.out(f"{why} : VM supprimées, le lab est refait entièrement")
        cache.forget()
        hv.remove_vms()
        return False

    def _other_release(self, existing: str) -> LabError:
        return LabError(
            f"un lab Debian {existing} existe (démarré ou arrêté), et Debian {self.release.name} est demandé",
            f"l'enlever d'abord (`bascule lab down`), puis `bascule lab up --debian {self.release.name}`",
        )

    def down(self, destroy_box: bool = False) -> bool:
        """Nothing left running. True when the VMs were kept, powered off, with their baseline
        snapshot (the next `up` reverts it); `destroy` (destroy_box) removes them in any case."""
        kept_before = (self.state / KEY_FILE).exists() or (INFRA / ".vagrant").exists()
        if destroy_box and kept_before:
            # VMs kept by an earlier `down`: libvirt must run again for them to be removed
            self.hypervisor.check_tools()
            self.hypervisor.ensure_namespace()
            self.hypervisor.ensure_libvirt()
        running = self._libvirt_up()
        keep = not destroy_box and running and self.cache.present()
        self.hypervisor.down(remove_box_images=destroy_box, keep_vms=keep)
        if running and not keep:  # the VMs, and their snapshot, were removed
            self.cache.file.unlink(missing_ok=True)
        self.release_file.unlink(missing_ok=True)
        if destroy_box:
            remove_all_boxes(self.state)
        return keep

    def _libvirt_up(self) -> bool:
        if not netns.exists(NAMESPACE):
            return False
        netns.enter(NAMESPACE)
        return self.hypervisor.virsh("version", check=False, timeout=20).returncode == 0
