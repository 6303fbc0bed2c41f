# language: fr
@supplementaire @lent
Fonctionnalité: Redémarrage du nœud maître
  La remarque après Q5 : « d'autres tests peuvent être réalisés comme le redémarrage du nœud
  maître ». Un redémarrage propre, puis une coupure de courant (la VM est arrêtée net par
  l'hyperviseur ; un cluster existant donne une commande power_off/power_on dans l'inventaire).
  Le fichier témoin est enregistré sur disque (sync) avant la panne : ce qu'un serveur n'a pas
  encore écrit sur son disque ne survit à aucune coupure, en cluster ou non.

  Contexte:
    Soit le cluster dans son état de référence
    Et un fichier témoin "avant-panne" écrit via le client FTP et enregistré sur disque

  Scénario: Redémarrage propre du serveur maître
    Quand le serveur maître est redémarré
    Alors les ressources sont arrêtées sur le serveur maître et activées sur le serveur esclave
    Quand le serveur maître a redémarré et rejoint le cluster
    Alors les ressources sont de nouveau activées sur le serveur maître
    Quand on relit le fichier témoin "avant-panne" via le client FTP
    Alors le fichier témoin est intact

  Scénario: Coupure de courant du serveur maître
    Quand le courant du serveur maître est coupé
    Alors les ressources sont arrêtées sur le serveur maître et activées sur le serveur esclave
    Quand le courant du serveur maître est rétabli et qu'il rejoint le cluster
    Alors les ressources sont de nouveau activées sur le serveur maître
    Quand on relit le fichier témoin "avant-panne" via le client FTP
    Alors le fichier témoin est intact
