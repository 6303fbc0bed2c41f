"""`bascule`: the embedded lab, a read-only check, a saved run judged again, a whole class.

Commands and messages are in French, the lab's language (`bascule lab demarrer`); the first
English names stay as aliases (`bascule lab up`). Each command shows what it waits for, and ends
with one line: ready, or what is wrong.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bascule.cluster.ftp import FTPClient, FTPUnavailable
from bascule.endurance.run import Settings, night_folder, run
from bascule.endurance.schedule import parse_duration, parse_kinds
from bascule.errors import BasculeError
from bascule.inventory import load
from bascule.lab.breakages import add_commands
from bascule.lab.embedded import EmbeddedLab
from bascule.record.history import History
from bascule.reporting import trend
from bascule.reporting.class_run import groups_from, run_class, write_summary
from bascule.reporting.endurance import trend_record
from bascule.reporting.rejudge import rejudge


def _lab(args):
    return EmbeddedLab(xx=args.xx, debian=getattr(args, "debian", None))


def cmd_up(args) -> int:
    lab = _lab(args)
    inv = lab.up()
    for phase, secs in lab.timings.items():
        print(f"  {phase:<22} {secs:7.1f} s", file=sys.stderr)
    print(
        f"prêt : {inv.master.name} (maître) et {inv.slave.name} dans leur état de référence sur Debian "
        f"{lab.release.name}, "
        f"FTP sur {inv.vip} ({lab.timings['total']:.1f} s)"
    )
    return 0


def cmd_status(args) -> int:
    lab = _lab(args)
    try:
        cluster = lab.running_cluster()
    except BasculeError as exc:
        print(f"arrêté : {exc}")
        return 1
    inv = cluster.inv
    try:
        state = cluster.state()
        print(f"  crm: {state.summary()}")
        for name, drbd in cluster.drbd_everywhere(strict=True).items():
            print(f"  DRBD {name}: {drbd.summary()}")
        problems = lab.baseline(cluster)
    finally:
        cluster.close()
    try:
        _, server = FTPClient.for_inventory(inv).listing_and_server(".")
        print(f"  FTP sur {inv.vip} : {inv.ftp.user} connecté, servi par {server or '?'}")
    except FTPUnavailable as exc:
        problems.append(f"FTP sur {inv.vip} : {exc.what}")
    if problems:
        print("pas dans l'état de référence : " + " ; ".join(problems))
        return 1
    print(
        f"prêt : état de référence (les deux nœuds online, {inv.resources.ms} promu sur {inv.master.name}, DRBD "
        f"UpToDate/UpToDate, {inv.resources.group} et {inv.resources.fs} sur {inv.master.name}, FTP répond sur "
        f"{inv.vip})"
    )
    return 0


def cmd_down(args) -> int:
    start = time.monotonic()
    kept = _lab(args).down(destroy_box=False)
    if kept:
        print(
            f"arrêté : VM éteintes, gardées avec leur instantané de l'état de référence pour le prochain `lab up` "
            "(`lab detruire` les supprime) ; plus aucun démon libvirt, pont ni espace réseau "
            f"({time.monotonic() - start:.1f} s)"
        )
    else:
        print(f"arrêté : plus aucune VM, démon libvirt, pont ni espace réseau ({time.monotonic() - start:.1f} s)")
    return 0


def cmd_destroy(args) -> int:
    start = time.monotonic()
    _lab(args).down(destroy_box=True)
    print(f"détruit : VM, box et image en cache supprimées ({time.monotonic() - start:.1f} s)")
    return 0


def cmd_rejuger(args) -> int:
    paths = rejudge(args.dir, args.sortie)
    print(f"rejugé : {paths['md']}, {paths['html']}, {paths['json']}")
    return 0


def cmd_inventaire(args) -> int:
    """The running embedded lab as an inventory file: the path a teacher takes (--bascule-inventaire)."""
    lab = _lab(args)
    text = lab.inventory_toml()
    if args.sortie:
        Path(args.sortie).write_text(text, encoding="utf-8")
        print(
            f"inventaire écrit : {args.sortie} (mot de passe FTP : export BASCULE_FTP_PASSWORD=$(bascule lab "
            "mot-de-passe-ftp); les nœuds ne sont joignables que dans l'espace réseau bascule : "
            "ip netns exec bascule …)"
        )
    else:
        print(text, end="")
    return 0


def cmd_ftp_password(args) -> int:
    print(_lab(args).ftp_password())
    return 0


def cmd_classe(args) -> int:
    """A whole class: the suite against each group's inventory, then one summary page."""
    out = Path(args.sortie)
    groups = groups_from(args.inventaires, out)
    trend_file = Path(args.tendance) if args.tendance else None
    print(f"bascule classe: {len(groups)} groupes, {args.parallele} à la fois ; rapports sous {out}/", flush=True)
    runs = run_class(groups, args.parallele, args.pytest_args, trend_file)
    if trend_file is not None and trend_file.is_file():
        trend.plot(trend.load(trend_file), out / "tendance", nights=args.nuits)
    paths = write_summary(runs, out)
    print(f"bascule classe: synthèse → {paths['html']} et {paths['md']}")
    return 0 if all(r.exit_code == 0 for r in runs) else 1


