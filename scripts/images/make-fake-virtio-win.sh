#!/bin/bash
# Makes a fake virtio-win tree (and optionally an ISO of it) with the real folder
# layout -- DRIVER/OS/ARCH/DRIVER.{inf,sys,cat} -- and small placeholder files, for
# the Windows conversion tests.  Nothing in it is a driver.
#
#   scripts/images/make-fake-virtio-win.sh DIR [ISO]
#
# Drivers: viostor vioscsi netkvm balloon vioserial viorng pvpanic.  OS short names:
# w7 (x86 and amd64), w10, w11, 2k19, 2k22 (amd64).  Each placeholder's content names
# its own folder, so a test can tell which one was copied.  No 2k25 and no w7 vioscsi:
# the refusals have something to refuse.
set -euo pipefail
dir=${1:?usage: make-fake-virtio-win.sh DIR [ISO]}
iso=${2:-}
mkdir -p "$dir"
for drv in viostor vioscsi netkvm balloon vioserial viorng pvpanic; do
    for os_arch in w7/x86 w7/amd64 w10/amd64 w11/amd64 2k19/amd64 2k22/amd64; do
        [ "$drv/${os_arch%/*}" = vioscsi/w7 ] && continue
        d="$dir/$drv/$os_arch"
        mkdir -p "$d"
        printf '; fake %s driver for %s\n[Version]\nSignature="$WINDOWS NT$"\nClass=SCSIAdapter\n' \
            "$drv" "$os_arch" > "$d/$drv.inf"
        printf 'MZ fake %s.sys %s\n' "$drv" "$os_arch" > "$d/$drv.sys"
        printf 'fake catalog %s %s\n' "$drv" "$os_arch" > "$d/$drv.cat"
        printf 'fake symbols\n' > "$d/$drv.pdb"
    done
done
printf 'fake virtio-win\n' > "$dir/virtio-win-license.txt"
if [ -n "$iso" ]; then
    command -v genisoimage >/dev/null || { echo "make-fake-virtio-win: genisoimage is missing (scripts/install-deps.sh)" >&2; exit 1; }
    genisoimage -quiet -J -R -V virtio-win -o "$iso" "$dir"
fi
