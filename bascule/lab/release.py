"""The Debian releases the embedded lab can be built on, as data: the box's suite, what the archive
ships, and the changes the lab's crm commands need there.

A release is chosen with `bascule lab up --debian N` (or pytest's `--debian N`). Adding one means
adding an entry here; the box recipe (infra/box) and the lab's commands (infra/provision/lab.crm)
are shared, and a release only says where it differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from bascule.errors import LabError


@dataclass(frozen=True)
class CrmAdaptation:
    """One line of lab.crm that this release's crmsh does not accept as the lab writes it."""

    lab_line: str  # how the line starts in lab.crm (its command and id)
    replacement: str  # the whole line a student types on this release instead
    why: str  # said as a comment above the replacement, in lab.crm's style


@dataclass(frozen=True)
class Release:
    name: str  # "12": what the user types after --debian
    codename: str  # the Debian suite debootstrap installs
    pacemaker: str  # what its archive ships (said by `bascule lab up` and in the README)
    crmsh: str
    crm_adaptations: tuple[CrmAdaptation, ...] = ()

    @property
    def label(self) -> str:
        return f"Debian {self.name} ({self.codename} : Pacemaker {self.pacemaker}, crmsh {self.crmsh})"


DEBIAN_12 = Release("12", "bookworm", "2.1.5", "4.4.1")
DEBIAN_13 = Release(
    "13",
    "trixie",
    "3.0.0",
    "5.0.0~rc1",
    crm_adaptations=(
        CrmAdaptation(
            lab_line="ms ms-drbd0 ",
            replacement=(
                "clone ms-drbd0 drbd0 meta promotable=true clone-max=2 clone-node-max=1 promoted-max=1 "
                "promoted-node-max=1 globally-unique=false notify=true"
            ),
            why=(
                "crmsh 5 has no `ms` command any more (« No such command »): the lab's multi-state resource is "
                "a promotable clone, with the same meta-attributes under their Pacemaker 2+ names "
                "(promoted-max for master-max). Conformance reads it as the lab's ms."
            ),
        ),
    ),
)
RELEASES = {r.name: r for r in (DEBIAN_12, DEBIAN_13)}
# Debian 12 stays the default: every whole run and CI's whole suite were made on it.
DEFAULT = DEBIAN_12


def release(name: str | None) -> Release:
    """The release named by --debian; None is the default."""
    if name is None:
        return DEFAULT
    key = str(name).strip().removeprefix("debian").removeprefix("Debian").strip()
    if key not in RELEASES:
        raise LabError(
            f"--debian {name} : le lab embarqué connaît Debian {' et '.join(sorted(RELEASES))}",
            f"choisir l'une d'elles, par exemple --debian {DEFAULT.name}",
        )
    return RELEASES[key]


def lab_commands(template: str, rel: Release, vip: str, master: str) -> str:
    """lab.crm as this release enters it: each adapted line replaced, with its reason above it as a
    comment, then the lab's VIP and master filled in. An adaptation whose line is no longer in
    lab.crm is an error: the release's data and the lab's commands have drifted apart."""
    lines = template.splitlines()
    for adaptation in rel.crm_adaptations:
        at = [i for i, line in enumerate(lines) if line.startswith(adaptation.lab_line)]
        if len(at) != 1:
            raise LabError(
                f"l'adaptation de « {adaptation.lab_line.strip()} » pour Debian {rel.name} correspond à "
                f"{len(at)} lignes de infra/provision/lab.crm au lieu d'une",
                "mettre à jour bascule/lab/release.py selon la ligne telle que lab.crm l'écrit maintenant",
            )
        comment = [f"# Debian {rel.name}: {adaptation.why}", f"# The lab's line: {lines[at[0]]}"]
        lines[at[0] : at[0] + 1] = comment + [adaptation.replacement]
    return "\n".join(lines).replace("@VIP@", vip).replace("@MASTER@", master) + "\n"
