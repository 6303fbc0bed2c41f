"""Verdicts: pure functions of the cluster's state and of the history.

A verdict is OK, KO or « inconnu » (the suite could not decide: a node lost mid-step). Combined,
KO beats inconnu beats OK; a check that raises gives inconnu, never OK (Jepsen's checker rules).
Each verdict carries what was observed, in the lab's words, for the « Résultats obtenus » column.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable, Iterable

from .cluster_state import ClusterState, DrbdStatus
from .history import Event, downtime_windows, total_downtime
from .inventory import Inventory


class Verdict(enum.Enum):
    OK = "OK"
    KO = "KO"
    INCONNU = "inconnu"

    @staticmethod
    def combine(verdicts: Iterable["Verdict"]) -> "Verdict":
        vs = list(verdicts)
        if Verdict.KO in vs:
            return Verdict.KO
        if Verdict.INCONNU in vs or not vs:
            return Verdict.INCONNU
        return Verdict.OK


@dataclass(frozen=True)
class Result:
    verdict: Verdict
    observed: str  # « Résultats obtenus »
    details: tuple[str, ...] = ()

    @staticmethod
    def ok(observed: str, *details: str) -> "Result":
        return Result(Verdict.OK, observed, details)

    @staticmethod
    def ko(observed: str, *details: str) -> "Result":
        return Result(Verdict.KO, observed, details)

    @staticmethod
    def unknown(observed: str, *details: str) -> "Result":
        return Result(Verdict.INCONNU, observed, details)

    @staticmethod
    def of(problems: list[str], ok_text: str) -> "Result":
        return Result.ok(ok_text) if not problems else Result.ko(" ; ".join(problems))


def guarded(check: Callable[..., Result], *args, **kwargs) -> Result:
    """Run a check; an exception inside it is « inconnu » with the reason, never OK."""
    try:
        return check(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any failure to judge is an unknown verdict
        return Result.unknown(f"impossible de conclure : {exc}")


def secs(x: float | None) -> str:
    """12.3 → « 12,3 s » (the lab is in French)."""
    return "—" if x is None else f"{x:.1f}".replace(".", ",") + " s"


# --- placement ---------------------------------------------------------------------------------

def placement_problems(state: ClusterState, inv: Inventory, on: str, membership: bool = True) -> list[str]:
    """What keeps the lab's resources from all being active on node `on` (master role).
    With membership, serviceFTP, serviceWeb and IPFailover must also be members of the group."""
    r = inv.resources
    problems = []
    promoted = state.promoted_on(r.ms)
    if promoted != (on,):
        problems.append(f"DRBD primaire (ms-drbd0 promu) sur {', '.join(promoted) or 'aucun nœud'} au lieu de {on}")
    for rid in (r.fs,):
        where = state.where(rid)
        if where != (on,):
            problems.append(f"{rid} actif sur {', '.join(where) or 'aucun nœud'} au lieu de {on}")
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


# --- from the history --------------------------------------------------------------------------

def client_downtime(events: Iterable[Event], process: str | None = None) -> tuple[float | None, str]:
    """The client's total downtime and a sentence for the report."""
    evs = list(events)
    windows = downtime_windows(evs, process)
    total = total_downtime(evs, process)
    ops = [e for e in evs if e.source == "client" and (process is None or e.process == process)]
    if not ops:
        return None, "aucune opération FTP enregistrée"
    if not windows:
        return 0.0, f"FTP disponible sans interruption ({len(ops)} opérations)"
    if total is None:
        return None, f"FTP toujours indisponible à la fin de la mesure ({windows[-1].failed + windows[-1].unknown} échecs)"
    return total, f"FTP indisponible {secs(total)}"


# --- the lab's rows ----------------------------------------------------------------------------

def resources_active(state: ClusterState, facts: dict, ftp_home: list[str] | Exception, inv: Inventory,
                     on: str, ftp_server: str | None = None) -> Result:
    """« Vérifier que les ressources sont bien activées (crm status, ifconfig, ps, Filezilla) »."""
    other = next(n.name for n in inv.nodes if n.name != on)
    problems = placement_problems(state, inv, on)
    for f in state.failed_actions:
        problems.append(f"action en échec : {f.resource} {f.task} sur {f.node}")
    fo, fx = facts[on], facts[other]
    if not fo.has_vip:
        problems.append(f"VIP {inv.vip} absente des interfaces de {on} (ip addr)")
    elif fo.vip_interface is not None and not fo.vip_interface.on_network:
        vi = fo.vip_interface
        problems.append(f"VIP {inv.vip}/{vi.prefix} posée sur {vi.interface} de {on}, qui n'a aucune autre adresse de ce "
                        f"réseau ({', '.join(vi.neighbours) or 'aucune adresse'}) : mauvaise interface (nic=)")
    if fx.has_vip:
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
    if isinstance(ftp_home, Exception):
        problems.append(f"client FTP sur {inv.vip} : {getattr(ftp_home, 'what', ftp_home)}")
    elif ftp_server is not None and node_named(ftp_server, inv) not in (None, on):
        problems.append(f"le client FTP sur {inv.vip} est servi par {node_named(ftp_server, inv)}")
    if problems:
        return Result.ko(" ; ".join(problems))
    listing = ", ".join(ftp_home[:5]) or "vide"
    return Result.ok(f"Ressources activées sur {on} (ms-drbd0 promu, {inv.resources.fs} monté depuis {inv.drbd.device}, "
                     f"{' + '.join(m.id for m in state.instances(inv.resources.group))}) ; VIP et processus proftpd, apache "
                     f"sur {on} seulement ; client FTP connecté sur {inv.vip}"
                     f"{' (servi par ' + ftp_server + ')' if ftp_server else ''}, home : {listing}")


