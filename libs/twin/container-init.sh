#!/bin/sh
# Twin only: prepares one container's private mount and UTS namespaces, then becomes its init.
# Usage: container-init.sh NAME [tmpfs DIR | bind SRC DST]...
# Runs as PID 1 of a fresh PID namespace (unshare --pid --fork --mount-proc), inside the
# container's network namespace. The generated files are bind-mounted at their real paths.
set -eu
name=$1
shift
hostname "$name"
ip link set lo up
# Like Alpine: a container forwards nothing.
sysctl -qw net.ipv4.ip_forward=0
while [ $# -gt 0 ]; do
  case $1 in
    tmpfs)
      [ -d "$2" ] || { echo "container-init: $2 is missing on this machine" >&2; exit 1; }
      mount -t tmpfs -o mode=755 tmpfs "$2"
      shift 2
      ;;
    bind)
      mkdir -p "$(dirname "$3")"
      touch "$3"
      mount --bind "$2" "$3"
      shift 3
      ;;
    *)
      echo "container-init: unknown step $1" >&2
      exit 1
      ;;
  esac
done
# Private /run, last (bind sources may live under /run): this container's pid files only.
mount -t tmpfs -o mode=755 tmpfs /run
exec tini -s -- sleep infinity
