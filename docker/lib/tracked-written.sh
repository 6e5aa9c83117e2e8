# shellcheck shell=sh
# tracked-written.sh UPPER LOWER WS PATH...: PATHs are tracked files below directories the walk of the overlay's
# upper layer UPPER skipped (ones the ignore rules exclude). Prints (NUL-separated) those the walk would have
# listed: ones UPPER has as a file, symlink or whiteout, and ones the project LOWER has in a directory of the
# upper layer that the workspace WS no longer shows (what upper-dirs.sh finds). The patch does not need them
# (the skipped directories' tracked files are all looked at), but the list of paths the container wrote
# (agent-paths) keeps them, so the run summary's note on files the user changed on the host meanwhile is
# the same. Run by xargs, from capture.sh (written_paths).
upper=$1 lower=$2 ws=$3
shift 3
for p; do
  u="$upper/$p"
  if [ -L "$u" ] || { [ -e "$u" ] && [ ! -d "$u" ]; }; then
    printf '%s\0' "$p"
  elif [ -d "${u%/*}" ] && [ ! -L "${u%/*}" ] && { [ -e "$lower/$p" ] || [ -L "$lower/$p" ]; } &&
    [ ! -e "$ws/$p" ] && [ ! -L "$ws/$p" ]; then
    printf '%s\0' "$p"
  fi
done
