# shellcheck shell=sh
# Capturing the agent's work as a patch from the tree the run started from, while it runs (snapshots) and after
# it exits. Sourced by entrypoint.sh; uses git.sh.

# The programs xargs runs sit in lib/ beside the entrypoint, which is $0.
capture_helpers="${0%/*}/lib"

# agent_added FILE START_TREE: the files the agent added to its own index that START_TREE does not have
# (ignored ones `git add -f` put there belong to its work), NUL-separated into FILE. Of such paths only files
# count: the rest are the session's own deletions, or paths that became directories. Runs in the workspace.
agent_added() {
  : >"$1"
  if [ -f .git/index ] && cp .git/index "$1.index" 2>/dev/null; then
    GIT_INDEX_FILE="$1.index" realm_git diff-index --cached --name-only --diff-filter=A -z "$2" 2>/dev/null |
      xargs -0 -r sh "$capture_helpers/files-only.sh" >"$1"
  fi
}

# copy_patch PATCH SCRATCH START_TREE WS START_INDEX: for a copy workspace, the patch from START_TREE to the
# workspace WS becomes PATCH. It starts from realm's index of the starting state, START_INDEX (which tracks
# what realm put in the workspace, which the agent's own index need not), plus what the agent added to its
# index. Scratch files: SCRATCH.index, SCRATCH.added.
copy_patch() (
  cd "$4" || exit 1
  agent_added "$2.added" "$3" && index_of "$2.index" "$5" "$3" "$2.added" &&
    to=$(GIT_INDEX_FILE="$2.index" realm_git write-tree) && patch_to "$1" "$3" "$to"
)

# same_file FILE1 FILE2: whether the two files hold the same bytes (cmp is in nearly every image, git in all).
same_file() {
  if command -v cmp >/dev/null 2>&1; then
    cmp -s "$1" "$2"
  else
    [ "$(realm_git hash-object --no-filters -- "$1")" = "$(realm_git hash-object --no-filters -- "$2")" ]
  fi
}

# upper_walk UPPER SCRATCH INODES: one walk of the overlay's upper layer UPPER, pruning the directories whose
# inode numbers INODES lists (space-separated). SCRATCH.paths gets everything but directories, SCRATCH.upper-dirs
# the directories walked ('' is the top), SCRATCH.walked the same but the top, as ./-prefixed paths, and
# SCRATCH.pruned those pruned, ./-prefixed too (the ./ keeps git from reading a name such as ':(top)x' as
# pathspec magic). All NUL-separated.
upper_walk() (
  cd "$1" || exit 1
  prune=
  for inode in $3; do prune="$prune -o -inum $inode"; done
  # shellcheck disable=SC2086 # $prune is find's words, split on purpose
  find . \( -path ./.git -o \( -false $prune \) -fprintf "$2.pruned" '%p\0' \) -prune -o \
    -type d -fprintf "$2.upper-dirs" '%P\0' \( -path . -o -fprintf "$2.walked" '%p\0' \) -o -printf '%P\0' >"$2.paths"
)