def cmd_verifier(args) -> int:
    """Is this cluster ready to be tested, and is its configuration the lab's? The start row and the
    conformance scenario only, read only (--bascule-lecture-seule): they read the cluster and change
    nothing on it (one small file is written then removed in the FTP account's Documents, by the start
    row's FTP check): no fault, no probe, no audit nor repair, and a KO start row does not keep the
    configuration from being judged. Prints the two tables; exit 0 when both are OK."""
    root = Path(__file__).resolve().parents[1]
    out = Path(args.sortie)
    started = time.monotonic()
    rc = subprocess.call(
        [
            sys.executable,
            "-m",
            "pytest",
            str(root / "features"),
            "-p",
            "no:cacheprovider",
            "-q",
            "--no-header",
            "-m",
            "conformite",
            "--bascule-inventaire",
            args.inventaire,
            f"--bascule-rapports={out}",
            "--bascule-lecture-seule",
            *args.pytest_args,
        ],
        cwd=root,
    )
    table = out / "tableau-de-tests.md"
    if rc in (3, 4) or not table.is_file():  # pytest's usage or internal error: no table was judged
        print("bascule verifier: rien n'a été vérifié (la ligne ci-dessus dit pourquoi)", file=sys.stderr)
        return 2
    print(table.read_text(encoding="utf-8"))
    print(
        f"bascule verifier: {'prêt et conforme' if rc == 0 else 'pas prêt ou pas conforme (voir les tableaux)'} "
        f"en {time.monotonic() - started:.0f} s ; tableaux → {table}"
    )
    return rc


def cmd_endurance(args) -> int:
    """Random faults for a while, uploads all along, every acknowledged file read back on both nodes
    (bascule/endurance); exits with the verdict's own code (judging/endurance.EXIT_CODES)."""
    if args.tendance and args.duree is None and args.graine is None and args.pannes is None and not args.composees:
        return _plot_endurance_trend(args.tendance, Path(args.sortie))
    try:
        duration = parse_duration(args.duree or "1h")
        kinds = parse_kinds(args.pannes)
    except ValueError as exc:
        raise BasculeError(
            str(exc), "par exemple : bascule endurance --duree 30m --pannes standby,kill,cable"
        ) from None
    seed = args.graine if args.graine is not None else random.SystemRandom().randrange(1, 10**6)
    hypervisor = None
    if args.inventaire:
        inv = load(args.inventaire)
    else:
        lab = _lab(args)
        inv = lab.up(check_ftp=False, as_found=True)
        hypervisor = lab.hypervisor
    out = night_folder(Path(args.sortie))
    verdict = run(
        inv,
        Settings(duration, seed, kinds, out, compound=args.composees, inventory_path=args.inventaire),
        hypervisor=hypervisor,
        say=lambda line: print(line, flush=True),
    )
    if args.tendance:
        trend.append(args.tendance, trend_record(verdict, History.load_events(out / "historique.jsonl")))
        _plot_endurance_trend(args.tendance, Path(args.sortie))
    return verdict.exit_code


