"""Every verdict of bascule: pure functions of typed observations and of the history.

A check takes one typed observation (bascule.judging.observations), the slice of the history it needs and
the inventory, and returns a Result: OK, KO or « inconnu » (the suite could not decide), what was
observed in the lab's words (the « Résultats obtenus » column), structured details, and where it is
known, the likely cause with the lab's command that fixes it. Combined, KO beats inconnu beats OK;
a check that raises gives inconnu, never OK (Jepsen's checker rules). Nothing here runs a command:
so `bascule rejuger` can judge a saved run again, offline, and get the same table.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Callable, Iterable

from bascule.cluster.state import ClusterOperation, ClusterState, DrbdStatus, parse_controld_journal, parse_crm_mon, parse_vip_interface
from bascule.judging.history import (CLIENT, CONNECT, LOGIN, OBSERVATION, OK, READ, UNKNOWN_STAGE, WRITE, Event, Window, downtime_windows,
                      first_observation, served_by, usable, write_refusals)
from bascule.inventory import Inventory
from bascule.judging.verdict import Result, Verdict, guarded
from bascule.judging.observations import (Audit, CableOutcome, CableTakeover, ClusterReading, ConfigurationLine, FileRead, FileWrite,
                           FtpTest, MoveSeen, ResourcesSeen, RestartSeen, RestoreSeen, SaveSeen, SplitBrainDetection,
                           SplitBrainResolution, StartState, Takeover, WitnessRead)


def secs(x: float | None) -> str:
    """12.3 → « 12,3 s » (the lab is in French)."""
    return "—" if x is None else f"{x:.1f}".replace(".", ",") + " s"


def node_named(hostname: str | None, inv: Inventory) -> str | None:
    """The inventory's node whose name matches a served-by hostname (short names, any case);
    None when it names none of them (then nothing can be judged from it)."""
    if not hostname:
        return None
    short = hostname.strip().split(".")[0].lower()
    return next((n.name for n in inv.nodes if n.name.split(".")[0].lower() == short), None)


# --- placement ---------------------------------------------------------------------------------

def placement_problems(state: ClusterState, inv: Inventory, on: str, membership: bool = True) -> list[str]:
    """What keeps the lab's resources from all being active on node `on` (master role).
    With membership, serviceFTP, serviceWeb and IPFailover must also be members of the group."""
    r = inv.resources
    problems = []
    promoted = state.promoted_on(r.ms)
    if promoted != (on,):
        problems.append(f"DRBD primaire (ms-drbd0 promu) sur {', '.join(promoted) or 'aucun nœud'} au lieu de {on}")
    where = state.where(r.fs)
    if where != (on,):
        problems.append(f"{r.fs} actif sur {', '.join(where) or 'aucun nœud'} au lieu de {on}")
    members = state.instances(r.group)
    if not members:
        problems.append(f"groupe {r.group} absent de la configuration")
    for m in members:
        if m.nodes != (on,) or m.role != "Started":
            problems.append(f"{m.id} {('actif sur ' + ', '.join(m.nodes)) if m.nodes else 'arrêté'} au lieu de {on}")
    member_ids = {m.id for m in members}
    for wanted in (r.ip, r.web, r.ftp):
        if wanted in member_ids:
            continue
        if membership and members:
            problems.append(f"{wanted} n'est pas dans le groupe {r.group}")
        where = state.where(wanted)
        if where != (on,):
            problems.append(f"{wanted} {('actif sur ' + ', '.join(where)) if where else 'arrêté'} au lieu de {on}")
    return problems


def placement(state: ClusterState, inv: Inventory) -> dict:
    """What the history keeps of a crm_mon reading: where each of the lab's resources runs. One
    condition on this value (move_problems) serves both the wait for a move and its verdict."""
    r = inv.resources
    return {
        "online": list(state.online_nodes),
        "standby": [n.name for n in state.nodes if n.standby],
        "promoted": list(state.promoted_on(r.ms)),
        "fs": list(state.where(r.fs)),
        "group": {m.id: list(m.nodes) for m in state.instances(r.group)},
        "where": {rid: list(state.where(rid)) for rid in (r.ip, r.web, r.ftp)},
        "failed": [f"{f.resource}:{f.task}@{f.node}" for f in state.failed_actions],
        "summary": state.summary(),
    }


def move_problems(value: dict, inv: Inventory, to: str) -> list[str]:
    """Does a crm_mon reading (its placement value) show every resource active on `to`? Group
    membership is not required here (the « ressources activées » row judges it): a serviceFTP
    outside the group that follows DRBD still moves."""
    if not isinstance(value, dict):
        return ["aucune lecture de crm_mon"]
    r = inv.resources
    problems = []
    if value.get("promoted") != [to]:
        problems.append(f"ms-drbd0 promu sur {'+'.join(value.get('promoted') or []) or 'aucun nœud'}")
    if value.get("fs") != [to]:
        problems.append(f"{r.fs} sur {'+'.join(value.get('fs') or []) or 'aucun nœud'}")
    where = value.get("where")
    if where is None:  # a reading saved before "where" existed: the group members say it
        where = value.get("group") or {}
        if not where:
            problems.append(f"groupe {r.group} absent")
    for rid, nodes in where.items():
        if nodes != [to]:
            problems.append(f"{rid} sur {'+'.join(nodes) or 'aucun nœud'}")
    return problems


def baseline_problems(state: ClusterState, drbd: dict[str, DrbdStatus | None], inv: Inventory) -> list[str]:
    """The baseline: both nodes online (not standby), no failed actions, ms-drbd0 promoted on the
    preferred master, DRBD Connected UpToDate/UpToDate, fs0 and the group on the master."""
    problems = []
    for spec in inv.nodes:
        n = state.node(spec.name)
        if n is None:
            problems.append(f"{spec.name} inconnu du cluster")
        elif not n.online:
            problems.append(f"{spec.name} hors ligne")
        elif n.standby:
            problems.append(f"{spec.name} en standby")
        elif n.maintenance:
            problems.append(f"{spec.name} en maintenance")
    if state.maintenance_mode:
        problems.append("cluster en mode maintenance (maintenance-mode=true)")
    for f in state.failed_actions:
        problems.append(f"action en échec : {f.resource} {f.task} sur {f.node} ({f.exit_status or f.exit_code})")
    # the baseline is about where things run; whether serviceFTP is in the group is the
    # configuration's business (row 1 and the conformance scenario say it)
    problems.extend(placement_problems(state, inv, inv.preferred_master, membership=False))
    for name, st in drbd.items():
        if st is None:
            problems.append(f"DRBD illisible sur {name}")
        elif not st.healthy:
            problems.append(f"DRBD sur {name} : {st.summary()}")
    return problems


# --- the state found at the start --------------------------------------------------------------

def foreign_locations(constraints_xml: str | None, inv: Inventory) -> list[tuple[str, str]]:
    """Location constraints on the lab's resources that the lab's configuration does not have:
    a ban (negative score, what `crm resource move/ban` leaves) or a preference for the slave.
    The lab has two, both preferences for the master. [(id, what it does), …]"""
    if not constraints_xml:
        return []
    root = ET.fromstring(constraints_xml)
    r = inv.resources
    ours = {r.ms, r.drbd, r.fs, r.group, r.ip, r.web, r.ftp, r.mysql_clone}
    master = inv.preferred_master
    out = []

    def score_of(s: str | None) -> float:
        s = (s or "0").strip().lower().lstrip("+")
        if s in ("inf", "infinity"):
            return float("inf")
        if s in ("-inf", "-infinity"):
            return float("-inf")
        try:
            return float(s)
        except ValueError:
            return 0.0

    for loc in root.iter("rsc_location"):
        rsc = loc.get("rsc")
        if rsc not in ours:
            continue
        targets = []  # (node or None, score)
        if loc.get("node") is not None:
            targets.append((loc.get("node"), score_of(loc.get("score"))))
        for rule in loc.findall("rule"):
            nodes = [e.get("value") for e in rule.findall("expression")
                     if e.get("attribute") == "#uname" and e.get("operation") == "eq"]
            # « #uname ne X » with two nodes names the other one
            nodes += [other for e in rule.findall("expression") if e.get("attribute") == "#uname"
                      and e.get("operation") == "ne" for other in [n.name for n in inv.nodes if n.name != e.get("value")]]
            for n in nodes or [None]:
                targets.append((n, score_of(rule.get("score"))))
        for node, score in targets:
            if score < 0:
                out.append((loc.get("id", "?"), f"interdit {rsc} sur {node or 'un nœud'}"))
            elif score > 0 and node is not None and node != master:
                out.append((loc.get("id", "?"), f"préfère {rsc} sur {node}"))
    return out


def _reading_problems(reading: ClusterReading, inv: Inventory) -> tuple[list[tuple[str, str]], str]:
    """Departures from the baseline in a reading, each with the lab's command that undoes it;
    plus a reason when the reading cannot be judged."""
    if reading.crm_mon_xml is None:
        return [], f"crm_mon illisible : {reading.crm_mon_error}"
    state = parse_crm_mon(reading.crm_mon_xml)
    found: list[tuple[str, str]] = []
    for spec in inv.nodes:
        n = state.node(spec.name)
        if n is None:
            found.append((f"{spec.name} inconnu du cluster", "vérifier corosync.conf et le nom du nœud dans l'inventaire"))
        elif not n.online:
            found.append((f"{spec.name} hors ligne", f"démarrer corosync et pacemaker sur {spec.name}"))
        elif n.standby:
            found.append((f"{spec.name} en standby", f"crm node online {spec.name}"))
        elif n.maintenance:
            found.append((f"{spec.name} en maintenance", f"crm node ready {spec.name}"))
    if state.maintenance_mode:
        found.append(("cluster en mode maintenance (maintenance-mode=true)", "crm configure property maintenance-mode=false"))
    unmanaged = sorted({x.parent or x.id for x in state.resources if not x.managed})
    if unmanaged and not state.maintenance_mode:
        found.append((f"ressources non gérées par Pacemaker : {', '.join(unmanaged)}", f"crm resource manage {unmanaged[0]}"))
    for f in state.failed_actions:
        found.append((f"action en échec : {f.resource} {f.task} sur {f.node} ({f.exit_status or f.exit_code})",
                      f"crm resource cleanup {f.resource}"))
    # a node in standby, offline or in maintenance explains where the resources are, and a DRBD
    # stopped there (and waiting for its peer on the other node): those are consequences, whose fix
    # is the node's; a StandAlone DRBD never is (it gave up on its peer)
    node_level = bool(found)
    away = {spec.name for spec in inv.nodes if (state.node(spec.name) is None or not state.node(spec.name).online
                                                 or state.node(spec.name).standby)}

    def fix(command: str, consequence: bool) -> str:
        return "" if consequence else command
    for p in placement_problems(state, inv, inv.preferred_master, membership=False):
        found.append((p, fix("crm status ; crm resource cleanup, ou crm configure show pour les contraintes", node_level)))
    for name, st in reading.drbd.items():
        peer = next((n for n in reading.drbd if n != name), None)
        peer_down = peer is not None and (peer in away or (reading.drbd.get(peer) is not None
                                                           and not reading.drbd[peer].configured))
        if st is None:
            found.append((f"DRBD illisible sur {name} ({reading.drbd_errors.get(name, '')})", "cat /proc/drbd"))
        elif not st.configured:
            found.append((f"DRBD {inv.drbd.resource} non démarré sur {name}",
                           fix(f"drbdadm up {inv.drbd.resource}", name in away)))
        elif st.connection != "Connected":
            found.append((f"DRBD non connecté sur {name} : {st.summary()}",
                          fix(f"drbdadm connect {inv.drbd.resource}", st.connection != "StandAlone" and peer_down)))
        elif not st.healthy:
            found.append((f"DRBD pas UpToDate/UpToDate sur {name} : {st.summary()}", "attendre la fin de la synchronisation"))
    for cid, what in foreign_locations(reading.constraints_xml, inv):
        found.append((f"contrainte {cid} ({what}) absente de la configuration du lab", f"crm configure delete {cid}"))
    return found, ""


def start_state(obs: StartState, events: list[Event], inv: Inventory) -> Result:
    """« État du cluster au départ »: the cluster as found, before any row. KO names each departure
    from the baseline in the lab's words; inconnu when the cluster could not be read."""
    found, unreadable = _reading_problems(obs.reading, inv)
    if unreadable:
        return Result.unknown(unreadable)
    ftp = obs.ftp
    if ftp is None:
        found.append(("FTP non essayé", ""))
    elif not ftp.logged_in:
        fix = ("corriger le mot de passe FTP de l'inventaire ([ftp] password_env)" if ftp.login_refused
               else f"crm status ; le FTP doit répondre sur {inv.vip}")
        found.append((f"client FTP sur {inv.vip} : {ftp.error}", fix))
    elif not ftp.wrote:
        found.append((f"écriture FTP impossible dans {inv.ftp.documents} : {ftp.write_error}",
                      f"droits de {inv.documents_dir} (chown {inv.ftp.user})"))
    if obs.reading.constraints_xml is None:
        if not found:
            return Result.unknown("contraintes du cluster illisibles (cibadmin) : impossible de dire si des contraintes "
                                  "étrangères au lab empêchent les bascules")
        found.append(("contraintes du cluster illisibles (cibadmin)", ""))
    if found:
        fixes = []
        for _, f in found:
            if f and f not in fixes:
                fixes.append(f)
        login_only = len(found) == 1 and ftp is not None and ftp.login_refused
        return Result.ko("Cluster pas dans son état de référence : " + " ; ".join(p for p, _ in found),
                         *[p for p, _ in found],
                         cause=("identifiants FTP de l'inventaire refusés" if login_only
                                else "état laissé par une manipulation précédente"),
                         fix=" ; ".join(fixes))
    state = parse_crm_mon(obs.reading.crm_mon_xml)
    drbd = next(iter(obs.reading.drbd.values()), None)
    if drbd is None:
        return Result.unknown("DRBD non lu sur les nœuds")
    who = f", servi par {ftp.served_by}" if ftp and ftp.served_by else ""
    return Result.ok(f"Cluster dans son état de référence : {' et '.join(state.online_nodes)} en ligne, ms-drbd0 promu sur "
                     f"{inv.preferred_master}, DRBD {drbd.summary() if drbd else '?'}, aucune action en échec, aucune contrainte "
                     f"étrangère au lab ; FTP sur {inv.vip} : connexion et écriture dans {inv.ftp.documents} réussies{who}")


