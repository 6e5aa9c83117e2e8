#!/usr/bin/env bash
# Installs realm from this checkout: checks Node and Docker, builds realm, builds the default image
# realm:latest, and puts `realm` on the PATH through ~/.local/bin. Safe to run again: every step either
# finds its work done or redoes it in place.
#
#   ./install.sh                 # everything
#   REALM_SKIP_IMAGE=1 ./install.sh   # leave the image to realm's first run
#   BIN_DIR=/usr/local/bin ./install.sh
#   REALM_BASE_IMAGE=debian:bookworm-slim ./install.sh   # another base for the image (see docker/Dockerfile)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin_dir="${BIN_DIR:-$HOME/.local/bin}"
image="realm:latest"

say() { printf 'install.sh: %s\n' "$*" >&2; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

# Node 20 or newer: realm is an ESM TypeScript CLI built for Node 20.
command -v node >/dev/null 2>&1 || die "Node.js is not installed — install Node 20 or newer (https://nodejs.org) and run this again"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js $(node -v) is too old — realm needs Node 20 or newer"
command -v npm >/dev/null 2>&1 || die "npm is not installed — it comes with Node.js; install it and run this again"

# Docker: the client, and an engine this user may talk to.
command -v docker >/dev/null 2>&1 || die "Docker is not installed — install Docker Engine or Docker Desktop and run this again"
if ! docker_error="$(docker info --format '{{.ServerVersion}}' 2>&1 >/dev/null)"; then
  die "Docker is installed but its engine does not answer ($(printf '%s' "$docker_error" | head -n1)) — start Docker, or add yourself to the docker group, and run this again"
fi

say "installing dependencies and building realm in $here"
cd "$here"
# npm ci installs the exact tree that was tested; it starts from scratch, so a rerun skips it while
# node_modules is newer than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-fund --no-audit >&2
fi
npm run --silent build >&2

if [ -n "${REALM_SKIP_IMAGE:-}" ]; then
  say "skipping the image; realm builds $image on first use"
else
  # docker build's own progress is the visible progress; its layer cache makes a rerun quick.
  build_args=()
  [ -n "${REALM_BASE_IMAGE:-}" ] && build_args+=(--build-arg "BASE_IMAGE=$REALM_BASE_IMAGE")
  # Certificate authorities this machine added itself (a TLS-inspecting proxy's, say) are needed inside the
  # image too, or npm cannot reach the registry through that proxy.
  shopt -s nullglob
  local_cas=(/usr/local/share/ca-certificates/*.crt)
  shopt -u nullglob
  if [ "${#local_cas[@]}" -gt 0 ]; then
    say "trusting this machine's own certificate authorities in the image: ${local_cas[*]}"
    build_args+=(--build-arg "EXTRA_CA_CERTS=$(cat "${local_cas[@]}")")
  fi
  say "building the image $image (the first time takes a few minutes)"
  docker build "${build_args[@]}" -t "$image" "$here/docker" >&2 || die "building $image failed — see the output above; TROUBLESHOOTING.md lists the usual causes"
fi

mkdir -p "$bin_dir"
# A symlink to this checkout's bin/realm: a later `git pull && ./install.sh` updates it in place.
ln -sfn "$here/bin/realm" "$bin_dir/realm"
chmod +x "$here/bin/realm"
say "installed $bin_dir/realm"

case ":$PATH:" in
  *":$bin_dir:"*) say "done — run 'realm --help'" ;;
  *)
    say "$bin_dir is not on your PATH; add this line to your shell's startup file (~/.bashrc, ~/.zshrc, ...):"
    # $PATH is printed as it is, for the user to paste into a shell profile.
    # shellcheck disable=SC2016
    printf '\n    export PATH="%s:$PATH"\n\n' "$bin_dir" >&2
    say "then open a new shell and run 'realm --help'"
    ;;
esac
