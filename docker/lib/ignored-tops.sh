# shellcheck shell=sh
# ignored-tops.sh DIR...: DIRs are directories of the overlay's upper layer that the project's ignore rules
# exclude, as ./-prefixed paths, each listed after its ancestors. Prints the inode numbers of the topmost ones
# (git excludes everything below them anyway), space-separated, for the walk to prune. Run by xargs in the upper
# layer, from capture.sh (upper_changes). When xargs splits the list, a later batch may name a directory below
# an earlier batch's top one: harmless, as the walk never gets there.
n=$#
top=
for d; do
  case $d in "$top"/*) continue ;; esac
  top=$d
  set -- "$@" "$d"
done
shift "$n"
# A directory removed meanwhile is left out (find errs on it, and prints the rest).
find "$@" -maxdepth 0 -printf '%i ' 2>/dev/null
exit 0
