# shellcheck shell=sh
# hide-tracked.sh remove|keep WS CHANGED PATH...: PATHs are hidden files git tracks; CHANGED names (NUL-separated)
# those the session changed, which stay in the workspace WS as its own work. With `remove`, every other PATH is
# taken out of WS (a copy's checkout wrote them). Prints (NUL-separated) the PATHs then absent from WS. Run by
# xargs, from prepare.sh (hide_tracked).
mode=$1 ws=$2
nl='
'
changed=$nl$(tr '\0' '\n' <"$3")$nl
shift 3
for p; do
  case $changed in *"$nl$p$nl"*) continue ;; esac
  if [ "$mode" = remove ]; then rm -f -- "$ws/$p" || exit 1; fi
  if [ ! -e "$ws/$p" ] && [ ! -L "$ws/$p" ]; then printf '%s\0' "$p"; fi
done
