#!/usr/bin/env bash
# Rebuilds every examples/<name>/<name>.bpf.c into the committed <name>.bpf.o.
# The only step of the project that needs clang: tests and the demo read the
# committed objects.  Flags are fixed so that a rebuild is byte-for-byte the
# same on any machine with the same clang: debug info is kept (-g, BTF,
# line info) but paths are relative to the repository root, never the
# absolute build directory.
# Usage: bash scripts/build-examples.sh [--out DIR] [name...]
#   name     an example folder (default: every example)
#   --out    write DIR/<name>/<file>.bpf.o instead of next to the source (the
#            reproducibility test compares such a build with the committed files)
set -euo pipefail

out_dir=
if [ "${1:-}" = --out ]; then
  [ $# -ge 2 ] || { echo "build-examples: --out needs a directory" >&2; exit 1; }
  out_dir=$(mkdir -p "$2" && cd "$2" && pwd)
  shift 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

CLANG=${CLANG:-clang-19}
if ! command -v "$CLANG" >/dev/null 2>&1; then
  echo "build-examples: '$CLANG' not found. Install clang 19 (Debian/Ubuntu: apt-get install clang-19)" >&2
  echo "  or set CLANG=/path/to/clang. The committed .o files are used as they are otherwise." >&2
  exit 1
fi
if [ ! -f /usr/include/bpf/bpf_helpers.h ]; then
  echo "build-examples: <bpf/bpf_helpers.h> not found (Debian/Ubuntu: apt-get install libbpf-dev)" >&2
  exit 1
fi

# <asm/types.h> lives in the multiarch directory on Debian-like systems.
arch_inc=/usr/include/$(uname -m)-linux-gnu
CFLAGS=(-target bpf -O2 -g -Wall -Werror -std=gnu11
  -ffile-prefix-map="$root"/=
  -fdebug-compilation-dir=.
  -I"$arch_inc")

# Besides examples/<name>/, one more source folder: test/examples/reject/ (programs
# the verifier must refuse; built the same way, named "reject").
src_dir() { if [ "$1" = reject ]; then echo test/examples/reject; else echo "examples/$1"; fi; }

if [ $# -gt 0 ]; then names=("$@"); else
  names=()
  for d in examples/*/; do
    d=${d%/}; n=${d##*/}
    [ -f "$d/${n//-/_}.bpf.c" ] && names+=("$n")
  done
  names+=(reject)
fi

for n in "${names[@]}"; do
  dir=$(src_dir "$n")
  src="$dir/${n//-/_}.bpf.c"
  [ -f "$src" ] || { echo "build-examples: $src does not exist" >&2; exit 1; }
  out="${src%.c}.o"
  if [ -n "$out_dir" ]; then
    mkdir -p "$out_dir/$n"
    out="$out_dir/$n/$(basename "$out")"
  fi
  # An example may add fixed flags of its own (e.g. -mcpu=v4) in build-flags.
  extra=()
  [ -f "$dir/build-flags" ] && read -r -a extra < "$dir/build-flags"
  "$CLANG" "${CFLAGS[@]}" "${extra[@]}" -c "$src" -o "$out"
  echo "built $out"
done
