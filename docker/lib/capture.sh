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

# upper_changes UPPER LOWER WS SCRATCH [EXTRA]: the paths the container wrote, read from the overlay's upper
# layer UPPER alone, so a capture costs what the agent changed, not the size of the project LOWER, and a file
# the user edits on the host during the run never enters the patch. SCRATCH.paths gets every file, symlink and
# whiteout in the upper layer, plus what the project has in a directory of the upper layer that the workspace
# WS no longer shows (deleted by the agent, whether by a whiteout or by removing and re-creating the
# directory), plus the paths listed in the file EXTRA; SCRATCH.dirs gets directories whose every tracked path
# must be looked at (deleted ones, and new ones where the project has none). Both lists are NUL-separated and
# may repeat a path (git takes each once).
upper_changes() {
  # One walk of the upper layer: directories to one list, everything else to the other.
  (cd "$1" && find . -path ./.git -prune -o -type d -fprintf "$4.upper-dirs" '%P\0' -o -printf '%P\0') >"$4.paths" || return 1
  xargs -0 -r -a "$4.upper-dirs" sh "$capture_helpers/upper-dirs.sh" "$2" "$3" >>"$4.paths" 3>"$4.dirs" || return 1
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
