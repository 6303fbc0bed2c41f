"""Steps of the Q2 and Q5 tables: witness files on /home, and FTP through the virtual IP."""

from __future__ import annotations

from dataclasses import replace

from pytest_bdd import then, when

from bascule.judging import checks
from bascule.record.observations import FileRead, FileWrite, FtpTest

from .commun import ROLE, node_for


@when(
    ROLE(
        r"on teste l'accès en écriture sur la partition du serveur (?P<role>maître|esclave) avec le fichier "
        r"\"(?P<nom>[^\"]+)\""
    ),
    target_fixture="ecriture",
)
def ecrire_temoin(cluster, ecritures, role, nom) -> FileWrite:
    return ecritures.write(cluster, node_for(cluster, role), nom)


@then(ROLE(r"« Home » est accessible sur le serveur (?P<role>maître|esclave)"))
def home_accessible_sur(ecriture, cluster, lignes, role):
    lignes.judge(checks.home_accessible, replace(ecriture, on=node_for(cluster, role).name))


@when(
    ROLE(r"on vérifie sur le serveur (?P<role>maître|esclave) la présence du fichier \"(?P<nom>[^\"]+)\""),
    target_fixture="lecture",
)
def lire_temoin(cluster, ecritures, role, nom) -> FileRead:
    return ecritures.read(cluster, node_for(cluster, role), nom)


@then(ROLE(r"« (?P<nom>[^»]+) » a bien été dupliqué sur le serveur (?P<role>maître|esclave)"))
def temoin_duplique(lecture, cluster, lignes, nom, role):
    lignes.judge(checks.duplicated, replace(lecture, on=node_for(cluster, role).name))


@when("on teste l'accès en écriture au serveur FTP", target_fixture="essai_ftp")
def essai_ftp(cluster, client_ftp, fichiers_temoins) -> FtpTest:
    return fichiers_temoins.trial(cluster, client_ftp)


@then("les tests à partir du client FTP sont concluants")
def tests_ftp_concluants(essai_ftp, lignes):
    lignes.judge(checks.ftp_test, essai_ftp)