def _plot_endurance_trend(path: str, parent: Path) -> int:
    """The nights of a trend file drawn under --sortie/tendance (`bascule endurance --tendance F` alone)."""
    try:
        records = trend.load(path)
    except OSError as exc:
        raise BasculeError(
            f"--tendance {path} : illisible ({exc.strerror or exc})",
            "donner le fichier qu'une série avec --tendance a écrit",
        ) from None
    drawn = trend.plot(records, parent / "tendance")
    print(
        f"bascule endurance: tendance de {len(records)} nuit(s) → "
        + (", ".join(str(p) for p in drawn.values()) or "rien à tracer")
    )
    return 0


ENDURANCE_EXITS = (
    "codes de sortie : 0 OK (chaque fichier acquitté relu intact sur les deux nœuds, aucune anomalie) ; "
    "1 KO (perte inexpliquée, corruption, lecture périmée, fichier absent de la réplique, fichier "
    "inattendu, réparation par bascule, stockage ou DRBD fautif, cluster pas revenu) ; 2 entrée "
    "invalide ; 3 pertes expliquées (écartés par le split brain, perdus en cache à une coupure de "
    "courant : comptés, jamais OK) ; 4 inconnu (des fichiers n'ont pas pu être jugés, aucune perte vue)"
)


def _version() -> str:
    try:
        return version("bascule")
    except PackageNotFoundError:
        return "inconnue (non installé : pip install -e .)"


def parser() -> argparse.ArgumentParser:
    """bascule's command line: one sub-command per area."""
    p = argparse.ArgumentParser(
        prog="bascule",
        description="bascule: tests de recette du lab « Haute disponibilité "
        "d'un serveur FTP » (Pacemaker, DRBD, proftpd)",
        epilog="la série de tests elle-même : ./acceptance.sh [--bascule-inventaire lab.toml]",
    )
    p.add_argument("--version", action="version", version=f"bascule {_version()}")
    sub = p.add_subparsers(dest="area", required=True, metavar="{lab,verifier,rejuger,classe,endurance}")
    for add in (_add_lab, _add_rejuger, _add_verifier, _add_endurance, _add_classe):
        add(sub)
    return p


def _add_lab(sub) -> None:
    lab = sub.add_parser("lab", help="le lab embarqué à deux VM")
    lab.add_argument("--xx", default="01", help="numéro du lab : nœuds intralabXX et hdintralabXX (par défaut 01)")
    labsub = lab.add_subparsers(dest="cmd", required=True, metavar="COMMANDE")
    up = labsub.add_parser(
        "demarrer", aliases=["up"], help="amène le lab dans son état de référence (sans effet s'il y est)"
    )
    up.add_argument(
        "--debian",
        default=None,
        metavar="N",
        help="version de Debian des VM : 12 ou 13 (Pacemaker 3, crmsh 5) ; sans elle, celle du lab existant, sinon 12",
    )
    up.set_defaults(func=cmd_up)
    labsub.add_parser("etat", aliases=["status"], help="vérifie l'état de référence, en clair").set_defaults(
        func=cmd_status
    )
    labsub.add_parser(
        "arreter",
        aliases=["down"],
        help="éteint les VM (gardées avec l'instantané de leur état de référence), "
        "arrête démons, ponts et l'espace réseau",
    ).set_defaults(func=cmd_down)
    labsub.add_parser(
        "detruire", aliases=["destroy"], help="arrête, et supprime les VM, la box et l'image en cache de chaque version"
    ).set_defaults(func=cmd_destroy)
    inv = labsub.add_parser(
        "inventaire", help="écrit l'inventaire (TOML) du lab en marche, pour le tester par --bascule-inventaire"
    )
    inv.add_argument("--sortie", default=None, help="fichier à écrire (par défaut : la sortie standard)")
    inv.set_defaults(func=cmd_inventaire)
    labsub.add_parser("mot-de-passe-ftp", help="affiche le mot de passe FTP du lab embarqué").set_defaults(
        func=cmd_ftp_password
    )
    add_commands(labsub)


def _add_rejuger(sub) -> None:
    rj = sub.add_parser(
        "rejuger", help="juge de nouveau une série enregistrée à partir de son historique (sans cluster)"
    )
    rj.add_argument("dir", metavar="DOSSIER", help="le dossier des rapports de la série (il contient historique.jsonl)")
    rj.add_argument("--sortie", default=None, help="où écrire les tableaux (par défaut : DOSSIER/rejuge/)")
    rj.set_defaults(func=cmd_rejuger)


