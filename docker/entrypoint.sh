#!/bin/sh
# realm's entrypoint. realm mounts it into every run, so any image with `sh`, `git` and the usual core tools
# works (an overlay workspace also needs GNU find, for -printf).
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
#   lower.index      overlay runs: an index of the project as the run found it (stat data included)
#   agent-paths      overlay runs: the paths the container wrote (NUL-separated)
#   done             every output above is final (realm starts saving while docker removes the container)
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
GIT_OPTS="-c core.hooksPath=/dev/null -c core.autocrlf=false -c core.safecrlf=false -c core.fileMode=true
  -c core.symlinks=true -c core.quotePath=false -c core.bigFileThreshold=2g -c gc.auto=0 -c advice.detachedHead=false"
# shellcheck disable=SC2086
rg() { GIT_DIR="$rgit" GIT_WORK_TREE="$ws" git $GIT_OPTS "$@"; }
# rg_each ARGS...: rg ARGS with NUL-separated paths from stdin appended (in batches, as xargs does).
# shellcheck disable=SC2086
rg_each() { GIT_DIR="$rgit" GIT_WORK_TREE="$ws" GIT_LITERAL_PATHSPECS=1 xargs -0 -r git $GIT_OPTS "$@"; }
# Patches always use these options, whatever the configuration says.
PATCH_OPTS="--binary --full-index --no-color --no-ext-diff --no-textconv --src-prefix=a/ --dst-prefix=b/ -M"

# REALM_TRACE=1 (passed on by realm): phase timestamps in the host's format, to see where a run's time goes.
trace() { [ -z "${REALM_TRACE:-}" ] || printf 'realm-trace %s entrypoint: %s\n' "$(date +%s%3N)" "$*" >&2; }

# realm prints the reason as its one-line error; the details of what failed stay in $out/error.log.
fail() {
  printf '%s\n' "$*" >"$out/error.tmp" && mv -f "$out/error.tmp" "$out/error"
  exit 125
}
put() { # put NAME TEXT: $out/NAME holds TEXT, atomically
  printf '%s' "$2" >"$out/$1.tmp" && mv -f "$out/$1.tmp" "$out/$1"
}
mark() { put "$1" ''; }

# patch_to NAME FROM TO: the patch between two trees becomes $out/NAME, atomically.
patch_to() {
  if [ "$2" = "$3" ]; then : >"$out/$1.tmp"
  else
    # shellcheck disable=SC2086
    rg diff-tree -r $PATCH_OPTS "$2" "$3" >"$out/$1.tmp"
  fi && mv -f "$out/$1.tmp" "$out/$1"
}

# stage_changes INDEX [EXTRA]: brings INDEX up to date with the files in $ws — what `git add -A` does, without
# hashing every file again: one lstat pass and one directory walk find what differs from the index's stat data,
# and only those files are hashed. EXTRA names a file of further paths (NUL-separated) to bring up to date.
stage_changes() {
  (
    cd "$ws" || exit 1
    export GIT_INDEX_FILE="$1"
    # The two walks are independent: the untracked one runs on the other core. (diff-files checks the index
    # on several threads, which `ls-files -m` does not.)
    rg ls-files -z -o --exclude-standard >"$1.others" &
    others=$!
    rg diff-files --name-only -z >"$1.paths" && wait "$others" || exit 1
    cat "$1.others" ${2:+"$2"} >>"$1.paths" || exit 1
    if [ -s "$1.paths" ]; then rg update-index --add --remove --replace -z --stdin <"$1.paths"; fi
  )
}

# index_of INDEX SOURCE FALLBACK [EXTRA]: INDEX becomes an index of the files in $ws, starting from the index
# SOURCE (whose stat data was taken there, so unchanged files are not read), or from the tree FALLBACK when
# SOURCE is missing or carries extensions this git cannot follow (a split index, say). The user's own index is
# only ever copied, never written. `cp -p` keeps the copy's mtime, which git's check for racily clean entries
# relies on.
index_of() {
  { [ -f "$2" ] && cp -p "$2" "$1.tmp" 2>/dev/null && mv -f "$1.tmp" "$1" && stage_changes "$1" ${4:+"$4"} 2>/dev/null; } || {
    rm -f "$1" && GIT_INDEX_FILE="$1" rg read-tree "$3" && stage_changes "$1" ${4:+"$4"}
  }
}

# agent_added FILE: the files the agent added to its own index that the starting tree does not have (ignored
# ones `git add -f` put there belong to its work), NUL-separated into FILE. Of such paths only files count: the
# rest are the session's own deletions, or paths that became directories.
agent_added() {
  : >"$1"
  if [ -f "$ws/.git/index" ] && cp "$ws/.git/index" "$1.index" 2>/dev/null; then
    (cd "$ws" && GIT_INDEX_FILE="$1.index" rg diff-index --cached --name-only --diff-filter=A -z "$start_tree" 2>/dev/null |
      xargs -0 -r sh -c 'for p; do if [ -f "$p" ] || [ -L "$p" ]; then printf "%s\0" "$p"; fi; done' sh >"$1")
  fi
}

