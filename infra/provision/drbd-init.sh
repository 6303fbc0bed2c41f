#!/bin/sh
# First promotion of resftp on the master after the initial sync: the file system and the user's
# home on it. Run once, on the master, with resftp up and UpToDate/UpToDate on both nodes.
set -eu
drbdadm primary resftp
mkfs.ext4 -q -F /dev/drbd0
mount /dev/drbd0 /mnt
install -d -o user -g user -m 755 /mnt/user /mnt/user/Documents
umount /mnt
drbdadm secondary resftp
touch /var/lib/bascule-drbd-init