def configuration_changes(before_xml: str, after_xml: str) -> list[str]:
    """What differs in the resources and constraints of two CIB configurations (properties and node
    attributes are state: maintenance-mode, standby)."""
    from bascule.judging.conformance import canonical, configuration_xml
    a = {k: v for k, v in canonical(configuration_xml(before_xml)).items() if not k.startswith("property ")}
    b = {k: v for k, v in canonical(configuration_xml(after_xml)).items() if not k.startswith("property ")}
    return ([f"{k} supprimé" for k in sorted(a.keys() - b.keys())] + [f"{k} ajouté" for k in sorted(b.keys() - a.keys())]
            + [f"{k} modifié" for k in sorted(a.keys() & b.keys()) if a[k] != b[k]])


def audit_config_changes(obs: Audit) -> list[str]:
    return configuration_changes(obs.config_before, obs.config_after) if obs.config_before and obs.config_after else []


def audit(obs: Audit, events: list[Event], inv: Inventory) -> Result:
    """After a scenario (CTS's audits): bascule undid its own faults; any other repair it had to
    make is a finding; an audit that could not run is inconnu."""
    if obs.error:
        return Result.unknown(f"audit impossible : {obs.error}")
    own = [r for r in obs.repairs if r.own]
    other = [r for r in obs.repairs if not r.own]
    own_text = "bascule a défait ses propres pannes (" + " ; ".join(r.what for r in own) + ")" if own else "rien à défaire"
    problems = []
    if other:
        problems.append("réparé par bascule après le scénario : " + " ; ".join(f"{r.what} (vu : {r.why})" for r in other))
    if obs.baseline_after:
        problems.append("le cluster n'est pas revenu à son état de référence : " + " ; ".join(obs.baseline_after))
    changed = audit_config_changes(obs)
    if changed:
        problems.append("configuration du cluster changée par le scénario et non rétablie : " + " ; ".join(changed))
    if problems:
        return Result.ko(" ; ".join(problems) + f" ; {own_text}", *[r.why for r in other],
                         cause="le scénario a laissé le cluster hors de son état de référence")
    return Result.ok(f"Cluster revenu à son état de référence en {secs(obs.waited)} sans autre réparation ; {own_text}")


