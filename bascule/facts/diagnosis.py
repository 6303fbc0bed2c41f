"""The probable cause of a KO, derived from evidence read on the cluster (record.observations.Evidence),
never from a catalogue of bascule's own breakages. A pure function: a saved run is diagnosed again
offline the same way.

A cause is said only when the evidence shows one, with what was seen and a fix that follows from
it; otherwise « cause non identifiée », with a short summary of what was read.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from bascule.facts.placement import foreign_locations
from bascule.inventory import Inventory
from bascule.record.cluster_state import FailedAction, parse_crm_mon
from bascule.record.observations import Evidence, FtpSide

INFINITY = 1000000  # Pacemaker's INFINITY, as crm_mon prints a fail-count

# OCF exit codes after which Pacemaker does not try again by itself (Pacemaker Explained, « How
# Pacemaker uses exit codes »): 6 is fatal for the whole cluster, the others for the node.
FATAL = {6: "not configured"}
HARD = {2: "invalid parameter", 3: "unimplemented feature", 4: "insufficient privileges", 5: "not installed"}


@dataclass(frozen=True)
class Diagnosis:
    cause: str  # « cause probable » with what was seen (« vu : … »)
    fix: str  # « pour corriger »: what follows from the evidence, "" when nothing does


def what_pacemaker_does(f: FailedAction, fail_count: int) -> str:
    """The failure in the lab's words, with what Pacemaker does about it."""
    if f.exit_code in FATAL:
        return (
            f"erreur fatale ({f.exit_status or FATAL[f.exit_code]}) : Pacemaker ne lance plus {f.resource} sur "
            f"aucun nœud tant que « crm resource cleanup {f.resource} » n'a pas été fait"
        )
    if f.exit_code in HARD:
        return (
            f"erreur grave ({f.exit_status or HARD[f.exit_code]}) : Pacemaker ne lance plus {f.resource} sur "
            f"{f.node} tant que « crm resource cleanup {f.resource} » n'a pas été fait"
        )
    if fail_count >= INFINITY:
        return (
            f"fail-count INFINITY : {f.resource} est banni de {f.node} tant que « crm resource cleanup "
            f"{f.resource} » n'a pas été fait"
        )
    return f"échec ({f.exit_status or f.exit_code}, fail-count {fail_count})"