def _add_verifier(sub) -> None:
    ve = sub.add_parser(
        "verifier",
        help="lecture seule : état de départ et conformité de la configuration, sans panne",
        epilog="les options après -- vont à pytest",
    )
    ve.add_argument(
        "--inventaire",
        "--inventory",
        dest="inventaire",
        required=True,
        metavar="FICHIER",
        help="l'inventaire (TOML) du cluster",
    )
    ve.add_argument("--sortie", default="reports/verifier", help="où vont les tableaux (par défaut reports/verifier)")
    ve.set_defaults(func=cmd_verifier)


def _add_endurance(sub) -> None:
    en = sub.add_parser(
        "endurance",
        help="pannes du lab tirées au hasard pendant une durée, envois FTP tout du long, "
        "chaque fichier acquitté relu (pas dans la série par défaut)",
    )
    en.add_argument(
        "--inventaire",
        "--inventory",
        dest="inventaire",
        default=None,
        metavar="FICHIER",
        help="le cluster (par défaut : le lab embarqué)",
    )
    en.add_argument("--xx", default="01", help=argparse.SUPPRESS)
    en.add_argument("--debian", default=None, help=argparse.SUPPRESS)
    en.epilog = ENDURANCE_EXITS
    en.add_argument(
        "--duree",
        default=None,
        help="combien de temps au plus, tout compris (1h, 30m, 90s ; par défaut "
        "1h) : une panne qui ne tiendrait pas dans ce qui reste n'est pas jouée",
    )
    en.add_argument(
        "--composees",
        action="store_true",
        help="pannes composées : une panne sur deux (tirée) part pendant le retour de la précédente "
        "(rebascule, resynchronisation DRBD)",
    )
    en.add_argument(
        "--graine", type=int, default=None, help="la graine du tirage (affichée ; la même rejoue le même tirage)"
    )
    en.add_argument(
        "--pannes",
        default=None,
        help="les types de panne, séparés par des virgules (par défaut tous) : "
        "standby, kill, kill-empeche, redemarrage, courant, cable",
    )
    en.add_argument(
        "--sortie",
        default="reports/endurance",
        help="un dossier par nuit y est créé (date-heure) : tableau, chronologie, historique, Allure",
    )
    en.add_argument(
        "--tendance",
        default=None,
        help="ajoute les chiffres de la nuit à ce fichier (lignes JSON) et trace "
        "la tendance sous SORTIE/tendance ; seule, trace la tendance",
    )
    en.set_defaults(func=cmd_endurance)


def _add_classe(sub) -> None:
    cl = sub.add_parser(
        "classe",
        help="lance la série sur le cluster de chaque groupe et écrit une page de synthèse",
        epilog="les options après -- vont au pytest de chaque groupe, p. ex. -- -k q2",
    )
    cl.add_argument("inventaires", nargs="+", help="les inventaires des groupes, ou des dossiers qui les contiennent")
    cl.add_argument("--parallele", type=int, default=4, help="combien de clusters à la fois (par défaut 4)")
    cl.add_argument("--sortie", default="reports/classe", help="où vont la synthèse et les rapports de chaque groupe")
    cl.add_argument(
        "--tendance",
        default=None,
        help="ajoute les chiffres de chaque groupe à ce fichier (lignes JSON) et trace la tendance",
    )
    cl.add_argument(
        "--nuits", type=int, default=10, help="combien de séries passées montrent les courbes (par défaut 10)"
    )
    cl.set_defaults(func=cmd_classe)


def main(argv: list[str] | None = None) -> int:
    p = parser()
    # `bascule classe … -- -k q2`: what follows -- goes to each group's pytest, untouched
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = p.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    args.pytest_args = extra
    try:
        return args.func(args)
    except BasculeError as exc:
        print(f"bascule: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `bascule lab pannes | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # an internal error still ends with one line; BASCULE_DEBUG=1 shows where
        if os.environ.get("BASCULE_DEBUG"):
            raise
        print(
            f"bascule: erreur interne {type(exc).__name__} : {exc} (BASCULE_DEBUG=1 montre la pile d'appels)",
            file=sys.stderr,
        )
        return 3
    except KeyboardInterrupt:
        print("bascule: interrompu", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
