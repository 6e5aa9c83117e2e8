# Sourced by entrypoint.sh just before the agent starts, in the workspace, as the host user.
# Prepares what the agent needs from its environment.

# A terminal type the image has no terminfo entry for would leave the agent's interface undrawn.
if [ -n "${TERM:-}" ]; then
  first=$(printf '%s' "$TERM" | cut -c1)
  found=""
  for dir in "$HOME/.terminfo" /etc/terminfo /lib/terminfo /usr/share/terminfo /usr/lib/terminfo; do
    if [ -e "$dir/$first/$TERM" ] || [ -e "$dir/$(printf '%x' "'$first")/$TERM" ]; then found=1; break; fi
  done
  [ -n "$found" ] || export TERM=xterm-256color
fi
