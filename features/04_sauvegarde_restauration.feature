# language: fr
@sauvegarde
Fonctionnalité: Sauvegarde et restauration de la configuration (Q6, Q7)
  Q6 : « crm configure save /root/sauveha.conf ». Q7 : supprimer des ressources et des contraintes,
  puis « crm configure load update /root/sauveha.conf ». La configuration restaurée doit être
  celle qui a été sauvegardée, et le cluster revenir à son état de référence.

  Contexte:
    Soit le cluster dans son état de référence

  Scénario: Sauvegarde puis restauration après suppression de ressources et de contraintes
    Quand on sauvegarde la configuration avec crm configure save
    Alors la sauvegarde contient toute la configuration du cluster
    Quand on supprime des ressources et des contraintes puis on restaure avec crm configure load update
    Alors la configuration restaurée est identique à la configuration sauvegardée
