#!/bin/sh
# realm's entrypoint. realm mounts its docker/ directory into every run and starts this script from there, so
# any image with `sh`, `git` and the usual core tools works (an overlay workspace also needs GNU find, for
# -printf). The pieces it sources sit in lib/ beside it: git.sh (realm's hermetic git), prepare.sh (the
# workspace at the session's state) and capture.sh (the agent's work as a patch).
#
# lib/run/protocol.ts names the same mount points, environment variables and output files as this script and
# its pieces (test/unit/protocol.test.ts checks that they agree). The outputs, each written atomically (temp
# file + rename) except the two realm reads only after `done`:
#   baseline.patch   new sessions: the user's uncommitted and untracked work relative to REALM_BASE
#   base.patch       resumed sessions: everything earlier runs produced, in one patch from the baseline
#   lower.index      overlay runs: an index of the project as the run found it (stat data included)
#   net-ready        (realm → here) under an enforcing network policy: the sidecar's rules are in place
#   ready            the workspace is prepared and the agent is about to start
#   snapshot.patch   the agent's work so far, refreshed every few seconds while it runs
#   exit_code        the agent's exit code
#   changes.patch    the run's final patch (empty when nothing changed)
#   agent-paths      overlay runs: the paths the container wrote (NUL-separated)
#   done             every output above is final (realm starts saving while docker removes the container)
#   error            why the workspace could not be prepared
#   cache-miss       streamed runs: the engine's cache lacks a commit the objects were sent against
#   claude.json, claude-login.json, claude-changes, claude-settings.json   Claude Code's state to keep, and
#                    what the agent changed in its configuration (see agent-setup.sh)
# realm reads every output as untrusted input (lib/run/outputs.ts): the agent can write here too.
# shellcheck source-path=SCRIPTDIR
set -u

# Where realm mounts things (set up by lib/container/plan.ts).
project=/realm/project # the user's repository, read-only (for overlay runs: the lower layer)
session=/realm/session # the session directory, read-only (baseline.patch, base.patch, changes.patch)
out=/realm/out         # this run's output directory, the only writable host mount
upper=/realm/upper     # overlay runs only: the upper layer, read-only, to tell the agent's writes from the host's
ws="${REALM_WORKSPACE_DIR:-/workspace}" # where the agent works (a tmpfs for copy runs, the overlay volume otherwise)
repo="${REALM_GIT_DIR:-/realm/git/repo}" # realm's own git dir (on a tmpfs), never the agent's
interval="${REALM_SNAPSHOT_SECONDS:-3}"
strategy="${REALM_WORKSPACE:-copy}"
here="${0%/*}" # realm's docker/ directory, where this script and its pieces are

# shellcheck source=lib/git.sh
. "$here/lib/git.sh"
# shellcheck source=lib/prepare.sh
. "$here/lib/prepare.sh"
# shellcheck source=lib/capture.sh
. "$here/lib/capture.sh"
# shellcheck source=lib/stream.sh
. "$here/lib/stream.sh"

# REALM_TRACE=1 (passed on by realm): phase timestamps in the host's format, to see where a run's time goes.
trace() { [ -z "${REALM_TRACE:-}" ] || printf 'realm-trace %s entrypoint: %s\n' "$(date +%s%3N)" "$*" >&2; }

# fail MESSAGE: realm prints MESSAGE as its one-line error.
fail() {
  printf '%s\n' "$*" >"$out/error.tmp" && mv -f "$out/error.tmp" "$out/error"
  exit 125
}
# put FILE TEXT: FILE holds TEXT, atomically.
put() { rm -f "$1.tmp" 2>/dev/null && printf '%s' "$2" >"$1.tmp" && mv -f "$1.tmp" "$1"; }

# capture PATCH SCRATCH: the agent's work so far, as a patch from the tree the run started from. Snapshots and
# the final capture use scratch files of their own, so one cut short never blocks the other.
capture() {
  if [ "$strategy" = overlay ]; then
    overlay_patch "$1" "$2" "$start_tree" "$upper" "$project" "$ws" "$repo/prep-paths"
  else
    copy_patch "$1" "$2" "$start_tree" "$ws" "$repo/idx-start"
  fi
}

agent_pid=""
# docker stop (TERM) or a closed terminal (HUP) stops the agent; its work is captured on the way out.
trap 'if [ -n "$agent_pid" ]; then kill -TERM "$agent_pid" 2>/dev/null; fi' TERM HUP
# Ctrl-C on a terminal is the agent's business; a handler (not "ignore") so the agent does not inherit SIG_IGN.
trap : INT