def telling_lines(output: str) -> str:
    """What a configuration test says of the error: its lines that name one (apache2ctl ends with
    « The Apache error log may have more information. », which does not), else its first line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    telling = [
        line
        for line in lines
        if re.search(r"(?i)\berror\b|invalid|fatal|unknown|AH\d{5}", line) and "may have more information" not in line
    ]
    return " ".join(telling[:2]) if telling else (lines[0] if lines else "")


def diagnose(evidence: Evidence | None, inv: Inventory, to: str | None = None) -> Diagnosis:
    """The cause of a move or a restart that did not happen, from what was read on the cluster."""
    if evidence is None or evidence.crm_mon_xml is None:
        return Diagnosis(
            "cause non identifiée (rien n'a pu être lu sur le cluster"
            + (f" : {evidence.error})" if evidence is not None and evidence.error else ")"),
            "",
        )
    state = parse_crm_mon(evidence.crm_mon_xml)
    ours = {inv.resources.web, inv.resources.ftp, inv.resources.ip, inv.resources.fs, inv.resources.drbd}
    failures = [f for f in state.failed_actions if f.resource in ours]
    if failures:
        return _from_failures(failures, state, evidence, inv)
    bans = [
        (cid, what)
        for cid, what in foreign_locations(evidence.constraints_xml, inv)
        if to is None or to in what or "un nœud" in what
    ]
    if bans:
        return Diagnosis(
            "contrainte de placement étrangère au lab (vu : " + " ; ".join(f"{cid} {what}" for cid, what in bans) + ")",
            " ; ".join(f"crm configure delete {cid}" for cid, _ in bans),
        )
    if evidence.ftp is not None:
        found = diagnose_ftp(evidence.ftp, inv)
        if found is not None:
            return found
    return Diagnosis(
        f"cause non identifiée (vu : aucune action en échec, aucune contrainte étrangère au lab ; "
        f"crm_mon : {state.summary()}" + (f" ; {ftp_summary(evidence.ftp)}" if evidence.ftp else "") + ")",
        "",
    )


def _from_failures(failures: list[FailedAction], state, evidence: Evidence, inv: Inventory) -> Diagnosis:
    causes, seen, fixes = [], [], []
    for f in failures:
        reason = f" « {f.exit_reason} »" if f.exit_reason and f.exit_reason != "none" else ""
        causes.append(
            f"{f.resource} {f.task} en échec sur {f.node}{reason}, "
            f"{what_pacemaker_does(f, state.fail_count(f.resource, f.node))}"
        )
        test = next((t for t in evidence.config_tests if t.resource == f.resource and t.node == f.node), None)
        if test is not None and test.exit_code not in (None, 0):
            seen.append(
                f"« {test.command} » sur {f.node} : {telling_lines(test.output) or 'code ' + str(test.exit_code)}"
            )
            fixes.append(
                f"corriger la configuration de {f.resource} sur {f.node} (« {test.command} » doit réussir), "
                f"puis crm resource cleanup {f.resource}"
            )
        elif test is not None and test.exit_code == 0:
            seen.append(f"« {test.command} » sur {f.node} réussit")
        if f.exit_code in FATAL or f.exit_code in HARD or state.fail_count(f.resource, f.node) >= INFINITY:
            fixes.append(f"corriger ce que dit l'erreur sur {f.node}, puis crm resource cleanup {f.resource}")
    fixes = list(dict.fromkeys(fixes))
    if (
        len(fixes) > 1
        and fixes[-1].startswith("corriger ce que dit")
        and fixes[0].startswith("corriger la configuration")
    ):
        fixes = fixes[:-1]  # the configuration test already names what to correct
    vu = f" (vu : {' ; '.join(['crm_mon, actions en échec'] + seen)})"
    return Diagnosis(" ; ".join(causes) + vu, " ; ".join(fixes))


FULL_KIB = 64  # a file system with less free space than this refuses any upload worth the name


def _diagnose_ftp(side: FtpSide, inv: Inventory) -> Diagnosis | None:
    """Why a user's FTP session fails on a node, from what was read there; None when nothing read
    there explains it. The account first, then the server, the login, the storage."""
    if side.error:
        return None
    for looked_at in (_account, _server, _login, _storage):
        found = looked_at(side, inv)
        if found is not None:
            return found
    return None


def _account(side: FtpSide, inv: Inventory) -> Diagnosis | None:
    node, user = side.node, inv.ftp.user
    # getent passwd answered and found no such account (an FtpSide read before this was recorded says
    # nothing: an account not read is not an account missing)
    if side.account_found is False and side.account_found_elsewhere:
        return Diagnosis(
            f"le compte {user} n'existe pas sur {node}, il existe sur l'autre nœud (vu : getent passwd "
            f"{user} sur les deux nœuds)",
            f"créer {user} sur {node} avec le même uid, home et mot de passe que sur l'autre nœud",
        )
    if side.account_found is False and side.account_found_elsewhere is None:
        return Diagnosis(
            f"le compte {user} n'existe pas sur {node} (vu : getent passwd {user} ; l'autre nœud n'a pas pu être lu)",
            f"créer {user} sur {node}",
        )
    if side.account_found is False and side.account_found_elsewhere is False:
        return Diagnosis(
            f"le compte {user} n'existe sur aucun des deux nœuds (vu : getent passwd {user})",
            f"vérifier le compte FTP de l'inventaire ([ftp] user = {user}), ou créer ce compte sur les "
            "deux nœuds avec le même uid et le même home",
        )
    return None


def _server(side: FtpSide, inv: Inventory) -> Diagnosis | None:
    node, port = side.node, inv.ftp.port
    if not side.listening:
        elsewhere = f" (un serveur FTP y écoute sur {', '.join(side.other_ftp_ports)})" if side.other_ftp_ports else ""
        return Diagnosis(
            f"aucun serveur FTP n'écoute sur le port {port} de {node}{elsewhere} (vu : ss -ltn sur {node})",
            f"remettre « Port {port} » dans /etc/proftpd/proftpd.conf sur {node}, puis crm resource restart "
            f"{inv.resources.ftp}"
            if side.other_ftp_ports
            else f"crm status : {inv.resources.ftp} doit tourner sur {node} ; "
            "sinon /etc/init.d/proftpd start y dit pourquoi",
        )
    if not any(a.startswith(("0.0.0.0:", "*:", "[::]:", f"{inv.vip}:")) for a in side.listening):
        return Diagnosis(
            f"le serveur FTP de {node} n'écoute pas sur la VIP : seulement sur {', '.join(side.listening)} "
            f"(vu : ss -ltn sur {node})",
            f"DefaultAddress ou Bind de /etc/proftpd/proftpd.conf sur {node} : écouter sur toutes les adresses",
        )
    if side.config_exit not in (None, 0):
        return Diagnosis(
            f"la configuration de proftpd sur {node} est refusée (vu : « proftpd -t » : "
            f"{side.config_said or 'code ' + str(side.config_exit)})",
            f"corriger /etc/proftpd/proftpd.conf sur {node} (« proftpd -t » doit réussir)",
        )
    return None


def _login(side: FtpSide, inv: Inventory) -> Diagnosis | None:
    node, user = side.node, inv.ftp.user
    if side.shell_allowed is False:
        return Diagnosis(
            f"le shell de {user} ({side.shell or 'aucun'}) n'est pas dans /etc/shells de {node} : proftpd "
            f"refuse la connexion (RequireValidShell) (vu : getent passwd {user}, /etc/shells)",
            f"chsh -s /bin/bash {user} sur {node}, ou ajouter {side.shell} à /etc/shells",
        )
    if side.password_accepted is False and side.password_accepted_elsewhere:
        return Diagnosis(
            f"le mot de passe de {user} sur {node} n'est pas celui de l'autre nœud : {node} refuse le mot "
            f"de passe de l'inventaire, l'autre nœud l'accepte (vu : /etc/shadow de chaque nœud, vérifié sur "
            f"place, aucun hachage n'en sort)",
            f"passwd {user} sur {node} : le même mot de passe que sur l'autre nœud",
        )
    if side.password_accepted is False and side.password_accepted_elsewhere is False:
        return Diagnosis(
            f"aucun des deux nœuds n'accepte le mot de passe de l'inventaire pour {user} (vu : /etc/shadow "
            f"de chaque nœud, vérifié sur place)",
            "corriger le mot de passe FTP de l'inventaire ([ftp] password_env)",
        )
    if side.same_account_on_both is False:
        return Diagnosis(
            f"le compte {user} diffère entre les deux nœuds (uid, home ou shell) (vu : getent passwd {user})",
            f"donner à {user} le même uid, home et shell sur les deux nœuds",
        )
    return None


def _storage(side: FtpSide, inv: Inventory) -> Diagnosis | None:
    node, user = side.node, inv.ftp.user
    if side.home_options.split(",")[0] == "ro":
        return Diagnosis(
            f"{inv.drbd.mount_point} monté en lecture seule sur {node} (vu : findmnt : {side.home_source} "
            f"{side.home_options})",
            f"crm resource cleanup {inv.resources.fs} ; vérifier dmesg sur {node}",
        )
    if (side.home_use_percent is not None and side.home_use_percent >= 100) or (
        side.home_available_kib is not None and side.home_available_kib < FULL_KIB
    ):
        return Diagnosis(
            f"{inv.drbd.mount_point} plein sur {node} (vu : df : {side.home_use_percent} %, "
            f"{side.home_available_kib} Kio libres)",
            f"libérer de la place sur {inv.drbd.mount_point} (du -sh {inv.drbd.mount_point}/* sur {node})",
        )
    owner = side.documents_owner.split(":")[0]
    if owner and owner != user and not side.documents_mode.endswith("7"):
        return Diagnosis(
            f"{inv.documents_dir} appartient à {side.documents_owner} (droits {side.documents_mode}) : "
            f"{user} ne peut pas y écrire (vu : stat sur {node})",
            f"chown {user}:{user} {inv.documents_dir} sur {node}",
        )
    return None


def client_symptom(error: str) -> str:
    """What the FTP client lived, classified from its own error: no TCP connection (refused or timed
    out), a connection closed before the greeting, a login refused or interrupted, data connections
    failing after the login, a transfer refused with the server's reply."""
    e = error or ""
    low = e.casefold()
    if low.startswith("identifié") or re.search(r"\b425\b|data connection|connexion de données", e, re.I):
        return f"identifié, mais connexions de données impossibles ({e[:80]})"
    if "connexion refusée" in low or "connection refused" in low:
        return "pas de connexion TCP : refusée"
    if "accueil" in low or ("eof" in low and "identification" not in low and "liste" not in low):
        return "connexion acceptée puis fermée avant l'accueil du serveur"
    if re.search(r"\b530\b", e) or "identifiants refusés" in low:
        return "identification refusée (530)"
    if "délai dépassé" in low or "timed out" in low:
        return "pas de réponse dans le délai"
    reply = re.search(r"\b([45]\d\d)\b", e)
    if reply:
        return f"le serveur répond {reply.group(1)} : {e[:120]}"
    return e[:120]


