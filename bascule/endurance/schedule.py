"""A seeded random schedule of the lab's faults: the same seed and the same set of kinds give the
same faults, in the same order, with the same pauses, targets and cable lengths, on any cluster
(what each fault targets is a role, the serving node or its peer, not a name), whatever order the
kinds were typed in."""

from __future__ import annotations

import random
import re
import shlex
from dataclasses import dataclass

# the lab's faults (the remark after Q5, and document 3's cut cable), by the name the user types
KINDS: dict[str, str] = {
    "standby": "un nœud en standby puis online",
    "kill": "kill -9 de proftpd (Pacemaker le redémarre)",
    "kill-empeche": "kill -9 de proftpd, redémarrage empêché (le groupe bascule), puis crm resource cleanup",
    "redemarrage": "redémarrage propre d'un nœud",
    "courant": "coupure de courant d'un nœud",
    "cable": "câble d'un nœud débranché puis rebranché (split brain possible, résolu comme le document 3)",
}
# proftpd runs on the serving node only: a kill on its peer would test nothing
MASTER_ONLY = ("kill", "kill-empeche")
MASTER, PEER = "maître", "esclave"
PAUSE = (15, 45)  # seconds of quiet between the cluster's return to its baseline and the next fault
CABLE = (30, 120)  # seconds the cable stays out: corosync's token is seconds, a resync after minutes grows
OVERLAP = 0.5  # in the compound mode, the share of faults injected while the previous one is still healing


@dataclass(frozen=True)
class Planned:
    index: int  # 1, 2, …
    kind: str  # a key of KINDS
    pause: int  # seconds of uploads on a quiet cluster before it
    target: str = MASTER  # MASTER (the node that serves) or PEER
    cable_s: int = 60  # for a cable: how long it stays out
    # in the compound mode: injected as soon as the previous fault is healed, while the cluster is
    # still recovering from it (a failback, a resync), instead of after its return to the baseline
    overlaps: bool = False


def parse_kinds(text: str | None) -> tuple[str, ...]:
    """--pannes standby,kill,… → the kinds, checked; None or "" → every kind."""
    if not text:
        return tuple(KINDS)
    kinds = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        named = ", ".join(unknown) or repr(text)
        raise ValueError(f"panne inconnue : {named} (connues : {', '.join(KINDS)})")
    return kinds


def schedule(seed: int, kinds: tuple[str, ...], count: int = 500, pause: tuple[int, int] = PAUSE) -> list[Planned]:
    """The first `count` faults of the schedule for this seed; the run takes them in order until its
    time is up. Every draw is made for every fault, whatever its kind, so that one seed and one set
    of kinds always give one schedule."""
    rng = random.Random(seed)
    ordered = tuple(k for k in KINDS if k in set(kinds))  # the set, in KINDS' order: typing order does not count
    plan = []
    for i in range(count):
        kind, wait = rng.choice(ordered), rng.randint(*pause)
        on_peer, cable_s, overlaps = rng.random() < 0.5, rng.randint(*CABLE), rng.random() < OVERLAP
        # a chain is two faults at most: the one after an overlapping fault waits for the baseline
        follows_overlap = bool(plan) and plan[-1].overlaps
        plan.append(
            Planned(
                i + 1,
                kind,
                wait,
                PEER if on_peer and kind not in MASTER_ONLY else MASTER,
                cable_s if kind == "cable" else 60,
                overlaps and i > 0 and not follows_overlap,
            )
        )
    return plan


def duration_words(seconds: float) -> str:
    """Seconds as --duree reads them back: 1800 → « 30m », 5400 → « 1h30m », 95 → « 1m35s »."""
    s = int(round(seconds))
    h, m, s = s // 3600, s % 3600 // 60, s % 60
    return "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (s, "s")) if v) or "0s"


def replay_command(
    seed: int, kinds: tuple[str, ...], duration_s: float, compound: bool, inventory: str | None, version: str
) -> str:
    """The command that replays this night's schedule exactly, and the release of bascule that drew it."""
    words = (
        ["bascule", "endurance"]
        + (["--inventaire", inventory] if inventory else [])
        + [
            "--duree",
            duration_words(duration_s),
            "--graine",
            str(seed),
            "--pannes",
            ",".join(k for k in KINDS if k in set(kinds)),
        ]
        + (["--composees"] if compound else [])
    )
    return " ".join(shlex.quote(w) for w in words) + f"   (bascule {version})"


def parse_duration(text: str) -> float:
    """« 1h », « 30m », « 90s », « 1h30m », « 45 » (minutes) → seconds."""
    t = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t) * 60
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m(?:in)?)?(?:(\d+)s)?", t)
    if not t or parts is None or not any(parts.groups()):
        raise ValueError(f"durée illisible : {text!r} (par exemple 1h, 30m, 1h30m, 90s)")
    h, m, s = (int(g) if g else 0 for g in parts.groups())
    return float(h * 3600 + m * 60 + s)
