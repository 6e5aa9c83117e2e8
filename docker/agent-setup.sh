# Sourced by entrypoint.sh just before the agent starts, in the workspace, as the host user.
# Prepares what the agent needs from its environment. Runs in any image, so every step is best effort and
# plain POSIX sh.

# A terminal type the image has no terminfo entry for would leave the agent's interface undrawn.
if [ -n "${TERM:-}" ]; then
  first=$(printf '%s' "$TERM" | cut -c1)
  found=""
  for dir in "$HOME/.terminfo" /etc/terminfo /lib/terminfo /usr/share/terminfo /usr/lib/terminfo; do
    if [ -e "$dir/$first/$TERM" ] || [ -e "$dir/$(printf '%x' "'$first")/$TERM" ]; then found=1; break; fi
  done
  [ -n "$found" ] || export TERM=xterm-256color
fi

# The container runs as the host user's uid, which the image's /etc/passwd does not know. ssh refuses to run
# without an entry, and Node's os.userInfo() throws; the default image leaves the file writable for this.
if ! id -un >/dev/null 2>&1 && [ -w /etc/passwd ]; then
  printf 'realm:x:%s:%s:realm agent:%s:/bin/sh\n' "$(id -u)" "$(id -g)" "$HOME" >>/etc/passwd 2>/dev/null
  if ! grep -q "^[^:]*:[^:]*:$(id -g):" /etc/group 2>/dev/null && [ -w /etc/group ]; then
    printf 'realm:x:%s:\n' "$(id -g)" >>/etc/group 2>/dev/null
  fi
fi

# realm keeps Claude Code's ~/.claude.json in a directory of its own (a file bind mount cannot be replaced
# by rename, which is how Claude Code saves it). Claude Code resolves the link and writes its temp file next
# to the target, so each save is an atomic rename inside that directory and outlives the container.
if [ -d /realm/claude-state ] && [ -f /realm/claude-state/.claude.json ] && [ ! -e "$HOME/.claude.json" ]; then
  ln -s /realm/claude-state/.claude.json "$HOME/.claude.json" 2>/dev/null
fi

# Claude Code refuses --dangerously-skip-permissions as root unless told it is in a sandbox. A host user who
# is root gets a root container; that container is realm's sandbox, which is what IS_SANDBOX declares.
if [ "$(id -u)" = 0 ] && [ -z "${IS_SANDBOX:-}" ]; then
  export IS_SANDBOX=1
fi
