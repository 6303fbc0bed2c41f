#!/usr/bin/env bash
# Builds the embedded lab's Vagrant box from Debian packages: the guests have no network, so every
# package the lab needs is baked in. No loop device, no partition, no bootloader: the image is one
# ext4 file system (mkfs.ext4 -d) and the VMs boot its kernel directly (vagrant-libvirt kernel/initrd).
#
# usage: build.sh OUTDIR BOXNAME SUITE   (OUTDIR gets box.img, vmlinuz, initrd.img, BOXNAME.box)
#   SUITE is the Debian release's code name (bookworm, trixie): bascule/lab_release.py names it for
#   each release the lab knows.
set -euo pipefail
out=${1:?OUTDIR}; boxname=${2:?BOXNAME}; suite=${3:?SUITE}
# The Debian mirror this machine's apt already uses (or BASCULE_DEBIAN_MIRROR)
host_mirror() {
  awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep . ||
    awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null
}
mirror=${BASCULE_DEBIAN_MIRROR:-$(host_mirror)}
[ -n "$mirror" ] || { echo "bascule box: no Debian mirror found in /etc/apt; set BASCULE_DEBIAN_MIRROR" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /var/tmp/bascule-box.XXXXXX)
root=$work/rootfs
cleanup() {
  for m in dev/pts dev proc sys; do mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"; done
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf 'bascule box: %s (%ds)\n' "$*" "$SECONDS"; }

base=systemd-sysv,udev,kmod,linux-image-amd64,initramfs-tools,openssh-server,sudo,ifupdown,isc-dhcp-client,iproute2,e2fsprogs,procps,python3,iputils-ping,less
step "debootstrap $suite"
debootstrap --variant=minbase --include="$base" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log"; exit 1; }

step "cluster packages"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod +x "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"; mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"; mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "deb $mirror $suite main" > "$root/etc/apt/sources.list"
chroot "$root" apt-get update -qq
# The lab: pacemaker + corosync + crmsh, DRBD (the 8.4 module is in Debian's kernel), proftpd (its
# /etc/init.d/proftpd is the lab's lsb:proftpd), apache (serviceWeb), MariaDB (cServiceMySQL).
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends \
  pacemaker pacemaker-cli-utils corosync crmsh resource-agents drbd-utils proftpd-core apache2 \
  mariadb-server psmisc rsync ftp curl wget >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; exit 1; }
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/*

step "configure"
"$here/configure-guest.sh" "$root"
rm -f "$root/usr/sbin/policy-rc.d"
: > "$root/etc/resolv.conf"  # the build host's resolver means nothing to the guests
for m in dev/pts dev proc sys; do umount -l "$root/$m"; done

step "image"
mkdir -p "$out"
cp "$root"/boot/vmlinuz-* "$out/vmlinuz"; cp "$root"/boot/initrd.img-* "$out/initrd.img"
truncate -s 3G "$work/root.raw"
mkfs.ext4 -q -F -L root -d "$root" "$work/root.raw"
qemu-img convert -c -O qcow2 "$work/root.raw" "$out/box.img"
printf '{"provider":"libvirt","format":"qcow2","virtual_size":3}\n' > "$out/metadata.json"
cat > "$out/Vagrantfile" <<'VF'
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    libvirt.driver = "qemu"
  end
end
VF
tar -C "$out" -cf "$out/$boxname.box" metadata.json Vagrantfile box.img
rm -f "$out/box.img"
step "done: $out/$boxname.box"
