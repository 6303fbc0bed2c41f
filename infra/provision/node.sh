#!/bin/sh
# Prepares one node of the lab (run as root on each node, idempotent). Environment:
#   NODE  this node's name
#   MASTER MASTER_IP SLAVE SLAVE_IP  the two nodes of the lab and their addresses on the lab network
#   AUTHKEY_FILE  corosync's shared key (the same on both nodes)
#   FTP_PASSWORD_FILE  the FTP user's password (read from a file: never on a command line)
set -eu
trap 'rm -f "${FTP_PASSWORD_FILE:-}"' EXIT  # the password's file goes, whatever fails

# The node's name, set here rather than by Vagrant (`vm.hostname` restarts the guest's networking
# once more at boot, 20-26 s under emulation); the FTP probe reads /etc/hostname to tell who serves.
if [ "$(cat /etc/hostname)" != "$NODE" ]; then
    echo "$NODE" > /etc/hostname
    hostname "$NODE"
fi

cat > /etc/hosts <<EOT
127.0.0.1 localhost
$MASTER_IP $MASTER
$SLAVE_IP $SLAVE
EOT

# --- corosync: two nodes, two_node quorum (the lab runs without STONITH) -------------------------
install -m 400 "$AUTHKEY_FILE" /etc/corosync/authkey
cat > /etc/corosync/corosync.conf <<EOT
totem {
    version: 2
    cluster_name: debian
    transport: knet
    crypto_cipher: aes256
    crypto_hash: sha256
}
nodelist {
    node {
        ring0_addr: $MASTER_IP
        name: $MASTER
        nodeid: 1
    }
    node {
        ring0_addr: $SLAVE_IP
        name: $SLAVE
        nodeid: 2
    }
}
quorum {
    provider: corosync_votequorum
    two_node: 1
}
logging {
    to_logfile: no
    to_syslog: yes
}
EOT

# --- DRBD: resource resftp on the second disk, internal metadata (document 1) ---------------------
cat > /etc/drbd.d/ftp.res <<EOT
resource resftp {
    protocol C;
    device /dev/drbd0;
    disk /dev/vdb;
    meta-disk internal;
    disk {
        resync-rate 100M;
        c-plan-ahead 0;
    }
    on $MASTER {
        address $MASTER_IP:7788;
    }
    on $SLAVE {
        address $SLAVE_IP:7788;
    }
}
EOT
modprobe drbd
if [ ! -e /var/lib/bascule-drbd-md ]; then
    drbdadm -- --force create-md resftp
    touch /var/lib/bascule-drbd-md
fi

# --- MariaDB is the cluster's (cServiceMySQL): systemd must not hold port 3306 through its socket
# unit, or every start by Pacemaker fails with "Address already in use"; the agent logs to
# /var/log/mysql, which the package does not create.
systemctl disable --now mariadb.socket mariadb-extra.socket mariadb.service >/dev/null 2>&1 || true
install -d -o mysql -g adm -m 2750 /var/log/mysql

# --- proftpd: no reverse DNS (the guests have no resolver: each login would wait for it), no
# IPv6, no login delay. Directives of modules that may not be loaded are guarded: an unknown
# directive makes proftpd skip the whole file of conf.d/ without failing.
cat > /etc/proftpd/conf.d/bascule.conf <<'EOT'
UseIPv6 off
UseReverseDNS off
<IfModule mod_ident.c>
  IdentLookups off
</IfModule>
<IfModule mod_delay.c>
  DelayEngine off
</IfModule>
EOT

# --- the FTP account: same uid on both nodes, home on /home (the DRBD disk) ------------------------
id user >/dev/null 2>&1 || useradd -u 2001 -U -M -d /home/user -s /bin/bash user
# Hashed with SHA-512, not Debian's default yescrypt: proftpd checks the password through
# unix_chkpwd, and under software emulation a yescrypt check costs the 1-CPU guest 1.1-1.6 s (on
# Debian 13, with a login every few seconds, it saturated the guest and FTP logins timed out). A
# setting of bascule's lab for speed, not the lab's: the hash is computed here from the same password
# (read from its file, not from this script's arguments) and handed to chpasswd already encrypted.
# The file itself was written by bascule through sudo, base64 in that command's line: the guest's
# journal keeps it (only bascule's own lab VMs get this file).
hash=$(perl -e 'chomp(my $p = <STDIN>); my @c = ("a".."z", "A".."Z", 0..9, ".", "/");
                my $salt = join "", map { $c[rand @c] } 1..16; print crypt($p, "\$6\$$salt\$")' < "$FTP_PASSWORD_FILE")
case "$hash" in '$6$'*) ;; *) echo "node.sh: no SHA-512 crypt on this node" >&2; exit 1 ;; esac
printf 'user:%s\n' "$hash" | chpasswd -e
rm -f "$FTP_PASSWORD_FILE"
