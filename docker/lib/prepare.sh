# shellcheck shell=sh
# Preparing a run: realm's own repository, the workspace at the session's state, and the session patches the
# host stores (baseline.patch for a new session, base.patch for a resumed one). Sourced by entrypoint.sh; uses
# git.sh, and entrypoint.sh's fail. Reads REALM_MODE, REALM_BASE, REALM_BRANCH, REALM_CLEAN_START and
# REALM_INCLUDE_IGNORED, which realm sets.

# Attributes that could rewrite content (filters, eol conversion, encodings) or hide it from a patch (diff
# drivers) are switched off: info/attributes outranks the repository's own .gitattributes.
neutral_attributes='* -text -filter !diff !merge -ident !eol -working-tree-encoding'

# init_repository REPO PROJECT EXCLUDES: REPO becomes realm's own bare repository, made by hand (what `git init`
# makes, minus hooks and samples: one process less per run), with the user's ignore rules deciding what counts
# as untracked: the project's info/exclude, plus the global excludes file EXCLUDES the host sent along.
init_repository() {
  mkdir -p "$1/objects/info" "$1/refs/heads" "$1/refs/tags" "$1/info" &&
    printf 'ref: refs/heads/main\n' >"$1/HEAD" &&
    printf '[core]\n\trepositoryformatversion = 0\n\tbare = true\n' >"$1/config" || return 1
  printf '%s\n' "$neutral_attributes" >"$1/info/attributes"
  cat "$2/.git/info/exclude" "$3" >"$1/info/exclude" 2>/dev/null
  return 0
}

# clone_project PROJECT WS: the agent's own repository, a clone in WS that borrows the project's objects
# (nothing is copied), checked out on the user's branch name at the session's commit, byte for byte like the
# user's files (no eol conversion or filters), so the user's working tree, hashed the same way, applies on top.
clone_project() {
  git clone -q --shared --no-checkout "$1" "$2" >&2 || fail "git clone of the project failed"
  mkdir -p "$2/.git/info" && printf '%s\n' "$neutral_attributes" >"$2/.git/info/attributes"
  git -C "$2" -c advice.detachedHead=false -c core.hooksPath=/dev/null -c checkout.workers=0 \
    checkout -q ${REALM_BRANCH:+-B "$REALM_BRANCH"} "$REALM_BASE" >&2 || fail "cannot check out $REALM_BASE"
  rm -f "$2/.git/info/attributes"
}

# keep_committed INDEX COMMIT HIDDEN: in INDEX, the paths the file HIDDEN lists (NUL-separated: secret files the
# project tracks, which realm hides from the agent) are as in COMMIT. The view of the project lacks them, which is
# no change of the user's: their committed version stays the session's.
keep_committed() {
  [ -s "$3" ] || return 0
  GIT_INDEX_FILE="$1" realm_git update-index --force-remove -z --stdin <"$3" &&
    realm_git_each ls-tree -r -z --full-tree "$2" -- <"$3" | GIT_INDEX_FILE="$1" realm_git update-index -z --index-info
}

# hide_tracked remove|keep FROM TO HIDDEN WS SCRATCH: the hidden files git tracks (the file HIDDEN lists) that the
# session did not change between the trees FROM and TO are not in the workspace WS: `remove` takes them out of a
# copy's checkout (an overlay's view lacks them already); either way the agent's index marks the absent ones
# skip-worktree, so that its `git status` does not show them as deleted. Those the session changed are its own
# work, and stay. Scratch files: SCRATCH.changed, SCRATCH.absent.
hide_tracked() {
  [ -s "$4" ] || return 0
  realm_git_each diff-tree -r -z --no-renames --name-only "$2" "$3" -- <"$4" >"$6.changed" ||
    fail "cannot compare the hidden files with the session"
  xargs -0 -r -a "$4" sh "${0%/*}/lib/hide-tracked.sh" "$1" "$5" "$6.changed" >"$6.absent" ||
    fail "cannot take the hidden files out of the workspace"
  # (the agent's own repository: no fsmonitor of its configuration runs for this)
  if [ -s "$6.absent" ]; then
    git -C "$5" -c core.fsmonitor=false update-index -q --skip-worktree -z --stdin <"$6.absent" >&2 || :
  fi
}

# session_file_broken INDEX: ends the run naming the session patch tree_with_patches INDEX ... could not apply.
session_file_broken() {
  fail "session file $(cat "$1.failed") — it was truncated or edited by hand"
}

