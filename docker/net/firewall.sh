#!/bin/sh
# realm's network sidecar. It holds the network namespace of the run, on the default bridge, which the agent's
# container joins (docker run --network container:<this container>); it has NET_ADMIN, which the agent's
# container lacks (no NET_ADMIN, no NET_RAW), so the rules set here hold even against root in the agent's
# container. Outbound, the namespace may reach only realm's proxy and broker on the host (both require the
# run's token); everything else is rejected at once and logged to NFLOG group $group, which tcpdump prints on
# stdout for realm to report (--nflog-threshold 1: each packet at once, not batched for a second).
#
#   firewall.sh            a run's sidecar: started by realm, which may not know its own ports yet, so the first
#                          line on stdin says what to allow: "HOST PORT..." (HOST: realm's address as the
#                          container sees it, an IPv4 address or a name such as host.docker.internal, resolved
#                          once from the namespace's hosts file). Prints "ready ADDRESS" once every rule is in
#                          place; realm lets the agent start only after that line. realm keeps stdin open for as
#                          long as the run lasts: when realm closes it, or dies, this closes realm's ports too (the
#                          agent's processes keep the namespace, with these rules) and ends.
#   firewall.sh standby S  a sidecar started ahead for a later run (see lib/net/standby.ts): closed (loopback
#                          only) from its start, it waits S seconds to be claimed, then ends unclaimed.
#   firewall.sh claim      run inside a standby (docker exec) by the realm that takes it: "taken" when another
#                          realm was first, else "claimed", then what a run's sidecar does; when it ends, the
#                          standby ends too.
#   firewall.sh relay      a sidecar with no network but loopback (docker run --network none), for an engine whose
#                          containers cannot reach realm through a bridge: realm's proxy and broker are reached
#                          through realm-relay (relay.c), which realm runs in this namespace over its own
#                          connection to the engine. Every other address is routed into loopback, so that each
#                          attempt meets the rules below and is logged like on the bridge (with no route at all it
#                          would fail with no packet to see). Prints "ready 127.0.0.1" at once (the rules name no
#                          port of realm's), then waits for stdin to close, as a run's sidecar does.
set -eu
group=7
mode="${1:-run}"
# Whoever makes this directory owns the sidecar: the realm that claims it, or the standby itself when it gives up.
owner=/tmp/realm-owner
# loopback_only: the start of a filter table in which everything is dropped but loopback.
loopback_only() {
  echo '*filter'
  echo ':INPUT DROP [0:0]'
  echo ':FORWARD DROP [0:0]'
  echo ':OUTPUT DROP [0:0]'
  echo '-A INPUT -i lo -j ACCEPT'
  echo '-A OUTPUT -o lo -j ACCEPT'
}

# ipv6_unfiltered: ip6tables failed. Fine when the namespace has IPv6 off (realm starts the sidecar so), else
# the sidecar gives up: a link-local address would otherwise reach the host's services.
ipv6_unfiltered() {
  [ "$(cat /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null || echo 1)" = 1 ] && return 0
  echo "firewall.sh: IPv6 is enabled and ip6tables cannot filter it" >&2
  exit 2
}

# closed: loopback only, whole, for either family.
closed() {
  loopback_only
  echo 'COMMIT'
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
# IPv6: nothing but loopback. realm also starts the sidecar with IPv6 disabled; either one suffices, and the
# sidecar gives up when neither holds (ipv6_unfiltered).
rules6() {
  loopback_only
  echo "-A OUTPUT -j NFLOG --nflog-group $group --nflog-threshold 1"
  echo '-A OUTPUT -p tcp -j REJECT --reject-with tcp-reset'
  echo '-A OUTPUT -j REJECT'
  echo 'COMMIT'
}

# relay_rules FAMILY_LOOPBACK: the filter table of a relay sidecar: loopback's own addresses (where realm-relay
# and anything the agent serves to itself listen), and nothing else, each attempt logged and refused at once.
relay_rules() {
  echo '*filter'
  echo ':INPUT DROP [0:0]'
  echo ':FORWARD DROP [0:0]'
  echo ':OUTPUT DROP [0:0]'
  echo "-A INPUT -i lo -d $1 -j ACCEPT"
  echo "-A OUTPUT -o lo -d $1 -j ACCEPT"
  echo "-A OUTPUT -j NFLOG --nflog-group $group --nflog-threshold 1"
  echo '-A OUTPUT -p tcp -j REJECT --reject-with tcp-reset'
  echo '-A OUTPUT -j REJECT'
  echo 'COMMIT'
}

case "$mode" in
relay)
  relay_rules 127.0.0.0/8 | iptables-restore -w
  relay_rules ::1/128 | ip6tables-restore -w 2>/dev/null || ipv6_unfiltered
  # The source address: the refusal's reset comes back to it (without one the kernel picks 0.0.0.0, and the
  # connect hangs instead of failing).
  ip route add default dev lo src 127.0.0.1
  tcpdump -n -l -i "nflog:$group" &
  logger=$!
  echo "ready 127.0.0.1"
  # realm's line (the ports, which these rules need not name), then nothing until realm closes stdin or dies.
  cat >/dev/null || :
  kill "$logger" 2>/dev/null || :
  exit 0
  ;;
standby)
  # Without mkdir nobody could claim it, and it could not give up either.
  command -v mkdir >/dev/null || { echo "firewall.sh: no mkdir in the image" >&2; exit 2; }
  # realm ends it (the claim's end) with TERM, which a container's first process gets only through a trap.
  trap 'exit 0' TERM
  closed | iptables-restore -w
  closed | ip6tables-restore -w 2>/dev/null || ipv6_unfiltered
  sleep "${2:-600}" &
  wait $! || :
  mkdir "$owner" 2>/dev/null && exit 0
  # Claimed: the claim ends this container once its run is over.
  while :; do
    sleep 3600 &
    wait $! || :
  done
  ;;
claim)
  mkdir "$owner" 2>/dev/null || { echo taken; exit 0; }
  # However this ends (its run is over, realm died, a rule failed), the standby ends with it: nobody else may
  # claim it, and its namespace goes.
  trap 'kill -TERM 1' EXIT
  echo claimed
  ;;
esac

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

# Both at once: the agent waits for them.
rules6 | ip6tables-restore -w 2>/dev/null &
v6=$!
rules "$@" | iptables-restore -w
wait "$v6" || ipv6_unfiltered

# Every blocked attempt, one line each (-n: no lookups, -l: line-buffered). Not -q: its short lines leave out
# the name a DNS query asks for, which the report shows.
tcpdump -n -l -i "nflog:$group" &
logger=$!
echo "ready $host"
# Until realm closes stdin (or dies). Then loopback only: nothing may take realm's ports over afterwards.
cat >/dev/null || :
rules | iptables-restore -w
kill "$logger" 2>/dev/null || :