# upper_changes UPPER LOWER WS SCRATCH [EXTRA]: the paths the container wrote, read from the overlay's upper
# layer UPPER alone, so a capture costs what the agent changed, not the size of the project LOWER, and a file the
# user edits on the host during the run never enters the patch. SCRATCH.paths gets every file, symlink and
# whiteout in the upper layer outside the directories the ignore rules exclude, plus what the project has in a
# directory of the upper layer that the workspace WS no longer shows (deleted by the agent, whether by a
# whiteout or by removing and re-creating the directory), plus the paths listed in the file EXTRA;
# SCRATCH.dirs gets directories whose every tracked path must be looked at (deleted ones, new ones where the
# project has none, and the ignored ones, which SCRATCH.pruned lists alone). The lists are NUL-separated and
# may repeat a path (git takes each once).
#
# Directories the ignore rules exclude are not walked, and go to SCRATCH.dirs whole. An npm install writes tens
# of thousands of files there, and listing them (then handing them to git, twice) made every snapshot cost in
# proportion. Nothing below an excluded directory can be untracked work (git re-includes nothing below one, by a
# `!pattern` or otherwise), so only tracked files there can be in the patch, and SCRATCH.dirs covers every one
# of them (one the agent changed or deleted inside node_modules/, say). The rules are the workspace's, as for
# the rest of the capture: the agent may have changed a .gitignore.
#
# Which directories those are is known only after a walk, so the walk prunes the ones the previous capture with
# this SCRATCH found (SCRATCH.hint, inode numbers), and is then checked: every directory it pruned must be
# ignored, and none it walked. Otherwise (the first capture, a new node_modules/, a changed .gitignore) it is
# walked again, pruning what the check found; should three checks not settle it, or git fail, it is walked
# pruning nothing. A wrong or stale hint costs time, never a path.
upper_changes() {
  # The hint is only ever read as numbers, and only from a plain file of sane size (this is the agent's machine).
  hint=''
  if [ -f "$4.hint" ] && [ ! -L "$4.hint" ]; then hint=$(head -c 1000000 "$4.hint" 2>/dev/null) || hint=''; fi
  case $hint in *[!0-9\ ]*) hint='' ;; esac
  checks=0
  while :; do
    upper_walk "$1" "$4" "$hint" || return 1
    [ "$checks" -lt 3 ] || break # this walk pruned nothing: nothing to check
    checks=$((checks + 1))
    # One check-ignore for every directory (git names directories below an ignored one too), if there are any.
    if ! [ -s "$4.walked" ] && ! [ -s "$4.pruned" ]; then
      break
    elif ! { (cd "$3" && cat "$4.walked" "$4.pruned" | realm_git check-ignore -z --stdin --no-index) >"$4.ignored" ||
      [ $? -eq 1 ]; }; then
      checks=3 hint=''
    elif same_file "$4.ignored" "$4.pruned"; then
      break
    elif [ "$checks" -lt 3 ]; then
      hint=$(cd "$1" && xargs -0 -r -a "$4.ignored" sh "$capture_helpers/ignored-tops.sh") || return 1
    else
      hint=''
    fi
  done
  rm -f "$4.hint" && printf '%s' "$hint" >"$4.hint" || return 1
  xargs -0 -r -a "$4.upper-dirs" sh "$capture_helpers/upper-dirs.sh" "$2" "$3" >>"$4.paths" 3>"$4.dirs" || return 1
  cat "$4.pruned" >>"$4.dirs" || return 1
  # Files realm itself wrote at the start (to bring the workspace to the session's state) are the agent's
  # business from then on, even when it deletes one the project never had (which leaves no trace above).
  if [ -n "${5:-}" ] && [ -f "$5" ]; then cat "$5" >>"$4.paths"; fi
}

# overlay_patch PATCH SCRATCH START_TREE UPPER LOWER WS [EXTRA]: for an overlay workspace WS (layers UPPER over
# LOWER), the patch from START_TREE to the workspace of every path the container wrote (see upper_changes)
# becomes PATCH. It works on an index of those paths alone, so it costs what the agent changed whatever the
# size of the project: outside them both sides are the same, so the patch between the two small trees is the
# patch. Scratch files: SCRATCH.*; SCRATCH.paths lists the paths the container wrote.
overlay_patch() (
  patch=$1 scratch=$2 start=$3 layer=$4 lower=$5 workspace=$6
  rm -f "$scratch.index" && upper_changes "$layer" "$lower" "$workspace" "$scratch" ${7:+"$7"} || exit 1
  cd "$workspace" || exit 1
  export GIT_INDEX_FILE="$scratch.index"
  # The starting tree's entries at those paths (and under the directories) ...
  cat "$scratch.paths" "$scratch.dirs" | realm_git_each ls-tree -r -z --full-tree "$start" -- |
    realm_git update-index -z --index-info || exit 1
  before=$(realm_git write-tree) || exit 1
  # ... brought up to date: every tracked one, untracked ones the project's ignore rules do not exclude, and
  # what the agent added to its own index (its index is in the upper layer only if it touched it).
  { realm_git ls-files -z && realm_git_each ls-files -z -o --exclude-standard -- <"$scratch.paths"; } >"$scratch.update" || exit 1
  if [ -f "$layer/.git/index" ]; then agent_added "$scratch.added" "$start" && cat "$scratch.added" >>"$scratch.update"; fi
  realm_git update-index --add --remove --replace -z --stdin <"$scratch.update" &&
    after=$(realm_git write-tree) && patch_to "$patch" "$before" "$after"
)

# written_paths FILE SCRATCH START UPPER LOWER WS: the paths the container wrote (realm's agent-paths), after
# overlay_patch ran with SCRATCH: SCRATCH.paths, plus the tracked files (in the tree START) below the ignored
# directories the capture did not walk that a walk would have listed (see tracked-written.sh). Only the final
# capture needs them, so snapshots do not look for them.
written_paths() {
  cat "$2.paths" >"$1" || return 1
  [ -s "$2.pruned" ] || return 0
  (cd "$6" && realm_git_each ls-tree -r -z --name-only --full-tree "$3" -- <"$2.pruned") |
    xargs -0 -r sh "$capture_helpers/tracked-written.sh" "$4" "$5" "$6" >>"$1"
}
