"""A seeded random schedule of the lab's faults: the same seed gives the same faults, in the same
order, with the same pauses, on any cluster (what each fault targets is a role, the serving node,
not a name)."""
from __future__ import annotations

import random
from dataclasses import dataclass

# the lab's faults (the remark after Q5, and document 3's cut cable), by the name the user types
KINDS: dict[str, str] = {
    "standby": "maître en standby puis online",
    "kill": "kill -9 de proftpd (Pacemaker le redémarre)",
    "kill-empeche": "kill -9 de proftpd, redémarrage empêché (le groupe bascule), puis crm resource cleanup",
    "redemarrage": "redémarrage propre du maître",
    "courant": "coupure de courant du maître",
    "cable": "câble du maître débranché puis rebranché (split brain possible, résolu comme le document 3)",
}
PAUSE = (15, 45)  # seconds of quiet between the cluster's return to its baseline and the next fault


@dataclass(frozen=True)
class Planned:
    index: int  # 1, 2, …
    kind: str  # a key of KINDS
    pause: int  # seconds of uploads on a quiet cluster before it


def parse_kinds(text: str | None) -> tuple[str, ...]:
    """--pannes standby,kill,… → the kinds, checked; None or "" → every kind."""
    if not text:
        return tuple(KINDS)
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        named = ", ".join(unknown) or repr(text)
        raise ValueError(f"panne inconnue : {named} (connues : {', '.join(KINDS)})")
    return kinds


def schedule(seed: int, kinds: tuple[str, ...], count: int = 500, pause: tuple[int, int] = PAUSE) -> list[Planned]:
    """The first `count` faults of the schedule for this seed; the run takes them in order until its
    time is up."""
    rng = random.Random(seed)
    return [Planned(i + 1, rng.choice(kinds), rng.randint(*pause)) for i in range(count)]


def parse_duration(text: str) -> float:
    """« 1h », « 30m », « 90s », « 1h30m », « 45 » (minutes) → seconds."""
    import re
    t = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t) * 60
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m(?:in)?)?(?:(\d+)s)?", t)
    if not t or parts is None or not any(parts.groups()):
        raise ValueError(f"durée illisible : {text!r} (par exemple 1h, 30m, 1h30m, 90s)")
    h, m, s = (int(g) if g else 0 for g in parts.groups())
    return float(h * 3600 + m * 60 + s)
