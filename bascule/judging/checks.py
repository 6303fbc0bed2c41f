"""Every verdict of bascule: pure functions of typed observations and of the history.

A check takes one typed observation (bascule.record.observations), the slice of the history it needs and
the inventory, and returns a Result: OK, KO or « inconnu » (the suite could not decide), what was
observed in the lab's words (the « Résultats obtenus » column), structured details, and where it is
known, the likely cause with the lab's command that fixes it. Combined, KO beats inconnu beats OK;
a check that raises gives inconnu, never OK (Jepsen's checker rules). Nothing here runs a command:
so `bascule rejuger` can judge a saved run again, offline, and get the same table.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from bascule.facts.client_ops import served_by
from bascule.facts.client_view import client_downtime, secs, serving_at_end, window_figure, window_phases
from bascule.facts.configuration import SAVE_FILE, config_differences, configuration_changes, configuration_xml
from bascule.facts.diagnosis import diagnose, diagnose_ftp, ftp_summary
from bascule.facts.moves import MoveFacts, move_anatomy, move_facts
from bascule.facts.placement import departures, node_named, placement_problems, split_brain_seen
from bascule.facts.windows import downtime_windows
from bascule.inventory import Inventory
from bascule.judging.conformance import check_line
from bascule.judging.verdict import Figure, Result, Verdict, guarded
from bascule.record.cluster_state import parse_crm_mon, parse_vip_interface
from bascule.record.history import CLIENT, OBSERVATION, OK, Event
from bascule.record.observations import (
    Audit,
    CableOutcome,
    CableTakeover,
    ConfigurationLine,
    FileRead,
    FileWrite,
    FtpTest,
    MoveSeen,
    ResourcesSeen,
    RestartSeen,
    RestoreSeen,
    SaveSeen,
    SplitBrainDetection,
    SplitBrainResolution,
    StartState,
    Takeover,
    WitnessRead,
)


def diagnosed(result: Result, evidence, inv: Inventory, to: str | None) -> Result:
    """A KO with its probable cause and fix, derived from the evidence read on the cluster; a result
    judged from a history without evidence (older runs) stays as it was."""
    if evidence is None or result.verdict is not Verdict.KO:
        return result
    try:
        found = diagnose(evidence, inv, to)
    except Exception as exc:  # noqa: BLE001 - the KO stands; only its cause could not be derived
        return replace(result, cause=f"diagnostic impossible : {exc}")
    return replace(result, cause=found.cause, fix=found.fix)


def ftp_diagnosed(result: Result, side, inv: Inventory, client: str = "") -> Result:
    """A KO of the FTP account with the cause read on the node that serves, beside the client's own
    error; « cause non identifiée » with what was read when nothing there explains it; as it was for
    a history without evidence."""
    if side is None or result.verdict is not Verdict.KO:
        return result
    try:
        found = diagnose_ftp(side, inv, client)
    except Exception as exc:  # noqa: BLE001 - the KO stands; only its cause could not be derived
        return replace(result, cause=f"diagnostic impossible : {exc}")
    if found is None:
        return replace(result, cause=f"cause non identifiée (vu : {ftp_summary(side)})")
    return replace(result, cause=found.cause, fix=found.fix)


# --- the state found at the start --------------------------------------------------------------


def start_state(obs: StartState, events: list[Event], inv: Inventory) -> Result:
    """« État du cluster au départ »: the cluster as found, before any row. KO names each departure
    from the baseline in the lab's words; inconnu when the cluster could not be read."""
    found, unreadable = departures(obs.reading, inv)
    if unreadable:
        return Result.unknown(unreadable)
    ftp = obs.ftp
    if ftp is None:
        found.append(("FTP non essayé", ""))
    elif not ftp.logged_in:
        fix = (
            "corriger le mot de passe FTP de l'inventaire ([ftp] password_env)"
            if ftp.login_refused
            else f"crm status ; le FTP doit répondre sur {inv.vip}"
        )
        found.append((f"client FTP sur {inv.vip} : {ftp.error}", fix))
    elif not ftp.wrote:
        # a history from before evidence was read keeps the fix it was judged with
        found.append(
            (
                f"écriture FTP impossible dans {inv.ftp.documents} : {ftp.write_error}",
                "" if obs.ftp_side is not None else f"droits de {inv.documents_dir} (chown {inv.ftp.user})",
            )
        )
    ftp_failed = ftp is not None and (not ftp.logged_in or not ftp.wrote)
    ftp_cause = None
    if ftp_failed and obs.ftp_side is not None:
        try:
            ftp_cause = diagnose_ftp(obs.ftp_side, inv, ftp.error or ftp.write_error or "")
        except Exception:  # noqa: BLE001 - no cause derived: the row says what it saw
            ftp_cause = None
    if obs.reading.constraints_xml is None:
        if not found:
            return Result.unknown(
                "contraintes du cluster illisibles (cibadmin) : impossible de dire si des contraintes "
                "étrangères au lab empêchent les bascules"
            )
        found.append(("contraintes du cluster illisibles (cibadmin)", ""))
    if found:
        fixes = []
        for _, f in found:
            if f and f not in fixes:
                fixes.append(f)
        login_only = len(found) == 1 and ftp is not None and ftp.login_refused
        ftp_only = len(found) == 1 and ftp is not None and (not ftp.logged_in or not ftp.wrote)
        if ftp_only and ftp_cause is not None:  # read on the master: the FTP side's own cause
            cause, fixes = ftp_cause.cause, [ftp_cause.fix]
        elif ftp_only and not login_only and obs.ftp_side is not None:
            cause = f"cause non identifiée (vu : {ftp_summary(obs.ftp_side)})"
        else:
            # what produced the departure is not on the cluster: each finding says what it means where
            # the state itself tells (DRBD's states), and its fix; no guess about how it came to be
            cause = (
                "identifiants FTP de l'inventaire refusés"
                if login_only
                else "cause non identifiée : l'écart est lu tel quel sur le cluster, rien n'y dit ce qui l'a produit"
            )
        return Result.ko(
            "Cluster pas dans son état de référence : " + " ; ".join(p for p, _ in found),
            *[p for p, _ in found],
            cause=cause,
            fix=" ; ".join(fixes),
        )
    state = parse_crm_mon(obs.reading.crm_mon_xml)
    drbd = next(iter(obs.reading.drbd.values()), None)
    if drbd is None:
        return Result.unknown("DRBD non lu sur les nœuds")
    who = f", servi par {ftp.served_by}" if ftp and ftp.served_by else ""
    return Result.ok(
        f"Cluster dans son état de référence : {' et '.join(state.online_nodes)} en ligne, ms-drbd0 promu sur "
        f"{inv.preferred_master}, DRBD {drbd.summary() if drbd else '?'}, aucune action en échec, aucune contrainte "
        f"étrangère au lab ; FTP sur {inv.vip} : connexion et écriture dans {inv.ftp.documents} réussies{who}"
    )


