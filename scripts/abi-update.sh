#!/bin/bash
# Regenerates abi/libhyper2kvm.abi, the exported ABI that scripts/abi-check.sh
# (run by scripts/test.sh) compares the library against.  Run it on purpose,
# after a deliberate change of the ABI (see docs/abi.md), and commit the dump
# with the change.
# usage: scripts/abi-update.sh [LIBRARY]   (default: builds build-abi/ first)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/abi-common.sh
. "$top/scripts/abi-common.sh"
lib=${1:-}
if [ -z "$lib" ]; then
    cmake -S "$top" -B "$top/build-abi" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DH2K_BUILD_TESTS=OFF \
        >/dev/null
    cmake --build "$top/build-abi" -j"$(nproc)" --target hyper2kvm
    lib="$top/build-abi/src/libhyper2kvm.so"
fi
abi_map_check
mkdir -p "$top/abi"
abi_dump "$lib" "$top/abi/libhyper2kvm.abi"
echo "abi-update: wrote abi/libhyper2kvm.abi from $lib (review with git diff, commit it)"
