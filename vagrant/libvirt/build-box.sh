#!/usr/bin/env bash
# build-box.sh: builds lab/debian-12, a small Debian 12 (bookworm, amd64) Vagrant box for the
# libvirt provider, from Debian packages only, and adds it to Vagrant.
#
# The box carries everything the lab's VMs use, since guests have no route out at test time.
# It boots from an MBR disk image: GRUB's boot.img and core.img written by hand (loop devices
# show no partitions here, so grub-install cannot run), an ext4 root filesystem made straight from
# the debootstrap tree (mke2fs -d), and a small initramfs (virtio and ext4 modules only).
#
# Cached: the box file is named after a hash of this script and its inputs, under $LAB_BOX_CACHE
# (default /var/cache/lab-boxes); `vagrant box add` runs only when Vagrant's copy carries another
# hash (kept in the box's metadata.json as lab_box_hash). Builds go to a temporary folder moved
# into place at the end, so a failed or killed run leaves nothing a later run would trust.
#
# Usage: build-box.sh            build if needed, add if needed, print the box file
# Env:   LAB_BOX_CACHE, LAB_DEBIAN_MIRROR (default http://deb.debian.org/debian), VAGRANT_HOME
set -eu

box_name=lab/debian-12
suite=bookworm
mirror=${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${LAB_BOX_CACHE:-/var/cache/lab-boxes}
vagrant_home=${VAGRANT_HOME:-$HOME/.vagrant.d}
disk_gb=8
# The kernel command line; root is found by label so any disk bus works.
# fsck.mode=skip: the journal keeps ext4 consistent; a check of a clean disk costs 2 s under TCG.
cmdline="root=LABEL=labroot ro net.ifnames=0 biosdevname=0 console=tty0 console=ttyS0,115200 quiet fsck.mode=skip"
packages=systemd-sysv,udev,dbus,kmod,linux-image-amd64,initramfs-tools,openssh-server,sudo,iproute2,bridge-utils,net-tools,tcpdump,curl,lynx,iputils-ping,netplan.io,ca-certificates,procps,rsync
# Kernel module folders no VM of the lab can use (hardware a qemu guest does not have).
prune_modules="drivers/gpu drivers/media sound drivers/infiniband drivers/usb drivers/iio drivers/staging
  drivers/comedi drivers/mtd drivers/hwmon drivers/target drivers/isdn drivers/bluetooth drivers/thunderbolt
  drivers/net/wireless drivers/net/can drivers/net/wwan drivers/net/ieee802154 drivers/net/usb
  net/bluetooth net/wireless net/mac80211"

log() { echo "build-box: $*" >&2; }
die() { log "$*"; exit 1; }

for tool in debootstrap mke2fs sfdisk grub-mkimage qemu-img vagrant flock sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian packages: debootstrap e2fsprogs fdisk grub-pc-bin qemu-utils vagrant util-linux)"
done
[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot)"
set -- /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub
[ -f "$1" ] || die "Vagrant's insecure public key is missing (package vagrant)"
vagrant_pub=$1

# Whatever changes the box changes the hash: this script (packages, command line, files) and the key.
hash=$(cat "$0" "$vagrant_pub" | sha256sum | cut -c1-16)
box_file=$cache/debian-12-$hash.box
box_dir=$vagrant_home/boxes/$(printf %s "$box_name" | sed 's|/|-VAGRANTSLASH-|')/0/libvirt

# A signal ends the run through the EXIT trap (cleanup), after the step that is running.
trap 'exit 130' INT TERM HUP
mkdir -p "$cache/debs"
# One build at a time per cache; a second caller waits, then finds the box made.
exec 9>"$cache/.lock"
flock -w 1800 9 || die "another build-box.sh holds $cache/.lock for 30 minutes"

