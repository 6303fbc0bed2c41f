#!/usr/bin/env bash
# Installs, on a bare Debian 12 machine, everything the embedded lab and the suite need.
# Idempotent: a second run finds everything and returns in seconds.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(qemu-system-x86 qemu-utils debootstrap libvirt-daemon-system libvirt-clients
      libvirt-daemon-driver-qemu vagrant vagrant-libvirt dnsmasq-base iptables ebtables
      bridge-utils iproute2 qemu-block-extra procps psmisc python3-venv)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bascule: installation des paquets Debian : ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# libvirtd must run QEMU as root, or it re-probes QEMU on every call and each vagrant up stalls
# for minutes (../shared/notes/vm-lab.md).
conf=/etc/libvirt/qemu.conf
if ! grep -qE '^user = "root"' "$conf"; then
  printf '\nuser = "root"\ngroup = "root"\n' >> "$conf"
  rm -rf /var/cache/libvirt/qemu/capabilities/*
fi
echo "bascule: paquets de la machine hôte prêts"
