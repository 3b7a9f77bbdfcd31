#!/usr/bin/env bash
# libvirt-ns.sh: a private libvirt (libvirtd + virtlogd) inside a network namespace of its own,
# for tests that run a real `vagrant up --provider libvirt` on a machine without systemd.
#
#   libvirt-ns.sh start NS        network namespace NS; a mount namespace with NS's own /sys and
#                                 libvirt's own /etc, /var/lib, /var/log, /var/cache and /run dirs;
#                                 virtlogd and libvirtd running in both
#   libvirt-ns.sh exec NS CMD...  runs CMD in both namespaces (vagrant, virsh, ssh to the VMs)
#   libvirt-ns.sh stop NS         removes every domain, volume, pool and network, kills every
#                                 process, unmounts and deletes it all; also after a crash
#   libvirt-ns.sh status NS       exit status 0 when libvirtd in NS answers
#
# State lives under $LAB_LIBVIRT_STATE/NS (default /var/lib/lab-libvirt/NS). libvirt's objects
# are defined only there, so the machine's own libvirt config is never read or changed, and
# libvirt's bridges, dnsmasq and iptables rules exist only inside NS.
# cgroups: libvirt runs VMs without any when none is mounted where it looks, and then leaves
# nothing in the machine's (shared) hierarchies. LAB_LIBVIRT_CGROUPS=1 mounts the v1 hierarchies
# and cgroup2 for it anyway; `stop` then removes the groups of NS's VMs by name.
set -eu

state_root=${LAB_LIBVIRT_STATE:-/var/lib/lab-libvirt}
caps_cache=$state_root/qemu-capabilities
cgroup_v1="cpu cpuacct cpuset memory devices freezer blkio pids"

die() { echo "libvirt-ns: $*" >&2; exit 1; }
log() { echo "libvirt-ns: $*" >&2; }

usage() {
  sed -n '5,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# The namespace's name is also a directory name: keep it plain.
check_name() {
  case $1 in
    '' | *[!A-Za-z0-9_.-]* | .*) die "bad namespace name '$1' (letters, digits, _ . - only)" ;;
  esac
  [ "${#1}" -le 40 ] || die "namespace name '$1' is longer than 40 characters"
}

# Copies the directory tree of $1 (directories only, with owner and mode) to $2.
copy_dirs() {
  local src=$1 dst=$2 d
  mkdir -p "$dst"
  (cd "$src" && find . -type d) | while IFS= read -r d; do
    mkdir -p "$dst/$d"
    chown --reference="$src/$d" "$dst/$d"
    chmod --reference="$src/$d" "$dst/$d"
  done
}

# Runs "$@" in NS's network and mount namespaces, in the caller's working directory.
in_ns() {
  local ns=$1
  shift
  nsenter --mount="$state_root/$ns/mnt.ns" --net="/run/netns/$ns" --wd="$PWD" -- "$@"
}

virsh_ns() {
  local ns=$1
  shift
  in_ns "$ns" timeout 30 virsh -q -c qemu:///system "$@"
}

# Bounded wait: until "$@" succeeds, at most $1 tenths of a second.
wait_for() {
  local tenths=$1 i=0
  shift
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -le "$tenths" ] || return 1
    sleep 0.1
  done
}

# Runs in the new mount namespace, already inside NS's network namespace ($1: state dir).
setup_mounts() {
  local s=$1 c m
  # The inherited /sys lists the machine's network devices; libvirt reads its bridges there.
  umount -l /sys
  mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
  if [ -e "$s/cgroups" ]; then
    mount -t tmpfs -o mode=755,nosuid,nodev,noexec cgroup /sys/fs/cgroup
    for c in $cgroup_v1; do
      mkdir "/sys/fs/cgroup/$c"
      mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
    done
    mkdir /sys/fs/cgroup/unified
    mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
  fi
  # This copy of the mount table holds every other network namespace of the machine (the nsfs
  # files under /run/netns); let go of them, or they outlive their own `ip netns del`.
  awk '$5 ~ "^/run/netns/" {print $5}' /proc/self/mountinfo | while IFS= read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  mount --bind "$s/etc" /etc/libvirt
  mount --bind "$s/lib" /var/lib/libvirt
  mount --bind "$s/log" /var/log/libvirt
  mount --bind "$s/cache" /var/cache/libvirt
  mount --bind "$s/run" /run/libvirt
  # /dev/kvm is root-only here (no udev): libvirt then finds its cached qemu capabilities stale
  # on every call and probes qemu again (328 s instead of 61 s for a 2-VM up). A node with the
  # usual group and mode, bound over /dev/kvm in this mount namespace only, leaves the machine's
  # /dev/kvm alone.
  [ ! -e "$s/kvm" ] || mount --bind "$s/kvm" /dev/kvm
}

