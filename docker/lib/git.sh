# shellcheck shell=sh
# Git as realm runs it inside the container: hermetic, on realm's own repository (its config, attributes and
# indexes, never the agent's), with patches in one fixed form. Sourced by entrypoint.sh.

# Every git command realm runs is hermetic: no system or global config, no hooks, no external diff, textconv,
# color, prefixes, filters or line-ending conversion that could change what the patch says.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0 GIT_OPTIONAL_LOCKS=0
# One word each, split where used. lib/run/protocol.ts (CONTAINER_GIT_CONFIG) holds the same list.
realm_git_config='-c core.hooksPath=/dev/null -c core.autocrlf=false -c core.safecrlf=false -c core.fileMode=true
  -c core.symlinks=true -c core.quotePath=false -c core.bigFileThreshold=2g -c gc.auto=0 -c advice.detachedHead=false'

# use_repository GIT_DIR WORK_TREE: the repository and work tree realm_git works on, in this shell and the
# subshells it starts from now on.
use_repository() {
  realm_git_dir=$1
  realm_work_tree=$2
}

# realm_git ARGS...: hermetic git on the repository use_repository chose.
# shellcheck disable=SC2086 # realm_git_config is split into its words on purpose
realm_git() { GIT_DIR="$realm_git_dir" GIT_WORK_TREE="$realm_work_tree" git $realm_git_config "$@"; }

# realm_git_each ARGS...: realm_git ARGS with NUL-separated paths from stdin appended (in batches, as xargs does).
# shellcheck disable=SC2086 # as above
realm_git_each() {
  GIT_DIR="$realm_git_dir" GIT_WORK_TREE="$realm_work_tree" GIT_LITERAL_PATHSPECS=1 xargs -0 -r git $realm_git_config "$@"
}

# patch_to FILE FROM TO: the patch between two trees becomes FILE, atomically (temp file + rename). The options
# are lib/run/protocol.ts's PATCH_OPTIONS, whatever the configuration says.
patch_to() {
  rm -f "$1.tmp" 2>/dev/null # the agent may have put a FIFO or a link there
  if [ "$2" = "$3" ]; then
    : >"$1.tmp"
  else
    realm_git diff-tree -r --binary --full-index --no-color --no-ext-diff --no-textconv --src-prefix=a/ --dst-prefix=b/ -M \
      "$2" "$3" >"$1.tmp"
  fi && mv -f "$1.tmp" "$1"
}

# stage_changes INDEX [EXTRA]: brings INDEX up to date with the files in the work tree — what `git add -A` does,
# without hashing every file again: one lstat pass and one directory walk find what differs from the index's
# stat data, and only those files are hashed. EXTRA names a file of further paths (NUL-separated) to bring up
# to date. Scratch files: INDEX.others, INDEX.paths.
stage_changes() (
  cd "$realm_work_tree" || exit 1
  export GIT_INDEX_FILE="$1"
  # The two walks are independent: the untracked one runs on the other core. (diff-files checks the index on
  # several threads, which `ls-files -m` does not.)
  realm_git ls-files -z -o --exclude-standard >"$1.others" &
  others=$!
  realm_git diff-files --name-only -z >"$1.paths" && wait "$others" || exit 1
  cat "$1.others" ${2:+"$2"} >>"$1.paths" || exit 1
  if [ -s "$1.paths" ]; then realm_git update-index --add --remove --replace -z --stdin <"$1.paths"; fi
)

# index_of INDEX SOURCE FALLBACK [EXTRA]: INDEX becomes an index of the files in the work tree, starting from the
# index SOURCE (whose stat data was taken there, so unchanged files are not read), or from the tree FALLBACK
# when SOURCE is missing or carries extensions this git cannot follow (a split index, say). The user's own
# index is only ever copied, never written. `cp -p` keeps the copy's mtime, which git's check for racily clean
# entries relies on.
index_of() {
  { [ -f "$2" ] && cp -p "$2" "$1.tmp" 2>/dev/null && mv -f "$1.tmp" "$1" && stage_changes "$1" ${4:+"$4"} 2>/dev/null; } || {
    rm -f "$1" && GIT_INDEX_FILE="$1" realm_git read-tree "$3" && stage_changes "$1" ${4:+"$4"}
  }
}

# tree_with_patches INDEX TREE PATCH...: prints the tree that results from applying each non-empty patch in turn
# to TREE, in the index file INDEX. When a patch does not apply, INDEX.failed says which, with git's reason.
tree_with_patches() (
  index=$1
  GIT_INDEX_FILE="$index" realm_git read-tree "$2" || exit 1
  shift 2
  for patch in "$@"; do
    [ -s "$patch" ] || continue
    if ! GIT_INDEX_FILE="$index" realm_git apply --cached --binary --whitespace=nowarn "$patch" 2>"$index.error"; then
      printf '%s: %s\n' "$patch" "$(head -n 1 "$index.error")" >"$index.failed"
      exit 1
    fi
  done
  GIT_INDEX_FILE="$index" realm_git write-tree
)
