#!/bin/bash
# The hyper2kvm demo: builds the tool and runs it on a built-in sample VMware VM
# (a .vmx folder whose disk has a snapshot, made here with qemu-img and
# mkfs.ext4), then checks the result:
#   1. reads the VM description (hyper2kvm ovf sample.vmx)
#   2. probes the disk and its snapshot chain (hyper2kvm probe)
#   3. converts the chain to one compressed qcow2 (hyper2kvm convert --compress)
#   4. verifies the output holds exactly the guest's data (qemu-img compare) and
#      that the source files were not modified (sha256 before/after)
# usage: scripts/demo.sh [OUTPUT_DIR]    (default: ./demo-output)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
outdir=$(realpath -m "${1:-$PWD/demo-output}")
cache=${XDG_CACHE_HOME:-$HOME/.cache}/hyper2kvm/demo

bash "$top/scripts/install-deps.sh"
build="$top/build-demo"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DH2K_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
h2k="$build/cli/hyper2kvm"

vm="$cache/sample-vm"
if [ ! -f "$vm/.complete" ]; then
    echo "== building the sample VMware VM in $vm"
    rm -rf "$vm"
    mkdir -p "$vm"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/root/etc" "$work/root/home/demo"
    printf 'PRETTY_NAME="hyper2kvm sample"\nID=sample\n' > "$work/root/etc/os-release"
    printf '/dev/sda1 / ext4 defaults 0 1\n' > "$work/root/etc/fstab"
    head -c 8M /dev/urandom > "$work/root/home/demo/data.bin"
    truncate -s 1G "$work/disk.raw"
    mkfs.ext4 -q -F -L sample-root -d "$work/root" "$work/disk.raw"
    qemu-img convert -q -f raw -O vmdk -o subformat=monolithicSparse \
        "$work/disk.raw" "$vm/sample.vmdk"
    # a snapshot, as VMware leaves one: a delta disk over the base
    (cd "$vm" && qemu-img create -q -f vmdk -b sample.vmdk -F vmdk sample-000001.vmdk)
    qemu-io -f vmdk -c 'write -P 0x68 512M 16M' "$vm/sample-000001.vmdk" >/dev/null
    cat > "$vm/sample.vmx" <<'VMX'
.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "14"
displayName = "sample"
guestOS = "debian12-64"
memSize = "1024"
numvcpus = "2"
firmware = "bios"
scsi0.present = "TRUE"
scsi0.virtualDev = "pvscsi"
scsi0:0.present = "TRUE"
scsi0:0.deviceType = "scsi-hardDisk"
scsi0:0.fileName = "sample-000001.vmdk"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "vmxnet3"
ethernet0.networkName = "VM Network"
ethernet0.addressType = "static"
ethernet0.address = "00:50:56:01:02:03"
VMX
    touch "$vm/.complete"
fi

mkdir -p "$outdir"
sums_before=$(cd "$vm" && sha256sum sample.vmx sample.vmdk sample-000001.vmdk)

echo "== 1. the VM, as its .vmx describes it"
"$h2k" ovf "$vm/sample.vmx"
echo
echo "== 2. its disk and snapshot chain"
"$h2k" probe "$vm/sample-000001.vmdk"
echo
echo "== 3. conversion of the whole chain to one compressed qcow2"
rm -f "$outdir/sample.qcow2"
"$h2k" convert --compress "$vm/sample-000001.vmdk" "$outdir/sample.qcow2"
echo
echo "== 4. checks"
qemu-img compare -q "$vm/sample-000001.vmdk" "$outdir/sample.qcow2"
echo "output holds exactly the guest's data (qemu-img compare)"
sums_after=$(cd "$vm" && sha256sum sample.vmx sample.vmdk sample-000001.vmdk)
if [ "$sums_before" != "$sums_after" ]; then
    echo "demo: the source VM was modified!" >&2
    exit 1
fi
echo "source files unchanged (sha256)"
qemu-img info "$outdir/sample.qcow2" | sed -n '1,6p'
echo
echo "demo complete: $outdir/sample.qcow2"
