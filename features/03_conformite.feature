# language: fr
@conformite
Fonctionnalité: Configuration conforme au Coté Labo
  La configuration du cluster comparée à ce que demandent Q1, Q3, Q4 et la configuration finale
  (« crm configure show »). Chaque ligne est un élément du Coté Labo, écrit comme le sujet l'écrit ;
  la vérification porte sur le sens (type, paramètres, rôles, scores), pas sur les noms des
  contraintes.

  Contexte:
    Soit le cluster dans son état de référence

  Scénario: La configuration contient chacun des éléments du Coté Labo
    Quand on lit la configuration du cluster (crm configure show)
    Alors elle contient chacun de ces éléments du Coté Labo :
      | élément |
      | primitive drbd0 ocf:linbit:drbd params drbd_resource=resftp op monitor role=Master interval=60s op monitor role=Slave interval=60s |
      | ms ms-drbd0 drbd0 meta clone-max=2 clone-node-max=1 master-max=1 master-node-max=1 globally-unique=false notify=true |
      | primitive fs0 ocf:heartbeat:Filesystem params fstype=ext4 directory=/home device=/dev/drbd0 |
      | colocation fs0-on-ms-drbd0 inf: fs0 ms-drbd0:Master |
      | order ms-drbd0-before-fs0 mandatory: ms-drbd0:promote fs0:start |
      | location ms-drbd0-master-on-intralabXX ms-drbd0 rule role=master inf: #uname eq intralabXX |
      | primitive serviceFTP lsb:proftpd op monitor |
      | colocation serviceFTP-on-ms-drbd0 inf: serviceFTP ms-drbd0:Master |
      | order serviceFTP-after-fs0 inf: fs0 serviceFTP |
      | group servIntralab IPFailover serviceWeb serviceFTP |
      | primitive IPFailover IPaddr2 params ip=<VIP> |
      | clone cServiceMySQL serviceMySQL |
      | property stonith-enabled=false no-quorum-policy=ignore |
