#!/usr/bin/env bash
# Rebuilds kptr.bpf.o and obj_new.bpf.o with the flags of scripts/build-examples.sh (clang 19, libbpf-dev).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
${CLANG:-clang-19} -target bpf -O2 -g -Wall -Werror -std=gnu11 -ffile-prefix-map="$root"/= \
  -fdebug-compilation-dir=. -I/usr/include/"$(uname -m)"-linux-gnu \
  -c test/verifier/kptr/kptr.bpf.c -o test/verifier/kptr/kptr.bpf.o
${CLANG:-clang-19} -target bpf -O2 -g -Wall -Werror -std=gnu11 -ffile-prefix-map="$root"/= \
  -fdebug-compilation-dir=. -I/usr/include/"$(uname -m)"-linux-gnu \
  -c test/verifier/kptr/obj_new.bpf.c -o test/verifier/kptr/obj_new.bpf.o
