# language: fr
@conformite
Fonctionnalité: Configuration conforme au Coté Labo
  La configuration du cluster comparée, ligne à ligne, au « crm configure show » final que donne le
  lab (Q1, Q3, Q4 y sont tous). Chaque ligne est écrite comme le sujet l'écrit ; la vérification porte
  sur le sens (agent, chaque paramètre, chaque opération avec son intervalle, son délai et son rôle,
  méta-attributs, rôles, scores), pas sur les noms des contraintes. Ce qui dépend du site est pris
  dans l'inventaire et dit sur la ligne : les noms des nœuds (intralabXX, et intralabar, une coquille
  du texte), la VIP, l'interface du réseau du lab ; l'identifiant numérique d'un nœud est celui de
  corosync ; dc-version et last-lrm-refresh sont écrits par Pacemaker lui-même, lus sans être comparés.

  Contexte:
    Soit le cluster dans son état de référence

  Scénario: La configuration contient chacune des lignes du « crm configure show » final du lab
    Quand on lit la configuration du cluster (crm configure show)
    Alors elle contient chacun de ces éléments du Coté Labo :
      | élément |
      | node 169221774: intralabXX attributes standby=off |
      | node 169221777: hdintralabXX |
      | primitive IPFailover IPaddr2 params ip=10.22.100.220 cidr_netmask=16 nic=eth0 iflabel=VIP op monitor interval=10s timeout=20s op start timeout=30s interval=0 op stop timeout=40s interval=0 |
      | primitive drbd0 ocf:linbit:drbd params drbd_resource=resftp op monitor role=Master interval=60s timeout=30s op monitor role=Slave interval=60s timeout=30s |
      | primitive fs0 Filesystem params fstype=ext4 directory="/home" device="/dev/drbd0" |
      | primitive serviceFTP lsb:proftpd op monitor interval=10s |
      | primitive serviceMySQL mysql params socket="/var/run/mysqld/mysqld.sock" |
      | primitive serviceWeb apache params configfile="/etc/apache2/apache2.conf" op start timeout=40s interval=0 op stop timeout=60s interval=0 op monitor interval=60s |
      | group servIntralab IPFailover serviceWeb serviceFTP meta migration-threshold=5 |
      | ms ms-drbd0 drbd0 meta clone-max=2 clone-node-max=1 master-max=1 master-node-max=1 globally-unique=false notify=true |
      | clone cServiceMySQL serviceMySQL |
      | location cli-prefer-IPFailover servIntralab role=Started inf: intralabXX |
      | colocation fs0-on-ms-drbd0 inf: fs0 ms-drbd0:Master |
      | order ms-drbd0-before-fs0 Mandatory: ms-drbd0:promote fs0:start |
      | location ms-drbd0-master-on-intralabar ms-drbd0 rule $role=master #uname eq intralabar |
      | order serviceFTP-after-fs0 inf: fs0 serviceFTP |
      | colocation serviceFTP-on-ms-drbd0 inf: serviceFTP ms-drbd0:Master |
      | property cib-bootstrap-options: have-watchdog=false dc-version=1.1.14-70404b0 cluster-infrastructure=corosync cluster-name=debian stonith-enabled=false no-quorum-policy=ignore last-lrm-refresh=1474674185 |