def _ports_of(settings: tuple[str, ...], port: int) -> list[tuple[int, int]]:
    """The FTP port and the passive range read in the server's settings."""
    ranges = [(port, port)]
    for line in settings:
        m = re.match(r"(?i)PassivePorts\s+(\d+)\s+(\d+)", line)
        if m:
            ranges.append((int(m.group(1)), int(m.group(2))))
    return ranges


def _filter_ports(rule: str) -> list[tuple[int, int]] | None:
    """The destination ports a filter rule matches: --dport/dpt/dport N[:M], or tc u32's « match
    VALUE/MASK at 20 » (the TCP destination port, low 16 bits of the word after the IP header); None
    when the rule names no port (it may drop everything)."""
    if re.search(r"!\s*--dports?", rule):
        return None  # every port but some: it may drop FTP's
    found = []
    for ports in re.findall(r"(?:--dports?|dpt|dport)[ :]+([\d,:-]+)", rule):  # 21, 20:21, 80,21
        for part in ports.split(","):
            a, _, b = part.replace("-", ":").partition(":")
            if a.isdigit():
                found.append((int(a), int(b) if b.isdigit() else int(a)))
    for value, mask in re.findall(r"match ([0-9a-f]{8})/([0-9a-f]{8}) at 20", rule):
        v, m = int(value, 16) & 0xFFFF, int(mask, 16) & 0xFFFF
        if m:
            low = v & m
            found.append((low, low | (~m & 0xFFFF)))
    return found or None


