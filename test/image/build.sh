#!/usr/bin/env bash
# Builds the image the e2e tests run in, with no container registry: a root filesystem assembled from this
# machine's own binaries (and every shared library ldd lists), imported with `docker import`.
# Its `claude` is a stand-in that runs its non-flag arguments as a shell script in the workspace, so each
# test scripts what "the agent" does.
set -euo pipefail
tag="${1:-realm-test:latest}"
label="${2:-}"   # a hash of this directory, so tests rebuild the image when it changes
here="$(cd "$(dirname "$0")" && pwd)"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

bins=(sh bash git env sleep find xargs sed grep awk mawk kill ps timeout curl)
mapfile -t -O "${#bins[@]}" bins < <(dpkg -L coreutils | grep -E '^/(usr/)?bin/' | xargs -n1 basename)

# shellcheck source=test/image/rootfs.sh
. "$(dirname "$0")/rootfs.sh"

for b in "${bins[@]}"; do
  p="$(type -P "$b" 2>/dev/null || true)"
  [ -n "$p" ] && copy_with_libs "$root" "$(readlink -f "$p")" && {
    mkdir -p "$root/usr/bin"
    [ -e "$root/usr/bin/$b" ] || ln -s "$(readlink -f "$p")" "$root/usr/bin/$b"
  }
done
# git runs its helpers (upload-pack, remote-*, ...) from git-core; templates seed `git init`.
mkdir -p "$root/usr/lib" && cp -a /usr/lib/git-core "$root/usr/lib/"
for f in /usr/lib/git-core/git-remote-http /usr/lib/git-core/git-sh-i18n--envsubst; do
  [ -f "$f" ] && copy_with_libs "$root" "$f"
done
mkdir -p "$root/usr/share/git-core" && cp -a /usr/share/git-core/templates "$root/usr/share/git-core/"
ln -sfn usr/bin "$root/bin"
mkdir -p "$root/tmp" "$root/etc" "$root/home" "$root/workspace" "$root/proc" "$root/dev" "$root/sys"
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
install -m 0755 "$here/claude-standin.sh" "$root/usr/bin/claude"

tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' -c 'CMD ["sh"]' \
  -c "LABEL realm.test.inputs=$label" - "$tag" >/dev/null
echo "$tag"
