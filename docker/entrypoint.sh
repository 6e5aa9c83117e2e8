#!/bin/sh
# realm's entrypoint. realm mounts it into every run, so any image with `sh` and `git` works.
#
# Mounts (set up by lib/docker-plan.ts):
#   /realm/lib       realm's docker/ directory (this script and agent-setup.sh), read-only
#   /realm/project   the user's repository, read-only (for overlay runs: the lower layer)
#   /realm/session   the session directory, read-only (baseline.patch, base.patch, changes.patch)
#   /realm/out       this run's output directory, the only writable host mount
#   /realm/upper     overlay runs only: the upper layer, read-only, to tell the agent's writes from the host's
#   $REALM_WORKSPACE_DIR   where the agent works (tmpfs for copy runs, the overlay volume otherwise)
#
# Outputs in /realm/out, each written atomically (temp file + rename):
#   baseline.patch   new sessions: the user's uncommitted and untracked work relative to REALM_BASE
#   base.patch       resumed sessions: everything earlier runs produced, in one patch from the baseline
#   ready            the workspace is prepared and the agent is about to start
#   snapshot.patch   the agent's work so far, refreshed every few seconds while it runs
#   changes.patch    the run's final patch (empty when nothing changed)
#   exit_code        the agent's exit code
#   host-edits       overlay runs: paths changed on the host during the run, left out of the patch
#   error            why the workspace could not be prepared
set -u

out=/realm/out
ws="${REALM_WORKSPACE_DIR:-/workspace}"
rgit="${REALM_GIT_DIR:-/realm/git/repo}"   # realm's own git dir (on a tmpfs): its config, attributes and index, never the agent's
interval="${REALM_SNAPSHOT_SECONDS:-3}"
strategy="${REALM_WORKSPACE:-copy}"
# Attributes that could rewrite content (filters, eol conversion, encodings) or hide it from a patch (diff
# drivers) are switched off: info/attributes outranks the repository's own .gitattributes.
NEUTRAL_ATTRIBUTES='* -text -filter !diff !merge -ident !eol -working-tree-encoding'

# Every git command realm runs is hermetic: no system or global config, no hooks, no external diff, textconv,
# color, prefixes, filters or line-ending conversion that could change what the patch says.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0 GIT_OPTIONAL_LOCKS=0
rg() {
  GIT_DIR="$rgit" GIT_WORK_TREE="$ws" git -c core.hooksPath=/dev/null -c core.autocrlf=false \
    -c core.safecrlf=false -c core.fileMode=true -c core.symlinks=true -c core.quotePath=false \
    -c core.bigFileThreshold=2g -c gc.auto=0 -c advice.detachedHead=false "$@"
}
# Patches always use these options, whatever the configuration says.
PATCH_OPTS="--binary --full-index --no-color --no-ext-diff --no-textconv --src-prefix=a/ --dst-prefix=b/ -M"

# realm prints the reason as its one-line error; the details of what failed stay in $out/error.log.
fail() {
  printf '%s\n' "$*" >"$out/error.tmp" && mv -f "$out/error.tmp" "$out/error"
  exit 125
}
put() { # put NAME: stdin becomes $out/NAME, atomically
  cat >"$out/$1.tmp" && mv -f "$out/$1.tmp" "$out/$1"
}

# patch_to NAME FROM TO: the patch between two trees becomes $out/NAME, atomically.
patch_to() {
  # shellcheck disable=SC2086
  rg diff-tree -r $PATCH_OPTS "$2" "$3" >"$out/$1.tmp" && mv -f "$out/$1.tmp" "$out/$1"
}

# tree_of INDEX: hash the workspace into a tree, using a private index that starts as a copy of the agent's
# (so files it force-added stay tracked); the agent's own index and HEAD are never touched.
tree_of() {
  idx="$rgit/$1"
  if [ -f "$ws/.git/index" ] && cp "$ws/.git/index" "$idx.tmp" 2>/dev/null; then mv -f "$idx.tmp" "$idx"
  elif [ ! -f "$idx" ]; then GIT_INDEX_FILE="$idx" rg read-tree "$start_tree" || return 1
  fi
  # A copied index can carry extensions this git cannot follow (a split index, say): start over from a tree.
  stage_changes "$idx" 2>/dev/null || {
    GIT_INDEX_FILE="$idx" rg read-tree "$start_tree" && stage_changes "$idx"
  } || return 1
  GIT_INDEX_FILE="$idx" rg write-tree
}

# stage_changes INDEX: what `git add -A` does, without hashing every file again. A fresh checkout leaves its
# entries "racily clean", and `add -A` would rewrite each of them as a new loose object; refreshing compares
# contents without writing anything, and only files that really changed are hashed into objects.
stage_changes() {
  GIT_INDEX_FILE="$1" rg update-index -q --refresh >/dev/null 2>&1
  { GIT_INDEX_FILE="$1" rg diff-files --name-only -z && GIT_INDEX_FILE="$1" rg ls-files -z --others --exclude-standard; } >"$1.paths" || return 1
  GIT_INDEX_FILE="$1" rg update-index --add --remove -z --stdin <"$1.paths"
}

