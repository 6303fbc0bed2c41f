"""Steps of the Q2 and Q5 tables: witness files on /home, and FTP through the virtual IP."""
from __future__ import annotations

import os
import time

from pytest_bdd import then, when

from bascule.checks import Result, duplicated, home_accessible
from bascule.cluster import write_as_user
from bascule.errors import NodeError
from bascule.ftp import FTPUnavailable, sha256

from .commun import ROLE, node_for


@when(ROLE(r"on teste l'accès en écriture sur la partition du serveur (?P<role>maître|esclave) avec le fichier \"(?P<nom>[^\"]+)\""),
      target_fixture="ecriture")
def ecrire_temoin(cluster, inventaire, fichiers_temoins, role, nom):
    node = node_for(cluster, role)
    content = f"bascule {nom} écrit sur {node.name} à {time.strftime('%H:%M:%S')} {os.urandom(8).hex()}\n"
    w = write_as_user(cluster, node, f"{inventaire.documents_dir}/{nom}", content)
    fichiers_temoins[nom] = w
    return w


@then(ROLE(r"« Home » est accessible sur le serveur (?P<role>maître|esclave)"))
def home_accessible_sur(ecriture, inventaire, tableau, role):
    tableau.record(home_accessible(ecriture, inventaire))


@when(ROLE(r"on vérifie sur le serveur (?P<role>maître|esclave) la présence du fichier \"(?P<nom>[^\"]+)\""),
      target_fixture="lecture")
def lire_temoin(cluster, inventaire, role, nom):
    node = node_for(cluster, role)
    from bascule.cluster import node_facts
    try:
        facts = node_facts(cluster, node)
        return node.name, facts.home_source, node.sha256(f"{inventaire.documents_dir}/{nom}")
    except NodeError as exc:
        return node.name, "", exc


@then(ROLE(r"« (?P<nom>[^»]+) » a bien été dupliqué sur le serveur (?P<role>maître|esclave)"))
def temoin_duplique(lecture, fichiers_temoins, inventaire, tableau, nom, role):
    node, source, found = lecture
    if isinstance(found, Exception):
        tableau.record(Result.unknown(f"{node} injoignable : {found}"))
        return
    written = fichiers_temoins.get(nom)
    tableau.record(duplicated(nom, written.sha256 if written else None, found, source, inventaire, node))


@when("on teste l'accès en écriture au serveur FTP", target_fixture="essai_ftp")
def essai_ftp(client_ftp, inventaire, fichiers_temoins):
    """Upload a file with known content through the VIP, read it back; read back the files that
    earlier FTP tests of the scenario wrote (the data must survive every move)."""
    n = sum(1 for k in fichiers_temoins if k.startswith("ftp-")) + 1
    name = f"ftp-{n}"
    path = f"{inventaire.ftp.documents}/essai-{name}-{os.urandom(3).hex()}.txt"
    data = f"bascule {name} {time.time():.3f} {os.urandom(16).hex()}\n".encode() * 64
    outcome = {"path": path, "sha256": sha256(data), "size": len(data), "earlier": {}}
    try:
        with client_ftp.session() as host:
            outcome["served_by"] = client_ftp.served_by(host)
        client_ftp.upload(path, data)
        back, _ = client_ftp.download(path)
        outcome["read_back"] = sha256(back)
        for key, (old_path, old_sha) in fichiers_temoins.items():
            if key.startswith("ftp-"):
                old, _ = client_ftp.download(old_path)
                outcome["earlier"][old_path] = (old_sha, sha256(old))
    except FTPUnavailable as exc:
        outcome["error"] = exc.what
    except Exception as exc:  # an FTP error mid-transfer: the user's FileZilla would show it
        from bascule.ftp import describe_error
        outcome["error"] = describe_error(exc)
    fichiers_temoins[name] = (path, outcome["sha256"])
    return outcome


@then("les tests à partir du client FTP sont concluants")
def tests_ftp_concluants(essai_ftp, inventaire, tableau):
    o = essai_ftp
    if "error" in o:
        tableau.record(Result.ko(f"client FTP sur {inventaire.vip} : {o['error']}"))
        return
    problems = []
    if o.get("read_back") != o["sha256"]:
        problems.append(f"{o['path']} relu avec un sha256 différent")
    for path, (want, got) in o["earlier"].items():
        if want != got:
            problems.append(f"{path}, écrit avant la bascule, relu différent")
    who = f", servi par {o['served_by']}" if o.get("served_by") else ""
    if problems:
        tableau.record(Result.ko(" ; ".join(problems)))
        return
    kept = f" ; {len(o['earlier'])} fichier(s) écrit(s) avant la bascule relu(s) à l'identique" if o["earlier"] else ""
    tableau.record(Result.ok(f"Envoi puis téléchargement de {o['path']} ({o['size'] // 1024} Ko) via {inventaire.vip}"
                             f"{who}, sha256 identique{kept}"))