cmd_start() {
  local ns=$1 s=$state_root/$1
  [ ! -e "/run/netns/$ns" ] || die "network namespace $ns exists; run: $0 stop $ns"
  [ ! -e "$s" ] || die "$s exists; run: $0 stop $ns"
  for tool in libvirtd virtlogd virsh nsenter unshare ip; do
    command -v "$tool" >/dev/null || die "$tool is missing (Debian packages: libvirt-daemon-system libvirt-clients util-linux iproute2)"
  done
  mkdir -p "$state_root"
  mkdir "$s"
  # From here on a failure would leave things behind: clean up like `stop` does.
  trap 'log "start failed, cleaning up"; cmd_stop "$ns" || true' EXIT
  [ "${LAB_LIBVIRT_CGROUPS:-0}" != 1 ] || touch "$s/cgroups"

  # libvirt's config as installed, without any domain, network or pool: the package's "default"
  # network would start a second bridge and dnsmasq for nothing.
  cp -a /etc/libvirt "$s/etc"
  rm -rf "$s/etc/qemu/autostart" "$s/etc/storage"
  find "$s/etc/qemu" -maxdepth 1 -name '*.xml' -delete
  find "$s/etc/qemu/networks" -name '*.xml' -delete
  rm -f "$s/etc/qemu/networks/autostart/"*
  copy_dirs /var/lib/libvirt "$s/lib"
  copy_dirs /var/log/libvirt "$s/log"
  copy_dirs /var/cache/libvirt "$s/cache"
  mkdir -m 755 "$s/run"
  # qemu's capabilities from an earlier run: probing them again costs about 7 s. libvirt checks
  # each entry (qemu binary, libvirt version, kernel, /dev/kvm) and probes again when stale.
  mkdir -p "$s/cache/qemu/capabilities"
  [ ! -d "$caps_cache" ] || cp -p "$caps_cache/"*.xml "$s/cache/qemu/capabilities/" 2>/dev/null || true
  if [ -c /dev/kvm ]; then
    # shellcheck disable=SC2046 # major and minor, in hex
    mknod -m 660 "$s/kvm" c $(stat -c '0x%t 0x%T' /dev/kvm)
    chgrp kvm "$s/kvm"
  fi
  # The mount point of the private /run/libvirt (libvirt's tmpfiles.d makes it under systemd).
  [ -d /run/libvirt ] || mkdir -m 755 /run/libvirt

  ip netns add "$ns"
  ip -n "$ns" link set lo up

  # A file can hold a mount namespace only on a private mount.
  mount --bind "$s" "$s"
  mount --make-private "$s"
  touch "$s/mnt.ns"
  unshare --mount="$s/mnt.ns" --propagation=private \
    nsenter --net="/run/netns/$ns" -- bash "$0" __setup-mounts "$s"

  in_ns "$ns" virtlogd -d -p "$s/virtlogd.pid"
  in_ns "$ns" libvirtd -d -p "$s/libvirtd.pid"
  wait_for 300 in_ns "$ns" virsh -q -c qemu:///system version ||
    die "libvirtd in $ns did not answer within 30 s (log: $s/log/libvirtd.log)"
  trap - EXIT
}

# Succeeds while one of the pids runs (a zombie has finished: its parent may never reap it).
any_alive() {
  local p st
  for p in "$@"; do
    st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1) || true
    [ -z "$st" ] || [ "$st" = Z ] || return 0
  done
  return 1
}

none_alive() { ! any_alive "$@"; }

# TERM, a bounded wait, then KILL.
kill_all() {
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  wait_for 50 none_alive "$@" && return 0
  kill -KILL "$@" 2>/dev/null || true
  wait_for 50 none_alive "$@" || log "still running after KILL: $*"
}

# Every process in NS's network or mount namespace: qemu, dnsmasq, the daemons, vagrant, ssh.
ns_pids() {
  local ns=$1 s=$state_root/$1 mnt="" p
  [ ! -e "$s/mnt.ns" ] || mnt=$(stat -L -c %i "$s/mnt.ns" 2>/dev/null || true)
  {
    [ ! -e "/run/netns/$ns" ] || ip netns pids "$ns" 2>/dev/null || true
    if [ -n "$mnt" ]; then
      for p in /proc/[0-9]*; do
        [ "$(readlink "$p/ns/mnt" 2>/dev/null)" != "mnt:[$mnt]" ] || echo "${p#/proc/}"
      done
    fi
  } | sort -un | grep -vx "$$" || true
}

# Keeps qemu's capabilities for the next start (each file replaced in one rename).
save_caps() {
  local f
  mkdir -p "$caps_cache"
  for f in "$1"/cache/qemu/capabilities/*.xml; do
    [ -f "$f" ] || continue
    { cp -p "$f" "$caps_cache/.tmp.$$" && mv -f "$caps_cache/.tmp.$$" "$caps_cache/${f##*/}"; } || true
  done
}