# --- from the history --------------------------------------------------------------------------

KIND_WORDS = {CONNECT: "pas de connexion", LOGIN: "identification refusée", READ: "lecture impossible",
              WRITE: "envoi refusé", UNKNOWN_STAGE: "échec"}
# said once per row that quotes a downtime, so that a figure is never read without its meaning
DOWNTIME_DEFINITION = ("indisponible = ni connexion, ni identification, ni lecture possibles ; "
                       "de la dernière opération réussie à la suivante, une opération toutes les 0.25 s")


def window_figure(w: Window) -> str:
    """One outage's length, with its bounds when they differ by more than the probe's cadence."""
    if w.duration is None:
        return "non terminée"
    if w.uncertain:
        return f"{secs(w.duration)} (entre {secs(w.shortest)} et {secs(w.longest)})"
    return secs(w.duration)


def window_phases(w: Window) -> str:
    """Which kinds of failure, for how long: « pas de connexion 40,2 s (délai dépassé), ... »."""
    def phase(p) -> str:
        if p.kind == UNKNOWN_STAGE:  # a history from before the kinds were told apart: its reason only
            return f"{p.reason or 'échec'} {secs(p.seconds)}"
        return f"{KIND_WORDS.get(p.kind, p.kind)} {secs(p.seconds)}" + (f" ({p.reason})" if p.reason else "")
    return ", ".join(phase(p) for p in w.phases)