# agent_only TREE TAG: for overlay runs, keep only the paths the container itself wrote (present in the upper
# layer, or hidden by it), so a file the user edits on the host during the run never enters the patch.
agent_only() {
  tree="$1" keep="$rgit/keep-$2" edits="$rgit/host-edits-$2" idx="$rgit/idx-agent-$2"
  [ "$strategy" = overlay ] || { echo "$tree"; return 0; }
  : >"$keep"; : >"$edits"
  rg diff-tree -r -z --no-renames --name-only "$start_tree" "$tree" | tr '\0' '\n' | while IFS= read -r p; do
    if [ -e "/realm/upper/$p" ] || [ -L "/realm/upper/$p" ]; then printf '%s\0' "$p" >>"$keep"
    elif grep -Fxq -e "$p" "$rgit/prep-paths" 2>/dev/null; then
      printf '%s\0' "$p" >>"$keep"   # realm wrote it into the upper layer at the start; only the container has touched it since
    elif [ ! -e "$ws/$p" ] && [ ! -L "$ws/$p" ] && { [ -e "/realm/project/$p" ] || [ -L "/realm/project/$p" ]; }; then
      printf '%s\0' "$p" >>"$keep"   # hidden by a whiteout or an opaque directory: the agent deleted it
    else printf '%s\n' "$p" >>"$edits"
    fi
  done
  GIT_INDEX_FILE="$idx" rg read-tree "$start_tree" || return 1
  if [ -s "$keep" ]; then
    GIT_LITERAL_PATHSPECS=1 GIT_INDEX_FILE="$idx" rg add -A --pathspec-from-file="$keep" --pathspec-file-nul || return 1
  fi
  GIT_INDEX_FILE="$idx" rg write-tree
}

# capture NAME TAG: the patch from the run's starting tree to the workspace as it is now. Snapshots and the
# final capture use their own index files (TAG), so one cut short never blocks the other.
capture() {
  cd "$ws" || return 1   # pathspecs are relative to the current directory, and the agent may start deeper
  t=$(tree_of "idx-$2") && t=$(agent_only "$t" "$2") && patch_to "$1" "$start_tree" "$t" || return 1
  if [ -s "$rgit/host-edits-$2" ]; then cp "$rgit/host-edits-$2" "$out/host-edits"; fi
  return 0
}

# tree_with_patches TREE PATCH...: the tree that results from applying each non-empty patch in turn.
tree_with_patches() {
  idx="$rgit/idx-apply"
  GIT_INDEX_FILE="$idx" rg read-tree "$1" || return 1
  shift
  for p in "$@"; do
    [ -s "$p" ] || continue
    if ! GIT_INDEX_FILE="$idx" rg apply --cached --binary --whitespace=nowarn "$p" 2>"$rgit/apply-error"; then
      failed_patch="$p: $(head -n 1 "$rgit/apply-error")"
      return 1
    fi
  done
  GIT_INDEX_FILE="$idx" rg write-tree
}

