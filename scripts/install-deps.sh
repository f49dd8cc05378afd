#!/bin/sh
# Installs every Debian package hyper2kvm needs to build, test, fuzz and benchmark.
# This file is the only place the list lives.  Safe to run again: apt-get skips what is there.
# (npm, for Azurite, comes with the peers script ../shared/peers/azure/setup.sh when the
# nodejs installed lacks it: a nodejs from other sources bundles its own npm.)
# usage: scripts/install-deps.sh            (as root, or through sudo)
set -eu

PACKAGES="
build-essential cmake pkg-config clang libclang-rt-14-dev
libguestfs-dev libvirt-dev libcurl4-openssl-dev libxml2-dev libjson-c-dev
libssl-dev zlib1g-dev libcmocka-dev libarchive-dev libyaml-dev libhivex-dev
qemu-utils qemu-system-x86 ovmf ipxe-qemu seabios
libguestfs-tools libguestfs-xfs guestfs-tools supermin linux-image-amd64
libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients libxml2-utils dnsmasq-base
cpio initramfs-tools debootstrap fdisk e2fsprogs dosfstools libhivex-bin ntfs-3g genisoimage sqlite3 xz-utils zstd
gcc-mingw-w64-x86-64 gcc-mingw-w64-i686 wine wine64
nbdkit libnbd-bin virt-v2v
valgrind python3 curl ca-certificates iproute2 procps
doxygen abigail-tools clang-format wget
nodejs openssl
"

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd="sudo"
fi

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    echo "install-deps: installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get -o DPkg::Lock::Timeout=900 update -q >&2
    # shellcheck disable=SC2086
    $sudo_cmd apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends $missing >&2
fi
echo "install-deps: all packages present" >&2
