#!/bin/bash
# The real-guest corpus: builds (or finds, cached) every corpus guest and migrates each one
# with the command line tool, proving the boot on virtio with the guest's network up.
#
#   scripts/corpus.sh [--only NAME[,NAME...]] [--out DIR] [--cli PATH] [--keep]
#
# For each guest: build its image with its scripts/images/ script (cached in
# ${XDG_CACHE_HOME:-$HOME/.cache}/hyper2kvm/images), wrap it in a .vmx shaped like the
# VMware original (pvscsi disk(s), vmxnet3 NIC with the guest's MAC, its firmware), then run
#
#   hyper2kvm --allow-path CACHE local --input GUEST.vmx --output-dir DIR/GUEST/out \
#       --name GUEST --test-boot
#
# into a fresh output folder, and read the per-stage times from the JSON report
# (DIR/GUEST/out/GUEST.report.json, "timings"; --name, since a guest's own .vmx may
# give the VM another display name; "launch", the appliance start and the
# inspection, is part of "fix").  When no report is left (a failure before
# it was written), the stage times come from the tool's JSON progress events, timed as
# they arrive (marked "~").  A guest passes when the tool succeeds, the report says the boot
# succeeded and the guest's static address is among the addresses seen at boot.
# Prints a table (guest, layout, result, build time, time of each stage) and writes it to
# DIR/corpus.md; exits non-zero if any guest fails.  A guest whose build script does not
# exist in this tree is reported as "missing" (and does not fail the run).
#
#   --only LIST  run only these guests (names below), comma-separated
#   --out DIR    working folder (default: ./corpus-output; each guest's folder is emptied)
#   --cli PATH   the hyper2kvm binary (default: build the tree into ./build-corpus)
#   --keep       also pass --keep-partial (keep the disks of a failed migration)
#
# Guests (name: build script):
#   debian12: images/build-debian-guest.sh
#   debian11: images/build-debian-guest.sh --suite bullseye
#   debian13: images/build-debian-guest.sh --suite trixie
#   uefi:     images/build-debian-uefi-guest.sh
#   btrfs:    images/build-debian-btrfs-guest.sh
#
# A build script prints the path of the guest's image on its last line of stdout: either a
# .vmx (used as it is) or the boot disk's .vmdk, next to which NAME.env (shell syntax)
# gives H2K_GUEST_MAC and H2K_GUEST_IP, and optionally H2K_GUEST_FIRMWARE (bios or efi,
# default bios), H2K_GUEST_EXTRA_DISKS (further .vmdk paths, space-separated, attached
# in order after the boot disk) and H2K_GUEST_LAYOUT (one line for the table).
#
# Needs what the image scripts and the boot test need (root, debootstrap, libguestfs,
# qemu; see scripts/install-deps.sh) and python3.  Without KVM each guest takes several
# minutes to migrate (the boot test runs under TCG), plus about 12 minutes per guest the
# first time, to build it.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
images=$top/scripts/images
cache_dir=${XDG_CACHE_HOME:-$HOME/.cache}/hyper2kvm/images
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}

log() { printf '[corpus %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

all_guests="debian12 debian11 debian13 uefi btrfs"
only=""
outdir=$PWD/corpus-output
cli=""
keep=0
while [ $# -gt 0 ]; do
    case $1 in
        --only) [ $# -ge 2 ] || die "--only needs a value"; only=$2; shift ;;
        --out) [ $# -ge 2 ] || die "--out needs a value"; outdir=$2; shift ;;
        --cli) [ $# -ge 2 ] || die "--cli needs a value"; cli=$2; shift ;;
        --keep) keep=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done
guests=$all_guests
if [ -n "$only" ]; then
    guests=${only//,/ }
    for g in $guests; do
        case " $all_guests " in *" $g "*) ;; *) die "unknown guest: $g (known: $all_guests)" ;; esac
    done
fi
command -v python3 >/dev/null 2>&1 || die "missing program: python3"
outdir=$(realpath -m "$outdir")
mkdir -p "$outdir"

if [ -z "$cli" ]; then
    build=$top/build-corpus
    log "building the command line tool into $build"
    cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DH2K_BUILD_TESTS=OFF \
        >"$outdir/cmake.log" 2>&1 || { tail -n 30 "$outdir/cmake.log" >&2; die "cmake failed"; }
    cmake --build "$build" -j"$(nproc)" >>"$outdir/cmake.log" 2>&1 ||
        { tail -n 30 "$outdir/cmake.log" >&2; die "build failed"; }
    cli=$build/cli/hyper2kvm
fi
[ -x "$cli" ] || die "no hyper2kvm binary at $cli"
cli=$(realpath "$cli")

