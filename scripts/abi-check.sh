#!/bin/bash
# Checks the exported ABI of a built libhyper2kvm.so against the dump kept in
# the repository (abi/libhyper2kvm.abi) with abidiff, and that the map file
# lists exactly the functions the public headers declare.  Any difference
# fails: a change of the ABI must be deliberate (scripts/abi-update.sh).
# usage: scripts/abi-check.sh LIBRARY      (a RelWithDebInfo or Debug build)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/abi-common.sh
. "$top/scripts/abi-common.sh"
lib=$1
abi_map_check
rc=0
abidiff --headers-dir2 "$top/include/hyper2kvm" --drop-private-types \
    "$top/abi/libhyper2kvm.abi" "$lib" || rc=$?
if [ "$rc" -ne 0 ]; then
    cat >&2 <<MSG
abi-check: the ABI of $lib differs from abi/libhyper2kvm.abi (abidiff exit $rc;
the report is above).  If the change is deliberate (a new symbol in the map's
newest node, a field added at the end of a versioned options struct), run
scripts/abi-update.sh and commit abi/libhyper2kvm.abi with it (docs/abi.md).
Otherwise the change breaks programs built against the released library.
MSG
    exit 1
fi
echo "abi-check: the ABI matches abi/libhyper2kvm.abi"
