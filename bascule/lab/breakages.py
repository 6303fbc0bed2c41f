"""Deliberately broken clusters: `bascule lab break NAME` / `bascule lab heal NAME`.

Each breakage damages the embedded lab (or any lab reached through --inventory) in one way that a
row of the tables or an extra case is about, and its heal undoes exactly that. They show that each
scenario can fail: on a healthy lab every row is OK; with a breakage, the rows listed go KO with an
observed result that says why.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bascule.cluster.cluster import Cluster
from bascule.cluster.nodes import quote
from bascule.cluster.recovery import restore_baseline
from bascule.cluster.settling import SettleWatch
from bascule.errors import RepairIncomplete
from bascule.inventory import load
from bascule.lab.embedded import EmbeddedLab
from bascule.record.history import History
from bascule.waits import WaitTimeout, wait_until


@dataclass(frozen=True)
class Breakage:
    name: str
    what: str  # in the lab's words
    caught_by: str  # the rows that must go KO
    apply: Callable[[Cluster], None]
    undo: Callable[[Cluster], None]
    scenarios: str = ""  # pytest -k expression of the scenarios that must catch it
    before_run: bool = False  # a cluster left broken before the run: the start-state row must catch it


def _crm(cluster: Cluster, *commands: str) -> None:
    for c in commands:
        cluster.master.run(c, timeout=180)


def _lab_line(cluster: Cluster, text: str) -> None:
    """Load crm lines with `crm configure load update` (what a student's edit would leave)."""
    cluster.master.write_file("/root/bascule-heal.crm", text + "\n")
    cluster.master.run("crm configure load update /root/bascule-heal.crm", timeout=180)


def _fs_on(cluster: Cluster, device: str, fstype: str) -> None:
    r, d = cluster.inv.resources, cluster.inv.drbd
    _lab_line(
        cluster,
        f"primitive {r.fs} ocf:heartbeat:Filesystem params fstype={fstype} directory={d.mount_point} device={device}",
    )


LOCAL_HOME = "/var/local/bascule-home"  # home-sur-disque-local: each node's own /home, not replicated


def _home_on_local_disk(cluster: Cluster, on: bool) -> None:
    """/home bind-mounted from a directory of each node's own disk (fs0 fstype=none options=bind): the
    cluster fails over and back as if all were well, but what one node acknowledged the other never
    has. The account's Documents are made on both, so that FTP works everywhere."""
    inv, d = cluster.inv, cluster.inv.drbd
    if on:
        documents = LOCAL_HOME + inv.documents_dir[len(d.mount_point.rstrip("/")) :]
        user_home = LOCAL_HOME + inv.home[len(d.mount_point.rstrip("/")) :]
        for node in cluster.nodes.values():
            node.run(f"mkdir -p {quote(documents)} && chown -R {quote(inv.ftp.user)}: {quote(user_home)}", timeout=30)
        # fs0 and the group restart on the master: cmd_break waits for the cluster to settle
        _lab_line(
            cluster,
            f"primitive {inv.resources.fs} ocf:heartbeat:Filesystem params fstype=none "
            f"directory={d.mount_point} device={LOCAL_HOME} options=bind",
        )
    else:
        _fs_on(cluster, d.device, "ext4")
        for node in cluster.nodes.values():
            node.run(f"mountpoint -q {LOCAL_HOME} || rm -rf {LOCAL_HOME}", timeout=60)


def _documents_mode(cluster: Cluster, owner: str) -> None:
    # on the node that has /home mounted now
    state = cluster.state()
    node = cluster.nodes[state.where(cluster.inv.resources.fs)[0]]
    node.run(quote("chown", owner, cluster.inv.documents_dir), timeout=30)


def _unknown_directive(cluster: Cluster, conf: str, resource: str, on: bool) -> None:
    """An unknown directive at the end of a daemon's main configuration file on the slave (one in a
    conf.d/ file is not fatal to proftpd); undone with the resource's cleanup."""
    node = cluster.slave
    if on:
        node.run(f"grep -q BasculeCasse {conf} || echo 'BasculeCasse on' >> {conf}", timeout=30)
    else:
        node.run(f"sed -i '/^BasculeCasse on$/d' {conf}", timeout=30)
        node.run(quote("crm", "resource", "cleanup", resource), timeout=60)


def _proftpd_block(cluster: Cluster, on: bool) -> None:
    _unknown_directive(cluster, "/etc/proftpd/proftpd.conf", cluster.inv.resources.ftp, on)


def _apache_block(cluster: Cluster, on: bool) -> None:
    # `apache2ctl configtest` fails, and the apache agent's start answers « not configured »
    # (OCF_ERR_CONFIGURED), a fatal error for Pacemaker
    _unknown_directive(cluster, "/etc/apache2/apache2.conf", cluster.inv.resources.web, on)


def _home_full(cluster: Cluster, on: bool) -> None:
    # on the node that has /home mounted: one file takes what is left for users (fallocate writes no data)
    node = cluster.nodes[cluster.state().where(cluster.inv.resources.fs)[0]]
    mnt = cluster.inv.drbd.mount_point
    filler = f"{mnt}/bascule-plein"
    if on:
        node.run(
            f"avail=$(df -Pk {quote(mnt)} | awk 'NR==2{{print $4}}'); fallocate -l $((avail * 1024)) {quote(filler)}",
            timeout=120,
        )
    else:
        node.run(f"rm -f {quote(filler)}", timeout=60)


def _kept_on_node(node, kept: str, save: str, change: str, restore: str, on: bool) -> None:
    """Break by saving what is changed into a root-only file on the node itself, then changing it;
    heal by putting the saved value back from that file (it never leaves the node)."""
    if on:
        node.run(f"test -e {kept} || (umask 077; {save} > {kept}); {change}", timeout=60)
    else:
        # a node never broken has nothing to put back: that is no error
        node.run(f"if test -s {kept}; then {restore.format(saved=kept)} && rm -f {kept}; fi", timeout=60)


def _slave_password(cluster: Cluster, on: bool) -> None:
    # the account's hash is kept on the slave itself and put back from there: it never leaves the node
    user = quote(cluster.inv.ftp.user)
    _kept_on_node(
        cluster.slave,
        "/root/bascule-mot-de-passe-ftp",
        f"getent shadow {user} | cut -d: -f2",
        f"echo {user}:autre-$(od -An -N6 -tx1 /dev/urandom | tr -d ' ') | chpasswd",
        # the hash through chpasswd's input (printf is the shell's own): never in a process's arguments
        f'printf "%s:%s\\n" {user} "$(cat {{saved}})" | chpasswd -e',
        on,
    )


def _proftpd_port(cluster: Cluster, port: int) -> None:
    # a valid configuration (proftpd -t passes) that listens on another port; the slave only
    node = cluster.slave
    node.run(f"sed -i 's/^Port[[:space:]].*/Port {port}/' /etc/proftpd/proftpd.conf", timeout=30)
    if port == 21:
        node.run(quote("crm", "resource", "cleanup", cluster.inv.resources.ftp), timeout=60)


def _ftp_shell(cluster: Cluster, on: bool) -> None:
    # a shell that is not in /etc/shells: proftpd refuses the login (RequireValidShell, on by default)
    user = quote(cluster.inv.ftp.user)
    for node in cluster.nodes.values():
        _kept_on_node(
            node,
            "/root/bascule-shell-ftp",
            f"getent passwd {user} | cut -d: -f7",
            f"usermod -s /usr/sbin/nologin {user}",
            f'usermod -s "$(cat {{saved}})" {user}',
            on,
        )


def _ip_nic(cluster: Cluster, nic: str) -> None:
    r = cluster.inv.resources
    cluster.master.run(quote("crm", "resource", "param", r.ip, "set", "nic", nic), timeout=60)


RES_FILE = "/etc/drbd.d/ftp.res"
AUTO_SB = (
    "    net {\n        after-sb-0pri discard-least-changes;\n        after-sb-1pri discard-secondary;\n"
    "        after-sb-2pri violently-as0p;\n    }\n"
)


def _drbd_auto_split_brain(cluster: Cluster, on: bool) -> None:
    """DRBD told to settle a split brain by itself (after-sb-* policies), silently dropping data:
    what document 3 advises against."""
    for node in cluster.nodes.values():
        if on:
            node.run(
                f"cp -n {RES_FILE} {RES_FILE}.bascule && "
                f"awk -v net={quote(AUTO_SB)} '{{print}} /meta-disk/ && !done {{printf \"%s\", net; done=1}}' "
                f"{RES_FILE}.bascule > {RES_FILE}",
                timeout=30,
            )
        else:
            node.run(f"if [ -e {RES_FILE}.bascule ]; then mv {RES_FILE}.bascule {RES_FILE}; fi", timeout=30)
        node.run(f"drbdadm adjust {quote(cluster.inv.drbd.resource)}", timeout=60)


def _save_blocked(cluster: Cluster, on: bool) -> None:
    # /root/sauveha.conf is a directory: `crm configure save` cannot write the backup
    cluster.master.run(
        "rm -f /root/sauveha.conf; mkdir /root/sauveha.conf" if on else "rmdir /root/sauveha.conf 2>/dev/null || true",
        timeout=30,
    )


def _mysql_start_blocked(cluster: Cluster, on: bool) -> None:
    # an option MariaDB does not know: the running server is untouched, its next start fails (the
    # restore of Q7 stops and restarts the MySQL clone); healed by removing it and clearing the failures
    conf = "/etc/mysql/mariadb.conf.d/99-bascule-casse.cnf"
    _on_each(cluster, f"printf '[mysqld]\\nbascule-option-inconnue=1\\n' > {conf}" if on else f"rm -f {conf}")
    if not on:
        cluster.master.run(
            quote("crm_resource", "--cleanup", "--resource", cluster.inv.resources.mysql_clone), timeout=120
        )


def _location_lines(cluster: Cluster) -> str:
    r, m = cluster.inv.resources, cluster.inv.preferred_master
    return (
        f"location cli-prefer-IPFailover {r.group} role=Started inf: {m}\n"
        f"location ms-drbd0-master-on-{m} {r.ms} rule $role=Master inf: #uname eq {m}"
    )


def _on_each(cluster: Cluster, command: str) -> None:
    for node in cluster.nodes.values():
        node.run(command, timeout=60)


def _kill_ftp(cluster: Cluster) -> None:
    node = cluster.nodes[cluster.state().where(cluster.inv.resources.ftp)[0]]
    node.run("pkill -KILL -x proftpd || true", timeout=30)


PASSIVE = (49152, 49407)  # ports-passifs-filtres: the passive range proftpd is given, 0xC000-0xC0FF
PROFTPD_CONF = "/etc/proftpd/proftpd.conf"


# the lines a breakage appends to proftpd.conf, between two comment lines that name it (proftpd reads
# « # » as a comment at the start of a line only), and gone with them
def _begin_end(name: str) -> tuple[str, str]:
    return f"# bascule-casse {name} début", f"# bascule-casse {name} fin"


TC_MARK = "/root/bascule-tc-ingress"  # this file exists only while the ingress qdisc is bascule's own


def _lab_interface(cluster: Cluster) -> str:
    return next(n.cluster_interface for n in cluster.inv.nodes if n.name == cluster.master.name)


def _tc_drop(cluster: Cluster, match: str, on: bool) -> None:
    """Packets to the master's lab interface matching `match` (a tc u32 match) dropped on arrival: the
    node still serves itself (loopback), its clients lose what the filter matches. tc is iproute2's:
    every lab node has it. An ingress qdisc that is not bascule's is neither replaced nor removed."""
    dev = quote(_lab_interface(cluster))
    if on:
        cluster.master.run(
            f'if tc qdisc show dev {dev} ingress | grep -q ingress; then echo "une qdisc ingress existe '
            f'déjà sur {dev} : bascule ne la remplace pas" >&2; exit 1; fi; '
            f"tc qdisc add dev {dev} ingress && touch {TC_MARK} && tc filter add dev {dev} parent ffff: "
            f"protocol ip prio 1 u32 match ip protocol 6 0xff {match} action drop",
            timeout=30,
        )
    else:
        cluster.master.run(
            f"if test -e {TC_MARK}; then tc qdisc del dev {dev} ingress 2>/dev/null; rm -f {TC_MARK}; fi", timeout=30
        )


def _proftpd_lines(cluster: Cluster, name: str, lines: list[str], on: bool) -> None:
    """Lines appended to the master's proftpd.conf between two marks of this breakage, then proftpd told
    to read it again; undone by removing them."""
    node = cluster.master
    begin, end = _begin_end(name)
    if on:
        node.write_file("/root/bascule-proftpd-casse.conf", "\n".join([begin, *lines, end]) + "\n")
        # a file without a final newline would glue the mark to its last line
        node.run(
            f"grep -qx -- {quote(begin)} {PROFTPD_CONF} || {{ sed -i -e '$a\\' {PROFTPD_CONF}; "
            f"cat /root/bascule-proftpd-casse.conf >> {PROFTPD_CONF}; }}; rm -f /root/bascule-proftpd-casse.conf",
            timeout=30,
        )
    else:
        node.run(f"sed -i '/^{begin}$/,/^{end}$/d' {PROFTPD_CONF}", timeout=30)
    node.run("/etc/init.d/proftpd reload >/dev/null 2>&1 || pkill -HUP -o -x proftpd || true", timeout=60)


def _passive_filtered(cluster: Cluster, on: bool) -> None:
    if on:
        _proftpd_lines(cluster, "ports-passifs-filtres", [f"PassivePorts {PASSIVE[0]} {PASSIVE[1]}"], True)
        _tc_drop(cluster, "match ip dport 0xc000 0xff00", True)
    else:
        _tc_drop(cluster, "", False)
        _proftpd_lines(cluster, "ports-passifs-filtres", [], False)


START_ROW = "« État du cluster au départ » (puis la série s'arrête)"

BREAKAGES: dict[str, Breakage] = {
    b.name: b
    for b in (
        # Clusters left broken before the run, as a teacher may find a student's lab: each must turn the
        # start-state row KO with its cause, and no row of the lab may run on it.
        Breakage(
            "depart-drbd-deconnecte",
            "avant la série : la réplication DRBD coupée (drbdadm disconnect sur l'esclave)",
            START_ROW,
            lambda c: c.slave.run(quote("drbdadm", "disconnect", c.inv.drbd.resource), timeout=60),
            lambda c: _on_each(c, quote("drbdadm", "connect", c.inv.drbd.resource) + " 2>/dev/null || true"),
            "q2",
            before_run=True,
        ),
        Breakage(
            "depart-esclave-en-standby",
            "avant la série : l'esclave laissé en standby (crm node standby)",
            START_ROW,
            lambda c: c.master.run(quote("crm", "node", "standby", c.slave.name), timeout=120),
            lambda c: c.master.run(quote("crm", "node", "online", c.slave.name), timeout=120),
            "q2",
            before_run=True,
        ),
        Breakage(
            "depart-groupe-interdit-sur-esclave",
            "avant la série : une interdiction oubliée (crm resource ban servIntralab "
            "sur l'esclave) ; tout tourne sur le maître, mais aucune bascule n'est possible",
            START_ROW,
            lambda c: c.master.run(
                quote("crm_resource", "--ban", "--resource", c.inv.resources.group, "--node", c.slave.name), timeout=120
            ),
            lambda c: c.master.run(quote("crm_resource", "--clear", "--resource", c.inv.resources.group), timeout=120),
            "q2",
            before_run=True,
        ),
        Breakage(
            "depart-maintenance",
            "avant la série : le cluster laissé en mode maintenance",
            START_ROW,
            lambda c: c.master.run(
                "crm_attribute --type crm_config --name maintenance-mode --update true", timeout=120
            ),
            lambda c: c.master.run(
                "crm_attribute --type crm_config --name maintenance-mode --update false", timeout=120
            ),
            "q2",
            before_run=True,
        ),
        Breakage(
            "depart-proftpd-tue",
            "avant la série : proftpd tué sur le maître (Pacemaker le relance, l'échec reste affiché)",
            START_ROW,
            _kill_ftp,
            lambda c: c.master.run(quote("crm_resource", "--cleanup", "--resource", c.inv.resources.ftp), timeout=120),
            "q2",
            before_run=True,
        ),
        Breakage(
            "depart-home-pleine",
            "avant la série : /home plein (un fichier prend toute la place laissée aux utilisateurs)",
            START_ROW + " : écriture FTP impossible, cause : /home plein",
            lambda c: _home_full(c, True),
            lambda c: _home_full(c, False),
            "q2",
            before_run=True,
        ),
        Breakage(
            "depart-shell-ftp-refuse",
            "avant la série : le shell de user est /usr/sbin/nologin, absent de /etc/shells "
            "(proftpd refuse la connexion)",
            START_ROW + " : identifiants refusés, cause : le shell de user",
            lambda c: _ftp_shell(c, True),
            lambda c: _ftp_shell(c, False),
            "q2",
            before_run=True,
        ),
        # Breakages of kinds the diagnosis had never met (issue 30): each exercises one kind of evidence
        # (the client's own error, the node's session to itself, its packet filters, the FTP server's
        # words and settings); the start row must name its cause and its fix from that evidence.
        Breakage(
            "pare-feu-ftp-sur-maitre",
            "avant la série : un filtre de paquets (tc) du maître jette ce qui arrive sur le "
            "port 21 de son interface du lab ; le maître se sert lui-même, ses clients n'ont plus de connexion",
            START_ROW + " : délai dépassé, cause : le filtre tc lu sur le maître, à supprimer",
            lambda c: _tc_drop(c, "match ip dport 21 0xffff", True),
            lambda c: _tc_drop(c, "", False),
            "q2",
            before_run=True,
        ),
        Breakage(
            "ports-passifs-filtres",
            f"avant la série : proftpd du maître limité aux ports passifs {PASSIVE[0]}-{PASSIVE[1]}, "
            "qu'un filtre de paquets (tc) jette : le client s'identifie, puis aucune connexion de données n'aboutit",
            START_ROW + " : liste impossible après l'identification, cause : le filtre tc des ports passifs",
            lambda c: _passive_filtered(c, True),
            lambda c: _passive_filtered(c, False),
            "q2",
            before_run=True,
        ),
        Breakage(
            "connexion-interdite-par-limit",
            "avant la série : une section <Limit LOGIN> de proftpd.conf du maître refuse "
            "user (DenyUser) : identification refusée, quel que soit le mot de passe",
            START_ROW + " : identification refusée, cause : ce que dit le journal de proftpd, la section <Limit> lue",
            lambda c: _proftpd_lines(
                c, "connexion-interdite-par-limit", ["<Limit LOGIN>", f"DenyUser {c.inv.ftp.user}", "</Limit>"], True
            ),
            lambda c: _proftpd_lines(c, "connexion-interdite-par-limit", [], False),
            "q2",
            before_run=True,
        ),
        Breakage(
            "ftp-hors-groupe",
            "serviceFTP retiré du groupe servIntralab (Q4 non faite)",
            "Q2 ligne 1, Q5 ligne 1, conformité « group servIntralab »",
            lambda c: _crm(c, f"crm configure modgroup {c.inv.resources.group} remove {c.inv.resources.ftp}"),
            lambda c: _crm(c, f"crm configure modgroup {c.inv.resources.group} add {c.inv.resources.ftp}"),
            "q2 or q5 or conformite",
        ),
        Breakage(
            "sans-failback",
            "les préférences pour le maître supprimées (plus d'auto-failback)",
            "Q2 ligne 6, Q5 ligne 4, conformité « location »",
            lambda c: _crm(
                c, f"crm configure delete cli-prefer-IPFailover ms-drbd0-master-on-{c.inv.preferred_master}"
            ),
            lambda c: _lab_line(c, _location_lines(c)),
            "q2",
        ),
        Breakage(
            "home-hors-drbd",
            "fs0 monte un tmpfs sur /home au lieu de /dev/drbd0 (rien n'est répliqué)",
            "Q2 lignes 1, 2 et 4, conformité « primitive fs0 »",
            lambda c: _fs_on(c, "tmpfs", "tmpfs"),
            lambda c: _fs_on(c, c.inv.drbd.device, "ext4"),
            "q2 or conformite",
        ),
        Breakage(
            "home-sur-disque-local",
            "fs0 monte sur /home un dossier du disque de chaque nœud (mount --bind) au lieu de "
            "/dev/drbd0 : les bascules ont lieu, mais ce qu'un nœud a acquitté, l'autre ne l'a jamais",
            "bascule endurance (fichiers acquittés perdus), Q2 lignes 1, 2, 4, 5 et 7, conformité « primitive fs0 »",
            lambda c: _home_on_local_disk(c, True),
            lambda c: _home_on_local_disk(c, False),
            "q2 or conformite",
        ),
        Breakage(
            "documents-en-lecture-seule",
            "le dossier Documents de user appartient à root (écriture refusée)",
            "Q2 ligne 2, Q5 ligne 3",
            lambda c: _documents_mode(c, "root:root"),
            lambda c: _documents_mode(c, f"{c.inv.ftp.user}:{c.inv.ftp.user}"),
            "q2",
        ),
        Breakage(
            "proftpd-casse-sur-esclave",
            "proftpd ne peut pas démarrer sur l'esclave (configuration invalide)",
            "Q2 ligne 3, Q5 ligne 2, arrêt avec empêchement, redémarrage, coupure de courant",
            lambda c: _proftpd_block(c, True),
            lambda c: _proftpd_block(c, False),
            "q2",
        ),
        Breakage(
            "apache-casse-sur-esclave",
            "apache ne peut pas démarrer sur l'esclave (directive inconnue dans apache2.conf : "
            "l'agent répond « not configured », une erreur fatale pour Pacemaker)",
            "Q2 ligne 3 (standby) et ligne 6 (failback), vite : le cluster s'est stabilisé",
            lambda c: _apache_block(c, True),
            lambda c: _apache_block(c, False),
            "q2",
        ),
        Breakage(
            "mot-de-passe-different-sur-esclave",
            "le mot de passe de user n'est pas le même sur l'esclave",
            "Q2 ligne 3 (standby : le client FTP ne retrouve pas le service, identification refusée), vite",
            lambda c: _slave_password(c, True),
            lambda c: _slave_password(c, False),
            "q2",
        ),
        Breakage(
            "proftpd-ecoute-ailleurs-sur-esclave",
            "proftpd de l'esclave écoute sur le port 2121 (configuration valide)",
            "Q2 ligne 3 (standby : connexion refusée sur le port 21), vite",
            lambda c: _proftpd_port(c, 2121),
            lambda c: _proftpd_port(c, 21),
            "q2",
        ),
        Breakage(
            "ftp-sans-surveillance",
            "serviceFTP sans opération monitor (Pacemaker ne voit pas son arrêt)",
            "arrêt sans empêchement, conformité « primitive serviceFTP »",
            lambda c: _lab_line(c, f"primitive {c.inv.resources.ftp} lsb:proftpd"),
            lambda c: _lab_line(c, f"primitive {c.inv.resources.ftp} lsb:proftpd op monitor interval=10s"),
            "possible or conformite",
        ),
        # With Linux's default ARP behaviour (arp_ignore=0) the node still answers for the VIP on the
        # lab's network, so FTP keeps working; only the interface check of « ressources activées » sees it.
        Breakage(
            "vip-sur-mauvaise-interface",
            "IPFailover posée sur eth0 (le réseau d'administration) au lieu du réseau du lab",
            "Q2 ligne 1, Q5 ligne 1 (la VIP est sur une interface sans autre adresse de son réseau)",
            lambda c: _ip_nic(c, "eth0"),
            lambda c: _ip_nic(c, "eth1"),
            "q2",
        ),
        Breakage(
            "split-brain-auto-resolu",
            "DRBD règle seul un split brain (after-sb-*) en jetant des données sans le dire",
            "split brain (détection)",
            lambda c: _drbd_auto_split_brain(c, True),
            lambda c: _drbd_auto_split_brain(c, False),
            "split_brain",
        ),
        Breakage(
            "sauvegarde-impossible",
            "/root/sauveha.conf ne peut pas être écrit (c'est un répertoire)",
            "Q6 (sauvegarde)",
            lambda c: _save_blocked(c, True),
            lambda c: _save_blocked(c, False),
            "sauvegarde",
        ),
        Breakage(
            "mysql-ne-redemarre-pas",
            "MariaDB ne peut plus démarrer (option inconnue dans sa configuration) ; le serveur "
            "qui tourne n'est pas touché",
            "Q7 (restauration : cServiceMySQL ne redémarre pas)",
            lambda c: _mysql_start_blocked(c, True),
            lambda c: _mysql_start_blocked(c, False),
            "sauvegarde",
        ),
    )
}


def _cluster(args):
    """The cluster to break: the embedded lab, or --inventory."""
    if args.inventory is not None:
        return Cluster(load(args.inventory), History())
    return EmbeddedLab(xx=args.xx).running_cluster()


def cmd_break(args) -> int:
    b = BREAKAGES[args.name]
    c = _cluster(args)
    try:
        b.apply(c)
        # a run started while the cluster still reacts would catch the reaction, not the breakage (a
        # start row KO because a group is restarting): wait for the DC to stay idle, whatever state it
        # settles in (the depart-* breakages leave it off its baseline on purpose)
        quiet = _quiet(c)
    finally:
        c.close()
    print(
        f"cassé : {b.name} — {b.what} ; {quiet} ; doit passer KO : {b.caught_by} ; "
        f"à défaire avec `bascule lab reparer {b.name}`"
    )
    return 0


def _quiet(cluster: Cluster, deadline: float = 240) -> str:
    """Wait until the cluster has settled (its DC idle, the CIB unchanged, for SETTLE_GRACE s), and
    say after how long; never touches it."""
    watch = SettleWatch(cluster, cluster.history.now())
    try:
        waited = wait_until(watch, bool, "la stabilisation du cluster après la casse", deadline=deadline, interval=2)
    except WaitTimeout:
        return f"le cluster n'était toujours pas stable après {deadline:.0f} s"
    return f"cluster stable après {waited.elapsed:.0f} s"


def cmd_heal(args) -> int:
    b = BREAKAGES[args.name]
    c = _cluster(args)
    try:
        b.undo(c)
        try:
            repairs, took = restore_baseline(c, deadline=600)
        except RepairIncomplete as exc:
            done = " ; ".join(f"{r.what} ({r.why})" for r in exc.repairs) or "rien"
            raise RepairIncomplete(f"{exc.what} (réparé entre-temps : {done})", exc.fix, exc.repairs) from None
    finally:
        c.close()
    more = f" ; réparé aussi : {' ; '.join(f'{r.what} ({r.why})' for r in repairs)}" if repairs else ""
    seconds = f"{took:.1f}".replace(".", ",")
    print(f"réparé : {b.name} ; cluster dans son état de référence ({seconds} s){more}")
    return 0


def cmd_list(args) -> int:
    for b in BREAKAGES.values():
        print(f"{b.name:28} {b.what}\n{'':28} → KO attendu : {b.caught_by}")
    return 0


def cmd_verify(args) -> int:
    """For each breakage: break, run the scenarios that must catch it, heal; then say which rows
    went KO. This is how anyone can repeat the check that each scenario can fail."""
    names = args.names or sorted(BREAKAGES)
    root = Path(__file__).resolve().parents[2]
    summary = []
    for name in names:
        b = BREAKAGES[name]
        out = root / "reports" / "casse" / name
        print(f"== {name} : {b.what}", flush=True)
        cmd_break(args.__class__(**{**vars(args), "name": name}))
        try:
            subprocess.call(
                [
                    str(root / ".venv/bin/pytest"),
                    "features/",
                    "-p",
                    "no:cacheprovider",
                    "-q",
                    "-k",
                    b.scenarios,
                    f"--bascule-rapports={out}",
                ]
                + (["--bascule-inventaire", args.inventory] if args.inventory else []),
                cwd=root,
            )
        finally:
            cmd_heal(args.__class__(**{**vars(args), "name": name}))
        rows = (
            json.loads((out / "tableau-de-tests.json").read_text())["rows"]
            if (out / "tableau-de-tests.json").exists()
            else []
        )
        ko = [r for r in rows if r["status"] in ("KO", "inconnu")]
        summary.append((name, b.caught_by, ko))
    print("\n== résumé")
    for name, expected, ko in summary:
        print(f"{name} : attendu KO → {expected}")
        for r in ko or [
            {"table": "", "action": "AUCUNE LIGNE KO", "observed": "la casse n'a pas été vue", "status": ""}
        ]:
            print(f"   {r['status']:7} {r['table'][:30]:30} | {r['action'][:60]} | {r['observed'][:150]}")
    return 0 if all(ko for _, _, ko in summary) else 1


def add_commands(sub) -> None:
    names = sorted(BREAKAGES)
    for cmd, alias, func, help_ in (
        ("casser", "break", cmd_break, "casse le cluster exprès (voir bascule lab pannes)"),
        ("reparer", "heal", cmd_heal, "défait une casse et attend l'état de référence"),
    ):
        p = sub.add_parser(cmd, aliases=[alias], help=help_)
        p.add_argument("name", metavar="NOM", choices=names, help="la casse : " + ", ".join(names))
        p.add_argument(
            "--inventaire",
            "--inventory",
            dest="inventory",
            default=None,
            metavar="FICHIER",
            help="un cluster existant au lieu du lab embarqué",
        )
        p.set_defaults(func=func)
    sub.add_parser(
        "pannes", aliases=["breakages"], help="liste les casses livrées et les lignes qui doivent les voir"
    ).set_defaults(func=cmd_list)
    v = sub.add_parser(
        "verifier-pannes",
        aliases=["verify-breakages"],
        help="pour chaque casse : casser, lancer les scénarios qui doivent la voir, réparer",
    )
    v.add_argument("names", metavar="NOM", nargs="*", choices=names + [[]], default=[])
    v.add_argument("--inventaire", "--inventory", dest="inventory", default=None, metavar="FICHIER")
    v.set_defaults(func=cmd_verify)