def client_downtime(events: Iterable[Event], process: str | None = None) -> tuple[float | None, str]:
    """The client's total downtime and a sentence for the report: how long, of which kind, and
    uploads refused on a server that answered, said apart."""
    evs = list(events)
    ops = [e for e in evs if e.source == CLIENT and (process is None or e.process == process)]
    if not ops:
        return None, "aucune opération FTP enregistrée"
    windows = downtime_windows(evs, process)
    refused = write_refusals(evs, process)
    refused_text = ""
    if refused:
        spans = [window_figure(w) if w.end is not None else "jusqu'à la fin de la mesure" for w in refused]
        refused_text = f" ; envois refusés par un serveur qui répond : {', '.join(spans)} ({refused[-1].phases[0].reason or 'refus'})"
    if not windows:
        return 0.0, f"FTP disponible sans interruption ({len(ops)} opérations)" + refused_text
    if windows[-1].end is None:
        last = windows[-1]
        return None, (f"FTP toujours indisponible à la fin de la mesure ({last.failed + last.unknown} échecs : "
                      f"{window_phases(last)})" + refused_text)
    total = sum(w.duration for w in windows)
    if len(windows) == 1:
        text = f"FTP indisponible {window_figure(windows[0])} : {window_phases(windows[0])}"
    else:
        text = (f"FTP indisponible {secs(total)} en {len(windows)} interruptions : "
                + " + ".join(f"{window_figure(w)} ({window_phases(w)})" for w in windows))
    return total, f"{text} [{DOWNTIME_DEFINITION}]{refused_text}"


def serving_at_end(events: Iterable[Event], process: str | None) -> tuple[bool, str | None]:
    """Who served the client's last usable operation that could tell (a read): (there was one, the
    hostname or None when it could not be read). Only that operation counts: an older reading is stale."""
    last = None
    for e in events:
        # an upload does not read the hostname: only reads tell who serves (a history from an older
        # bascule has one kind of operation, which did)
        if (e.source == CLIENT and usable(e) and (process is None or e.process == process)
                and not (isinstance(e.value, dict) and e.value.get("op") == WRITE)):
            if last is None or e.t >= last.t:
                last = e
    if last is None:
        return False, None
    return True, last.value.get("served_by") if isinstance(last.value, dict) else None


# --- outages outside a move ---------------------------------------------------------------------

# the rows that quote the client's downtime themselves
QUOTES_DOWNTIME = frozenset({"moved", "taken_over", "service_restarted", "cable_taken_over"})


def row_outages(row_events: Iterable[Event]) -> str:
    """What the FTP probe lived through while a row was being carried out, said when it lost the
    service or saw uploads refused (a split brain's recovery, a configuration being restored). The
    row's verdict stays that of its check: the lab expects no figure there, the table gives it."""
    evs = list(row_events)
    if not any(e.source == CLIENT for e in evs):
        return ""
    windows = downtime_windows(evs)
    if not windows and not write_refusals(evs):
        return ""
    return "pendant cette ligne, " + client_downtime(evs)[1]


def judge_row(check: Callable[..., Result], obs, events: list[Event], row_events: list[Event], inv: Inventory) -> Result:
    """A row's verdict (its check, guarded) with the outages seen while it was carried out. The one
    way a row is judged, live (plugin.Table.judge) and offline (bascule rejuger)."""
    result = guarded(check, obs, events, inv)
    note = "" if check.__name__ in QUOTES_DOWNTIME else row_outages(row_events)
    return replace(result, observed=f"{result.observed} ; {note}") if note else result


# --- the lab's rows ----------------------------------------------------------------------------

def resources_active(obs: ResourcesSeen, events: list[Event], inv: Inventory) -> Result:
    """« Vérifier que les ressources sont bien activées (crm status, ifconfig, ps, Filezilla) »."""
    on = obs.on or inv.preferred_master
    state = parse_crm_mon(obs.crm_mon_xml)
    other = next(n.name for n in inv.nodes if n.name != on)
    problems = placement_problems(state, inv, on)
    for f in state.failed_actions:
        problems.append(f"action en échec : {f.resource} {f.task} sur {f.node}")
    fo, fx = obs.nodes[on], obs.nodes[other]
    vi = parse_vip_interface(fo.ip_addr, inv.vip)
    cause = fix = ""
    if not vi.interface:
        problems.append(f"VIP {inv.vip} absente des interfaces de {on} (ip addr)")
    elif not vi.on_network:
        problems.append(f"VIP {inv.vip}/{vi.prefix} posée sur {vi.interface} de {on}, qui n'a aucune autre adresse de ce "
                        f"réseau ({', '.join(vi.neighbours) or 'aucune adresse'}) : mauvaise interface (nic=)")
        cause, fix = (f"le paramètre nic={vi.interface} de {inv.resources.ip}",
                      f"crm configure edit {inv.resources.ip} (nic= l'interface du réseau de la VIP)")
    if parse_vip_interface(fx.ip_addr, inv.vip).interface:
        problems.append(f"VIP {inv.vip} aussi présente sur {other}")
    if not fo.proftpd:
        problems.append(f"proftpd ne tourne pas sur {on} (ps)")
    if fx.proftpd:
        problems.append(f"proftpd tourne aussi sur {other}")
    if not fo.apache:
        problems.append(f"apache ne tourne pas sur {on} (ps)")
    if fx.apache:
        problems.append(f"apache tourne aussi sur {other}")
    if fo.home_source != inv.drbd.device:
        problems.append(f"{inv.drbd.mount_point} sur {on} monté depuis « {fo.home_source or 'rien'} » au lieu de {inv.drbd.device}")
    if obs.ftp_listing is None:
        problems.append(f"client FTP sur {inv.vip} : {obs.ftp_error}")
    elif node_named(obs.served_by, inv) not in (None, on):
        problems.append(f"le client FTP sur {inv.vip} est servi par {node_named(obs.served_by, inv)}")
    if any(f"n'est pas dans le groupe {inv.resources.group}" in p for p in problems) and not fix:
        cause, fix = f"{inv.resources.ftp} hors du groupe {inv.resources.group} (Q4)", f"crm configure edit {inv.resources.group}"
    if problems:
        return Result.ko(" ; ".join(problems), cause=cause, fix=fix)
    listing = ", ".join(obs.ftp_listing[:5]) or "vide"
    return Result.ok(f"Ressources activées sur {on} (ms-drbd0 promu, {inv.resources.fs} monté depuis {inv.drbd.device}, "
                     f"{' + '.join(m.id for m in state.instances(inv.resources.group))}) ; VIP et processus proftpd, apache "
                     f"sur {on} seulement ; client FTP connecté sur {inv.vip}"
                     f"{' (servi par ' + obs.served_by + ')' if obs.served_by else ''}, home : {listing}")