guest_script() {
    case $1 in
        debian12) echo "$images/build-debian-guest.sh" ;;
        debian11) echo "$images/build-debian-guest.sh --suite bullseye" ;;
        debian13) echo "$images/build-debian-guest.sh --suite trixie" ;;
        uefi) echo "$images/build-debian-uefi-guest.sh" ;;
        btrfs) echo "$images/build-debian-btrfs-guest.sh" ;;
    esac
}
guest_layout() {
    case $1 in
        debian12) echo "Debian 12, BIOS/MBR, ext4 root + swap on /dev/sda*, initramfs-tools, ifupdown" ;;
        debian11) echo "Debian 11, BIOS/MBR, ext4 root + swap on /dev/sda*, initramfs-tools, ifupdown" ;;
        debian13) echo "Debian 13, BIOS/MBR, ext4 root + swap on /dev/sda*, initramfs-tools, ifupdown" ;;
        uefi) echo "UEFI/GPT, LVM root on XFS, ext4 /boot, systemd-networkd" ;;
        btrfs) echo "btrfs subvolumes @ @home, dracut, NetworkManager, /var on 2nd disk" ;;
    esac
}

# Writes DIR/NAME.vmx for a .vmdk boot disk described by its .env; prints the .vmx path.
write_vmx() {
    local name=$1 img=$2 dir=$3 firmware disks i=0 d guest_os=debian12-64
    [ "$name" != debian11 ] || guest_os=debian11-64
    (
        # shellcheck disable=SC1090
        . "${img%.vmdk}.env"
        firmware=${H2K_GUEST_FIRMWARE:-bios}
        disks="$img ${H2K_GUEST_EXTRA_DISKS:-}"
        {
            printf '.encoding = "UTF-8"\nconfig.version = "8"\nvirtualHW.version = "14"\n'
            printf 'displayName = "%s"\nguestOS = "%s"\n' "$name" "$guest_os"
            printf 'memSize = "1024"\nnumvcpus = "2"\nfirmware = "%s"\n' "$firmware"
            printf 'scsi0.present = "TRUE"\nscsi0.virtualDev = "pvscsi"\n'
            for d in $disks; do
                [ -f "$d" ] || { echo "missing disk $d" >&2; exit 1; }
                printf 'scsi0:%d.present = "TRUE"\nscsi0:%d.deviceType = "scsi-hardDisk"\n' "$i" "$i"
                printf 'scsi0:%d.fileName = "%s"\n' "$i" "$d"
                i=$((i + 1))
            done
            printf 'ethernet0.present = "TRUE"\nethernet0.virtualDev = "vmxnet3"\n'
            printf 'ethernet0.networkName = "VM Network"\nethernet0.addressType = "static"\n'
            printf 'ethernet0.address = "%s"\n' "$H2K_GUEST_MAC"
        } >"$dir/$name.vmx.tmp"
    ) || return 1
    mv "$dir/$name.vmx.tmp" "$dir/$name.vmx"
    printf '%s\n' "$dir/$name.vmx"
}

