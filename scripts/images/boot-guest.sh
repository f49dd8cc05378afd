#!/bin/bash
# Boots a test guest disk under qemu (TCG, no KVM needed) and watches its serial console
# for the outcome the caller expects.  The disk is opened with snapshot=on: never written.
#
#   scripts/images/boot-guest.sh --disk FILE [options]
#
#   --disk FILE        disk image (format detected by qemu-img unless --format)
#   --format FMT       raw, vmdk, qcow2, ...
#   --bus BUS          ide (machine pc, PIIX), sata (machine q35, AHCI), virtio
#                      (virtio-blk), pvscsi (VMware paravirtual SCSI); default ide
#   --machine M        pc or q35 (default: q35 for sata, pc otherwise)
#   --nic MODEL        qemu NIC model on user networking: e1000, vmxnet3, virtio-net-pci,
#                      ... (default e1000); "none" for no NIC
#   --mac MAC          NIC MAC address (default: qemu's)
#   --expect WHAT      marker: success when "H2K-BOOT-OK <host> <ip>" appears
#                      alert:  success when the initramfs prints "ALERT!" (root not found)
#                              and no marker appears
#   --ip IP            with --expect marker: the marker must carry this address
#   --timeout SEC      give up after SEC seconds (default 240)
#   --log FILE         keep the serial log here (default: a temporary file, removed)
#   --memory MIB       guest memory (default 1024)
#   --smp N            virtual CPUs (default 2)
#   --uefi             boot with OVMF instead of SeaBIOS
#
# Prints the matching console line and the elapsed time.  Exit status: 0 expectation met,
# 1 the other outcome (or a wrong address), 2 timeout or qemu exited early, 3 usage error.
# qemu is started by this script and stopped by its own pid.
set -euo pipefail

disk="" format="" bus=ide machine="" nic=e1000 mac="" expect=marker want_ip=""
timeout=240 logfile="" memory=1024 smp=2 uefi=0

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
fail_usage() { echo "boot-guest: $*" >&2; usage >&2; exit 3; }

while [ $# -gt 0 ]; do
    case $1 in
        --disk|--format|--bus|--machine|--nic|--mac|--expect|--ip|--timeout|--log|--memory|--smp)
            [ $# -ge 2 ] || fail_usage "$1 needs a value" ;;
    esac
    case $1 in
        --disk) disk=${2:-}; shift 2 ;;
        --format) format=${2:-}; shift 2 ;;
        --bus) bus=${2:-}; shift 2 ;;
        --machine) machine=${2:-}; shift 2 ;;
        --nic) nic=${2:-}; shift 2 ;;
        --mac) mac=${2:-}; shift 2 ;;
        --expect) expect=${2:-}; shift 2 ;;
        --ip) want_ip=${2:-}; shift 2 ;;
        --timeout) timeout=${2:-}; shift 2 ;;
        --log) logfile=${2:-}; shift 2 ;;
        --memory) memory=${2:-}; shift 2 ;;
        --smp) smp=${2:-}; shift 2 ;;
        --uefi) uefi=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) fail_usage "unknown argument: $1" ;;
    esac
done
[ -n "$disk" ] || fail_usage "--disk is required"
[ -r "$disk" ] || fail_usage "cannot read $disk"
case $expect in marker|alert) ;; *) fail_usage "--expect must be marker or alert" ;; esac
case $timeout in ''|*[!0-9]*) fail_usage "--timeout wants seconds" ;; esac
command -v qemu-system-x86_64 >/dev/null || { echo "boot-guest: qemu-system-x86_64 missing" >&2; exit 3; }

if [ -z "$format" ]; then
    format=$(qemu-img info --output=json "$disk" | sed -n 's/^ *"format": "\(.*\)",*$/\1/p' | head -n1)
    [ -n "$format" ] || fail_usage "cannot detect the format of $disk"
fi
if [ -z "$machine" ]; then
    if [ "$bus" = sata ]; then machine=q35; else machine=pc; fi
fi

drive="file=$disk,format=$format,snapshot=on"
# shellcheck disable=SC2054  # commas are qemu option syntax
case $bus in
    ide)    [ "$machine" = pc ] || fail_usage "--bus ide needs --machine pc"
            disk_args=(-drive "$drive,if=ide,index=0,media=disk") ;;
    sata)   [ "$machine" = q35 ] || fail_usage "--bus sata needs --machine q35"
            disk_args=(-drive "$drive,if=none,id=d0" -device ide-hd,drive=d0,bus=ide.0) ;;
    virtio) disk_args=(-drive "$drive,if=virtio") ;;
    pvscsi) disk_args=(-device pvscsi,id=scsi0 -drive "$drive,if=none,id=d0"
                       -device scsi-hd,drive=d0,bus=scsi0.0) ;;
    *) fail_usage "unknown bus $bus" ;;
esac
if [ "$nic" = none ]; then
    nic_args=(-nic none)
else
    nic_args=(-nic "user,model=$nic${mac:+,mac=$mac}")
fi
fw_args=()
if [ "$uefi" = 1 ]; then
    fw_args=(-bios /usr/share/ovmf/OVMF.fd)
fi

own_log=0
if [ -z "$logfile" ]; then
    logfile=$(mktemp "${TMPDIR:-/tmp}/h2k-boot.XXXXXX.log")
    own_log=1
fi
: >"$logfile"

qemu_pid=""
# shellcheck disable=SC2317  # called through trap
cleanup() {
    local rc=$?
    if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill "$qemu_pid" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$qemu_pid" 2>/dev/null || true
        wait "$qemu_pid" 2>/dev/null || true
    fi
    rm -f "$logfile.qemu"
    [ "$own_log" = 1 ] && rm -f "$logfile"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

qemu-system-x86_64 -machine "$machine,accel=tcg" -m "$memory" -smp "$smp" \
    -display none -monitor none -no-reboot "${fw_args[@]}" \
    "${disk_args[@]}" "${nic_args[@]}" -serial "file:$logfile" \
    >"$logfile.qemu" 2>&1 &
qemu_pid=$!
start=$(date +%s)
echo "boot-guest: qemu pid $qemu_pid, bus $bus ($machine), nic $nic${mac:+ $mac}, log $logfile" >&2

result=2
while :; do
    elapsed=$(( $(date +%s) - start ))
    marker=$(grep -a -m1 -o 'H2K-BOOT-OK [^[:space:]]* [^[:space:]]*' "$logfile" || true)
    alert=$(grep -a -m1 'ALERT!' "$logfile" | tr -d '\r' || true)
    if [ -n "$marker" ]; then
        echo "boot-guest: after ${elapsed}s: $marker"
        if [ "$expect" = marker ]; then
            result=0
            if [ -n "$want_ip" ] && [ "${marker##* }" != "$want_ip" ]; then
                echo "boot-guest: expected address $want_ip" >&2
                result=1
            fi
        else
            result=1
        fi
        break
    fi
    if [ -n "$alert" ]; then
        echo "boot-guest: after ${elapsed}s: $alert"
        if [ "$expect" = alert ]; then result=0; else result=1; fi
        break
    fi
    if ! kill -0 "$qemu_pid" 2>/dev/null; then
        echo "boot-guest: qemu exited after ${elapsed}s:" >&2
        cat "$logfile.qemu" >&2
        break
    fi
    if [ "$elapsed" -ge "$timeout" ]; then
        echo "boot-guest: timeout after ${elapsed}s; last console lines:" >&2
        tail -n 15 "$logfile" | tr -d '\r' >&2
        break
    fi
    sleep 1
done
exit "$result"
