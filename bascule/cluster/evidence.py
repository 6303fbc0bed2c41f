"""Evidence read on the cluster when a wait ended without its outcome: what the diagnosis of a KO
row is made from (facts/diagnosis.py), kept on the history with the row's observation.

Read only: crm_mon, the CIB's constraints, and the daemons' own configuration tests, which change
nothing (`apache2ctl configtest`, `proftpd -t`)."""

from __future__ import annotations

import base64
import shlex

from bascule.cluster.cluster import Cluster
from bascule.cluster.nodes import Node
from bascule.errors import NodeError
from bascule.facts.configuration import primitive_params, readable_configuration
from bascule.record.cluster_state import StateParseError
from bascule.record.observations import ConfigTest, Evidence, FtpSide

# the daemons' configuration tests, by the lab's resource they belong to (its Inventory name)
CONFIG_TESTS = {"web": "apache2ctl configtest", "ftp": "proftpd -t"}


def gather(cluster: Cluster, prefer: Node | None = None) -> Evidence:
    """crm_mon, then each lab daemon's configuration test on every node where its resource failed,
    and the location constraints. What cannot be read is said in `error`, never guessed."""
    try:
        xml, state = cluster.crm_mon(prefer=prefer)
    except (NodeError, StateParseError) as exc:
        return Evidence(None, error=f"crm_mon illisible : {exc}")
    r = cluster.inv.resources
    commands = {r.web: CONFIG_TESTS["web"], r.ftp: CONFIG_TESTS["ftp"]}
    tests = []
    for resource, node in dict.fromkeys((f.resource, f.node) for f in state.failed_actions if f.resource in commands):
        tests.append(config_test(cluster, resource, node, commands[resource]))
    side = ftp_side(cluster, prefer.name) if prefer is not None else None
    return Evidence(xml, tuple(tests), cluster.cib("constraints") or None, ftp=side)


def config_test(cluster: Cluster, resource: str, node: str, command: str) -> ConfigTest:
    where = cluster.nodes.get(node)
    if where is None:
        return ConfigTest(resource, node, command, None, "nœud inconnu de l'inventaire")
    try:
        said = (
            where.run(
                f'out=$({command} 2>&1); rc=$?; printf "%s\\n" "$out" | tail -5; echo "rc=$rc"', timeout=60, check=False
            )
            .stdout.strip()
            .splitlines()
        )
    except NodeError as exc:
        return ConfigTest(resource, node, command, None, str(exc))
    code = said.pop()[3:] if said and said[-1].startswith("rc=") else ""
    return ConfigTest(resource, node, command, int(code) if code.isdigit() else None, "\n".join(said).strip())


