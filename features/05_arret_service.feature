# language: fr
@supplementaire
Fonctionnalité: Arrêt d'un service avec et sans empêchement de redémarrage
  La remarque après Q5 : « l'arrêt d'un service (avec empêchement et sans empêchement de
  redémarrage) ». Le service FTP (serviceFTP, lsb:proftpd) est tué net (kill -9) sur le maître.
  Sans empêchement, la surveillance de Pacemaker (monitor) le voit et le redémarre sur place ;
  avec empêchement (son démarrage échoue sur le maître), le groupe doit partir sur l'esclave.

  Contexte:
    Soit le cluster dans son état de référence
    Et un fichier témoin "avant-arret" écrit via le client FTP et enregistré sur disque

  Scénario: Service FTP arrêté, redémarrage possible
    Quand le service FTP est tué sur le serveur maître
    Alors Pacemaker redémarre le service FTP sur le serveur maître

  Scénario: Service FTP arrêté, redémarrage empêché
    Quand le service FTP est tué sur le serveur maître et son redémarrage empêché
    Alors le service FTP est repris par le serveur esclave avec ses données
    Quand la cause est supprimée et les erreurs effacées (crm resource cleanup)
    Alors les ressources sont de nouveau activées sur le serveur maître
    Quand on relit le fichier témoin "avant-arret" via le client FTP
    Alors le fichier témoin est intact
