# language: fr
@splitbrain
Fonctionnalité: Split brain DRBD (document 3)
  « DRBD va détecter les deux primary au moment où la connectivité entre les deux nœuds est
  rétablie : le démon stoppe alors la connexion et arrête la réplication (Split-Brain detected,
  dropping connection!) ». Le split brain est provoqué exprès, détecté comme le dit le document 3,
  puis résolu à la main en écartant les données du nœud le moins actif (l'esclave).

  Contexte:
    Soit le cluster dans son état de référence

  Scénario: Split brain provoqué, détecté et résolu
    Quand la réplication DRBD est coupée et chaque serveur, primaire, écrit son propre fichier
    Et que la réplication est rétablie
    Alors DRBD détecte le split brain et arrête la réplication (StandAlone)
    Quand on résout le split brain en écartant les données du serveur esclave
    Alors DRBD est de nouveau UpToDate/UpToDate avec les fichiers du serveur maître seulement
