#!/bin/sh
# Runs a gtest binary (tun_netns_test) in a private network and mount namespace, with /sys
# remounted so /sys/class/net shows that namespace. Everything it creates vanishes with it.
# Not root or no /dev/net/tun: exit 77 (skip) unless TUNDRA_NO_SKIP=1.
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
  if [ "${TUNDRA_NO_SKIP:-0}" = 1 ]; then
    echo "tun_netns_run: needs root and /dev/net/tun (TUNDRA_NO_SKIP=1 forbids skipping)" >&2
    exit 1
  fi
  echo "tun_netns_run: SKIP: needs root and /dev/net/tun" >&2
  exit 77
fi
# TUNDRA_PRIVATE_NETNS records the namespace made here: the tests run only inside it.
exec unshare --net --mount -- sh -c 'mount -t sysfs sysfs /sys && ip link set lo up &&
  TUNDRA_PRIVATE_NETNS=$(readlink /proc/self/ns/net) && export TUNDRA_PRIVATE_NETNS &&
  exec "$@"' tun_netns_run "$@"