def home_accessible(obs: FileWrite, events: list[Event], inv: Inventory) -> Result:
    """« Home accessible »: the write as the user succeeded, on the DRBD file system."""
    if obs.on and obs.on != obs.node:
        return Result.ko(f"{obs.path} a été écrit sur {obs.node}, pas sur {obs.on} que la ligne désigne")
    if obs.sha256 is None:
        return Result.ko(f"écriture de {obs.path} impossible sur {obs.node} : {obs.error}",
                         fix=f"droits de {inv.documents_dir} (chown {inv.ftp.user})")
    if obs.home_source != inv.drbd.device:
        return Result.ko(f"{obs.path} écrit sur {obs.node} mais hors de DRBD (monté depuis « {obs.home_source or 'disque local'} »)",
                         fix=f"crm configure edit {inv.resources.fs} (device={inv.drbd.device})")
    return Result.ok(f"« Home » accessible sur {obs.node} : {obs.path} écrit ({inv.drbd.device}, sha256 {obs.sha256[:12]}…)")


def duplicated(obs: FileRead, events: list[Event], inv: Inventory) -> Result:
    """« essai1 a bien été dupliqué »: same SHA-256 on the other node, read on the DRBD mount."""
    if obs.on and obs.on != obs.node:
        return Result.ko(f"{obs.name} a été lu sur {obs.node}, pas sur {obs.on} que la ligne désigne")
    if obs.error:
        return Result.unknown(f"{obs.node} injoignable : {obs.error}")
    if obs.expected_sha256 is None:
        return Result.ko(f"{obs.name} n'a pas pu être écrit : rien à comparer")
    if obs.home_source != inv.drbd.device:
        return Result.ko(f"{inv.drbd.mount_point} sur {obs.node} monté depuis « {obs.home_source or 'rien'} », pas depuis {inv.drbd.device}")
    if obs.sha256 is None:
        return Result.ko(f"{obs.name} absent sur {obs.node}")
    if obs.sha256 != obs.expected_sha256:
        return Result.ko(f"{obs.name} présent sur {obs.node} mais sha256 différent ({obs.sha256[:12]}… au lieu de "
                         f"{obs.expected_sha256[:12]}…)")
    return Result.ok(f"{obs.name} présent sur {obs.node}, sha256 identique ({obs.sha256[:12]}…)")


def move_timing(obs: MoveSeen, events: list[Event], inv: Inventory) -> tuple[float | None, float | None]:
    """Seconds from the move's start to its end, and the client's downtime (None when unknown): the
    figures quoted for a move. Two sources say when the move was over, each no earlier than it was:
    the end of the first crm_mon reading that showed it done, and the destination's journal line for
    its last start on the critical path (Pacemaker writes it just after sending the result to the
    CIB). The end is the earlier of the two. crm_mon alone would be late by design: it is read every
    15 s at most while the client sees the service down (each reading cost the destination a third
    of its CPU during a move under emulation). Without a journal (Pacemaker 1.1, a node not read),
    crm_mon's reading is the end."""
    evs = [e for e in events if e.t >= obs.since]
    downtime = client_downtime(evs, obs.probe)[0] if obs.probe else None
    return move_end(*move_end_sources(obs, events, inv)), downtime


def move_end_sources(obs: MoveSeen, events: list[Event], inv: Inventory) -> tuple[float | None, float | None]:
    """(crm_mon's reading, the journal's last start) for a move, each None when it did not say."""
    seen = crm_mon_saw_move(obs, events, inv)
    return seen, (None if seen is None else journal_move_end(obs, inv))


def move_end(seen: float | None, end: float | None) -> float | None:
    """The move's end: crm_mon had to show it done; then the earlier of the two sources."""
    return None if seen is None else (seen if end is None else min(seen, end))


def crm_mon_saw_move(obs: MoveSeen, events: list[Event], inv: Inventory) -> float | None:
    """Seconds from the move's start to the end of the first crm_mon reading that shows it done."""
    evs = [e for e in events if e.t >= obs.since]
    first = first_observation(evs, obs.since, lambda e: e.op == "crm_mon" and e.outcome == OK
                              and not move_problems(e.value, inv, obs.to))
    return None if first is None else first.end - obs.since


def journal_operations(obs: MoveSeen) -> list[tuple[float, float | None, ClusterOperation]]:
    """Every node's journalled operations as (start, end, operation), in seconds from the move's
    start on the history's clock (each node's offset removed), from 2 s before the move on."""
    ops = []
    for j in obs.journals:
        if j.error:
            continue
        for op in parse_controld_journal(j.text):
            start = op.start - j.offset - j.t0 - obs.since
            end = None if op.end is None else op.end - j.offset - j.t0 - obs.since
            ops.append((start, end, op))
    return sorted((o for o in ops if o[0] >= -2.0), key=lambda o: o[0])


def critical_path_keys(obs: MoveSeen, inv: Inventory) -> tuple[set, set]:
    """The (node, task, resource) of a move's critical path: what stops on the node left, what
    starts on the destination."""
    src = next((n.name for n in inv.nodes if n.name != obs.to), None)
    r = inv.resources
    leaving = {(src, "stop", r.ftp), (src, "stop", r.web), (src, "stop", r.ip), (src, "stop", r.fs),
               (src, "demote", r.drbd)}
    arriving = {(obs.to, "promote", r.drbd), (obs.to, "start", r.fs), (obs.to, "start", r.ip),
                (obs.to, "start", r.web), (obs.to, "start", r.ftp)}
    return leaving, arriving


def journal_move_end(obs: MoveSeen, inv: Inventory) -> float | None:
    """When the destination finished the last operation of the critical path, from its journal;
    None unless every one of them is journalled with a successful end."""
    _, arriving = critical_path_keys(obs, inv)
    ends = {}
    for start, end, op in journal_operations(obs):
        key = (op.node, op.task, op.resource)
        if key in arriving and end is not None and start >= 0:
            ends[key] = (end, op.ok)
    if set(ends) != arriving or not all(ok for _, ok in ends.values()):
        return None
    return max(end for end, _ in ends.values())


