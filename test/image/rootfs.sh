# shellcheck shell=bash
# Sourced by the image builders: copy_with_libs ROOT FILE copies FILE into the root filesystem ROOT, with every
# shared library ldd lists for it, so a binary of this machine runs in an image made without a registry.
copy_with_libs() {
  local root="$1" src="$2"
  mkdir -p "$root$(dirname "$src")"
  cp -a "$src" "$root$src"
  { ldd "$src" 2>/dev/null || true; } | { grep -oE '/[^ ]+' || true; } | while read -r lib; do
    [ -e "$root$lib" ] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}
