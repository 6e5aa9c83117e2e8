#!/usr/bin/env bash
# Builds the remote engine stand-in's image on the Debian base (made first if missing), labelled with a hash
# of its inputs so that tests rebuild it only when they change.
#
#   test/remote-engine/build.sh <tag> <label> <base-image>
set -euo pipefail
tag="$1"
label="$2"
base="$3"
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/../claude/debian-base.sh" "$base" >/dev/null
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$here/Dockerfile" "$here/start.sh" "$context/"
docker build -q --build-arg "BASE_IMAGE=$base" --label "realm.test.inputs=$label" -t "$tag" "$context" >/dev/null
echo "$tag"
