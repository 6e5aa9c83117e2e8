#!/bin/sh
# realm's network sidecar. It holds the network namespace of the run, on the default bridge, which the agent's
# container joins (docker run --network container:<this container>); it has NET_ADMIN, which the agent's
# container lacks (no NET_ADMIN, no NET_RAW), so the rules set here hold even against root in the agent's
# container. Outbound, the namespace may reach only realm's proxy and broker on the host (both require the
# run's token); everything else is rejected at once and logged to NFLOG group $group, which tcpdump prints on
# stdout for realm to report (--nflog-threshold 1: each packet at once, not batched for a second). realm starts
# this container before it knows its own ports, so the first line on stdin says what to allow. realm keeps
# stdin open for as long as the run lasts: when realm closes it, or dies, stdin ends, this script closes realm's
# two ports as well (the agent's processes keep the namespace, with these rules, after this container is gone)
# and the container ends (it runs with AutoRemove).
#
#   firewall.sh    stdin, first line: "HOST PORT..."   HOST: realm's address as the container sees it (an IPv4
#                  address, or a name such as host.docker.internal, resolved once from the namespace's hosts file)
# Prints "ready ADDRESS" on stdout once every rule is in place (ADDRESS: HOST as resolved); realm lets the agent
# start only after that line.
set -eu
group=7
# Nothing before realm's line: realm died first, and there is nothing to allow.
read -r host ports || exit 0
# One word per port (checked below), as the rules take them.
# shellcheck disable=SC2086
set -- $ports
[ "$#" -gt 0 ] || { echo "firewall.sh: no port to allow" >&2; exit 2; }
for port in "$@"; do
  case "$port" in
  '' | *[!0-9]*) echo "firewall.sh: not a port: $port" >&2; exit 2 ;;
  esac
done

case "$host" in
*[!0-9.]*) host=$(getent ahostsv4 "$host" | { read -r address _ && echo "$address"; }) ;;
esac
[ -n "$host" ] || { echo "firewall.sh: cannot resolve realm's host address" >&2; exit 2; }

# loopback_only: the start of a filter table in which everything is dropped but loopback.
loopback_only() {
  echo '*filter'
  echo ':INPUT DROP [0:0]'
  echo ':FORWARD DROP [0:0]'
  echo ':OUTPUT DROP [0:0]'
  echo '-A INPUT -i lo -j ACCEPT'
  echo '-A OUTPUT -o lo -j ACCEPT'
}

# rules [PORT...]: the filter table, whole. The default policies drop, and the rules reject at once so that a
# blocked connection fails fast (a refused connect, not a hang). Replies from realm's ports come back in; nothing
# else does. One iptables-restore applies it atomically (all of it or none) in a few milliseconds, where one
# iptables call per rule took a tenth of a second.
rules() {
  loopback_only
  for port in "$@"; do
    echo "-A OUTPUT -p tcp -d $host --dport $port -j ACCEPT"
    echo "-A INPUT -p tcp -s $host --sport $port -j ACCEPT"
  done
  echo "-A OUTPUT -j NFLOG --nflog-group $group --nflog-threshold 1"
  echo '-A OUTPUT -p tcp -j REJECT --reject-with tcp-reset'
  echo '-A OUTPUT -j REJECT --reject-with icmp-port-unreachable'
  echo 'COMMIT'
}
# IPv6: nothing but loopback. realm also starts the agent's container with IPv6 disabled; either one suffices,
# and the run refuses to start when neither holds (a link-local address would otherwise reach the host's services).
rules6() {
  loopback_only
  echo "-A OUTPUT -j NFLOG --nflog-group $group --nflog-threshold 1"
  echo '-A OUTPUT -p tcp -j REJECT --reject-with tcp-reset'
  echo '-A OUTPUT -j REJECT'
  echo 'COMMIT'
}

# Both at once: the agent waits for them.
rules6 | ip6tables-restore -w 2>/dev/null &
v6=$!
rules "$@" | iptables-restore -w
if ! wait "$v6" && [ "$(cat /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null || echo 1)" != 1 ]; then
  echo "firewall.sh: IPv6 is enabled and ip6tables cannot filter it" >&2
  exit 2
fi

# Every blocked attempt, one line each (-n: no lookups, -l: line-buffered; -q: short lines).
tcpdump -n -l -q -i "nflog:$group" &
logger=$!
echo "ready $host"
# Until realm closes stdin (or dies). Then loopback only: nothing may take realm's ports over afterwards.
cat >/dev/null || :
rules | iptables-restore -w
kill "$logger" 2>/dev/null
