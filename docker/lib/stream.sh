# shellcheck shell=sh
# Streamed runs, on an engine that cannot see the host's files (REALM_STREAMED): realm sent the project as git
# objects and a new session's baseline as a patch, instead of mounting the project. Sourced by entrypoint.sh;
# uses git.sh, and entrypoint.sh's fail and put.

# receive_project PROJECT INPUT CACHE: PROJECT becomes a repository holding the session's commit, made of the
# objects in the engine's cache CACHE (read-only here) and the pack INPUT/objects.pack realm sent (what the
# cache lacked). The pack was made against the commits INPUT/have lists; should the cache lack one (it was
# removed since), it returns 1, for the entrypoint to tell realm, which sends every object again.
receive_project() {
  if ! { mkdir -p "$1/.git/objects/info" "$1/.git/objects/pack" "$1/.git/refs/heads" &&
    printf 'ref: refs/heads/realm\n' >"$1/.git/HEAD" &&
    printf '[core]\n\trepositoryformatversion = 0\n\tbare = false\n' >"$1/.git/config"; }; then
    fail "cannot create $1"
  fi
  if [ -d "$3/objects" ]; then printf '%s\n' "$3/objects" >"$1/.git/objects/info/alternates"; fi
  use_repository "$1/.git" "$1"
  if [ -s "$2/have" ] && sed 's/$/^{commit}/' "$2/have" | realm_git cat-file --batch-check | grep -q ' missing$'; then
    return 1
  fi
  if [ -f "$2/objects.pack" ]; then
    realm_git index-pack --stdin <"$2/objects.pack" >/dev/null || fail "cannot read the project's objects realm sent"
    rm -f "$2/objects.pack"
  fi
  printf '%s\n' "$REALM_BASE" >"$1/.git/refs/heads/realm" || fail "cannot create $1"
}

# streamed_baseline INDEX START SESSION: the tree of a new session's baseline, the commit START with the patch
# the host computed from the user's working tree (SESSION/baseline.patch).
streamed_baseline() {
  tree_with_patches "$1" "$2" "$3/baseline.patch" || fail "the baseline realm sent does not apply: $(cat "$1.failed")"
}

# copy_ignored IGNORED WS: the files git ignores, as the host sent them, go into the workspace WS.
copy_ignored() {
  if [ -d "$1" ]; then cp -a "$1/." "$2/" || fail "cannot copy the ignored files"; fi
}
