"""The embedded lab: two VMs (intralabXX, hdintralabXX) that reproduce the lab's cluster.

Brought up with python-vagrant from infra/Vagrantfile, on libvirt/QEMU running inside a network
namespace of ours (bascule.netns). `up` is idempotent: on a lab already at its baseline it only
checks it. Every wait polls with a deadline and says what it waits for.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from . import netns
from .cluster import Cluster
from .errors import BasculeError, LabError
from .history import History
from .inventory import FTPSpec, Inventory, NodeSpec, Secret, SSHSpec
from .waits import HEARTBEAT, PROGRESS, wait_until

NAMESPACE = "bascule"
VIP = "10.22.100.220"
NODE_IPS = ("10.22.100.11", "10.22.100.12")
REPO = Path(__file__).resolve().parent.parent
INFRA = REPO / "infra"
TOOLS = ("vagrant", "virsh", "libvirtd", "virtlogd", "qemu-system-x86_64", "qemu-img", "debootstrap", "ip")


def both(action, nodes) -> None:
    """Run action(node) on every node at once; the first error is raised once all have ended."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        for future in [pool.submit(action, node) for node in nodes]:
            future.result()


def state_dir() -> Path:
    return Path(os.environ.get("BASCULE_STATE", "/var/lib/bascule"))