def move_anatomy(obs: MoveSeen | CableTakeover, events: list[Event], inv: Inventory) -> tuple[str, ...]:
    """Where a move's seconds went, from each node's controller journal: its critical path (stop
    proftpd … umount, demote, promote, mount … start proftpd), the waits between those operations,
    the operations off the path, set beside the client's outage. Times are from the move's start."""
    if not obs.journals:
        return ()
    if isinstance(obs, CableTakeover):  # the same account, towards the node that must serve the VIP
        obs = MoveSeen(obs.since, obs.node, "câble débranché", obs.probe, journals=obs.journals)
    unread = [f"{j.node} ({j.error})" for j in obs.journals if j.error]
    ops = journal_operations(obs)
    uncertainty = max((j.uncertainty for j in obs.journals if not j.error), default=0.0)
    evs = [e for e in events if e.t >= obs.since]
    outage = ""
    windows = downtime_windows(evs, obs.probe) if obs.probe else []
    if windows:
        first, last = windows[0], windows[-1]
        outage = (f" ; client FTP privé de service de {rel(first.start - obs.since)} à "
                  f"{rel(last.end - obs.since) if last.end is not None else 'la fin de la mesure'}"
                  + (f" ({len(windows)} interruptions)" if len(windows) > 1 else ""))
    head = f"Anatomie de la bascule (journal de Pacemaker de chaque nœud, horloges recalées à ±{secs(uncertainty)})"
    if unread:
        head += " ; journal illisible sur " + ", ".join(unread)
    if not ops:
        return (f"{head} : aucune opération journalisée (Pacemaker antérieur à 2.0, ou journal absent){outage}",)
    leaving, arriving = critical_path_keys(obs, inv)
    on_path = leaving | arriving
    path = [o for o in ops if (o[2].node, o[2].task, o[2].resource) in on_path]
    if not path:
        return (f"{head} : aucune opération du chemin critique journalisée{outage}",)
    begin = min(o[0] for o in path)
    finish = max((o[1] for o in path if o[1] is not None), default=begin)
    busy = covered([(o[0], o[1]) for o in path if o[1] is not None])  # the group may start its VIP meanwhile
    off = [o for o in ops if o not in path and o[0] <= finish and (o[1] is None or o[1] >= begin)]
    kinds: dict[str, list[float]] = {}
    for o in off:
        kinds.setdefault(f"{o[2].task} {o[2].resource}", []).append(0.0 if o[1] is None else o[1] - o[0])
    off_text = ", ".join(f"{k}{' ×' + str(len(v)) if len(v) > 1 else ''} {secs(sum(v))}"
                         for k, v in sorted(kinds.items(), key=lambda kv: -sum(kv[1])))
    chain = " → ".join(f"{o[2].task} {o[2].resource} sur {o[2].node} {secs(o[1] - o[0]) if o[1] is not None else '(sans fin)'}"
                       f" ({rel(o[0])})" for o in path)
    missing = [f"{t} {res} sur {n}" for n, t, res in sorted(on_path, key=str)
               if n and not any((o[2].node, o[2].task, o[2].resource) == (n, t, res) for o in path)]
    lines = [f"{head} : chemin critique de {rel(begin)} à {rel(finish)} ({secs(finish - begin)}) : "
             f"{secs(busy)} occupées par ses {len(path)} opérations, {secs(max(0.0, finish - begin - busy))} d'attente entre elles"
             f"{outage}",
             f"Chemin critique : {chain}" + (f" ; non journalisées : {', '.join(missing)}" if missing else ""),
             f"Hors chemin pendant ce temps : {len(off)} opération(s), {secs(sum(sum(v) for v in kinds.values()))}"
             + (f" ({off_text})" if off_text else "")]
    return tuple(lines)


def covered(spans: list[tuple[float, float]]) -> float:
    """Seconds covered by at least one of the spans (overlapping operations count once)."""
    total, reach = 0.0, None
    for a, b in sorted(spans):
        if reach is None or a > reach:
            total += b - a
            reach = b
        elif b > reach:
            total += b - reach
            reach = b
    return total


def rel(t: float) -> str:
    """A time from the move's start: « +12,3 s »."""
    return ("+" if t >= 0 else "−") + secs(abs(t))


def moved(obs: MoveSeen, events: list[Event], inv: Inventory) -> Result:
    """Row « les ressources sont arrêtées sur A et activées sur B »: read off the history, the time
    from the fault to the first crm_mon that shows everything on B, and the client's downtime; under
    it, the move's anatomy (the cluster's own account of where the seconds went)."""
    result = _moved(obs, events, inv)
    return replace(result, details=result.details + move_anatomy(obs, events, inv))


def _moved(obs: MoveSeen, events: list[Event], inv: Inventory) -> Result:
    if obs.unreachable:
        return Result.unknown(f"cluster injoignable pendant la bascule : {obs.unreachable}")
    evs = [e for e in events if e.t >= obs.since]
    seen, end = move_end_sources(obs, events, inv)
    took = move_end(seen, end)
    downtime = client_downtime(evs, obs.probe)[0] if obs.probe else None
    down_text = client_downtime(evs, obs.probe)[1] if obs.probe else ""
    serving = served_by(evs, obs.probe) if obs.probe else []
    serving_text = " ; servi par " + " puis ".join(f"{n} (à {secs(t - obs.since)})" for t, n in serving) if serving else ""
    if took is None:
        last = next((e for e in reversed(evs) if e.source == OBSERVATION and e.op == "crm_mon" and e.outcome == OK), None)
        seen = last.value.get("summary") if last and isinstance(last.value, dict) else (obs.wait_error or "aucune observation")
        return Result.ko(f"Les ressources ne sont pas toutes activées sur {obs.to} : {seen}" + (f" ; {down_text}" if down_text else ""))
    text = f"Ressources activées sur {obs.to} en {secs(took)}"
    if end is not None and seen is not None and end < seen:
        text += f" (fin du dernier démarrage selon le journal de Pacemaker ; crm_mon l'a montré à {secs(seen)})"
    elif end is not None:
        text += f" (vu par crm_mon ; le journal de Pacemaker a écrit la fin du dernier démarrage à {secs(end)})"
    if not obs.probe:
        return Result.ok(text)
    text += f" ; {down_text}{serving_text}"
    if downtime is None:
        # crm_mon may say Started while the service does not answer (an LSB script that returns 0
        # although proftpd died): the user's verdict is the client's
        said = any(e.source == CLIENT and e.process == obs.probe for e in evs)
        return Result.ko(text if said else text + " ; mais le client FTP n'a pas retrouvé le service")
    answered, host = serving_at_end(evs, obs.probe)
    if answered and host is None:
        return Result.ok(text + " ; nœud qui sert le client non lisible après la bascule (/etc/hostname via FTP)")
    last = node_named(host, inv)
    if last is not None and last != obs.to:
        # crm_mon says the resources moved, yet the client is answered by the other node: an FTP
        # server outside the cluster's control, or a VIP that did not follow
        return Result.ko(text + f" ; mais le client FTP est toujours servi par {last}",
                         cause="un serveur FTP hors du contrôle du cluster, ou une VIP qui n'a pas suivi")
    return Result.ok(text)


