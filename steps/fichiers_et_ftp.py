"""Steps of the Q2 and Q5 tables: witness files on /home, and FTP through the virtual IP."""
from __future__ import annotations

import os
import time
from dataclasses import replace

from pytest_bdd import then, when

from bascule.judging import checks
from bascule.cluster.cluster import read_on, write_as_user
from bascule.cluster.evidence import ftp_side, serving_node
from bascule.cluster.ftp import FTPUnavailable, describe_error, sha256
from bascule.record.observations import FileRead, FileWrite, FtpTest, FtpWitness, WitnessRead

from .commun import ROLE, node_for


@when(ROLE(r"on teste l'accès en écriture sur la partition du serveur (?P<role>maître|esclave) avec le fichier \"(?P<nom>[^\"]+)\""),
      target_fixture="ecriture")
def ecrire_temoin(cluster, inventaire, ecritures, role, nom) -> FileWrite:
    node = node_for(cluster, role)
    content = f"bascule {nom} écrit sur {node.name} à {time.strftime('%H:%M:%S')} {os.urandom(8).hex()}\n"
    w = write_as_user(cluster, node, f"{inventaire.documents_dir}/{nom}", content)
    if w.sha256 is None:  # why, read on that node
        w = replace(w, ftp_side=ftp_side(cluster, node.name))
    ecritures[nom] = w
    return w


@then(ROLE(r"« Home » est accessible sur le serveur (?P<role>maître|esclave)"))
def home_accessible_sur(ecriture, cluster, lignes, role):
    lignes.judge(checks.home_accessible, replace(ecriture, on=node_for(cluster, role).name))


@when(ROLE(r"on vérifie sur le serveur (?P<role>maître|esclave) la présence du fichier \"(?P<nom>[^\"]+)\""),
      target_fixture="lecture")
def lire_temoin(cluster, inventaire, ecritures, role, nom) -> FileRead:
    written = ecritures.get(nom)
    return read_on(cluster, node_for(cluster, role), nom, f"{inventaire.documents_dir}/{nom}",
                   written.sha256 if written else None)


@then(ROLE(r"« (?P<nom>[^»]+) » a bien été dupliqué sur le serveur (?P<role>maître|esclave)"))
def temoin_duplique(lecture, cluster, lignes, nom, role):
    lignes.judge(checks.duplicated, replace(lecture, on=node_for(cluster, role).name))


@when("on teste l'accès en écriture au serveur FTP", target_fixture="essai_ftp")
def essai_ftp(cluster, client_ftp, inventaire, fichiers_temoins) -> FtpTest:
    seen = _essai_ftp(client_ftp, inventaire, fichiers_temoins)
    # why it failed, read on the node that serves (read only)
    return replace(seen, ftp_side=ftp_side(cluster, serving_node(cluster))) if seen.error else seen


def _essai_ftp(client_ftp, inventaire, fichiers_temoins) -> FtpTest:
    """Upload a file with known content through the VIP, read it back; read back the files that
    earlier FTP tests of the scenario wrote (the data must survive every move)."""
    n = sum(1 for k in fichiers_temoins if k.startswith("ftp-")) + 1
    name = f"ftp-{n}"
    path = f"{inventaire.ftp.documents}/essai-{name}-{os.urandom(3).hex()}.txt"
    data = f"bascule {name} {time.time():.3f} {os.urandom(16).hex()}\n".encode() * 64
    earlier = {k: w for k, w in fichiers_temoins.items() if k.startswith("ftp-")}
    fichiers_temoins[name] = FtpWitness(path, sha256(data))
    served = None
    try:
        with client_ftp.session() as host:
            served = client_ftp.served_by(host)
        client_ftp.upload(path, data)
        back, _ = client_ftp.download(path)
        reads = []
        for w in earlier.values():
            old, _ = client_ftp.download(w.path)
            reads.append(WitnessRead(w.path, w.sha256, sha256(old), len(old)))
        return FtpTest(path, sha256(data), len(data), sha256(back), served, tuple(reads))
    except FTPUnavailable as exc:
        return FtpTest(path, sha256(data), len(data), served_by=served, error=exc.what)
    except Exception as exc:  # an FTP error mid-transfer: the user's FileZilla would show it
        return FtpTest(path, sha256(data), len(data), served_by=served, error=describe_error(exc))


@then("les tests à partir du client FTP sont concluants")
def tests_ftp_concluants(essai_ftp, lignes):
    lignes.judge(checks.ftp_test, essai_ftp)