class EmbeddedLab:
    def __init__(self, xx: str = "01", state: Path | None = None, out=None):
        self.xx = os.environ.get("BASCULE_XX", xx)
        self.state = state or state_dir()
        self.out = out or (lambda msg: PROGRESS.say(f"bascule lab: {msg}"))
        self.timings: dict[str, float] = {}
        self.spans: list[tuple[str, float, float]] = []  # (phase, monotonic start, end): for bench/lab_timings.py
        self.master_name = f"intralab{self.xx}"
        self.slave_name = f"hdintralab{self.xx}"

    # -- small helpers ----------------------------------------------------------------------------
    @contextmanager
    def phase(self, name: str):
        """Time a phase; while it lasts, say every HEARTBEAT seconds that it still runs (a box build
        is minutes of silence otherwise, in a CI log as on a terminal)."""
        start = time.monotonic()
        done = threading.Event()

        def heartbeat():
            while not done.wait(HEARTBEAT):
                self.out(f"{name}: still running ({time.monotonic() - start:.0f} s)")
        beat = threading.Thread(target=heartbeat, name=f"lab-{name}", daemon=True)
        beat.start()
        try:
            yield
        finally:
            done.set()
            self.timings[name] = self.timings.get(name, 0.0) + time.monotonic() - start
            self.spans.append((name, start, time.monotonic()))

    def domain(self, node: str) -> str:
        return f"bascule-{node}"

    @property
    def run_dir(self) -> Path:
        return self.state / "run"

    def _env(self) -> dict:
        env = dict(os.environ)
        env.update({
            "VAGRANT_HOME": str(self.state / "vagrant.d"),
            "VAGRANT_CHECKPOINT_DISABLE": "1",
            "VAGRANT_DEFAULT_PROVIDER": "libvirt",
            "BASCULE_XX": self.xx,
            "BASCULE_BOX": self.box_name(),
            "BASCULE_BOX_DIR": str(self.box_dir()),
            "BASCULE_STATE": str(self.state),
            "LIBVIRT_DEFAULT_URI": "qemu:///system",
        })
        return env

    def virsh(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        res = subprocess.run(["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise LabError(f"virsh {' '.join(args)} failed: {res.stderr.strip()}", "see `bascule lab status`")
        return res

    # -- host tools, namespace, libvirt -----------------------------------------------------------
    def check_tools(self) -> None:
        missing = [t for t in TOOLS if shutil.which(t) is None and not Path(f"/usr/sbin/{t}").exists()]
        if missing:
            raise LabError(f"missing on this machine: {', '.join(missing)}",
                           "run infra/install-host.sh (as root) to install the lab's Debian packages")
        if os.geteuid() != 0:
            raise LabError("the embedded lab needs root (network namespace, libvirt)", "run it as root")

    def _pid_alive(self, pidfile: Path) -> bool:
        try:
            pid = int(pidfile.read_text().strip())
            os.kill(pid, 0)
            return Path(f"/proc/{pid}").exists() and b"zombie" not in Path(f"/proc/{pid}/status").read_bytes().lower()
        except (OSError, ValueError):
            return False

    def ensure_namespace(self) -> None:
        if netns.create(NAMESPACE):
            self.out(f"network namespace {NAMESPACE} created (no route out of it)")

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
            raise LabError(f"a libvirtd outside the namespace {NAMESPACE} is running (pid {', '.join(map(str, foreign))})",
                           "stop it (kill it, or `systemctl stop libvirtd` on a systemd host) so that the lab's "
                           "networks stay inside bascule's namespace")
        for daemon in ("virtlogd", "libvirtd"):
            pidfile = self.run_dir / f"{daemon}.pid"
            if self._pid_alive(pidfile):
                continue
            binary = shutil.which(daemon) or f"/usr/sbin/{daemon}"
            res = subprocess.run(["ip", "netns", "exec", NAMESPACE, binary, "-d", "-p", str(pidfile)],
                                 capture_output=True, text=True)
            if res.returncode != 0:
                raise LabError(f"{daemon} did not start: {res.stderr.strip()[-200:]}",
                               "another libvirtd may run outside bascule's namespace: stop it (pkill libvirtd) and retry")
        wait_until(lambda: self.virsh("version", check=False, timeout=20), lambda r: r.returncode == 0,
                   "libvirtd to answer", deadline=60, interval=0.5, describe=lambda r: r.stderr.strip()[-80:])
        if self.virsh("pool-info", "default", check=False).returncode != 0:
            images = "/var/lib/libvirt/images"
            Path(images).mkdir(parents=True, exist_ok=True)
            self.virsh("pool-define-as", "default", "dir", "--target", images)
            self.virsh("pool-start", "default")

    # -- box --------------------------------------------------------------------------------------
    def recipe_hash(self) -> str:
        h = hashlib.sha256()
        for f in sorted((INFRA / "box").iterdir()):
            if f.is_file():
                h.update(f.name.encode() + b"\0" + f.read_bytes())
        return h.hexdigest()[:10]

    def box_name(self) -> str:
        return f"bascule-debian12-{self.recipe_hash()}"

    def box_dir(self) -> Path:
        return self.state / "boxes" / self.recipe_hash()

    def ensure_box(self) -> None:
        name = self.box_name()
        boxes = self.state / "vagrant.d" / "boxes" / name
        if boxes.exists() and (self.box_dir() / "vmlinuz").exists():
            return
        out = self.box_dir()
        boxfile = out / f"{name}.box"
        if not boxfile.exists():
            self.out(f"building the box {name} from Debian packages (about 3 minutes)")
            with self.phase("box build"):
                res = subprocess.run(["bash", str(INFRA / "box" / "build.sh"), str(out), name], env=self._env())
            if res.returncode != 0:
                raise LabError("the box build failed (see the lines above)", "fix the error, then run `bascule lab up` again")
        with self.phase("box add"):
            res = subprocess.run(["vagrant", "box", "add", "--force", "--name", name, str(boxfile)],
                                 env=self._env(), capture_output=True, text=True)
        if res.returncode != 0:
            raise LabError(f"vagrant box add failed: {res.stderr.strip()[-300:]}", "run `bascule lab destroy` and retry")
        boxfile.unlink()  # vagrant keeps its own copy; the kernel and initrd stay for direct boot

    # -- VMs --------------------------------------------------------------------------------------
    def vagrant(self):
        import vagrant  # python-vagrant; imported here so that the plain test suite does not need it
        return vagrant.Vagrant(root=str(INFRA), quiet_stdout=True, quiet_stderr=True, env=self._env())

    def vm_states(self) -> dict[str, str]:
        try:
            return {s.name: s.state for s in self.vagrant().status()}
        except Exception:
            return {}

    def console_tail(self, node: str, lines: int = 15) -> str:
        p = self.state / f"console-{node}.log"
        if not p.exists():
            return "(no console log)"
        return "\n".join(p.read_text(errors="replace").splitlines()[-lines:])

    def domains_running(self) -> bool:
        # virsh answers in milliseconds where `vagrant status` takes seconds (Ruby start-up)
        for n in (self.master_name, self.slave_name):
            res = self.virsh("domstate", self.domain(n), check=False)
            if res.returncode != 0 or res.stdout.strip() != "running":
                return False
        return (INFRA / ".vagrant" / "machines" / self.master_name / "libvirt" / "id").exists()

    def _forget_stale_domains(self) -> None:
        """Domains left by another checkout (or by a crash) that this checkout's Vagrant does not
        know: vagrant up would fail on their names and volumes, so they are removed first."""
        if (INFRA / ".vagrant" / "machines" / self.master_name / "libvirt" / "id").exists():
            return
        for n in (self.master_name, self.slave_name):
            if self.virsh("dominfo", self.domain(n), check=False).returncode == 0:
                self.out(f"removing the stale VM {self.domain(n)} left by an earlier checkout")
                self.virsh("destroy", self.domain(n), check=False)
                self.virsh("undefine", self.domain(n), "--remove-all-storage", check=False)
            for vol in (f"{self.domain(n)}.img", f"{self.domain(n)}-vdb.qcow2"):
                self.virsh("vol-delete", vol, "--pool", "default", check=False)

    def ensure_vms(self) -> None:
        if self.domains_running():
            return
        self._forget_stale_domains()
        self.out(f"booting {self.master_name} and {self.slave_name} (about 80 s under emulation)")
        with self.phase("boot VMs"):
            v = self.vagrant()
            try:
                v.up(provider="libvirt")
            except subprocess.CalledProcessError:
                detail = "; ".join(f"{n}: {self.console_tail(n, 3)}" for n in (self.master_name, self.slave_name))
                raise LabError(f"vagrant up failed; end of the consoles: {detail}",
                               f"read {self.state}/console-*.log, then `bascule lab destroy` and `bascule lab up`") from None

    def management_address(self, node: str) -> str:
        """The VM's address on Vagrant's management network, from libvirt's DHCP lease: what
        `vagrant ssh-config` prints as HostName, without starting Ruby twice."""
        res = self.virsh("domifaddr", self.domain(node), "--source", "lease", check=False)
        for line in res.stdout.splitlines():
            cols = line.split()
            if len(cols) == 4 and cols[2] == "ipv4" and cols[3].startswith("192.168.121."):
                return cols[3].split("/")[0]
        raise LabError(f"the embedded lab's VM {node} has no address (not running?)", "run `bascule lab up`")

    def running_cluster(self) -> Cluster:
        """The running lab's cluster, reached from inside its namespace (for status, break, heal);
        raises LabError when the lab is not up."""
        if not netns.exists(NAMESPACE):
            raise LabError("the embedded lab is not running (no namespace bascule)", "run `bascule lab up`")
        netns.enter(NAMESPACE)
        return Cluster(self.inventory(), History())

    def inventory(self) -> Inventory:
        key = self.state / "vagrant.d" / "insecure_private_key"  # what `vagrant ssh-config` names
        nodes = []
        for name in (self.master_name, self.slave_name):
            nodes.append(NodeSpec(
                name=name,
                ssh=SSHSpec(host=self.management_address(name), port=22, user="vagrant", key=str(key),
                            sudo=True, connect_timeout=15, command_timeout=120),
                cluster_interface="eth1"))
        return Inventory(nodes=tuple(nodes), preferred_master=self.master_name, vip=VIP,
                         ftp=FTPSpec(user="user", password=Secret(self.ftp_password()), timeout=8.0),
                         source="embedded lab", embedded=True)

    def inventory_toml(self) -> str:
        """This running lab as an inventory file, as a teacher would write it for an existing lab;
        the FTP password is named through BASCULE_FTP_PASSWORD, never written."""
        inv = self.inventory()
        lines = ["# bascule inventory of the embedded lab (bascule lab inventaire); reach it from its namespace:",
                 "#   export BASCULE_FTP_PASSWORD=$(.venv/bin/bascule lab mot-de-passe-ftp)",
                 "#   ip netns exec bascule .venv/bin/pytest features/ --inventory THIS_FILE", "",
                 "[cluster]", f'vip = "{inv.vip}"', f'preferred_master = "{inv.preferred_master}"', "",
                 "[ssh]", 'user = "vagrant"', f'key = "{inv.nodes[0].ssh.key}"', "sudo = true",
                 "connect_timeout = 15", "command_timeout = 120", ""]
        for n in inv.nodes:
            dom = self.domain(n.name)
            lines += ["[[nodes]]", f'name = "{n.name}"', f'host = "{n.ssh.host}"', f'cluster_interface = "{n.cluster_interface}"',
                      f'power_off = "virsh -c qemu:///system destroy {dom}"',
                      f'power_on = "virsh -c qemu:///system start {dom}"', ""]
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
            wait_until(node.reachable, bool, f"SSH on {node.name}", deadline=300, interval=2)
            node.write_file("/root/bascule-authkey", self.authkey(), mode="400")
            node.write_file("/root/bascule-ftp-password", self.ftp_password(), mode="400")
            node.write_file("/root/node.sh", (INFRA / "provision" / "node.sh").read_text(), mode="755")
            env = (f"NODE={node.name} MASTER={master.name} MASTER_IP={NODE_IPS[0]} SLAVE={slave.name} SLAVE_IP={NODE_IPS[1]} "
                   "AUTHKEY_FILE=/root/bascule-authkey FTP_PASSWORD_FILE=/root/bascule-ftp-password")
            node.run(f"{env} /root/node.sh", timeout=120)
        # Both nodes at once: each has its own CPU, and nothing in node.sh needs the peer.
        with self.phase("provision nodes"):
            both(prepare, (master, slave))
        if not master.run("test -e /var/lib/bascule-drbd-init", check=False).ok:
            self.out("DRBD: first synchronisation of resftp")
            with self.phase("DRBD initial sync"):
                both(lambda node: node.run("drbdadm up resftp 2>/dev/null || drbdadm adjust resftp"), (master, slave))
                master.run("drbdadm -- --overwrite-data-of-peer primary resftp || drbdadm primary --force resftp")
                cluster.wait_drbd(master, "DRBD UpToDate/UpToDate", lambda s: s.healthy, deadline=300)
                master.write_file("/root/drbd-init.sh", (INFRA / "provision" / "drbd-init.sh").read_text(), mode="755")
                master.run("/root/drbd-init.sh")
                both(lambda node: node.run("drbdadm down resftp"), (master, slave))
        with self.phase("cluster start"):
            both(lambda node: node.run("systemctl enable --now corosync pacemaker >/dev/null 2>&1", timeout=120),
                 (master, slave))
            cluster.wait_state("both nodes online", lambda s: set(s.online_nodes) == {master.name, slave.name},
                               deadline=240, interval=2)
        if not master.run("crm configure show ms-drbd0 >/dev/null 2>&1", check=False, timeout=60).ok:
            self.out("entering the lab's crm configuration (Q1, Q3, Q4)")
            with self.phase("crm configure"):
                crm = (INFRA / "provision" / "lab.crm").read_text().replace("@VIP@", VIP).replace("@MASTER@", master.name)
                master.write_file("/root/lab.crm", crm)
                master.run("crm -f /root/lab.crm", timeout=300)

    def provisioned(self, cluster: Cluster) -> bool:
        """Has the lab's configuration been entered (pacemaker answers and knows ms-drbd0)?"""
        try:
            return cluster.master.run("crm configure show ms-drbd0 >/dev/null 2>&1", check=False, timeout=60).ok
        except BasculeError:
            return False

    # -- baseline ---------------------------------------------------------------------------------
    def baseline(self, cluster: Cluster) -> list[str]:
        return cluster.baseline_problems()

    def wait_baseline(self, cluster: Cluster, deadline: float = 420) -> float:
        waited = wait_until(lambda: self.baseline(cluster), lambda p: not p, "the lab's baseline",
                            deadline=deadline, interval=3, describe=lambda p: "; ".join(p))
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
        self.check_tools()
        with self.phase("namespace + libvirt"):
            self.ensure_namespace()
            self.ensure_libvirt()  # libvirtd runs in the namespace; virsh reaches it by its socket
        if not self.domains_running():
            # built from this (root) namespace: debootstrap needs Debian's archive
            netns.leave()
            self.ensure_box()
        netns.enter(NAMESPACE)
        self.ensure_vms()
        inv = self.inventory()
        cluster = Cluster(inv, History())
        try:
            try:
                problems = self.baseline(cluster)
            except Exception as exc:  # not provisioned yet: pacemaker is not even running
                problems = [str(exc)]
            fresh = bool(problems) and not self.provisioned(cluster)
            if fresh:
                self.provision(cluster)
                self.out("waiting for the baseline (resources started, DRBD UpToDate/UpToDate)")
                with self.phase("reach baseline"):
                    self.wait_baseline(cluster)
            elif problems and as_found:
                self.out("the lab is provisioned but not at its baseline: the suite judges it as found")
            elif problems:
                # provisioned, but settling (a breakage just applied, a scenario just ended) or
                # broken: provisioning again would silently repair what the user broke on purpose
                self.out("the lab is provisioned but not at its baseline: waiting for it")
                with self.phase("reach baseline"):
                    try:
                        self.wait_baseline(cluster, deadline=300)
                    except BasculeError as exc:
                        raise LabError(f"the lab is not at its baseline: {exc.what}",
                                       "`bascule lab heal NAME` if you broke it on purpose, else `bascule lab down` "
                                       "then `bascule lab up`") from None
            if fresh or check_ftp:
                with self.phase("FTP on the VIP"):
                    from .ftp import FTPClient
                    wait_until(lambda: FTPClient.for_inventory(inv).listing("."), lambda _: True,
                               f"FTP on {VIP}", deadline=120, interval=2)
        finally:
            cluster.close()
        self.timings["total"] = time.monotonic() - start
        return inv

    def down(self, destroy_box: bool = False) -> None:
        if netns.exists(NAMESPACE):
            netns.enter(NAMESPACE)
            if self._pid_alive(self.run_dir / "libvirtd.pid"):
                try:
                    self.vagrant().destroy()
                except Exception:
                    for n in (self.master_name, self.slave_name):
                        self.virsh("destroy", self.domain(n), check=False)
                        self.virsh("undefine", self.domain(n), "--remove-all-storage", check=False)
                for net in ("bascule-lab", "bascule-mgmt"):
                    self.virsh("net-destroy", net, check=False)
                    self.virsh("net-undefine", net, check=False)
                if destroy_box:
                    vols = self.virsh("vol-list", "default", check=False).stdout
                    for line in vols.splitlines():
                        if "bascule-debian12" in line:
                            self.virsh("vol-delete", line.split()[0], "--pool", "default", check=False)
        for daemon in ("libvirtd", "virtlogd"):
            pidfile = self.run_dir / f"{daemon}.pid"
            if self._pid_alive(pidfile):
                pid = int(pidfile.read_text().strip())
                os.kill(pid, 15)
                try:
                    wait_until(lambda: self._pid_alive(pidfile), lambda alive: not alive, f"{daemon} to stop",
                               deadline=20, interval=0.2)
                except BasculeError:
                    os.kill(pid, 9)
            pidfile.unlink(missing_ok=True)
        netns.leave()
        netns.delete(NAMESPACE)
        shutil.rmtree(INFRA / ".vagrant", ignore_errors=True)
        if destroy_box:
            shutil.rmtree(self.state / "vagrant.d" / "boxes", ignore_errors=True)
            shutil.rmtree(self.state / "boxes", ignore_errors=True)

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
        raise LabError(f"{node} has no NIC on the network bascule-lab", "run `bascule lab destroy` then `up`")

    def set_link(self, node: str, up: bool) -> None:
        self.virsh("domif-setlink", self.domain(node), self.lab_interface(node), "up" if up else "down")
