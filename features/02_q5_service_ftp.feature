# language: fr
@q5
Fonctionnalité: Q5 — Le service FTP sur l'adresse IP virtuelle
  Le tableau de tests de la question Q5 : serviceFTP (lsb:proftpd) dans le groupe servIntralab,
  sur le nœud où DRBD est maître. Les tests se font à partir d'un client FTP sur l'adresse IP
  virtuelle, pour vérifier l'écriture dans la partition dupliquée ; une sonde FTP écrit et relit
  pendant chaque bascule et mesure l'indisponibilité vue par le client.

  Contexte:
    Soit le cluster dans son état de référence

  Scénario: Tableau Q5 — bascule et retour du service FTP
    Quand on vérifie sur le serveur maître que les ressources sont bien activées
    Alors les ressources sont activées sur le serveur maître
    Quand le serveur maître est mis en « standby »
    Alors les ressources sont arrêtées sur le serveur maître et activées sur le serveur esclave
    Quand on teste l'accès en écriture au serveur FTP
    Alors les tests à partir du client FTP sont concluants
    Quand le serveur maître est remis « online »
    Alors les ressources sont de nouveau activées sur le serveur maître
    Quand on teste l'accès en écriture au serveur FTP
    Alors les tests à partir du client FTP sont concluants
