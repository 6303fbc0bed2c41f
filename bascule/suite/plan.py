"""What a run is going to do to the cluster, said before the first fault.

A teacher points bascule at a cluster of the class: it must know, before anything happens, that the
master will be rebooted, its power cut, its cable pulled, one node's data discarded by a split brain,
the configuration deleted then restored. The lines follow the scenarios selected (-k, -m), in the
order they run.
"""

from __future__ import annotations

from dataclasses import dataclass

# a feature's tag → what its scenarios do to the cluster (the order the features run in)
ACTIONS: tuple[tuple[str, str], ...] = (
    (
        "q2",
        "Q2 : met le maître en standby puis de nouveau online ; écrit essai1 et essai2 dans les Documents "
        "du compte FTP",
    ),
    ("q5", "Q5 : met le maître en standby puis online ; envoie et relit des fichiers par FTP sur la VIP"),
    ("conformite", "conformité : lit la configuration (crm configure show), ne change rien"),
    (
        "sauvegarde",
        "Q6/Q7 : crm configure save /root/sauveha.conf, supprime des ressources et des contraintes, "
        "puis les restaure (crm configure load update)",
    ),
    (
        "arret_service",
        "arrêt d'un service : kill -9 de proftpd sur le maître, puis son redémarrage empêché "
        "(chmod a-x /usr/sbin/proftpd, rendu ensuite) et crm resource cleanup",
    ),
    (
        "redemarrage",
        "redémarrage du maître (reboot), puis coupure de son courant si l'inventaire donne "
        "power_off/power_on (sinon ce cas est sauté)",
    ),
    (
        "cable",
        "débranche le câble du maître (ip link set … down sur son interface de cluster) puis le rebranche ; "
        "un split brain éventuel est résolu comme le document 3 (les données d'un nœud sont écartées)",
    ),
    (
        "splitbrain",
        "document 3 : coupe la réplication DRBD, rend les deux nœuds primaires avec des fichiers "
        "différents, puis écarte les données de l'esclave (drbdadm --discard-my-data)",
    ),
)

# the feature files whose scenarios carry no tag of their own in ACTIONS
FEATURE_KEYS = {"05_arret_service": "arret_service", "06_redemarrage_maitre": "redemarrage", "07_cable_reseau": "cable"}


@dataclass(frozen=True)
class Plan:
    cluster: str  # who will be tested (the inventory's nodes and VIP)
    keys: frozenset[str]  # which of ACTIONS the selected scenarios do
    read_only: bool = False

    def lines(self) -> list[str]:
        if self.read_only:
            return [
                f"bascule: lecture seule sur {self.cluster} : rien n'y sera changé (ni panne, ni sonde, ni "
                "remise en état) ; seul un petit fichier est écrit puis effacé dans les Documents du compte FTP"
            ]
        doing = [what for key, what in ACTIONS if key in self.keys]
        if not doing:
            return []
        head = f"bascule: voici ce que cette série va faire au cluster {self.cluster} :"
        probe = (
            "pendant chaque scénario, une sonde FTP se connecte à la VIP toutes les 0,25 s et y écrit et relit "
            "de petits fichiers (Documents/bascule-sonde/)"
        )
        tail = (
            "après chaque scénario, bascule défait ses propres pannes et vérifie que le cluster est revenu à "
            "son état de référence ; il ne répare rien d'autre sans le dire (--bascule-remettre-en-etat). "
            "Ctrl-C arrête proprement (les pannes en cours sont défaites)."
        )
        return [head] + [f"  - {what}" for what in doing] + [f"  {probe} ;", f"  {tail}"]


def keys_of(item_keywords: list[set[str]]) -> frozenset[str]:
    """The ACTIONS keys for the selected items, each given as its keywords (tags and file names)."""
    found: set[str] = set()
    known = {key for key, _ in ACTIONS}
    for words in item_keywords:
        found |= words & known
        for stem, key in FEATURE_KEYS.items():
            if any(stem in w for w in words):
                found.add(key)
    return frozenset(found)