def audit_config_changes(obs: Audit) -> list[str]:
    return configuration_changes(obs.config_before, obs.config_after) if obs.config_before and obs.config_after else []


def audit(obs: Audit, events: list[Event], inv: Inventory) -> Result:
    """After a scenario (CTS's audits): bascule undid its own faults; any other repair it had to
    make is a finding; an audit that could not run is inconnu."""
    if obs.error:
        return Result.unknown(f"audit impossible : {obs.error}")
    own = [r for r in obs.repairs if r.own]
    other = [r for r in obs.repairs if not r.own]
    own_text = (
        "bascule a défait ses propres pannes (" + " ; ".join(r.what for r in own) + ")" if own else "rien à défaire"
    )
    problems = []
    if other:
        problems.append(
            "réparé par bascule après le scénario : " + " ; ".join(f"{r.what} (vu : {r.why})" for r in other)
        )
    if obs.baseline_after:
        problems.append("le cluster n'est pas revenu à son état de référence : " + " ; ".join(obs.baseline_after))
    changed = audit_config_changes(obs)
    if changed:
        problems.append("configuration du cluster changée par le scénario et non rétablie : " + " ; ".join(changed))
    if problems:
        return Result.ko(
            " ; ".join(problems) + f" ; {own_text}",
            *[r.why for r in other],
            cause="le scénario a laissé le cluster hors de son état de référence",
        )
    return Result.ok(f"Cluster revenu à son état de référence en {secs(obs.waited)} sans autre réparation ; {own_text}")


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
        problems.append(
            f"VIP {inv.vip}/{vi.prefix} posée sur {vi.interface} de {on}, qui n'a aucune autre adresse de ce "
            f"réseau ({', '.join(vi.neighbours) or 'aucune adresse'}) : mauvaise interface (nic=)"
        )
        cause, fix = (
            f"le paramètre nic={vi.interface} de {inv.resources.ip}",
            f"crm configure edit {inv.resources.ip} (nic= l'interface du réseau de la VIP)",
        )
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
        problems.append(
            f"{inv.drbd.mount_point} sur {on} monté depuis « {fo.home_source or 'rien'} » au lieu de {inv.drbd.device}"
        )
        if fo.home_source and not fix:  # mounted, from elsewhere: what fs0 mounts, read on the node
            cause, fix = home_outside_drbd(inv)
    if obs.ftp_listing is None:
        problems.append(f"client FTP sur {inv.vip} : {obs.ftp_error}")
    elif node_named(obs.served_by, inv) not in (None, on):
        problems.append(f"le client FTP sur {inv.vip} est servi par {node_named(obs.served_by, inv)}")
    if any(f"n'est pas dans le groupe {inv.resources.group}" in p for p in problems) and not fix:
        cause, fix = (
            f"{inv.resources.ftp} hors du groupe {inv.resources.group} (Q4)",
            f"crm configure edit {inv.resources.group}",
        )
    if problems:
        return Result.ko(" ; ".join(problems), cause=cause, fix=fix)
    listing = ", ".join(obs.ftp_listing[:5]) or "vide"
    return Result.ok(
        f"Ressources activées sur {on} (ms-drbd0 promu, {inv.resources.fs} monté depuis {inv.drbd.device}, "
        f"{' + '.join(m.id for m in state.instances(inv.resources.group))}) ; VIP et processus proftpd, apache "
        f"sur {on} seulement ; client FTP connecté sur {inv.vip}"
        f"{' (servi par ' + obs.served_by + ')' if obs.served_by else ''}, home : {listing}"
    )


