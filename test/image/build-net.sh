#!/usr/bin/env bash
# Builds realm's network sidecar image with no container registry, the way build.sh builds the test image:
# a root filesystem of this machine's own sh, iptables (nft backend), tcpdump and ip plus every library ldd lists,
# and realm-relay compiled statically from docker/net/relay.c, imported with `docker import`.
# docker/net/Dockerfile builds the same tools from Alpine for users.
set -euo pipefail
tag="${1:-realm-test-net:latest}"
label="${2:-}" # a hash of the inputs, so tests rebuild the image when they change
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

# shellcheck source=test/image/rootfs.sh
. "$(dirname "$0")/rootfs.sh"

for tool in iptables tcpdump ip gcc; do
  command -v "$tool" >/dev/null || { echo "build-net.sh: $tool is not installed (apt-get install iptables tcpdump iproute2 gcc libc6-dev)" >&2; exit 1; }
done
mkdir -p "$root/usr/bin" "$root/usr/sbin"
for b in sh cat mv rm sleep getent mkdir; do
  p="$(readlink -f "$(type -P "$b")")"
  copy_with_libs "$root" "$p"
  [ -e "$root/usr/bin/$b" ] || ln -s "$p" "$root/usr/bin/$b"
done
# iptables, ip6tables and their -restore forms are one multi-call binary, which loads its matches and targets
# from xtables/.
multi="$(readlink -f "$(type -P iptables)")"
copy_with_libs "$root" "$multi"
for b in iptables ip6tables iptables-restore ip6tables-restore; do ln -sf "$multi" "$root/usr/sbin/$b"; done
xt="$(readlink -f "$(dirname "$(ldd "$multi" | grep -oE '/[^ ]+libxtables[^ ]*' | head -1)")/xtables")"
for so in "$xt"/*.so; do copy_with_libs "$root" "$so"; done
copy_with_libs "$root" "$(readlink -f "$(type -P tcpdump)")"
ln -sf "$(readlink -f "$(type -P tcpdump)")" "$root/usr/sbin/tcpdump"
copy_with_libs "$root" "$(readlink -f "$(type -P ip)")"
ln -sf "$(readlink -f "$(type -P ip)")" "$root/usr/sbin/ip"
mkdir -p "$root/usr/local/bin"
gcc -static -O2 -Wall -Wextra -Werror -o "$root/usr/local/bin/realm-relay" "$(dirname "$0")/../../docker/net/relay.c"
ln -sfn usr/bin "$root/bin"
ln -sfn usr/sbin "$root/sbin"
mkdir -p "$root/tmp" "$root/etc" "$root/proc" "$root/dev" "$root/sys" "$root/run"
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\ntcpdump:x:0:0::/:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"

tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["sh"]' \
  -c "LABEL realm.test.inputs=$label" - "$tag" >/dev/null
echo "$tag"