def taken_over(obs: Takeover, events: list[Event], inv: Inventory) -> Result:
    """« le service FTP est repris par l'esclave avec ses données »: the move, then the witnesses."""
    result = moved(obs.move, events, inv)
    if result.verdict is not Verdict.OK:
        return result
    lost = [f"{w.path} {'illisible (' + w.error + ')' if w.error else 'différent'}"
            for w in obs.witnesses if w.error or w.found != w.expected]
    if lost:
        return Result.ko(result.observed + " ; mais " + ", ".join(lost), *result.details)
    return Result.ok(result.observed + f" ; {len(obs.witnesses)} fichier(s) témoin(s) relu(s) à l'identique", *result.details)


def ftp_test(obs: FtpTest, events: list[Event], inv: Inventory) -> Result:
    """« Tests à partir de Filezilla concluants »: upload, download, same checksum; the files of
    earlier tests of the scenario read back identical."""
    if obs.error:
        return Result.ko(f"client FTP sur {inv.vip} : {obs.error}")
    problems = []
    if obs.read_back != obs.sha256:
        problems.append(f"{obs.path} relu avec un sha256 différent")
    for w in obs.earlier:
        if w.found != w.expected:
            problems.append(f"{w.path}, écrit avant la bascule, relu différent")
    if problems:
        return Result.ko(" ; ".join(problems))
    who = f", servi par {obs.served_by}" if obs.served_by else ""
    kept = f" ; {len(obs.earlier)} fichier(s) écrit(s) avant la bascule relu(s) à l'identique" if obs.earlier else ""
    return Result.ok(f"Envoi puis téléchargement de {obs.path} ({obs.size // 1024} Ko) via {inv.vip}{who}, sha256 identique{kept}")


def witness_intact(obs: WitnessRead, events: list[Event], inv: Inventory) -> Result:
    if obs.error:
        return Result.ko(f"{obs.path} illisible via {inv.vip} : {obs.error}")
    if obs.found != obs.expected:
        return Result.ko(f"{obs.path} relu via {inv.vip} ({obs.size} octets) avec un sha256 différent : données perdues ou abîmées")
    return Result.ok(f"{obs.path} relu via {inv.vip}, sha256 identique ({obs.found[:12]}…)")


def service_restarted(obs: RestartSeen, events: list[Event], inv: Inventory) -> Result:
    """proftpd killed, restart allowed: Pacemaker restarts it on the same node (fail-count + 1) and
    the client is served again, by that node."""
    evs = [e for e in events if e.t >= obs.since]
    rid, node = obs.resource, obs.node
    down, down_text = client_downtime(evs, obs.probe)
    if obs.restarted and not any(e.source == CLIENT and e.process == obs.probe for e in evs):
        return Result.unknown(f"{rid} relancé sur {node} (fail-count {obs.fail_count_before} → {obs.fail_count_after}), "
                              "mais le client FTP n'a rien enregistré : service rendu ou non, impossible de le dire")
    if not obs.restarted:
        if obs.still_started_unseen:  # the monitor never ran or never failed: Pacemaker still believes it runs
            return Result.ko(f"Pacemaker n'a pas vu l'arrêt en {secs(obs.deadline)} : {rid} toujours « Started » sur {node}, "
                             f"fail-count {obs.fail_count_before} inchangé ; {down_text}",
                             cause=f"{rid} sans op monitor", fix=f"crm configure edit {rid} (op monitor interval=30s)")
        return Result.ko(f"{rid} n'a pas été redémarré sur {node} : {obs.wait_error} ; {down_text}")
    windows = downtime_windows(evs, obs.probe)
    if windows and windows[-1].end is None:
        return Result.ko(f"{rid} relancé par Pacemaker mais le FTP ne répond plus sur {inv.vip} ; {down_text}")
    answered, host = serving_at_end(evs, obs.probe)
    last = node_named(host, inv)
    if last is not None and last != node:
        return Result.ko(f"{rid} relancé sur {node} mais le client FTP est servi par {last}")
    back = (f" ; service de nouveau rendu {secs(windows[-1].end - obs.since)} après le kill" if windows
            else " (aucune interruption vue par le client)")
    return Result.ok(f"{rid} redémarré sur {node} par Pacemaker (fail-count {obs.fail_count_before} → {obs.fail_count_after}) ; "
                     f"{down_text}{back}")


# --- the extra cases: cable, split brain -------------------------------------------------------

def cable_taken_over(obs: CableTakeover, events: list[Event], inv: Inventory) -> Result:
    """After the master's cable is pulled, the slave serves the VIP: as the client sees it."""
    evs = [e for e in events if e.t >= obs.since]
    serving = served_by(evs, obs.probe)
    views = []
    for name, xml in obs.views.items():
        if xml is None:
            views.append(f"{name} injoignable")
            continue
        st = parse_crm_mon(xml)
        views.append(f"vu de {name} : {', '.join(st.online_nodes)} en ligne, ms-drbd0 promu sur "
                     f"{'+'.join(st.promoted_on(inv.resources.ms)) or 'aucun'}")
    answered, host = serving_at_end(evs, obs.probe)
    if node_named(host, inv) != obs.node:
        who = node_named(host, inv) or host or ("un nœud non identifié" if answered else "personne")
        return Result.ko(f"le FTP n'est pas servi par {obs.node} après la coupure (servi par {who}) ; " + " ; ".join(views))
    down, down_text = client_downtime(evs, obs.probe)
    t_switch = next((t for t, n in reversed(serving) if node_named(n, inv) == obs.node), obs.since) - obs.since
    return Result.ok(f"FTP servi par {obs.node} {secs(t_switch)} après la coupure ({down_text}) ; " + " ; ".join(views),
                     *move_anatomy(obs, events, inv))