def home_outside_drbd(inv: Inventory) -> tuple[str, str]:
    """Cause and fix of a /home mounted, but not from DRBD (seen in findmnt on the node)."""
    return (
        f"{inv.resources.fs} ne monte pas {inv.drbd.device} sur {inv.drbd.mount_point}",
        f"crm configure edit {inv.resources.fs} (device={inv.drbd.device})",
    )


def home_accessible(obs: FileWrite, events: list[Event], inv: Inventory) -> Result:
    """« Home accessible »: the write as the user succeeded, on the DRBD file system."""
    if obs.on and obs.on != obs.node:
        return Result.ko(f"{obs.path} a été écrit sur {obs.node}, pas sur {obs.on} que la ligne désigne")
    if obs.sha256 is None:
        return ftp_diagnosed(
            Result.ko(f"écriture de {obs.path} impossible sur {obs.node} : {obs.error}"), obs.ftp_side, inv
        )
    if obs.home_source != inv.drbd.device:
        return Result.ko(
            f"{obs.path} écrit sur {obs.node} mais hors de DRBD (monté depuis « {obs.home_source or 'disque local'} »)",
            fix=home_outside_drbd(inv)[1],
        )
    return Result.ok(
        f"« Home » accessible sur {obs.node} : {obs.path} écrit ({inv.drbd.device}, sha256 {obs.sha256[:12]}…)"
    )