# prepare STRATEGY PROJECT SESSION OUT WS REPO: brings the workspace WS to the session's state, writes the
# session patches to OUT, and prints the tree the agent starts from. Run it in a subshell ($(...)): a failure
# ends it through fail, and its variables stay its own.
prepare() {
  strategy=$1 project=$2 session=$3 out=$4 ws=$5 repo=$6
  # Ctrl-C on a terminal is the agent's business, here as in the main shell (a subshell starts without traps).
  trap : INT
  use_repository "$repo" "$ws"
  init_repository "$repo" "$project" "$out/global-excludes" || fail "cannot create $repo"
  if [ "$strategy" = copy ]; then clone_project "$project" "$ws"; fi
  printf '%s\n' "$ws/.git/objects" >"$repo/objects/info/alternates"
  [ -d "$project/.git/objects" ] && printf '%s\n' "$project/.git/objects" >>"$repo/objects/info/alternates"

  start_tree=$(realm_git rev-parse "$REALM_BASE^{tree}") || fail "the session's commit $REALM_BASE is not in the project any more"
  # The project's working tree as it is now (HEAD plus uncommitted edits plus untracked files), read straight
  # from the project, never through the overlay: a new session's baseline, and what an overlay shows at first.
  if [ "$strategy" = overlay ] || { [ "$REALM_MODE" = new ] && [ -z "${REALM_CLEAN_START:-}" ] && [ -z "${REALM_STREAMED:-}" ]; }; then
    lower=$(use_repository "$repo" "$project" && index_of "$repo/idx-lower" "$project/.git/index" "$REALM_BASE" &&
      keep_committed "$repo/idx-lower" "$REALM_BASE" "$out/hidden-tracked" &&
      GIT_INDEX_FILE="$repo/idx-lower" realm_git write-tree) || fail "cannot read the project's working tree"
  fi

  if [ "$REALM_MODE" = new ]; then
    # The baseline is the tree the user sees; `new --remote` starts from the branch's tip alone.
    if [ -n "${REALM_CLEAN_START:-}" ]; then
      baseline=$start_tree
    elif [ -n "${REALM_STREAMED:-}" ]; then
      baseline=$(streamed_baseline "$repo/idx-apply" "$start_tree" "$session") || exit 125
    else
      baseline=$lower
    fi
    patch_to "$out/baseline.patch" "$start_tree" "$baseline" || fail "cannot write baseline.patch"
    target=$baseline
  else
    baseline=$(tree_with_patches "$repo/idx-apply" "$start_tree" "$session/baseline.patch") || session_file_broken "$repo/idx-apply"
    target=$(tree_with_patches "$repo/idx-apply" "$baseline" "$session/base.patch" "$session/changes.patch") ||
      session_file_broken "$repo/idx-apply"
    patch_to "$out/base.patch" "$baseline" "$target" || fail "cannot write base.patch"
  fi

  # Bring the workspace to the target tree, touching only the files that differ.
  if [ "$strategy" = copy ]; then
    # The session's state goes into the workspace and realm's own index of it, never into the agent's index.
    cp -p "$ws/.git/index" "$repo/idx-start" || fail "cannot copy the workspace's index"
    patch_to "$out/start.patch" "$start_tree" "$target" || fail "cannot compute the start patch"
    if [ -s "$out/start.patch" ]; then
      (cd "$ws" && GIT_INDEX_FILE="$repo/idx-start" realm_git apply --index --binary --whitespace=nowarn "$out/start.patch") >&2 ||
        fail "cannot bring the workspace to the session's state"
    fi
    rm -f "$out/start.patch"
    hide_tracked remove "$start_tree" "$target" "$out/hidden-tracked" "$ws" "$repo/hidden"
    if [ -n "${REALM_INCLUDE_IGNORED:-}" ] && [ -n "${REALM_STREAMED:-}" ]; then
      copy_ignored /realm/ignored "$ws"
    elif [ -n "${REALM_INCLUDE_IGNORED:-}" ]; then
      # Files git ignores (dependencies, build output) are not in the clone; copy them over as they are.
      (cd "$project" && git ls-files -z --others --ignored --exclude-standard --directory |
        xargs -0 -r cp -a --parents -t "$ws") || fail "cannot copy the ignored files"
    fi
  else
    cp -p "$repo/idx-lower" "$out/lower.index" || fail "cannot write lower.index"
    if [ "$lower" != "$target" ]; then
      mv -f "$repo/idx-lower" "$repo/idx-start"
      realm_git diff-tree -r -z --no-renames --name-only "$lower" "$target" >"$repo/prep-paths" ||
        fail "cannot compare the workspace with the session"
      GIT_INDEX_FILE="$repo/idx-start" realm_git read-tree -m -u "$lower" "$target" >&2 ||
        fail "cannot bring the workspace to the session's state"
    fi
    if [ "$REALM_MODE" != new ] || [ -n "${REALM_CLEAN_START:-}" ]; then
      { git -C "$ws" update-ref --no-deref HEAD "$REALM_BASE" && git -C "$ws" read-tree "$REALM_BASE"; } ||
        fail "cannot reset the workspace's HEAD"
    fi
    hide_tracked keep "$start_tree" "$target" "$out/hidden-tracked" "$ws" "$repo/hidden"
  fi
  printf '%s\n' "$target"
}