# upper_changes DIR: the paths the container wrote, read from the overlay's upper layer alone, so a capture
# costs what the agent changed, not the size of the project, and a file the user edits on the host during the
# run never enters the patch. DIR/cand gets every file, symlink and whiteout in the upper layer, plus what the
# project has in a directory of the upper layer that the workspace no longer shows (deleted by the agent,
# whether by a whiteout or by removing and re-creating the directory); DIR/dirs gets directories whose every
# tracked path must be looked at (deleted ones, and new ones where the project has none). Both lists are
# NUL-separated and may repeat a path (git takes each once).
upper_changes() {
  # One walk of the upper layer: directories to one list, everything else to the other.
  (cd /realm/upper && find . -path ./.git -prune -o -type d -fprintf "$1/upper-dirs" '%P\0' -o -printf '%P\0') >"$1/cand" || return 1
  WS="$ws" xargs -0 -r -a "$1/upper-dirs" sh -c '
    for d; do
      l="/realm/project${d:+/$d}"
      if [ ! -d "$l" ] || [ -L "$l" ]; then printf "%s\0" "$d" >&3; continue; fi
      for e in "$l"/* "$l"/.[!.]* "$l"/..?*; do
        [ -e "$e" ] || [ -L "$e" ] || continue
        p="${d:+$d/}${e##*/}"
        [ "$p" = .git ] && continue
        [ -e "$WS/$p" ] || [ -L "$WS/$p" ] && continue
        printf "%s\0" "$p"
        if [ -d "$e" ] && [ ! -L "$e" ]; then printf "%s\0" "$p" >&3; fi
      done
    done' sh >>"$1/cand" 3>"$1/dirs" || return 1
  # Files realm itself wrote at the start (to bring the workspace to the session's state) are the agent's
  # business from then on, even when it deletes one the project never had (which leaves no trace above).
  if [ -f "$rgit/prep-paths" ]; then cat "$rgit/prep-paths" >>"$1/cand"; fi
}

# overlay_patch NAME TAG: the patch of every path the container wrote, from the run's starting tree to the
# workspace. It works on an index of those paths alone, so it costs what the agent changed whatever the size of
# the project: outside them both sides are the same, so the patch between the two small trees is the patch.
overlay_patch() {
  d="$rgit/cap-$2"
  mkdir -p "$d" && rm -f "$d/index" && upper_changes "$d" || return 1
  (
    cd "$ws" || exit 1
    export GIT_INDEX_FILE="$d/index"
    # The starting tree's entries at those paths (and under the directories) ...
    cat "$d/cand" "$d/dirs" | rg_each ls-tree -r -z --full-tree "$start_tree" -- | rg update-index -z --index-info || exit 1
    from=$(rg write-tree) || exit 1
    # ... brought up to date: every tracked one, untracked ones the project's ignore rules do not exclude, and
    # what the agent added to its own index (its index is in the upper layer only if it touched it).
    { rg ls-files -z && rg_each ls-files -z -o --exclude-standard -- <"$d/cand"; } >"$d/update" || exit 1
    if [ -f /realm/upper/.git/index ]; then agent_added "$d/added" && cat "$d/added" >>"$d/update"; fi
    rg update-index --add --remove --replace -z --stdin <"$d/update" && to=$(rg write-tree) && patch_to "$1" "$from" "$to"
  )
}