def duplicated(obs: FileRead, events: list[Event], inv: Inventory) -> Result:
    """« essai1 a bien été dupliqué »: same SHA-256 on the other node, read on the DRBD mount."""
    if obs.on and obs.on != obs.node:
        return Result.ko(f"{obs.name} a été lu sur {obs.node}, pas sur {obs.on} que la ligne désigne")
    if obs.error:
        return Result.unknown(f"{obs.node} injoignable : {obs.error}")
    if obs.expected_sha256 is None:
        return Result.ko(f"{obs.name} n'a pas pu être écrit : rien à comparer")
    if obs.home_source != inv.drbd.device:
        cause, fix = home_outside_drbd(inv) if obs.home_source else ("", "")
        return Result.ko(
            f"{inv.drbd.mount_point} sur {obs.node} monté depuis « {obs.home_source or 'rien'} », pas depuis "
            f"{inv.drbd.device}",
            cause=cause,
            fix=fix,
        )
    if obs.sha256 is None:
        return Result.ko(f"{obs.name} absent sur {obs.node}")
    if obs.sha256 != obs.expected_sha256:
        return Result.ko(
            f"{obs.name} présent sur {obs.node} mais sha256 différent ({obs.sha256[:12]}… au lieu de "
            f"{obs.expected_sha256[:12]}…)"
        )
    return Result.ok(f"{obs.name} présent sur {obs.node}, sha256 identique ({obs.sha256[:12]}…)")


def moved(obs: MoveSeen, events: list[Event], inv: Inventory) -> Result:
    """Row « les ressources sont arrêtées sur A et activées sur B »: read off the history, the time
    from the fault to the first crm_mon that shows everything on B, and the client's downtime; under
    it, the move's anatomy (the cluster's own account of where the seconds went). The figures are the
    move's facts, computed once and carried on the result."""
    move = move_facts(obs, events, inv)
    figures = tuple(
        Figure(name, value)
        for name, value in (
            (f"bascule vers {move.to} (s)", move.took),
            (f"indisponibilité FTP, {move.cause} (s)", move.downtime),
        )
        if value is not None
    )
    result = _moved_verdict(obs, move, inv)
    return replace(result, details=result.details + move.anatomy, figures=figures, move=move)


def _moved_verdict(obs: MoveSeen, move: MoveFacts, inv: Inventory) -> Result:
    """The verdict of a move from its facts."""
    if obs.unreachable:
        return Result.unknown(f"cluster injoignable pendant la bascule : {obs.unreachable}")
    seen, end, took, view = move.crm_mon_saw, move.journal_end, move.took, move.view
    evs = list(view.events)
    after = ""
    if view.after is not None:
        w, op = view.after, view.leaving
        after = (
            f" ; puis le cluster a commencé à retirer les ressources de {obs.to} ({op.task} {op.resource} à "
            f"{secs(view.leaving_at)}, journal de Pacemaker) : le client, servi pour la dernière fois à "
            f"{secs(w.start - obs.since)}, a de nouveau perdu le service "
            f"({window_figure(w) if w.end is not None else 'toujours à la fin de la mesure'} : "
            f"{window_phases(w)}), hors de cette ligne"
        )
    downtime, down_text = move.downtime, move.downtime_text
    serving_text = (
        " ; servi par " + " puis ".join(f"{n} (à {secs(t - obs.since)})" for t, n in move.served) if move.served else ""
    )
    if took is None:
        last = next(
            (e for e in reversed(evs) if e.source == OBSERVATION and e.op == "crm_mon" and e.outcome == OK), None
        )
        seen = (
            last.value.get("summary")
            if last and isinstance(last.value, dict)
            else (obs.wait_error or "aucune observation")
        )
        head = (
            f"Le cluster s'est stabilisé sans activer toutes les ressources sur {obs.to} ({obs.settled})"
            if obs.settled
            else f"Les ressources ne sont pas toutes activées sur {obs.to}"
        )
        return diagnosed(
            Result.ko(f"{head} : {seen}" + (f" ; {down_text}" if down_text else "")), obs.evidence, inv, obs.to
        )
    text = f"Ressources activées sur {obs.to} en {secs(took)}"
    if end is not None and seen is not None and end < seen:
        text += f" (fin du dernier démarrage selon le journal de Pacemaker ; crm_mon l'a montré à {secs(seen)})"
    elif end is not None:
        text += f" (vu par crm_mon ; le journal de Pacemaker a écrit la fin du dernier démarrage à {secs(end)})"
    if not obs.probe:
        return Result.ok(text)
    text += f" ; {down_text}{serving_text}{after}"
    if downtime is None:
        # crm_mon may say Started while the service does not answer (an LSB script that returns 0
        # although proftpd died): the user's verdict is the client's
        said = any(e.source == CLIENT and e.process == obs.probe for e in evs)
        if obs.settled:  # the cluster in place and idle, the client still without service: said first
            return diagnosed(
                Result.ko(f"Le client FTP n'a pas retrouvé le service : {obs.settled} ; {text}"),
                obs.evidence,
                inv,
                obs.to,
            )
        return Result.ko(text if said else text + " ; mais le client FTP n'a pas retrouvé le service")
    answered, host = serving_at_end(evs, obs.probe)
    if answered and host is None:
        return Result.ok(text + " ; nœud qui sert le client non lisible après la bascule (/etc/hostname via FTP)")
    last = node_named(host, inv)
    if last is not None and last != obs.to:
        # crm_mon says the resources moved, yet the client is answered by the other node: an FTP
        # server outside the cluster's control, or a VIP that did not follow
        return Result.ko(
            text + f" ; mais le client FTP est toujours servi par {last}",
            cause="un serveur FTP hors du contrôle du cluster, ou une VIP qui n'a pas suivi",
        )
    return Result.ok(text)