trace started
[ -n "${REALM_MODE:-}" ] || fail "REALM_MODE is not set (realm starts this script itself)"
[ -n "${REALM_BASE:-}" ] || fail "REALM_BASE is not set (realm starts this script itself)"
# On an engine that cannot see the host's files, the project arrives as objects (see lib/stream.sh).
if [ -n "${REALM_STREAMED:-}" ] && ! receive_project "$project" /realm/input /realm/cache; then
  put "$out/cache-miss" ''
  exit 125
fi
[ -d "$project/.git" ] || [ -f "$project/.git" ] || fail "the project is not a git repository inside the container"
if [ "$strategy" = overlay ] && ! find "$upper" -maxdepth 0 -printf '' >/dev/null 2>&1; then
  fail "an overlay workspace needs GNU find in the image (findutils) — install it, or set REALM_WORKSPACE=copy"
fi
start_tree=$(prepare "$strategy" "$project" "$session" "$out" "$ws" "$repo") || exit 125
use_repository "$repo" "$ws"
trace prepared
# Under an enforcing network policy realm's sidecar closes the network while the workspace is prepared (on an
# open network, which is acceptable: only this script has run in the container so far), and realm says when
# its rules are in place. Checked here, before the agent starts, so the agent cannot have forged the marker.
if [ -n "${REALM_NET_WAIT:-}" ]; then
  waited=0
  until [ -e "$out/net-ready" ]; do
    [ "$waited" -lt 1000 ] || fail "the network policy was not in place within 10 s (a busy machine?) — try again, or see TROUBLESHOOTING.md"
    if sleep 0.01 2>/dev/null; then waited=$((waited + 1)); else sleep 1 && waited=$((waited + 100)); fi
  done
  trace network closed
fi
put "$out/ready" ''

# Snapshots every few seconds, so a container that is killed outright still leaves the agent's work behind.
(
  trap - TERM INT HUP
  # REALM_TRACE shows each one's start and end: what snapshots cost a run (npm run bench sums them).
  while sleep "$interval"; do
    trace snapshot
    capture "$out/snapshot.patch" "$repo/snap" 2>/dev/null
    trace snapshot taken
  done
) &
snap_pid=$!

cd "$ws/${REALM_SUBDIR:-}" 2>/dev/null || cd "$ws" || :
# What the agent itself needs from its environment (terminal type, Claude Code's config) lives beside this file.
# shellcheck source=agent-setup.sh
if [ -f "$here/agent-setup.sh" ]; then . "$here/agent-setup.sh"; fi
# The agent keeps the terminal: a background job would get /dev/null as stdin, so hand it ours explicitly.
exec 3<&0
"$@" <&3 3<&- &
agent_pid=$!
code=0
while :; do
  wait "$agent_pid"
  code=$?
  # wait returns early (status > 128) when a trapped signal arrives; keep waiting until the agent is gone.
  kill -0 "$agent_pid" 2>/dev/null || break
done
kill "$snap_pid" 2>/dev/null
wait "$snap_pid" 2>/dev/null
# Whatever the agent left running (a daemon rewriting the outputs, say) ends here, before the final capture;
# kill -1 spares this shell and PID 1.
kill -KILL -1 2>/dev/null

if command -v claude_handback >/dev/null 2>&1; then claude_handback "$out"; fi

trace agent exited
put "$out/exit_code" "$code"
# The final capture starts from what the snapshots found of the ignored directories (see upper_changes).
if [ "$strategy" = overlay ]; then mv -f "$repo/snap.hint" "$repo/final.hint" 2>/dev/null; fi
# A failed final capture (a full disk, say) keeps the last snapshot; realm tells the user.
capture "$out/changes.patch" "$repo/final" 2>"$repo/capture-error" || exit "$code"
# For overlay runs realm compares the project with lower.index afterwards, to tell the user which files changed
# on the host meanwhile (they stay out of the patch); these are the paths the container wrote.
if [ "$strategy" = overlay ]; then
  rm -f "$out/agent-paths.tmp" 2>/dev/null &&
    written_paths "$out/agent-paths.tmp" "$repo/final" "$start_tree" "$upper" "$project" "$ws" &&
    mv -f "$out/agent-paths.tmp" "$out/agent-paths"
fi
rm -f "$out/snapshot.patch"
put "$out/done" ''
trace captured
exit "$code"
