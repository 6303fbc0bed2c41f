#!/usr/bin/env bash
# Configures the guest file system ROOT at build time: what every node has before Vagrant and the
# lab's provisioning make it intralabXX or hdintralabXX.
set -euo pipefail
root=${1:?ROOT}
keydir=$(ls -d /usr/share/rubygems-integration/all/gems/vagrant-*/keys | head -1)

echo "bascule-node" > "$root/etc/hostname"
echo "/dev/vda / ext4 rw,noatime 0 1" > "$root/etc/fstab"
# An empty machine-id: each VM makes its own at first boot (corosync and journald care).
: > "$root/etc/machine-id"; rm -f "$root/var/lib/dbus/machine-id"
cat > "$root/etc/network/interfaces" <<'NI'
auto lo
iface lo inet loopback
auto eth0
iface eth0 inet dhcp
source /etc/network/interfaces.d/*
NI
mkdir -p "$root/etc/network/interfaces.d"

chroot "$root" useradd -m -s /bin/bash -G sudo vagrant
install -d -m 700 -o 1000 -g 1000 "$root/home/vagrant/.ssh"
install -m 600 -o 1000 -g 1000 "$keydir/vagrant.pub" "$root/home/vagrant/.ssh/authorized_keys"
echo "vagrant ALL=(ALL) NOPASSWD:ALL" > "$root/etc/sudoers.d/vagrant"; chmod 440 "$root/etc/sudoers.d/vagrant"
sed -i 's/^#\?UseDNS.*/UseDNS no/' "$root/etc/ssh/sshd_config"; grep -q '^UseDNS' "$root/etc/ssh/sshd_config" || echo "UseDNS no" >> "$root/etc/ssh/sshd_config"
# /home is mounted from DRBD by the cluster; vagrant's home must live elsewhere or it would vanish
# under the mount on the master.
mv "$root/home/vagrant" "$root/var/lib/vagrant-home"; chroot "$root" usermod -d /var/lib/vagrant-home vagrant

# The cluster starts these; at boot they must stay down.
for s in apache2 proftpd corosync pacemaker mariadb drbd apt-daily.timer apt-daily-upgrade.timer \
         e2scrub_all.timer fstrim.timer man-db.timer; do
  chroot "$root" systemctl disable "$s" >/dev/null 2>&1 || true
done
chroot "$root" systemctl enable ssh >/dev/null 2>&1 || true
echo drbd > "$root/etc/modules-load.d/drbd.conf"

# journald in memory only, smaller: the VMs have 1.5 GiB.
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=32M\n' > "$root/etc/systemd/journald.conf.d/bascule.conf"
# Serial console for the boot log the lab shows when a VM does not come up.
chroot "$root" systemctl enable serial-getty@ttyS0.service >/dev/null 2>&1 || true