def taken_over(obs: Takeover, events: list[Event], inv: Inventory) -> Result:
    """« le service FTP est repris par l'esclave avec ses données »: the move, then the witnesses."""
    result = moved(obs.move, events, inv)
    if result.verdict is not Verdict.OK:
        return result
    lost = [
        f"{w.path} {'illisible (' + w.error + ')' if w.error else 'différent'}"
        for w in obs.witnesses
        if w.error or w.found != w.expected
    ]
    if lost:  # the move's figures stay on the result
        return replace(result, verdict=Verdict.KO, observed=result.observed + " ; mais " + ", ".join(lost))
    return replace(
        result, observed=result.observed + f" ; {len(obs.witnesses)} fichier(s) témoin(s) relu(s) à l'identique"
    )


def ftp_test(obs: FtpTest, events: list[Event], inv: Inventory) -> Result:
    """« Tests à partir de Filezilla concluants »: upload, download, same checksum; the files of
    earlier tests of the scenario read back identical."""
    if obs.error:
        return ftp_diagnosed(Result.ko(f"client FTP sur {inv.vip} : {obs.error}"), obs.ftp_side, inv, obs.error)
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
    return Result.ok(
        f"Envoi puis téléchargement de {obs.path} ({obs.size // 1024} Ko) via {inv.vip}{who}, sha256 identique{kept}"
    )


def witness_intact(obs: WitnessRead, events: list[Event], inv: Inventory) -> Result:
    if obs.error:
        return Result.ko(f"{obs.path} illisible via {inv.vip} : {obs.error}")
    if obs.found != obs.expected:
        return Result.ko(
            f"{obs.path} relu via {inv.vip} ({obs.size} octets) avec un sha256 différent : données perdues ou abîmées"
        )
    return Result.ok(f"{obs.path} relu via {inv.vip}, sha256 identique ({obs.found[:12]}…)")


def service_restarted(obs: RestartSeen, events: list[Event], inv: Inventory) -> Result:
    """proftpd killed, restart allowed: Pacemaker restarts it on the same node (fail-count + 1) and
    the client is served again, by that node. Once restarted, the client's downtime is the row's figure."""
    result = _restart_verdict(obs, events, inv)
    down, _ = client_downtime([e for e in events if e.t >= obs.since], obs.probe)
    if obs.restarted and down is not None:
        return replace(result, figures=(Figure("indisponibilité FTP après kill -9 (s)", down),))
    return result