def cable_outcome(obs: CableOutcome, events: list[Event], inv: Inventory) -> Result:
    """What happened when the cable came back: a DRBD split brain (both became primary), or not."""
    if not obs.reformed:
        return Result.ko("le cluster ne s'est pas reformé : les deux nœuds ne se voient plus après le rebranchement")
    if obs.unreachable:
        return Result.unknown(f"nœud injoignable : {obs.unreachable}")
    if obs.wait_error:
        return Result.unknown(f"DRBD ni connecté ni StandAlone : {obs.wait_error}")
    state_text = " ; ".join(f"DRBD {n} : {s.summary()}" for n, s in obs.drbd.items())
    if split_brain_seen(obs):
        where = ", ".join(n for n, l in obs.new_split_brain_lines.items() if l) or "aucun journal"
        line = next((l[0].split("]", 1)[-1].strip() for l in obs.new_split_brain_lines.values() if l),
                    "pas de ligne dans le journal")
        return Result.ok(f"Les deux nœuds se sont crus seuls et ont été primaires : split brain DRBD au rebranchement "
                         f"(« {line} » sur {where}) ; {state_text}. "
                         f"Sans STONITH c'est l'issue attendue : seul STONITH l'aurait évitée (document 3).")
    return Result.ok(f"Pas de split brain : DRBD s'est reconnecté ({state_text})")


def split_brain_seen(obs: CableOutcome) -> bool:
    return any(obs.new_split_brain_lines.values()) or any(s.connection == "StandAlone" for s in obs.drbd.values())


def split_brain_detected(obs: SplitBrainDetection, events: list[Event], inv: Inventory) -> Result:
    if not obs.detected:
        return Result.ko(f"split brain non détecté : {obs.wait_error}",
                         cause="DRBD règle seul le split brain (after-sb-*) ou la réplication n'a pas été coupée",
                         fix=f"retirer les after-sb-* de la section net de /etc/drbd.d/{inv.drbd.resource}.res")
    where = ", ".join(n for n, l in obs.new_lines.items() if l)
    first = next(l for l in obs.new_lines.values() if l)[0].split("]", 1)[-1].strip()
    return Result.ok(f"« {first} » sur {where} en {secs(obs.elapsed)} ; "
                     + " ; ".join(f"DRBD {n} : {s.summary()}" for n, s in obs.drbd.items()))


def split_brain_resolved(obs: SplitBrainResolution, events: list[Event], inv: Inventory) -> Result:
    problems = [f"DRBD {n} : {s.summary()}" for n, s in obs.drbd.items() if not s.healthy]
    if obs.master_took_back_error:
        problems.append(f"le maître n'a pas repris DRBD et /home : {obs.master_took_back_error}")
    kept, dropped = obs.kept, obs.dropped
    if kept.error or kept.sha256 is None or kept.sha256 != kept.expected_sha256:
        problems.append(f"{kept.name} (écrit sur le maître) absent ou différent")
    if dropped.error or dropped.sha256 is not None:
        problems.append(f"{dropped.name} (écrit sur l'esclave, écarté) est encore là")
    if problems:
        return Result.ko(" ; ".join(problems))
    return Result.ok(f"DRBD UpToDate/UpToDate sur les deux nœuds ; {kept.name} présent (sha256 identique), "
                     f"{dropped.name} disparu avec les données écartées de l'esclave")


# --- configuration: Q6/Q7 and conformance ------------------------------------------------------

SAVE_FILE = "/root/sauveha.conf"


def save_complete(obs: SaveSeen, events: list[Event], inv: Inventory) -> Result:
    if not obs.ok:
        return Result.ko(f"crm configure save a échoué : {obs.error}")
    r = inv.resources
    flat = f" {obs.saved_text} ".replace("\n", " ")
    missing = [rid for rid in (r.drbd, r.ms, r.fs, r.ftp, r.web, r.ip, r.group) if f" {rid} " not in flat]
    if missing:
        return Result.ko(f"{SAVE_FILE} ne contient pas : {', '.join(missing)}")
    kinds: dict[str, int] = {}
    for l in obs.saved_text.splitlines():
        if l and not l.startswith(("\t", " ")):
            kinds[l.split()[0]] = kinds.get(l.split()[0], 0) + 1
    return Result.ok(f"{SAVE_FILE} écrit : " + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())))


def restore_identical(obs: RestoreSeen, events: list[Event], inv: Inventory) -> Result:
    from bascule.judging.conformance import config_differences, configuration_xml
    if obs.still_there:
        return Result.ko(f"suppression sans effet pour {', '.join(obs.still_there)} : la restauration n'est pas éprouvée")
    if not obs.load_ok:
        return Result.ko(f"crm configure load update a échoué : {obs.load_error}")
    diffs = config_differences(configuration_xml(obs.before_xml), configuration_xml(obs.restored_xml))
    if diffs:
        return Result.ko("configuration restaurée différente : " + " ; ".join(diffs[:6]))
    if obs.clone_back_after is None:
        return Result.ko(f"configuration identique mais {obs.clone} ne redémarre pas : {obs.clone_wait_error}")
    return Result.ok(f"{', '.join(obs.deleted)} supprimés puis restaurés ; configuration identique à la sauvegarde "
                     f"(ressources, contraintes, attributs) ; {obs.clone} redémarré sur les deux nœuds en {secs(obs.clone_back_after)}")


def configuration_line(obs: ConfigurationLine, events: list[Event], inv: Inventory) -> Result:
    from bascule.judging.conformance import check_line, configuration_xml
    return check_line(obs.line, configuration_xml(obs.configuration_xml), inv)


# Every check by name: how a saved run names the check that judged each of its rows.
CHECKS: dict[str, Callable[..., Result]] = {f.__name__: f for f in (
    start_state, audit, resources_active, home_accessible, duplicated, moved, taken_over, ftp_test,
    witness_intact, service_restarted, cable_taken_over, cable_outcome, split_brain_detected,
    split_brain_resolved, save_complete, restore_identical, configuration_line)}

__all__ = ["Result", "Verdict", "guarded", "CHECKS", *CHECKS]