# Runs the CLI with --json, timestamps its events, summarises into DIR/summary.json.
run_one() {
    local name=$1 vmx=$2 dir=$3 ip=$4 build_s=$5 layout=$6 extra=()
    [ "$keep" = 1 ] && extra+=(--keep-partial)
    python3 - "$name" "$dir" "$ip" "$build_s" "$layout" "$cli" "$cache_dir" "$vmx" "${extra[@]}" <<'PY'
import json, os, subprocess, sys, time
name, d, ip, build_s, layout, cli, cache, vmx = sys.argv[1:9]
extra = sys.argv[9:]
out = os.path.join(d, "out")
argv = [cli, "--json", "--allow-path", cache, "--allow-path", os.path.dirname(vmx),
        "local", "--input", vmx, "--output-dir", out, "--name", name, "--test-boot"] + extra
t0 = time.monotonic()
stages, order, last = {}, [], None
with open(os.path.join(d, "events.jsonl"), "w") as ev, \
        open(os.path.join(d, "stdout.json"), "w") as so:
    p = subprocess.Popen(argv, stdout=so, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        now = time.monotonic() - t0
        ev.write("%.3f %s" % (now, line))
        try:
            e = json.loads(line)
        except ValueError:
            continue
        st = e.get("stage") if e.get("event") == "progress" else None
        if st and st != last:
            if last is not None:
                stages[last] = stages.get(last, 0.0) + now - stages.pop("_t_" + last)
            stages["_t_" + st] = now
            if st not in order:
                order.append(st)
            last = st
    rc = p.wait()
total = time.monotonic() - t0
if last is not None:
    stages[last] = stages.get(last, 0.0) + total - stages.pop("_t_" + last)
summary = {"guest": name, "layout": layout, "build_seconds": float(build_s), "rc": rc,
           "seconds": total, "timings": {}, "timings_from": "none", "result": "FAIL",
           "why": ""}
rep_path = os.path.join(out, name + ".report.json")
rep = None
if os.path.exists(rep_path):
    try:
        rep = json.load(open(rep_path))
    except ValueError as e:
        summary["why"] = "unreadable report: %s" % e
if rep is not None:
    summary["timings"] = rep.get("timings") or {}
    summary["timings_from"] = "report"
    summary["seconds"] = rep.get("total_seconds", total)
    boot = rep.get("boot") or {}
    addrs = [a.split("/")[0] for a in boot.get("addresses", []) or []]
    summary["changed"] = [f["name"] for f in rep.get("fixes", []) if f.get("status") == "changed"]
    summary["proof"] = (boot.get("proof_line") or "").strip()
    if rc != 0:
        summary["why"] = "exit %d" % rc
    elif rep.get("success") is not True:
        summary["why"] = "report: success is not true"
    elif boot.get("success") is not True:
        summary["why"] = "boot not proven"
    elif ip not in addrs:
        summary["why"] = "booted without its address %s (saw %s)" % (ip, " ".join(addrs) or "none")
    else:
        summary["result"] = "PASS"
else:
    summary["timings"] = {k: v for k, v in stages.items() if not k.startswith("_t_")}
    summary["timings_from"] = "events"
    if not summary["why"]:
        summary["why"] = "exit %d, no report" % rc
if summary["result"] != "PASS":
    try:
        err = json.load(open(os.path.join(d, "stdout.json")))
        e = (err.get("error") or {}) if isinstance(err, dict) else {}
        if e.get("stage"):
            summary["why"] += ", stage " + e["stage"]
        if e.get("message"):
            summary["why"] += ": " + e["message"]
        if e.get("console_tail"):
            open(os.path.join(d, "console-tail.txt"), "w").write(e["console_tail"])
    except (ValueError, OSError):
        pass
json.dump(summary, open(os.path.join(d, "summary.json"), "w"), indent=1)
print("%s: %s in %.0f s%s" % (name, summary["result"], summary["seconds"],
                              "" if summary["result"] == "PASS" else " (" + summary["why"] + ")"))
PY
}

fail=0
summaries=()
for g in $guests; do
    gdir=$outdir/$g
    rm -rf "$gdir"
    mkdir -p "$gdir"
    read -r -a cmd <<<"$(guest_script "$g")"
    layout=$(guest_layout "$g")
    if [ ! -f "${cmd[0]}" ]; then
        log "$g: no ${cmd[0]#"$top"/} in this tree: missing"
        printf '{"guest": "%s", "layout": "%s", "result": "missing", "timings": {}}\n' \
            "$g" "$layout" >"$gdir/summary.json"
        summaries+=("$gdir/summary.json")
        continue
    fi
    log "$g: building (or finding) the guest: ${cmd[*]#"$top"/}"
    t0=$(date +%s)
    if ! img=$(bash "${cmd[@]}" 2>"$gdir/build.log" | tail -n 1) || [ ! -f "$img" ]; then
        tail -n 20 "$gdir/build.log" >&2
        log "$g: the build failed (log: $gdir/build.log)"
        printf '{"guest": "%s", "layout": "%s", "result": "FAIL", "why": "image build failed", "timings": {}}\n' \
            "$g" "$layout" >"$gdir/summary.json"
        summaries+=("$gdir/summary.json")
        fail=1
        continue
    fi
    build_s=$(( $(date +%s) - t0 ))
    case $img in
        *.vmx) vmx=$img; ip=$(sed -n 's/^H2K_GUEST_IP=//p' "${img%.vmx}.env" 2>/dev/null || true) ;;
        *)
            vmx=$(write_vmx "$g" "$img" "$gdir") || die "$g: cannot write its .vmx"
            ip=$(sed -n 's/^H2K_GUEST_IP=//p' "${img%.vmdk}.env")
            envlayout=$(sed -n 's/^H2K_GUEST_LAYOUT=//p' "${img%.vmdk}.env" | tr -d "'\"")
            [ -z "$envlayout" ] || layout=$envlayout
            ;;
    esac
    [ -n "$ip" ] || die "$g: the guest's facts name no H2K_GUEST_IP"
    log "$g: migrating $vmx (built or found in $build_s s)"
    run_one "$g" "$vmx" "$gdir" "$ip" "$build_s" "$layout" >&2 || fail=1
    grep -q '"result": "PASS"' "$gdir/summary.json" || fail=1
    summaries+=("$gdir/summary.json")
done

python3 - "$outdir/corpus.md" "${summaries[@]}" <<'PY'
import json, sys
rows = [json.load(open(p)) for p in sys.argv[2:]]
order = []
for r in rows:
    for k in r.get("timings", {}):
        if k not in order:
            order.append(k)
head = ["guest", "layout", "result", "image build"] + order + ["total"]
lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
for r in rows:
    t = r.get("timings", {})
    mark = "~" if r.get("timings_from") == "events" else ""
    cells = [r["guest"], r["layout"], r["result"] + (" (%s)" % r["why"] if r.get("why") else ""),
             "%.0f s" % r["build_seconds"] if "build_seconds" in r else ""]
    cells += ["%s%.0f s" % (mark, t[k]) if k in t else "" for k in order]
    cells.append("%.0f s" % r["seconds"] if "seconds" in r else "")
    lines.append("| " + " | ".join(cells) + " |")
lines.append("")
for r in rows:
    if r.get("result") == "PASS":
        lines.append("- %s: changed %s; proof: `%s`" % (r["guest"], ", ".join(r.get("changed", [])) or "nothing",
                                                   r.get("proof", "")))
text = "\n".join(lines) + "\n"
open(sys.argv[1], "w").write(text)
sys.stdout.write(text)
PY
exit "$fail"