# One command per node: who listens on the FTP port, the FTP server's configuration test, the
# account (uid, home, shell; whether it accepts the inventory's password), the file system behind
# Documents. Key=value lines. The password is checked on the node by the system's own crypt(3)
# against its /etc/shadow: two nodes' hashes of one password differ by their salts, so they cannot be
# compared; the hash never leaves the node, and the password comes on the command's standard input
# (its first line, base64), never in the command, which sudo logs and the process list shows.
FTP_SIDE_COMMAND = r"""IFS= read -r secret; u={user}; d={documents}; port={port}
echo "listen=$(ss -ltnH 2>/dev/null | awk '{{print $4}}' | grep -E ":$port\$" | tr '\n' ' ')"
echo "ftpports=$(ss -ltnpH 2>/dev/null | grep -E 'proftpd|vsftpd|pure-ftpd' | awk '{{print $4}}' | tr '\n' ' ')"
if command -v proftpd >/dev/null; then out=$(proftpd -t 2>&1); echo "config_exit=$?"; echo "config_said=$(printf '%s' "$out" | grep -iE 'error|invalid|fatal|unknown' | head -2 | tr '\n' ' ')"; fi
pw=$(getent passwd "$u"); echo "account=$(echo "$pw" | cut -d: -f3,6,7)"
sh=$(echo "$pw" | cut -d: -f7); if [ -z "$pw" ]; then :; elif [ -n "$sh" ] && grep -qx "$sh" /etc/shells; then echo shell_ok=1; else echo shell_ok=0; fi
umask 077; f=$(mktemp); printf %s "$secret" | base64 -d > "$f"
perl -e 'my $p = do {{ local $/; <STDIN> }}; my $h = (getpwnam(shift))[1]; print((defined($h) && length($h) > 1 && crypt($p, $h) eq $h) ? "pw_ok=1\n" : "pw_ok=0\n")' "$u" < "$f"
vip={vip}; here=127.0.0.1; ip -o -4 addr show 2>/dev/null | grep -q " $vip/" && here="$here $vip"
[ -n "$(ss -ltnH 2>/dev/null | awk '{{print $4}}' | grep -E ":$port\$")" ] && command -v python3 >/dev/null && python3 - "$f" "$u" "$port" {ftpdocs} $here <<'PY' 2>/dev/null
import ftplib, io, sys
password = open(sys.argv[1]).read()
user, port, docs = sys.argv[2], int(sys.argv[3]), sys.argv[4]
for addr in sys.argv[5:]:
    key = "self_lo" if addr == "127.0.0.1" else "self_vip"
    step = "connexion"
    try:
        ftp = ftplib.FTP(timeout=5)
        ftp.connect(addr, port)
        step = "identification"
        ftp.login(user, password)
        step = "liste"
        ftp.nlst(docs)
        step = "envoi"
        name = docs + "/.bascule-essai-du-noeud"
        ftp.storbinary("STOR " + name, io.BytesIO(b"bascule"))
        ftp.delete(name)
        ftp.quit()
        print("%s=%s ok" % (key, addr))
    except Exception as exc:
        said = (str(exc).splitlines() or [""])[0][:120]
        print("%s=%s %s : %s %s" % (key, addr, step, type(exc).__name__, said))
PY
rm -f "$f"
{{ iptables-save 2>/dev/null | grep -E '^-A .*-j (DROP|REJECT)|^:(INPUT|FORWARD) (DROP|REJECT)'; nft list ruleset 2>/dev/null | grep -E '(^|[[:space:]])(drop|reject)([[:space:];]|$)' | sed 's/^[[:space:]]*/nft : /'; for i in $(ls /sys/class/net 2>/dev/null); do t=$(tc filter show dev "$i" ingress 2>/dev/null | grep -oE 'match [0-9a-f/]+ at [0-9]+|action [a-z]+|gact action [a-z]+' | tr '\n' ' '); [ -n "$t" ] && echo "tc ingress $i : $t"; tc qdisc show dev "$i" 2>/dev/null | grep -E 'netem' | sed "s/^/tc $i : /"; done; }} | head -12 | cut -c1-300 | sed 's/^/filter=/'
grep -rhiE '^[[:space:]]*(MaxInstances|MaxClients|MaxClientsPerHost|MaxClientsPerUser|MaxConnectionsPerHost|PassivePorts|MasqueradeAddress|TimeoutIdle|TimeoutLogin|TimeoutNoTransfer|DefaultAddress|SocketBindTight|DenyAll|DenyUser|DenyGroup|<Limit)([[:space:]]|$)' /etc/proftpd/proftpd.conf /etc/proftpd/conf.d 2>/dev/null | sed 's/^[[:space:]]*//' | head -10 | cut -c1-160 | sed 's/^/setting=/'
echo "home=$(findmnt -n -o SOURCE,OPTIONS --target "$d" 2>/dev/null)"
echo "df=$(df -Pk "$d" 2>/dev/null | awk 'NR==2{{print $5, $4}}')"
echo "docs=$(stat -c '%U:%G %a' "$d" 2>/dev/null)"
since=$(date -d '-10 min' '+%F %T'); awk -v since="$since" '$1" "$2 >= since' /var/log/proftpd/proftpd.log 2>/dev/null | grep -iE "login failed|denied|no space|read-only|permission|refused|MaxInstances|MaxClients|too many|passive|unable to" | tail -3 | sed 's/^[^)]*): */auth=/' | cut -c1-240
journalctl -q --no-pager --since '-10min' _COMM=proftpd 2>/dev/null | grep -iE "authentication failure|user unknown|MaxInstances|MaxClients|refused|denied" | tail -2 | sed 's/^.*\]: */auth=/' | cut -c1-240
"""


def ftp_side(cluster: Cluster, node_name: str) -> FtpSide:
    """The FTP side of `node_name`, with the account and its password compared to the other node's."""
    inv = cluster.inv
    secret = inv.ftp.password.reveal() if inv.ftp.password is not None else ""
    command = FTP_SIDE_COMMAND.format(
        user=shlex.quote(inv.ftp.user),
        documents=shlex.quote(inv.documents_dir),
        port=int(inv.ftp.port),
        vip=shlex.quote(inv.vip),
        ftpdocs=shlex.quote(inv.ftp.documents),
    )
    said = cluster.on_every_node(
        lambda n: (
            n.run(
                command,
                timeout=60,
                check=False,
                display="lecture du côté FTP (compte, écoute, /home)",
                stdin=base64.b64encode(secret.encode()).decode() + "\n",
            ).stdout
        )
    )
    mine = said.get(node_name)
    if mine is None or isinstance(mine, Exception):
        return FtpSide(node_name, error=str(mine) if mine is not None else "nœud inconnu de l'inventaire")
    here = _values(mine)
    other = next((_values(v) for n, v in said.items() if n != node_name and not isinstance(v, Exception)), None)
    return _side(node_name, here, other)


def _values(text: str) -> dict[str, str]:
    values = {k: v.strip() for k, _, v in (line.partition("=") for line in text.splitlines()) if k}
    # the lines a key may have several of (the authentication log, the packet filters, the settings)
    for key in ("auth", "filter", "setting"):
        values[key] = "\n".join(
            line[len(key) + 1 :].strip() for line in text.splitlines() if line.startswith(key + "=")
        )
    return values