def placement_in(value: dict, inv: Inventory, on: str) -> bool:
    """Does a crm_mon observation (its recorded value) show every resource on `on`?"""
    if not isinstance(value, dict):
        return False
    group = value.get("group") or {}
    return (value.get("promoted") == [on] and value.get("fs") == [on] and bool(group)
            and all(nodes == [on] for nodes in group.values()))


def moved(events: list[Event], since: float, inv: Inventory, to: str, probe: str | None,
          wait_error: str | None = None) -> tuple[Result, float | None, float | None]:
    """Row « les ressources sont arrêtées sur A et activées sur B »: read off the history, the time
    from the fault to the first crm_mon that shows everything on B, and the client's downtime."""
    from .history import first_observation, served_by
    evs = [e for e in events if e.t >= since]
    first = first_observation(evs, since, lambda e: e.op == "crm_mon" and e.outcome == "ok" and placement_in(e.value, inv, to))
    took = None if first is None else first.end - since
    downtime, down_text = client_downtime(evs, probe) if probe else (None, "")
    serving = served_by(evs, probe) if probe else []
    serving_text = " ; servi par " + " puis ".join(f"{n} (à {secs(t - since)})" for t, n in serving) if serving else ""
    if first is None:
        last = next((e for e in reversed(evs) if e.source == "observation" and e.op == "crm_mon" and e.outcome == "ok"), None)
        seen = last.value.get("summary") if last and isinstance(last.value, dict) else (wait_error or "aucune observation")
        return Result.ko(f"Les ressources ne sont pas toutes activées sur {to} : {seen}" + (f" ; {down_text}" if down_text else "")), None, downtime
    text = f"Ressources activées sur {to} en {secs(took)}"
    if probe:
        text += f" ; {down_text}{serving_text}"
    if probe and downtime is None:
        # crm_mon may say Started while the service does not answer (an LSB script that returns 0
        # although proftpd died): the user's verdict is the client's
        # with client operations on record, down_text already says « toujours indisponible »
        said = any(e.source == "client" and e.process == probe for e in evs)
        return Result.ko(text if said else text + " ; mais le client FTP n'a pas retrouvé le service"), took, downtime
    last = node_named(serving[-1][1], inv) if serving else None
    if last is not None and last != to:
        # crm_mon says the resources moved, yet the client is answered by the other node: an FTP
        # server outside the cluster's control, or a VIP that did not follow
        return Result.ko(text + f" ; mais le client FTP est toujours servi par {last}"), took, downtime
    return Result.ok(text), took, downtime


def node_named(hostname: str, inv: Inventory) -> str | None:
    """The inventory's node whose name matches a served-by hostname (short names, any case);
    None when it names none of them (then nothing can be judged from it)."""
    short = hostname.strip().split(".")[0].lower()
    return next((n.name for n in inv.nodes if n.name.split(".")[0].lower() == short), None)


def duplicated(name: str, expected: str | None, found: str | None, home_source: str, inv: Inventory, node: str) -> Result:
    """« essai1 a bien été dupliqué »: same SHA-256 on the other node, read on the DRBD mount."""
    if expected is None:
        return Result.ko(f"{name} n'a pas pu être écrit : rien à comparer")
    if home_source != inv.drbd.device:
        return Result.ko(f"{inv.drbd.mount_point} sur {node} monté depuis « {home_source or 'rien'} », pas depuis {inv.drbd.device}")
    if found is None:
        return Result.ko(f"{name} absent sur {node}")
    if found != expected:
        return Result.ko(f"{name} présent sur {node} mais sha256 différent ({found[:12]}… au lieu de {expected[:12]}…)")
    return Result.ok(f"{name} présent sur {node}, sha256 identique ({found[:12]}…)")


def home_accessible(write, inv: Inventory) -> Result:
    """« Home accessible »: the write as the user succeeded, on the DRBD file system."""
    if write.sha256 is None:
        return Result.ko(f"écriture de {write.path} impossible sur {write.node} : {write.error}")
    if write.home_source != inv.drbd.device:
        return Result.ko(f"{write.path} écrit sur {write.node} mais hors de DRBD (monté depuis « {write.home_source or 'disque local'} »)")
    return Result.ok(f"« Home » accessible sur {write.node} : {write.path} écrit ({inv.drbd.device}, sha256 {write.sha256[:12]}…)")
