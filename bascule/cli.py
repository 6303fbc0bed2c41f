"""`bascule lab up|status|down|destroy|break|heal`: the embedded lab from the command line.

Each command shows what it waits for, and ends with one line: ready, or what is wrong.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bascule.errors import BasculeError


def _lab(args):
    from bascule.lab.embedded import EmbeddedLab
    return EmbeddedLab(xx=args.xx, debian=getattr(args, "debian", None))


def cmd_up(args) -> int:
    lab = _lab(args)
    inv = lab.up()
    for phase, secs in lab.timings.items():
        print(f"  {phase:<22} {secs:7.1f} s", file=sys.stderr)
    print(f"ready: {inv.master.name} (maître) and {inv.slave.name} at baseline on Debian {lab.release.name}, FTP on {inv.vip} "
          f"({lab.timings['total']:.1f} s)")
    return 0


def cmd_status(args) -> int:
    lab = _lab(args)
    try:
        cluster = lab.running_cluster()
    except BasculeError as exc:
        print(f"not running: {exc}")
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
    from bascule.cluster.ftp import FTPClient, FTPUnavailable
    try:
        _, server = FTPClient.for_inventory(inv).listing_and_server(".")
        print(f"  FTP on {inv.vip}: {inv.ftp.user} logged in, served by {server or '?'}")
    except FTPUnavailable as exc:
        problems.append(f"FTP on {inv.vip}: {exc.what}")
    if problems:
        print("not at baseline: " + "; ".join(problems))
        return 1
    print(f"ready: baseline (both nodes online, ms-drbd0 promoted on {inv.master.name}, DRBD UpToDate/UpToDate, "
          f"{inv.resources.group} and {inv.resources.fs} on {inv.master.name}, FTP answering on {inv.vip})")
    return 0


def cmd_down(args) -> int:
    start = time.monotonic()
    _lab(args).down(destroy_box=False)
    print(f"down: no VM, libvirt daemon, bridge or namespace left ({time.monotonic() - start:.1f} s)")
    return 0


def cmd_destroy(args) -> int:
    start = time.monotonic()
    _lab(args).down(destroy_box=True)
    print(f"destroyed: VMs, box and cached image removed ({time.monotonic() - start:.1f} s)")
    return 0


def cmd_rejuger(args) -> int:
    from bascule.reporting.rejudge import rejudge
    paths = rejudge(args.dir, args.sortie)
    print(f"rejugé : {paths['md']}, {paths['html']}, {paths['json']}")
    return 0


def cmd_inventaire(args) -> int:
    """The running embedded lab as an inventory file: the path a teacher takes (--inventory)."""
    lab = _lab(args)
    text = lab.inventory_toml()
    if args.sortie:
        Path(args.sortie).write_text(text, encoding="utf-8")
        print(f"inventaire écrit : {args.sortie} (mot de passe FTP : export BASCULE_FTP_PASSWORD=$(bascule lab "
              "mot-de-passe-ftp); les nœuds ne sont joignables que dans l'espace réseau bascule : "
              "ip netns exec bascule …)")
    else:
        print(text, end="")
    return 0


def cmd_ftp_password(args) -> int:
    print(_lab(args).ftp_password())
    return 0


def cmd_classe(args) -> int:
    """A whole class: the suite against each group's inventory, then one summary page."""
    from bascule.reporting import trend
    from bascule.reporting.class_run import groups_from, run_class, write_summary
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
    import subprocess
    root = Path(__file__).resolve().parents[1]
    out = Path(args.sortie)
    started = time.monotonic()
    rc = subprocess.call([sys.executable, "-m", "pytest", str(root / "features"), "-p", "no:cacheprovider", "-q",
                          "--no-header", "-m", "conformite", "--inventory", args.inventory, f"--bascule-reports={out}",
                          "--bascule-lecture-seule", *args.pytest_args], cwd=root)
    table = out / "tableau-de-tests.md"
    if rc in (3, 4) or not table.is_file():  # pytest's usage or internal error: no table was judged
        print("bascule verifier: rien n'a été vérifié (la ligne ci-dessus dit pourquoi)", file=sys.stderr)
        return 2
    print(table.read_text(encoding="utf-8"))
    print(f"bascule verifier: {'prêt et conforme' if rc == 0 else 'pas prêt ou pas conforme (voir les tableaux)'} "
          f"en {time.monotonic() - started:.0f} s ; tableaux → {table}")
    return rc


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bascule", description="bascule: the HA FTP lab's acceptance suite")
    sub = p.add_subparsers(dest="area", required=True)
    lab = sub.add_parser("lab", help="the embedded two-VM lab")
    lab.add_argument("--xx", default="01", help="lab number: nodes intralabXX and hdintralabXX (default 01)")
    labsub = lab.add_subparsers(dest="cmd", required=True)
    up = labsub.add_parser("up", help="bring the lab to its baseline (idempotent)")
    up.add_argument("--debian", default=None, metavar="N",
                    help="Debian release of the lab's VMs: 12 or 13 (Pacemaker 3, crmsh 5); without it, the existing "
                         "lab's release, else 12")
    up.set_defaults(func=cmd_up)
    labsub.add_parser("status", help="check the baseline, in words").set_defaults(func=cmd_status)
    labsub.add_parser("down", help="remove the VMs, daemons, bridges and namespace").set_defaults(func=cmd_down)
    labsub.add_parser("destroy", help="down, and remove every release's box and cached image").set_defaults(func=cmd_destroy)
    inv = labsub.add_parser("inventaire", help="write the running lab's inventory (TOML), to test it through --inventory")
    inv.add_argument("--sortie", default=None, help="file to write (default: standard output)")
    inv.set_defaults(func=cmd_inventaire)
    labsub.add_parser("mot-de-passe-ftp", help="print the embedded lab's FTP password").set_defaults(func=cmd_ftp_password)
    from bascule.lab.breakages import add_commands
    add_commands(labsub)
    rj = sub.add_parser("rejuger", help="judge a saved run again from its history (no cluster needed)")
    rj.add_argument("dir", help="the run's reports directory (it holds historique.jsonl)")
    rj.add_argument("--sortie", default=None, help="where to write the tables (default: DIR/rejuge/)")
    rj.set_defaults(func=cmd_rejuger)
    ve = sub.add_parser("verifier", help="read-only: the start state and the configuration's conformance, no fault",
                        epilog="options after -- go to pytest")
    ve.add_argument("--inventory", required=True, help="the cluster's inventory (TOML)")
    ve.add_argument("--sortie", default="reports/verifier", help="where the tables go (default reports/verifier)")
    ve.set_defaults(func=cmd_verifier)
    cl = sub.add_parser("classe", help="run the suite against each group's cluster and write one summary page",
                        epilog="options after -- go to each group's pytest, e.g. -- -k q2")
    cl.add_argument("inventaires", nargs="+", help="the groups' inventory files, or directories of them")
    cl.add_argument("--parallele", type=int, default=4, help="how many clusters at once (default 4)")
    cl.add_argument("--sortie", default="reports/classe", help="where the summary and each group's reports go")
    cl.add_argument("--tendance", default=None, help="append each group's figures to this file (JSON lines) and plot the trend")
    cl.add_argument("--nuits", type=int, default=10, help="how many past runs the trend plots show (default 10)")
    cl.set_defaults(func=cmd_classe)
    # `bascule classe … -- -k q2`: what follows -- goes to each group's pytest, untouched
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = p.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    args.pytest_args = extra
    try:
        return args.func(args)
    except BasculeError as exc:
        print(f"bascule: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # an internal error still ends with one line; BASCULE_DEBUG=1 shows where
        if os.environ.get("BASCULE_DEBUG"):
            raise
        print(f"bascule: internal error {type(exc).__name__}: {exc} (BASCULE_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("bascule: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