# capture NAME TAG: the patch from the run's starting tree to the workspace as it is now. Snapshots and the
# final capture use their own index files (TAG), so one cut short never blocks the other.
capture() {
  if [ "$strategy" = overlay ]; then overlay_patch "$1" "$2"
  else
    # From realm's index of the starting state (which tracks what realm put in the workspace, which the agent's
    # own index need not), plus what the agent added to its index.
    agent_added "$rgit/added-$2" && index_of "$rgit/idx-$2" "$rgit/idx-start" "$start_tree" "$rgit/added-$2" &&
      t=$(GIT_INDEX_FILE="$rgit/idx-$2" rg write-tree) && patch_to "$1" "$start_tree" "$t"
  fi
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
  if [ "$strategy" = overlay ] && ! find /realm/upper -maxdepth 0 -printf '' >/dev/null 2>&1; then
    fail "an overlay workspace needs GNU find in the image (findutils) — install it, or set REALM_WORKSPACE=copy"
  fi
  # A bare repository by hand (what `git init` makes, minus hooks and samples): one process less per run.
  mkdir -p "$rgit/objects/info" "$rgit/refs/heads" "$rgit/refs/tags" "$rgit/info" &&
    printf 'ref: refs/heads/main\n' >"$rgit/HEAD" &&
    printf '[core]\n\trepositoryformatversion = 0\n\tbare = true\n' >"$rgit/config" || fail "cannot create $rgit"
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
    git -C "$ws" -c advice.detachedHead=false -c core.hooksPath=/dev/null -c checkout.workers=0 \
      checkout -q ${REALM_BRANCH:+-B "$REALM_BRANCH"} "$REALM_BASE" >&2 || fail "cannot check out $REALM_BASE"
    rm -f "$ws/.git/info/attributes"
  fi
  printf '%s\n' "$ws/.git/objects" >"$rgit/objects/info/alternates"
  [ -d /realm/project/.git/objects ] && printf '%s\n' /realm/project/.git/objects >>"$rgit/objects/info/alternates"

  start_tree=$(rg rev-parse "$REALM_BASE^{tree}") || fail "the session's commit $REALM_BASE is not in the project any more"
  # The project's working tree as it is now (HEAD plus uncommitted edits plus untracked files), read straight
  # from the project, never through the overlay: a new session's baseline, and what an overlay shows at first.
  if [ "$strategy" = overlay ] || { [ "$REALM_MODE" = new ] && [ -z "${REALM_CLEAN_START:-}" ]; }; then
    lower=$(ws=/realm/project && index_of "$rgit/idx-lower" /realm/project/.git/index "$REALM_BASE" &&
      GIT_INDEX_FILE="$rgit/idx-lower" rg write-tree) || fail "cannot read the project's working tree"
  fi

  if [ "$REALM_MODE" = new ]; then
    # The baseline is the tree the user sees; `new --remote` starts from the branch's tip alone.
    if [ -n "${REALM_CLEAN_START:-}" ]; then baseline="$start_tree"; else baseline="$lower"; fi
    patch_to baseline.patch "$start_tree" "$baseline" || fail "cannot write baseline.patch"
    target="$baseline"
  else
    # Command substitution runs in a subshell, so the failing patch is reported through a file.
    baseline=$(tree_with_patches "$start_tree" /realm/session/baseline.patch || { echo "$failed_patch" >"$rgit/failed"; exit 1; }) \
      || fail "session file $(cat "$rgit/failed") — it was truncated or edited by hand"
    target=$(tree_with_patches "$baseline" /realm/session/base.patch /realm/session/changes.patch || { echo "$failed_patch" >"$rgit/failed"; exit 1; }) \
      || fail "session file $(cat "$rgit/failed") — it was truncated or edited by hand"
    patch_to base.patch "$baseline" "$target" || fail "cannot write base.patch"
  fi

  # Bring the workspace to the target tree, touching only the files that differ.
  if [ "$strategy" = copy ]; then
    # The session's state goes into the workspace and realm's own index of it, never into the agent's index.
    cp -p "$ws/.git/index" "$rgit/idx-start" || fail "cannot copy the workspace's index"
    patch_to start.patch "$start_tree" "$target" || fail "cannot compute the start patch"
    if [ -s "$out/start.patch" ]; then
      (cd "$ws" && GIT_INDEX_FILE="$rgit/idx-start" rg apply --index --binary --whitespace=nowarn "$out/start.patch") >&2 ||
        fail "cannot bring the workspace to the session's state"
    fi
    rm -f "$out/start.patch"
    if [ -n "${REALM_INCLUDE_IGNORED:-}" ]; then
      # Files git ignores (dependencies, build output) are not in the clone; copy them over as they are.
      (cd /realm/project && git ls-files -z --others --ignored --exclude-standard --directory |
        xargs -0 -r cp -a --parents -t "$ws") || fail "cannot copy the ignored files"
    fi
  else
    cp -p "$rgit/idx-lower" "$out/lower.index" || fail "cannot write lower.index"
    if [ "$lower" != "$target" ]; then
      mv -f "$rgit/idx-lower" "$rgit/idx-start"
      rg diff-tree -r -z --no-renames --name-only "$lower" "$target" >"$rgit/prep-paths" || fail "cannot compare the workspace with the session"
      GIT_INDEX_FILE="$rgit/idx-start" rg read-tree -m -u "$lower" "$target" >&2 || fail "cannot bring the workspace to the session's state"
    fi
    if [ "$REALM_MODE" != new ] || [ -n "${REALM_CLEAN_START:-}" ]; then
      git -C "$ws" update-ref --no-deref HEAD "$REALM_BASE" && git -C "$ws" read-tree "$REALM_BASE" \
        || fail "cannot reset the workspace's HEAD"
    fi
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

trace started
[ -n "${REALM_MODE:-}" ] || fail "REALM_MODE is not set (realm starts this script itself)"
[ -n "${REALM_BASE:-}" ] || fail "REALM_BASE is not set (realm starts this script itself)"
prepare
trace prepared
mark ready

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

trace agent exited
put exit_code "$code"
# A failed final capture (a full disk, say) keeps the last snapshot; realm tells the user.
capture changes.patch final 2>"$rgit/capture-error" || exit "$code"
# For overlay runs realm compares the project with lower.index afterwards, to tell the user which files changed
# on the host meanwhile (they stay out of the patch); these are the paths the container wrote.
if [ "$strategy" = overlay ]; then cp "$rgit/cap-final/cand" "$out/agent-paths"; fi
rm -f "$out/snapshot.patch"
mark done
trace captured
exit "$code"