def _restart_verdict(obs: RestartSeen, events: list[Event], inv: Inventory) -> Result:
    evs = [e for e in events if e.t >= obs.since]
    rid, node = obs.resource, obs.node
    down, down_text = client_downtime(evs, obs.probe)
    if obs.restarted and not any(e.source == CLIENT and e.process == obs.probe for e in evs):
        return Result.unknown(
            f"{rid} relancé sur {node} (fail-count {obs.fail_count_before} → {obs.fail_count_after}), "
            "mais le client FTP n'a rien enregistré : service rendu ou non, impossible de le dire"
        )
    if not obs.restarted:
        if obs.still_started_unseen:  # the monitor never ran or never failed: Pacemaker still believes it runs
            return Result.ko(
                f"Pacemaker n'a pas vu l'arrêt en {secs(obs.deadline)} : {rid} toujours « Started » sur {node}, "
                f"fail-count {obs.fail_count_before} inchangé ; {down_text}",
                cause=f"{rid} sans op monitor",
                fix=f"crm configure edit {rid} (op monitor interval=30s)",
            )
        if obs.settled:
            return diagnosed(
                Result.ko(
                    f"{rid} n'a pas été redémarré sur {node} : le cluster s'est stabilisé sans le "
                    f"relancer ({obs.settled}) : {obs.wait_error} ; {down_text}"
                ),
                obs.evidence,
                inv,
                node,
            )
        return diagnosed(
            Result.ko(f"{rid} n'a pas été redémarré sur {node} : {obs.wait_error} ; {down_text}"),
            obs.evidence,
            inv,
            node,
        )
    windows = downtime_windows(evs, obs.probe)
    if windows and windows[-1].end is None:
        settled = f" ({obs.settled})" if obs.settled else ""
        return Result.ko(f"{rid} relancé par Pacemaker mais le FTP ne répond plus sur {inv.vip}{settled} ; {down_text}")
    answered, host = serving_at_end(evs, obs.probe)
    last = node_named(host, inv)
    if last is not None and last != node:
        return Result.ko(f"{rid} relancé sur {node} mais le client FTP est servi par {last}")
    back = (
        f" ; service de nouveau rendu {secs(windows[-1].end - obs.since)} après le kill"
        if windows
        else " (aucune interruption vue par le client)"
    )
    return Result.ok(
        f"{rid} redémarré sur {node} par Pacemaker (fail-count {obs.fail_count_before} → {obs.fail_count_after}) ; "
        f"{down_text}{back}"
    )


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
        views.append(
            f"vu de {name} : {', '.join(st.online_nodes)} en ligne, ms-drbd0 promu sur "
            f"{'+'.join(st.promoted_on(inv.resources.ms)) or 'aucun'}"
        )
    answered, host = serving_at_end(evs, obs.probe)
    if node_named(host, inv) != obs.node:
        who = node_named(host, inv) or host or ("un nœud non identifié" if answered else "personne")
        return Result.ko(
            f"le FTP n'est pas servi par {obs.node} après la coupure (servi par {who}) ; " + " ; ".join(views)
        )
    down, down_text = client_downtime(evs, obs.probe)
    t_switch = next((t for t, n in reversed(serving) if node_named(n, inv) == obs.node), obs.since) - obs.since
    return Result.ok(
        f"FTP servi par {obs.node} {secs(t_switch)} après la coupure ({down_text}) ; " + " ; ".join(views),
        *move_anatomy(obs, events, inv),
    )


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
        where = ", ".join(n for n, ln in obs.new_split_brain_lines.items() if ln) or "aucun journal"
        line = next(
            (ln[0].split("]", 1)[-1].strip() for ln in obs.new_split_brain_lines.values() if ln),
            "pas de ligne dans le journal",
        )
        return Result.ok(
            f"Les deux nœuds se sont crus seuls et ont été primaires : split brain DRBD au rebranchement "
            f"(« {line} » sur {where}) ; {state_text}. "
            f"Sans STONITH c'est l'issue attendue : seul STONITH l'aurait évitée (document 3)."
        )
    return Result.ok(f"Pas de split brain : DRBD s'est reconnecté ({state_text})")


