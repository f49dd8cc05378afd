#!/bin/bash
# Compiles every examples/*.c against an installed hyper2kvm through pkg-config,
# with -Werror, and runs the ones that need no arguments ("--self-test").
# usage: scripts/build-examples.sh PREFIX
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
prefix=$1
libdir=$(find "$prefix" -name hyper2kvm.pc -printf '%h\n' | head -1)
if [ -z "$libdir" ]; then
    echo "build-examples: no hyper2kvm.pc under $prefix" >&2
    exit 1
fi
export PKG_CONFIG_PATH="$libdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
n=0
for src in "$top"/examples/*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -Werror -o "$out/$name" "$src" $(pkg-config --cflags --libs hyper2kvm)
    LD_LIBRARY_PATH="$prefix/lib:$(dirname "$libdir")" "$out/$name" --self-test
    n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
    echo "build-examples: no examples found" >&2
    exit 1
fi
echo "build-examples: $n examples built against the installed library and ran"