def _side(node: str, v: dict[str, str], other: dict[str, str] | None) -> FtpSide:
    account = v.get("account", "")
    home = v.get("home", "").split()
    df = v.get("df", "").split()
    docs = v.get("docs", "").split()
    pct = df[0].rstrip("%") if df else ""
    return FtpSide(
        node=node,
        listening=tuple(v.get("listen", "").split()),
        other_ftp_ports=tuple(a for a in v.get("ftpports", "").split() if a not in v.get("listen", "").split()),
        config_exit=int(v["config_exit"]) if v.get("config_exit", "").isdigit() else None,
        config_said=v.get("config_said", ""),
        shell=account.split(":")[-1] if account.count(":") == 2 else "",
        shell_allowed=(v.get("shell_ok") == "1") if "shell_ok" in v else None,
        account_found=bool(account) if "account" in v else None,
        account_found_elsewhere=bool(other.get("account")) if other and "account" in other else None,
        same_account_on_both=(other.get("account") == account) if other and account else None,
        password_accepted=(v["pw_ok"] == "1") if v.get("pw_ok") in ("0", "1") else None,
        password_accepted_elsewhere=(other["pw_ok"] == "1") if other and other.get("pw_ok") in ("0", "1") else None,
        home_source=home[0] if home else "",
        home_options=home[1] if len(home) > 1 else "",
        home_use_percent=int(pct) if pct.isdigit() else None,
        home_available_kib=int(df[1]) if len(df) > 1 and df[1].isdigit() else None,
        documents_owner=docs[0] if docs else "",
        documents_mode=docs[1] if len(docs) > 1 else "",
        auth_log=tuple(line for line in v.get("auth", "").splitlines() if line),
        own_sessions=tuple((k[5:], v[k]) for k in ("self_lo", "self_vip") if v.get(k)),
        filters=tuple(line for line in v.get("filter", "").splitlines() if line),
        settings=tuple(line for line in v.get("setting", "").splitlines() if line),
    )


def serving_node(cluster: Cluster) -> str:
    """The node that should serve FTP now: where crm_mon shows serviceFTP, else the preferred master."""
    try:
        where = cluster.state().where(cluster.inv.resources.ftp)
    except (NodeError, StateParseError):
        where = ()
    return where[0] if len(where) == 1 else cluster.inv.preferred_master


# One command per node: what is mounted on the DRBD mount point now (source, type, options; nothing
# when it is not mounted there), and the DRBD resource's replication protocol as drbdadm reads its
# configuration. Read only.
STORAGE_COMMAND = r"""mp={mount_point}; res={resource}
echo "mount=$(findmnt -n -o SOURCE,FSTYPE,OPTIONS --mountpoint "$mp" 2>/dev/null | tail -1)"
conf=$(drbdadm dump "$res" 2>/dev/null); echo "dump_exit=$?"
echo "protocol=$(printf '%s
' "$conf" | grep -m1 -oE 'protocol[[:space:]]+[ABC]' | awk '{{print $2}}')"
"""


def storage(cluster: Cluster) -> dict:
    """Where the files the FTP server acknowledges are written: the file system resource's parameters
    in the CIB, and on each node what is mounted on the DRBD mount point and DRBD's protocol. A plain
    value for the history (facts/storage.py reads it); what could not be read says why."""
    inv = cluster.inv
    found: dict = {"resource": inv.resources.fs, "nodes": {}}
    configuration = cluster.cib("configuration")
    if configuration and readable_configuration(configuration):
        found["params"] = primitive_params(configuration, inv.resources.fs)
    else:
        found["error"] = "configuration du cluster illisible (cibadmin)"
    command = STORAGE_COMMAND.format(
        mount_point=shlex.quote(inv.drbd.mount_point), resource=shlex.quote(inv.drbd.resource)
    )
    for name, said in cluster.on_every_node(
        lambda n: n.run(command, timeout=30, check=False, display="lecture du stockage de /home").stdout
    ).items():
        if isinstance(said, Exception):
            found["nodes"][name] = {"error": str(said)}
            continue
        found["nodes"][name] = parse_storage(said)
    return found


def parse_storage(said: str) -> dict:
    """One node's answer to STORAGE_COMMAND: {source, fstype, options, protocol}: "" for nothing mounted
    there, or a protocol DRBD's configuration does not write; the protocol is None when drbdadm could not
    read the configuration."""
    values = _values(said)
    mount = values.get("mount", "").split()
    read = values.get("dump_exit", "0") == "0"
    return {
        "source": mount[0] if mount else "",
        "fstype": mount[1] if len(mount) > 1 else "",
        "options": mount[2] if len(mount) > 2 else "",
        "protocol": values.get("protocol", "") if read else None,
    }