def split_brain_detected(obs: SplitBrainDetection, events: list[Event], inv: Inventory) -> Result:
    if not obs.detected:
        return Result.ko(
            f"split brain non détecté : {obs.wait_error}",
            cause="DRBD règle seul le split brain (after-sb-*) ou la réplication n'a pas été coupée",
            fix=f"retirer les after-sb-* de la section net de /etc/drbd.d/{inv.drbd.resource}.res",
        )
    where = ", ".join(n for n, ln in obs.new_lines.items() if ln)
    first = next(ln for ln in obs.new_lines.values() if ln)[0].split("]", 1)[-1].strip()
    return Result.ok(
        f"« {first} » sur {where} en {secs(obs.elapsed)} ; "
        + " ; ".join(f"DRBD {n} : {s.summary()}" for n, s in obs.drbd.items())
    )


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
    return Result.ok(
        f"DRBD UpToDate/UpToDate sur les deux nœuds ; {kept.name} présent (sha256 identique), "
        f"{dropped.name} disparu avec les données écartées de l'esclave"
    )


# --- configuration: Q6/Q7 and conformance ------------------------------------------------------


def save_complete(obs: SaveSeen, events: list[Event], inv: Inventory) -> Result:
    if not obs.ok:
        return Result.ko(f"crm configure save a échoué : {obs.error}")
    r = inv.resources
    flat = f" {obs.saved_text} ".replace("\n", " ")
    missing = [rid for rid in (r.drbd, r.ms, r.fs, r.ftp, r.web, r.ip, r.group) if f" {rid} " not in flat]
    if missing:
        return Result.ko(f"{SAVE_FILE} ne contient pas : {', '.join(missing)}")
    kinds: dict[str, int] = {}
    for ln in obs.saved_text.splitlines():
        if ln and not ln.startswith(("\t", " ")):
            kinds[ln.split()[0]] = kinds.get(ln.split()[0], 0) + 1
    return Result.ok(f"{SAVE_FILE} écrit : " + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())))


def restore_identical(obs: RestoreSeen, events: list[Event], inv: Inventory) -> Result:
    if obs.still_there:
        return Result.ko(
            f"suppression sans effet pour {', '.join(obs.still_there)} : la restauration n'est pas éprouvée"
        )
    if not obs.load_ok:
        return Result.ko(f"crm configure load update a échoué : {obs.load_error}")
    diffs = config_differences(configuration_xml(obs.before_xml), configuration_xml(obs.restored_xml))
    if diffs:
        return Result.ko("configuration restaurée différente : " + " ; ".join(diffs[:6]))
    if obs.clone_back_after is None:
        return Result.ko(f"configuration identique mais {obs.clone} ne redémarre pas : {obs.clone_wait_error}")
    return Result.ok(
        f"{', '.join(obs.deleted)} supprimés puis restaurés ; configuration identique à la sauvegarde "
        f"(ressources, contraintes, attributs) ; {obs.clone} redémarré sur les deux nœuds en "
        f"{secs(obs.clone_back_after)}"
    )


def configuration_line(obs: ConfigurationLine, events: list[Event], inv: Inventory) -> Result:
    return check_line(obs.line, configuration_xml(obs.configuration_xml), inv)


# Every check by name: how a saved run names the check that judged each of its rows.
CHECKS: dict[str, Callable[..., Result]] = {
    f.__name__: f
    for f in (
        start_state,
        audit,
        resources_active,
        home_accessible,
        duplicated,
        moved,
        taken_over,
        ftp_test,
        witness_intact,
        service_restarted,
        cable_taken_over,
        cable_outcome,
        split_brain_detected,
        split_brain_resolved,
        save_complete,
        restore_identical,
        configuration_line,
    )
}

__all__ = ["Result", "Verdict", "guarded", "CHECKS", *CHECKS]
