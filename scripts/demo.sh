#!/bin/bash
# The hyper2kvm demo: a whole migration of a real VMware-shaped Linux VM to KVM.
#
# The sample VM is the project's Debian 12 test guest (scripts/images/build-debian-guest.sh,
# built from Debian's packages on first use and cached): a VMware disk on a pvscsi
# controller, a vmxnet3 NIC named ens192 with a static address, an initramfs without
# virtio drivers, GRUB and fstab naming /dev/sda1, open-vm-tools installed.  As it comes
# from VMware it cannot boot on KVM's virtio devices.  The demo wraps it in a .vmx and runs
#
#   hyper2kvm local --input sample.vmx --output-dir OUT --test-boot
#
# which probes the disk, repairs the guest offline on an overlay, copies it to qcow2,
# writes a libvirt domain and boots the result under qemu until the guest prints its
# boot marker with its static address on the virtio NIC.  Then it checks that the source
# files were not modified.
#
# usage: scripts/demo.sh [OUTPUT_DIR]    (default: ./demo-output)
# Takes 5 to 10 minutes without hardware virtualisation (plus ~5 minutes the first
# time, to build the guest).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
outdir=$(realpath -m "${1:-$PWD/demo-output}")
cache=${XDG_CACHE_HOME:-$HOME/.cache}/hyper2kvm/demo

bash "$top/scripts/install-deps.sh"
build="$top/build-demo"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DH2K_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
h2k="$build/cli/hyper2kvm"

echo "== building (or finding) the sample guest"
img=$(bash "$top/scripts/images/build-debian-guest.sh")
# shellcheck disable=SC1090
. "${img%.vmdk}.env"

vm="$cache/sample-vm"
mkdir -p "$vm"
ln -sfn "$img" "$vm/sample.vmdk"
cat > "$vm/sample.vmx.tmp" <<VMX
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
scsi0:0.fileName = "sample.vmdk"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "vmxnet3"
ethernet0.networkName = "VM Network"
ethernet0.addressType = "static"
ethernet0.address = "$H2K_GUEST_MAC"
VMX
mv "$vm/sample.vmx.tmp" "$vm/sample.vmx"

sums() { sha256sum "$vm/sample.vmx" "$img" | awk '{ print $1 }'; }
sums_before=$(sums)

echo
echo "== 1. the VM, as its .vmx describes it"
"$h2k" ovf "$vm/sample.vmx"
echo
echo "== 2. its disk"
"$h2k" probe "$vm/sample.vmdk"
echo
echo "== 3. what is inside (read-only inspection)"
"$h2k" inspect "$vm/sample.vmdk"
echo
echo "== 4. the migration: repair, copy, libvirt domain, boot test"
rm -rf "$outdir"
mkdir -p "$outdir"
"$h2k" local --input "$vm/sample.vmx" --output-dir "$outdir" --test-boot
echo
echo "== 5. checks"
report="$outdir/sample.report.json"
python3 - "$report" "$H2K_GUEST_IP" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
boot = r.get("boot") or {}
assert r.get("success") is True, "the migration did not succeed"
assert boot.get("success") is True, "the boot test did not succeed"
assert any(a.split("/")[0] == sys.argv[2] for a in boot.get("addresses", [])), \
    "the guest did not come up with its address " + sys.argv[2]
print("booted on KVM (virtio disk and NIC) with %s up, proof: %s"
      % (sys.argv[2], boot.get("proof_line", "").strip()))
PY
if [ "$sums_before" != "$(sums)" ]; then
    echo "demo: the source VM was modified!" >&2
    exit 1
fi
echo "source files unchanged (sha256)"
echo
echo "demo complete: $outdir (disk, libvirt XML, report in JSON and Markdown)"