prepare() {
  [ -d /realm/project/.git ] || [ -f /realm/project/.git ] || fail "the project is not a git repository inside the container"
  mkdir -p "$rgit" || fail "cannot create $rgit"
  git init -q --bare "$rgit" >/dev/null || fail "git init failed"
  rm -rf "$rgit/hooks"
  printf '%s\n' "$NEUTRAL_ATTRIBUTES" >"$rgit/info/attributes"
  # The user's ignore rules decide what counts as untracked: the repository's info/exclude, plus the global
  # excludes file the host sent along.
  cat /realm/project/.git/info/exclude /realm/out/global-excludes >"$rgit/info/exclude" 2>/dev/null

  if [ "$strategy" = copy ]; then
    # The agent's own repository: a clone that borrows the project's objects (nothing is copied), checked out
    # on the user's branch name at the session's commit.
    # Checked out byte for byte like the user's files (no eol conversion or filters), so the user's working
    # tree, hashed the same way, applies on top of it.
    git clone -q --shared --no-checkout /realm/project "$ws" >&2 || fail "git clone of the project failed"
    mkdir -p "$ws/.git/info" && printf '%s\n' "$NEUTRAL_ATTRIBUTES" >"$ws/.git/info/attributes"
    git -C "$ws" -c advice.detachedHead=false -c core.hooksPath=/dev/null checkout -q ${REALM_BRANCH:+-B "$REALM_BRANCH"} "$REALM_BASE" >&2 \
      || fail "cannot check out $REALM_BASE"
    rm -f "$ws/.git/info/attributes"
  fi
  printf '%s\n' "$ws/.git/objects" >"$rgit/objects/info/alternates"
  [ -d /realm/project/.git/objects ] && printf '%s\n' /realm/project/.git/objects >>"$rgit/objects/info/alternates"

  if [ "$REALM_MODE" = new ]; then
    # The baseline is the tree the user sees: HEAD plus uncommitted edits plus untracked files.
    start_tree=$(rg rev-parse "$REALM_BASE^{tree}") || fail "unknown commit $REALM_BASE"
    if [ -n "${REALM_CLEAN_START:-}" ]; then
      baseline="$start_tree"   # `new --remote`: the branch's tip as it is, nothing of the user's checkout
    elif [ "$strategy" = copy ]; then
      baseline=$(
        ws=/realm/project
        idx="$rgit/idx-baseline"
        cp /realm/project/.git/index "$idx" 2>/dev/null || GIT_INDEX_FILE="$idx" rg read-tree "$REALM_BASE"
        stage_changes "$idx" 2>/dev/null || { GIT_INDEX_FILE="$idx" rg read-tree "$REALM_BASE" && stage_changes "$idx"; } || exit 1
        GIT_INDEX_FILE="$idx" rg write-tree
      ) || fail "cannot read the project's working tree"
    else
      baseline=$(tree_of idx-baseline) || fail "cannot read the project's working tree"
    fi
    patch_to baseline.patch "$start_tree" "$baseline" || fail "cannot write baseline.patch"
    target="$baseline"
  else
    start_tree=$(rg rev-parse "$REALM_BASE^{tree}") || fail "the session's commit $REALM_BASE is not in the project any more"
    # Command substitution runs in a subshell, so the failing patch is reported through a file.
    baseline=$(tree_with_patches "$start_tree" /realm/session/baseline.patch || { echo "$failed_patch" >"$rgit/failed"; exit 1; }) \
      || fail "session file $(cat "$rgit/failed") — it was truncated or edited by hand"
    target=$(tree_with_patches "$baseline" /realm/session/base.patch /realm/session/changes.patch || { echo "$failed_patch" >"$rgit/failed"; exit 1; }) \
      || fail "session file $(cat "$rgit/failed") — it was truncated or edited by hand"
    patch_to base.patch "$baseline" "$target" || fail "cannot write base.patch"
  fi

  # Bring the workspace to the target tree, touching only the files that differ.
  if [ "$strategy" = copy ]; then
    patch_to start.patch "$start_tree" "$target" || fail "cannot compute the start patch"
    if [ -s "$out/start.patch" ]; then
      (cd "$ws" && rg apply --binary --whitespace=nowarn "$out/start.patch") >&2 || fail "cannot bring the workspace to the session's state"
    fi
    rm -f "$out/start.patch"
    if [ -n "${REALM_INCLUDE_IGNORED:-}" ]; then
      # Files git ignores (dependencies, build output) are not in the clone; copy them over as they are.
      (cd /realm/project && git ls-files -z --others --ignored --exclude-standard --directory |
        xargs -0 -r cp -a --parents -t "$ws") || fail "cannot copy the ignored files"
    fi
  elif [ "$REALM_MODE" != new ] || [ -n "${REALM_CLEAN_START:-}" ]; then
    current=$(tree_of idx-current) || fail "cannot read the workspace"
    rg diff-tree -r --no-renames --name-only "$current" "$target" >"$rgit/prep-paths" || fail "cannot compare the workspace with the session"
    GIT_INDEX_FILE="$rgit/idx-current" rg read-tree -m -u "$current" "$target" >&2 || fail "cannot bring the workspace to the session's state"
    git -C "$ws" update-ref --no-deref HEAD "$REALM_BASE" && git -C "$ws" read-tree "$REALM_BASE" \
      || fail "cannot reset the workspace's HEAD"
  fi
  start_tree="$target"
}

agent_pid=""
stopping=""
on_signal() {
  stopping=1
  [ -n "$agent_pid" ] && kill -TERM "$agent_pid" 2>/dev/null
}
trap on_signal TERM HUP
# Ctrl-C on a terminal is the agent's business; a handler (not "ignore") so the agent does not inherit SIG_IGN.
trap : INT

[ -n "${REALM_MODE:-}" ] || fail "REALM_MODE is not set (realm starts this script itself)"
[ -n "${REALM_BASE:-}" ] || fail "REALM_BASE is not set (realm starts this script itself)"
prepare
: | put ready

# Snapshots every few seconds, so a container that is killed outright still leaves the agent's work behind.
(
  trap - TERM INT HUP
  while sleep "$interval"; do capture snapshot.patch snap 2>/dev/null; done
) &
snap_pid=$!

cd "$ws/${REALM_SUBDIR:-}" 2>/dev/null || cd "$ws"
# What the agent itself needs from its environment (terminal type, Claude Code's config) lives beside this file.
if [ -f /realm/lib/agent-setup.sh ]; then . /realm/lib/agent-setup.sh; fi
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

printf '%s\n' "$code" | put exit_code
# A failed final capture (a full disk, say) keeps the last snapshot; realm tells the user.
capture changes.patch final 2>"$rgit/capture-error" || exit "$code"
rm -f "$out/snapshot.patch"
exit "$code"