def _filter_fix(rule: str, node: str) -> str:
    """The command that removes a filter rule read on the node; "" for a chain's policy (DROP by
    default): which rule should let FTP through is not read there, so no fix is guessed."""
    if rule.startswith(":") or "policy drop" in rule:
        return ""
    if rule.startswith("-A "):
        return f"iptables {'-D ' + rule[3:]} sur {node}"
    m = re.match(r"tc ingress (\S+) :", rule)
    if m:
        return f"tc qdisc del dev {m.group(1)} ingress sur {node}"
    m = re.match(r"tc (\S+) : qdisc netem", rule)
    if m:
        return f"tc qdisc del dev {m.group(1)} root sur {node}"
    return f"nft -a list ruleset sur {node}, puis nft delete rule … handle N pour la règle citée"


def _path_diagnosis(side: FtpSide, inv: Inventory, client: str) -> Diagnosis | None:
    """The serving node's own view against the client's: a node that serves itself (127.0.0.1 and the
    VIP: a listing and a transfer) while the client is not served points at the path between them, a
    packet filter on the node when one that touches the FTP ports is read there."""
    own = dict(side.own_sessions)
    if not own or not all(v.endswith(" ok") for v in own.values()):
        return None
    node = side.node
    where = " et ".join(v.split()[0] for v in own.values())
    lived = f"le client : {client_symptom(client)} ; " if client else ""
    seen = f"{lived}une session FTP de {node} vers son propre serveur ({where}) : liste et envoi réussis"
    ftp_ports = _ports_of(side.settings, inv.ftp.port)
    relevant = [
        f
        for f in side.filters
        if (_filter_ports(f) is None or any(a <= hi and lo <= b for a, b in _filter_ports(f) for lo, hi in ftp_ports))
    ]
    passive = [s for s in side.settings if s.lower().startswith(("passiveports", "masqueradeaddress"))]
    also = f" ; réglages lus : {', '.join(passive)}" if passive else ""
    if relevant:
        quoted = " ; ".join(f"« {f} »" for f in relevant)
        return Diagnosis(
            f"{node} se sert lui-même, pas le client : un filtre de paquets de {node} qui touche les ports "
            f"du FTP (vu : {seen} ; filtre lu sur {node} : {quoted}{also})",
            " ; ".join(dict.fromkeys(fix for fix in (_filter_fix(f, node) for f in relevant) if fix)),
        )
    others = f" ; filtres sans lien visible avec les ports du FTP : {' ; '.join(side.filters)}" if side.filters else ""
    return Diagnosis(
        f"{node} se sert lui-même, pas le client : le chemin entre eux est en cause, hors de ce que "
        f"{node} filtre (vu : {seen} ; aucun filtre de paquets de {node} — iptables, nftables, tc — ne "
        f"touche les ports du FTP{others}{also})",
        "",
    )


