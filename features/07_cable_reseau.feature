# language: fr
@supplementaire @lent
Fonctionnalité: Déconnexion d'un câble réseau
  La remarque après Q5 : « la déconnexion d'un câble réseau ». Le lien du maître sur le réseau
  du cluster (corosync et DRBD) tombe puis revient. Avec la configuration du Coté Labo (pas de
  STONITH, no-quorum-policy=ignore), chaque nœud se croit seul : l'esclave prend les ressources
  pendant que le maître garde les siennes. Au rebranchement, DRBD voit deux primaires et détecte
  un split brain (document 3) que seul STONITH aurait évité. Le scénario rapporte ce qui se passe
  vraiment, puis remet le cluster d'aplomb comme le document 3 l'indique.

  Contexte:
    Soit le cluster dans son état de référence
    Et un fichier témoin "avant-cable" écrit via le client FTP et enregistré sur disque

  Scénario: Câble réseau du serveur maître débranché puis rebranché
    Quand le câble réseau du serveur maître est débranché
    Alors le serveur esclave reprend le service FTP sur l'adresse IP virtuelle
    Quand le câble réseau du serveur maître est rebranché
    Alors l'issue de la coupure est rapportée (split brain DRBD ou non)
    Quand le split brain éventuel est résolu comme l'indique le document 3
    Alors les ressources sont de nouveau activées sur le serveur maître
    Quand on relit le fichier témoin "avant-cable" via le client FTP
    Alors le fichier témoin est intact
