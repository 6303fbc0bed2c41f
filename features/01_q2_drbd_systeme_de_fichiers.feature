# language: fr
@q2
Fonctionnalité: Q2 — DRBD et système de fichiers
  Le tableau de tests de la question Q2 : les ressources drbd0 (ms-drbd0) et fs0 sur /home,
  avec une préférence pour le nœud intralabXX comme maître. Chaque couple Quand/Alors est une
  ligne du tableau (Actions à effectuer / Résultats attendus).

  Contexte:
    Soit le cluster dans son état de référence

  Scénario: Tableau Q2 — bascule et retour de DRBD et du système de fichiers
    Quand on vérifie sur le serveur maître que les ressources sont bien activées
    Alors les ressources sont activées sur le serveur maître
    Quand on teste l'accès en écriture sur la partition du serveur maître avec le fichier "essai1"
    Alors « Home » est accessible sur le serveur maître
    Quand le serveur maître est mis en « standby »
    Alors les ressources sont arrêtées sur le serveur maître et activées sur le serveur esclave
    Quand on vérifie sur le serveur esclave la présence du fichier "essai1"
    Alors « essai1 » a bien été dupliqué sur le serveur esclave
    Quand on teste l'accès en écriture sur la partition du serveur esclave avec le fichier "essai2"
    Alors « Home » est accessible sur le serveur esclave
    Quand le serveur maître est remis « online »
    Alors les ressources sont de nouveau activées sur le serveur maître
    Quand on vérifie sur le serveur maître la présence du fichier "essai2"
    Alors « essai2 » a bien été dupliqué sur le serveur maître
