# shellcheck shell=sh
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

# Claude Code's configuration: the host's entries (settings, commands, CLAUDE.md, ...) are read-only mounts,
# copied into HOME (a tmpfs) so the agent may edit its copy, which vanishes with the container; the run's
# .claude.json and login likewise. Only the session's conversations and todos live on, in the session's own
# history directory. No run can change what a later run starts with.
claude_config=/realm/claude-config
claude_state=/realm/claude-state
claude_login=/realm/claude-login
claude_history=/realm/claude-history
# Every process here counts in the time a run takes to start, so each step is one command at most.
if [ -d "$claude_history" ] && [ -w "$claude_history" ]; then
  mkdir -p "$HOME/.claude" "$claude_history/projects" "$claude_history/todos" "$claude_history/file-history" &&
    ln -s "$claude_history/projects" "$claude_history/todos" "$claude_history/file-history" "$HOME/.claude/" 2>/dev/null
else
  mkdir -p "$HOME/.claude"
fi
if [ -d "$claude_config" ]; then cp -RL "$claude_config/." "$HOME/.claude/" 2>/dev/null; fi
if [ -f "$claude_state/.claude.json" ] && [ ! -e "$HOME/.claude.json" ]; then cp "$claude_state/.claude.json" "$HOME/.claude.json"; fi
if [ -f "$claude_login" ]; then cp "$claude_login" "$HOME/.claude/.credentials.json" && chmod 600 "$HOME/.claude/.credentials.json"; fi

# same A B: whether two files or directory trees hold the same content (git is in every image realm runs).
same() { git diff --no-index --quiet -- "$1" "$2" >/dev/null 2>&1; }

# absent PATH: nothing at all is at PATH. Only then does the handback write there: whatever the agent put in its
# place stays, and realm refuses it; and nothing here ever opens a FIFO or follows a link the agent made.
absent() { [ ! -e "$1" ] && [ ! -L "$1" ]; }

# plugins_digest DIR: what Claude Code would load from a plugins directory, one line per file, leaving out what
# it writes there by itself on any run: the marketplace bookkeeping (marketplaces/ and known_marketplaces.json:
# listing where plugins come from installs nothing) and store/, where its built-in plugins keep their counters. Links are named with their target and never read, and nothing but
# regular files is hashed (one git process for them all), so no FIFO the agent left can block this. Nothing
# runs any more when this does, so listing twice sees the same files.
plugins_digest() {
  [ -d "$1" ] || return 0
  (
    cd "$1" || exit 0
    find . \( -path ./marketplaces -o -path ./known_marketplaces.json -o -path ./store \) -prune -o -type l -print | LC_ALL=C sort |
      while IFS= read -r link; do printf 'link %s %s\n' "$link" "$(readlink "$link")"; done
    find . \( -path ./marketplaces -o -path ./known_marketplaces.json -o -path ./store \) -prune -o -type f -print | LC_ALL=C sort
    find . \( -path ./marketplaces -o -path ./known_marketplaces.json -o -path ./store \) -prune -o -type f -print | LC_ALL=C sort |
      git hash-object --no-filters --stdin-paths
  )
}

# claude_handback OUT: after the agent (and everything it left running) has ended, what realm may keep of
# Claude Code's state (its .claude.json, a login that changed), a list of the configuration entries the agent
# changed in its copy, and its settings.json when that changed (realm names the keys), into OUT. realm reads
# them as untrusted input: it keeps only answers and a login, and reports the list, less what Claude Code
# writes by itself on any run (its state entries, here and on the host; the bookkeeping in plugins/, here; the
# keys of settings.json it rewrites, on the host). realm reads them only after `done`, so they need no temp file.
claude_handback() {
  out=$1
  if [ -f "$HOME/.claude.json" ] && absent "$out/claude.json"; then cp "$HOME/.claude.json" "$out/claude.json"; fi
  login="$HOME/.claude/.credentials.json"
  if [ -f "$login" ] && absent "$out/claude-login.json" && ! { [ -f "$claude_login" ] && same "$login" "$claude_login"; }; then
    cp "$login" "$out/claude-login.json"
  fi
  settings="$HOME/.claude/settings.json"
  if [ -f "$settings" ] && [ ! -L "$settings" ] && ! same "$settings" "$claude_config/settings.json" && absent "$out/claude-settings.json"; then
    cp "$settings" "$out/claude-settings.json"
  fi
  absent "$out/claude-changes" || return 0
  {
    for entry in "$HOME/.claude"/* "$HOME/.claude"/.[!.]*; do
      [ -e "$entry" ] || [ -L "$entry" ] || continue
      name=${entry##*/}
      case $name in projects | todos | file-history | sessions | .credentials.json) continue ;; esac
      if [ "$name" = plugins ] && [ -d "$entry" ] && [ ! -L "$entry" ]; then
        # Claude Code makes plugins/ on every run; only what it would load from there counts.
        [ "$(plugins_digest "$entry")" = "$(plugins_digest "$claude_config/plugins")" ] && continue
        if [ -e "$claude_config/plugins" ]; then printf 'changed plugins\n'; else printf 'added plugins\n'; fi
      elif [ -e "$claude_config/$name" ]; then
        same "$entry" "$claude_config/$name" || printf 'changed %s\n' "$name"
      else
        printf 'added %s\n' "$name"
      fi
    done
    for entry in "$claude_config"/* "$claude_config"/.[!.]*; do
      [ -e "$entry" ] || continue
      name=${entry##*/}
      [ -e "$HOME/.claude/$name" ] || [ -L "$HOME/.claude/$name" ] || printf 'removed %s\n' "$name"
    done
  } >"$out/claude-changes"
}

# Claude Code refuses --dangerously-skip-permissions as root unless told it is in a sandbox. A host user who
# is root gets a root container; that container is realm's sandbox, which is what IS_SANDBOX declares.
if [ "$(id -u)" = 0 ] && [ -z "${IS_SANDBOX:-}" ]; then
  export IS_SANDBOX=1
fi