# With LAB_LIBVIRT_CGROUPS=1, libvirt made /machine/qemu-<id>-<name>.libvirt-qemu in the
# machine's hierarchies (shared by every mount of them); they outlive a libvirtd that was killed.
# The names come from the domains NS defined: libvirt keeps 20 characters, then [A-Za-z0-9.-].
# rmdir removes only empty groups: another libvirt's running VMs, and /machine with them, stay.
remove_cgroups() {
  local ns=$1 s=$state_root/$1 names="" f n
  [ -e "$s/cgroups" ] && [ -e "$s/mnt.ns" ] || return 0
  for f in "$s"/etc/qemu/*.xml "$s"/run/qemu/*.xml; do
    [ -f "$f" ] || continue
    n=$(sed -n 's:.*<name>\(.*\)</name>.*:\1:p' "$f" | head -1)
    n=$(printf %s "$n" | cut -c1-20 | tr -cd 'A-Za-z0-9.-')
    [ -z "$n" ] || names="$names $n"
  done
  # shellcheck disable=SC2016,SC2086 # expanded by the inner shell; one name per word
  in_ns "$ns" sh -c 'for n in "$@"; do
      find /sys/fs/cgroup -depth -type d -path "*/machine/qemu-*-$n.libvirt-qemu*" -exec rmdir {} \; 2>/dev/null
    done
    rmdir /sys/fs/cgroup/*/machine 2>/dev/null; true' sh $names || true
}

cmd_stop() {
  local ns=$1 s=$state_root/$1 obj vol
  # Through libvirt while it answers: domains, then volumes and pools, then networks.
  if [ -e "$s/mnt.ns" ] && [ -e "/run/netns/$ns" ] && virsh_ns "$ns" version >/dev/null 2>&1; then
    for obj in $(virsh_ns "$ns" list --all --name); do
      virsh_ns "$ns" destroy "$obj" >/dev/null 2>&1 || true
      virsh_ns "$ns" undefine --nvram --managed-save --snapshots-metadata "$obj" >/dev/null 2>&1 ||
        virsh_ns "$ns" undefine "$obj" >/dev/null 2>&1 || true
    done
    for obj in $(virsh_ns "$ns" pool-list --all --name); do
      for vol in $(virsh_ns "$ns" vol-list "$obj" | awk '{print $1}'); do
        virsh_ns "$ns" vol-delete --pool "$obj" "$vol" >/dev/null 2>&1 || true
      done
      virsh_ns "$ns" pool-destroy "$obj" >/dev/null 2>&1 || true
      virsh_ns "$ns" pool-undefine "$obj" >/dev/null 2>&1 || true
    done
    for obj in $(virsh_ns "$ns" net-list --all --name); do
      virsh_ns "$ns" net-destroy "$obj" >/dev/null 2>&1 || true
      virsh_ns "$ns" net-undefine "$obj" >/dev/null 2>&1 || true
    done
  fi
  # Whatever is left, also after libvirtd died: processes, cgroups, mounts, files, namespace.
  # shellcheck disable=SC2046 # one pid per word
  kill_all $(ns_pids "$ns")
  if [ -e "$s" ]; then
    remove_cgroups "$ns"
    umount "$s/mnt.ns" 2>/dev/null || true
    save_caps "$s"
    umount "$s" 2>/dev/null || umount -l "$s" 2>/dev/null || true
    rm -rf "$s"
  fi
  [ ! -e "/run/netns/$ns" ] || ip netns del "$ns"
}

cmd_status() {
  local ns=$1
  [ -e "$state_root/$ns/mnt.ns" ] && [ -e "/run/netns/$ns" ] || return 1
  virsh_ns "$ns" version >/dev/null 2>&1
}

[ $# -ge 2 ] || usage
cmd=$1
shift
if [ "$cmd" = __setup-mounts ]; then
  setup_mounts "$1"
  exit
fi
[ "$(id -u)" = 0 ] || die "run as root (namespaces, mounts, libvirtd)"
ns=$1
shift
check_name "$ns"
case $cmd in
  start) cmd_start "$ns" ;;
  stop) cmd_stop "$ns" ;;
  status) cmd_status "$ns" ;;
  exec)
    [ $# -ge 1 ] || usage
    [ -e "$state_root/$ns/mnt.ns" ] || die "$ns is not started"
    # exec: a caller's signal or timeout reaches the command itself.
    exec nsenter --mount="$state_root/$ns/mnt.ns" --net="/run/netns/$ns" --wd="$PWD" -- "$@"
    ;;
  *) usage ;;
esac
