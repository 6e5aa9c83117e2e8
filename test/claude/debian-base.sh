#!/usr/bin/env bash
# Builds a plain Debian base image with no container registry: `debootstrap --variant=minbase` from Debian's
# own package mirror, then `docker import`. The claude e2e test builds docker/Dockerfile on top of it
# (--build-arg BASE_IMAGE=...), because `FROM node:...` needs a registry that CI may not reach.
# Cached: does nothing when the image already exists.
#
#   test/claude/debian-base.sh [tag] [suite] [mirror]
set -euo pipefail
tag="${1:-realm-debian-base:bookworm}"
suite="${2:-bookworm}"
mirror="${3:-${DEBIAN_MIRROR:-http://deb.debian.org/debian}}"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "debian-base.sh: debootstrap needs root (run as root or under sudo)" >&2; exit 1; }
# A fresh CI machine may not have it yet; it is one small package from Debian's own mirror.
if ! command -v debootstrap >/dev/null && command -v apt-get >/dev/null; then
  { apt-get update -qq && apt-get install -y -qq debootstrap; } >&2 || true
fi
command -v debootstrap >/dev/null || { echo "debian-base.sh: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }

root="$(mktemp -d /tmp/realm-debootstrap.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "debian-base.sh: debootstrapping $suite from $mirror (a few minutes)…" >&2
debootstrap --variant=minbase "$suite" "$root" "$mirror" >&2
# An image needs no package caches or apt lists; apt-get update inside a build fetches fresh ones.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
# `-c` keeps the settings a Debian image would carry; PATH matters because `docker import` sets none.
tar --numeric-owner -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' \
  -c 'CMD ["bash"]' - "$tag" >/dev/null
echo "$tag"