# Unmounts every mount below $1 (debootstrap mounts /proc and /sys in the tree), deepest first.
unmount_below() {
  local m
  for _ in 1 2 3; do
    m=$(awk -v p="$1/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r)
    [ -n "$m" ] || return 0
    # shellcheck disable=SC2086 # one path per word; the paths are ours, without blanks
    umount $m 2>/dev/null || umount -l $m 2>/dev/null || true
  done
}

remove_tmp() {
  unmount_below "$1"
  rm -rf "$1"
}

# Files of the box tree: vagrant user, networking, boot, first-boot ssh host key.
configure_rootfs() {
  local r=$1 kver
  kver=$(basename "$r"/boot/vmlinuz-*)
  kver=${kver#vmlinuz-}

  echo lab >"$r/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tlab\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$r/etc/hosts"
  # debootstrap copied the build machine's resolver, which means nothing inside a lab VM.
  echo '# no resolver: the lab VMs have no route out' >"$r/etc/resolv.conf"
  echo 'LABEL=labroot / ext4 errors=remount-ro 0 1' >"$r/etc/fstab"
  # Every VM makes its own machine-id at first boot (DHCP client ids and D-Bus use it).
  : >"$r/etc/machine-id"
  ln -sf /etc/machine-id "$r/var/lib/dbus/machine-id"

  chroot "$r" useradd -m -s /bin/bash vagrant
  echo vagrant:vagrant | chroot "$r" chpasswd
  install -d -m 700 -o 1000 -g 1000 "$r/home/vagrant/.ssh"
  install -m 600 -o 1000 -g 1000 "$vagrant_pub" "$r/home/vagrant/.ssh/authorized_keys"
  [ "$(chroot "$r" id -u vagrant)" = 1000 ] || die "vagrant is not uid 1000 in the box"
  echo 'vagrant ALL=(ALL) NOPASSWD:ALL' >"$r/etc/sudoers.d/vagrant"
  chmod 440 "$r/etc/sudoers.d/vagrant"

  # Management NIC by DHCP; the client id is the MAC so every VM gets its own lease.
  cat >"$r/etc/systemd/network/10-eth0.network" <<'EOF'
[Match]
Name=eth0

[Network]
DHCP=ipv4

[DHCPv4]
ClientIdentifier=mac
UseHostname=no
EOF
  chroot "$r" systemctl -q enable systemd-networkd.service
  # Online as soon as one link is: the lab's own NICs may never be "routable".
  mkdir -p "$r/etc/systemd/system/systemd-networkd-wait-online.service.d"
  printf '[Service]\nExecStart=\nExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=30\n' \
    >"$r/etc/systemd/system/systemd-networkd-wait-online.service.d/any.conf"
  # Units that would only try the network, churn the disk of a short-lived VM, or slow the boot
  # (under an emulated CPU every unit costs about a second).
  chroot "$r" systemctl -q mask apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
    e2scrub_all.timer e2scrub_reap.service fstrim.timer systemd-binfmt.service \
    proc-sys-fs-binfmt_misc.automount sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount \
    systemd-pstore.service modprobe@drm.service modprobe@efi_pstore.service
  # Drivers udev would load for qemu's emulated hardware, that no lab VM uses.
  printf 'blacklist %s\n' kvm kvm_amd kvm_intel ccp floppy pcspkr psmouse serio_raw \
    >"$r/etc/modprobe.d/lab-blacklist.conf"

  # One ed25519 host key per VM, made at first boot (instant, unlike RSA under an emulated CPU).
  rm -f "$r"/etc/ssh/ssh_host_*
  printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nUseDNS no\n' >"$r/etc/ssh/sshd_config.d/lab.conf"
  mkdir -p "$r/etc/systemd/system/ssh.service.d"
  cat >"$r/etc/systemd/system/ssh.service.d/hostkey.conf" <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/bin/sh -c 'test -s /etc/ssh/ssh_host_ed25519_key || ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key'
ExecStartPre=/usr/sbin/sshd -t
EOF

  # Smaller tree: hardware modules, docs, translations, package lists.
  for d in $prune_modules; do rm -rf "$r/usr/lib/modules/$kver/kernel/$d"; done
  find "$r/usr/lib/modules/$kver/kernel/drivers/net/ethernet" -mindepth 1 -maxdepth 1 ! -name intel -exec rm -rf {} +
  chroot "$r" depmod -a "$kver"
  rm -rf "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/locale/* \
    "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
    "$r"/var/log/*.log "$r"/var/log/apt/* "$r"/var/cache/debconf/*-old "$r"/debootstrap
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
    >"$r/etc/dpkg/dpkg.cfg.d/lab-nodoc"

  mkdir -p "$r/boot/grub"
  cat >"$r/boot/grub/grub.cfg" <<EOF
set timeout=0
linux /vmlinuz $cmdline
initrd /initrd.img
boot
EOF
}

# Raw MBR disk: partition 1 from 1 MiB to the end, ext4 from the tree, GRUB in the first MiB.
make_disk() {
  local t=$1 raw=$1/disk.raw core=$1/core.img size=$((disk_gb * 1024 * 1024 * 1024))
  truncate -s "$size" "$raw"
  echo 'start=2048, type=83, bootable' | sfdisk -q --label dos "$raw"
  # Inode tables zeroed now (sparse), so the guest's first boot does not do it under TCG.
  mke2fs -q -F -t ext4 -L labroot -m 1 -d "$t/rootfs" -E offset=1048576,lazy_itable_init=0,lazy_journal_init=0 \
    "$raw" "$(((size - 1048576) / 1024))k"
  # core.img knows where /boot/grub is; the modules it needs are inside it.
  grub-mkimage -O i386-pc -d /usr/lib/grub/i386-pc -o "$core" -p '(hd0,msdos1)/boot/grub' \
    biosdisk part_msdos ext2 normal linux boot configfile
  [ "$(stat -c %s "$core")" -lt $((2047 * 512)) ] || die "core.img does not fit before the partition"
  # boot.img's code only (440 bytes): the partition table after it stays.
  dd if=/usr/lib/grub/i386-pc/boot.img of="$raw" bs=440 count=1 conv=notrunc status=none
  dd if="$core" of="$raw" bs=512 seek=1 conv=notrunc status=none
  qemu-img convert -c -O qcow2 -o compression_type=zstd "$raw" "$t/box/box.img"
  rm -f "$raw"
}

build() {
  local t
  t=$(mktemp -d "$cache/tmp.XXXXXX")
  # shellcheck disable=SC2064 # $t is fixed now
  trap "remove_tmp '$t'" EXIT
  log "building $box_file (debootstrap $suite from $mirror)"

  # Two stages, so the initramfs settings are in place before the kernel's postinst builds it.
  debootstrap --foreign --variant=minbase --cache-dir="$cache/debs" --include="$packages" \
    "$suite" "$t/rootfs" "$mirror" >"$t/debootstrap.log" 2>&1 ||
    { tail -20 "$t/debootstrap.log" >&2; die "debootstrap (first stage) failed"; }
  mkdir -p "$t/rootfs/etc/initramfs-tools/conf.d" "$t/rootfs/usr/share/initramfs-tools/modules.d"
  printf 'MODULES=list\nCOMPRESS=gzip\n' >"$t/rootfs/etc/initramfs-tools/conf.d/lab"
  printf 'virtio_pci\nvirtio_blk\nvirtio_scsi\nvirtio_net\next4\n' >"$t/rootfs/usr/share/initramfs-tools/modules.d/lab"
  # No fsync per file: a failed build is thrown away anyway.
  mkdir -p "$t/rootfs/etc/dpkg/dpkg.cfg.d"
  echo force-unsafe-io >"$t/rootfs/etc/dpkg/dpkg.cfg.d/lab-unsafe-io"
  chroot "$t/rootfs" /debootstrap/debootstrap --second-stage >>"$t/debootstrap.log" 2>&1 ||
    { tail -20 "$t/debootstrap.log" >&2; die "debootstrap (second stage) failed"; }
  unmount_below "$t/rootfs"
  rm -f "$t/rootfs/etc/dpkg/dpkg.cfg.d/lab-unsafe-io"
  log "debootstrap done after $SECONDS s"

  configure_rootfs "$t/rootfs"
  mkdir "$t/box"
  make_disk "$t"
  log "disk image done after $SECONDS s"
  printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %s, "lab_box_hash": "%s"}\n' \
    "$disk_gb" "$hash" >"$t/box/metadata.json"
  # Guests cannot install NFS clients: no default synced folder (rsync ones work).
  # Naming the guest spares Vagrant's guest detection (dozens of ssh commands, 10 s under TCG).
  cat >"$t/box/Vagrantfile" <<'EOF'
Vagrant.configure("2") do |config|
  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.vm.guest = :debian
end
EOF
  tar -C "$t/box" -cf "$t/box.tar" metadata.json Vagrantfile box.img
  mv "$t/box.tar" "$box_file"
  remove_tmp "$t"
  trap - EXIT
}

# Leftovers of runs that died (we hold the lock, so no build is running), and older boxes.
for old in "$cache"/tmp.*; do
  [ ! -e "$old" ] || remove_tmp "$old"
done
for old in "$cache"/debian-12-*.box; do
  [ ! -e "$old" ] || [ "$old" = "$box_file" ] || rm -f "$old"
done

if [ -f "$box_file" ]; then
  log "cached: $box_file"
else
  build
fi

if grep -qs "\"lab_box_hash\": \"$hash\"" "$box_dir/metadata.json"; then
  log "$box_name is added at $hash"
else
  log "adding $box_name"
  vagrant box add --force --name "$box_name" --provider libvirt "$box_file" >&2
fi
echo "$box_file"
