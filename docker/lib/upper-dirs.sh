# shellcheck shell=sh
# upper-dirs.sh LOWER WS DIR...: what the agent removed from the project in DIRs, directories of the overlay's
# upper layer (relative paths; '' is the top), where a removal leaves only a whiteout or a directory made
# anew. Prints (NUL-separated) every entry LOWER has in a DIR that the workspace WS no longer shows; to fd 3,
# the directories whose every tracked path must be looked at: DIRs the project has no directory for (new ones,
# or ones that replaced a file or symlink), and removed entries that are directories. Run by xargs, from
# capture.sh (upper_changes).
lower=$1 ws=$2
shift 2
for d; do
  l="$lower${d:+/$d}"
  if [ ! -d "$l" ] || [ -L "$l" ]; then printf '%s\0' "$d" >&3; continue; fi
  for e in "$l"/* "$l"/.[!.]* "$l"/..?*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    p="${d:+$d/}${e##*/}"
    [ "$p" = .git ] && continue
    if [ -e "$ws/$p" ] || [ -L "$ws/$p" ]; then continue; fi
    printf '%s\0' "$p"
    if [ -d "$e" ] && [ ! -L "$e" ]; then printf '%s\0' "$p" >&3; fi
  done
done
