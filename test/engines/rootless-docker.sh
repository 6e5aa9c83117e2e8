#!/bin/sh
# A rootless Docker engine for the e2e tests, beside the machine's own (rootful) one, which it leaves alone:
# Debian's docker.io (its dockerd-rootless.sh) with rootlesskit, slirp4netns and uidmap, run by a user of its own
# with subordinate ids, started by hand (no systemd). Run as root.
#   rootless-docker.sh start [IMAGE...]   install what is missing, start the engine, load IMAGEs from the rootful one
#   rootless-docker.sh stop               stop the engine this script started
# The engine's socket is unix://$RUN_DIR/docker.sock; the tests run realm as $RL_USER with DOCKER_HOST set to it.
set -eu

RL_USER="${REALM_ROOTLESS_USER:-realm-rootless}"
RUN_DIR="${REALM_ROOTLESS_RUN_DIR:-/tmp/realm-rootless-docker}"
SOCKET="$RUN_DIR/docker.sock"
LOG="$RUN_DIR/dockerd.log"
PID_FILE="$RUN_DIR/engine.pid"

as_user() { runuser -u "$RL_USER" -- env HOME="$(user_home)" XDG_RUNTIME_DIR="$RUN_DIR" DOCKER_HOST="unix://$SOCKET" "$@"; }
user_home() { getent passwd "$RL_USER" | cut -d: -f6; }
answers() { as_user docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

setup_script() {
  command -v dockerd-rootless.sh 2>/dev/null && return
  for candidate in /usr/share/docker.io/contrib/dockerd-rootless.sh /usr/bin/dockerd-rootless.sh; do
    if [ -x "$candidate" ]; then
      echo "$candidate"
      return
    fi
  done
  return 1
}

install_missing() {
  missing=""
  command -v rootlesskit >/dev/null 2>&1 || missing="$missing rootlesskit"
  command -v slirp4netns >/dev/null 2>&1 || missing="$missing slirp4netns"
  command -v newuidmap >/dev/null 2>&1 || missing="$missing uidmap"
  [ -n "$missing" ] || return 0
  echo "rootless-docker: installing$missing"
  apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}

make_user() {
  id "$RL_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$RL_USER"
  # useradd gives a new user subordinate ids where login.defs says so; an older user may lack them.
  if ! grep -q "^$RL_USER:" /etc/subuid || ! grep -q "^$RL_USER:" /etc/subgid; then
    last=$(cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: '{ end = $2 + $3; if (end > max) max = end } END { print max + 0 }')
    first=$((last > 100000 ? last : 100000))
    usermod --add-subuids "$first-$((first + 65535))" --add-subgids "$first-$((first + 65535))" "$RL_USER"
  fi
}

start() {
  [ "$(id -u)" = 0 ] || { echo "rootless-docker: run as root (it creates a user and starts its engine)" >&2; exit 1; }
  install_missing
  script=$(setup_script) || { echo "rootless-docker: no dockerd-rootless.sh (Debian's docker.io ships it in /usr/share/docker.io/contrib)" >&2; exit 1; }
  make_user
  # rootlesskit makes the engine's network device through /dev/net/tun, which a standard Debian system's udev
  # rules open to every user (mode 0666); a machine without udev leaves it root's alone.
  if [ -c /dev/net/tun ] && ! runuser -u "$RL_USER" -- test -w /dev/net/tun; then chmod 0666 /dev/net/tun; fi
  mkdir -p "$RUN_DIR"
  chown "$RL_USER:" "$RUN_DIR"
  chmod 0700 "$RUN_DIR"
  if ! answers; then
    echo "rootless-docker: starting the engine (log: $LOG)"
    # runuser itself in the background (not a function's subshell): stop's TERM to it reaches the engine.
    runuser -u "$RL_USER" -- env HOME="$(user_home)" XDG_RUNTIME_DIR="$RUN_DIR" PATH="${script%/*}:$PATH" \
      setsid "$script" >"$LOG" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    i=0
    until answers; do
      i=$((i + 1))
      if [ "$i" -gt 60 ] || ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
        echo "rootless-docker: the engine did not start:" >&2
        grep -v '^+' "$LOG" | tail -15 >&2
        exit 1
      fi
      sleep 1
    done
  fi
  for image in "$@"; do
    want=$(docker image inspect --format '{{.Id}}' "$image")
    have=$(as_user docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
    [ "$want" = "$have" ] || docker save "$image" | as_user docker load -q >/dev/null
  done
}

stop() {
  [ -f "$PID_FILE" ] || return 0
  pid=$(cat "$PID_FILE")
  if kill -TERM "$pid" 2>/dev/null; then
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 30 ]; do
      i=$((i + 1))
      sleep 1
    done
  fi
  rm -f "$PID_FILE"
}

case "${1:-}" in
  start)
    shift
    start "$@"
    ;;
  stop) stop ;;
  *)
    echo "usage: $0 start [IMAGE...] | stop" >&2
    exit 2
    ;;
esac
