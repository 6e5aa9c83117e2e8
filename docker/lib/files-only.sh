# shellcheck shell=sh
# files-only.sh PATH...: prints (NUL-separated) those PATHs that are files or symlinks. Run by xargs, from
# capture.sh.
for p; do
  if [ -f "$p" ] || [ -L "$p" ]; then printf '%s\0' "$p"; fi
done