def _words_fix(side: FtpSide, inv: Inventory) -> str:
    """A fix that follows from what the server said and the setting behind it, read on the node."""
    said = " ".join(side.auth_log)
    for directive in ("MaxInstances", "MaxClientsPerHost", "MaxClientsPerUser", "MaxClients", "MaxConnectionsPerHost"):
        setting = next((s for s in side.settings if s.split()[0].casefold() == directive.casefold()), None)
        if directive.casefold() in said.casefold() and setting:
            return (
                f"augmenter {directive} dans la configuration de proftpd sur {side.node} (lu : « {setting} »), puis "
                f"crm resource restart {inv.resources.ftp}"
            )
    limits = [s for s in side.settings if s.startswith(("<Limit", "DenyAll", "DenyUser", "DenyGroup"))]
    if "limit" in said.casefold() and limits:
        return (
            f"revoir les sections <Limit> de la configuration de proftpd sur {side.node} (lues : "
            f"{', '.join(limits)}), puis crm resource restart {inv.resources.ftp}"
        )
    return ""


def diagnose_ftp(side: FtpSide, inv: Inventory, client: str = "") -> Diagnosis | None:
    """Why a user's FTP session fails on a node: from what was read there, with the FTP server's own
    log lines of the refusal as more evidence; then the node's own view against the client's (the
    path between them); then those log lines alone, with a fix only when a setting read on the node
    is behind them. None when nothing read explains it. `client`: the client's own error."""
    found = _diagnose_ftp(side, inv)
    counted = Counter(side.auth_log)
    said = " ; ".join(f"« {line} »" + (f" ({n} fois)" if n > 1 else "") for line, n in counted.items())
    if found is not None:
        if not said:
            return found
        return Diagnosis(
            found.cause.rstrip(")") + f" ; journal de proftpd : {said})"
            if found.cause.endswith(")")
            else f"{found.cause} (journal de proftpd : {said})",
            found.fix,
        )
    path = _path_diagnosis(side, inv, client)
    if path is not None:
        return path
    if said:
        own = " ; ".join(v for _, v in side.own_sessions)
        return Diagnosis(
            f"proftpd a refusé la session sur {side.node} : {said} (vu : journal de proftpd des 10 "
            f"dernières minutes"
            + (f" ; session de {side.node} vers lui-même : {own}" if own else "")
            + (f" ; réglages lus : {', '.join(side.settings)}" if side.settings else "")
            + ")",
            _words_fix(side, inv),
        )
    return None


def ftp_summary(side: FtpSide) -> str:
    """What was read of the FTP side, in a few words, for « cause non identifiée »."""
    if side.error:
        return f"côté FTP illisible sur {side.node} : {side.error}"
    own = " ; ".join(v for _, v in side.own_sessions)
    return (
        f"sur {side.node} : FTP à l'écoute sur {', '.join(side.listening) or 'rien'}, proftpd -t "
        f"{'réussi' if side.config_exit == 0 else side.config_exit}, {side.home_source} "
        f"{side.home_options.split(',')[0]} "
        f"{side.home_use_percent} %, Documents {side.documents_owner} {side.documents_mode}"
        + (f", session de {side.node} vers lui-même : {own}" if own else "")
        + (
            f", filtres : {' ; '.join(side.filters)}"
            if side.filters
            else ", aucun filtre de paquets"
            if side.own_sessions
            else ""
        )
    )
