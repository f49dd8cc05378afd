# shellcheck shell=bash disable=SC2154
# (SC2154: script, here, stamp, root, facts_json and facts_env are the caller's variables.)
#
# Functions shared by the guest-image build scripts of this folder; sourced, never run.
#
# A script sets `script` (its own absolute path) and `here` (this folder) and then
# sources this file:
#
#   script=$(readlink -f "$0")
#   here=$(dirname "$script")
#   . "$here/lib.sh"
#
# The cache stamp of every image (build_stamp) covers its build script AND this file:
# a change here rebuilds every image built with it, as a change to the script does.

lib_file=$(readlink -f "${BASH_SOURCE[0]}")
# Log lines carry the caller's name, so that a derived build's lines tell apart from
# those of the base build it calls.
log_name=$(basename "$script" .sh)
cache_dir=${XDG_CACHE_HOME:-$HOME/.cache}/hyper2kvm/images
force=0

# ---- messages and the command line --------------------------------------------------------
log() { printf '[%s %s] %s\n' "$log_name" "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# A command line the script cannot take: exit status 2, as a usage error.
die_usage() { log "ERROR: $*"; exit 2; }

# usage: the script's header comment, from its second line down to `set -euo pipefail`.
usage() { sed -n '2,/^set -euo/p' "$script" | sed -e '$d' -e 's/^# \{0,1\}//'; }

# read_force_option ARG...: the command line of a script whose only option is --force.
read_force_option() {
    local arg
    for arg; do
        case $arg in
            --force) force=1 ;;
            -h|--help) usage; exit 0 ;;
            *) usage >&2; die "unknown argument: $arg" ;;
        esac
    done
}

# read_force_and_names ARG...: [--force] [NAME...], the names into the array `names`.
read_force_and_names() {
    local arg
    names=()
    for arg; do
        case $arg in
            --force) force=1 ;;
            -h|--help) usage; exit 0 ;;
            -*) die_usage "unknown option $arg" ;;
            *) names+=("$arg") ;;
        esac
    done
}

# ---- what a build needs -----------------------------------------------------------------
# need_root WHY: debootstrap and chroot only work as root.
need_root() { [ "$(id -u)" = 0 ] || die "building the guest needs root ($1)"; }

need_tools() {
    local tool
    for tool; do
        command -v "$tool" >/dev/null 2>&1 ||
            die "missing program: $tool (scripts/install-deps.sh installs it)"
    done
}

# use_appliance always|auto: libguestfs's direct backend, under TCG.  A /dev/kvm can
# exist yet be unable to run a stock kernel (nested or paravirtual KVM): the appliance
# then never starts and guestfish hangs for minutes.  "always" forces TCG, "auto" only
# when the CPU lacks the vmx/svm flag; LIBGUESTFS_BACKEND_SETTINGS, when set, wins.
use_appliance() {
    export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
    if [ "$1" = always ] || ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
        export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS-force_tcg}
    fi
}

# ---- the cache --------------------------------------------------------------------------
# build_stamp SCRIPT [FILE...]: the SHA-256 of the SHA-256s of the calling SCRIPT, of this
# file and of the FILEs (e.g. the facts of the image an image is derived from).
build_stamp() {
    local f
    for f in "$1" "$lib_file" "${@:2}"; do
        sha256sum "$f" | cut -d' ' -f1
    done | sha256sum | cut -d' ' -f1
}

# all_present FILE...: each FILE exists and is not empty.
all_present() {
    local f
    for f; do [ -s "$f" ] || return 1; done
}

# env_stamped FILE / json_stamped FILE: the facts carry this build's stamp.
env_stamped() { grep -qx "H2K_GUEST_SCRIPT_SHA256=$stamp" "$1"; }
json_stamped() { grep -q "\"script_sha256\": \"$stamp\"" "$1"; }

# stamp_file_matches IMAGE: IMAGE exists and IMAGE.stamp holds this build's stamp (for
# images with no facts files).
stamp_file_matches() { [ -s "$1" ] && [ "$(cat "$1.stamp" 2>/dev/null)" = "$stamp" ]; }

# reuse_cache_or_lock NAME: with a valid cache (the caller's cache_valid) and no --force,
# runs the caller's cache_hit and exits 0.  Otherwise takes the lock of NAME's build (held
# until exit) and looks again: another build may have finished while this one waited.
reuse_cache_or_lock() {
    if [ "$force" = 0 ] && cache_valid; then cache_hit; exit 0; fi
    mkdir -p "$cache_dir"
    exec 9>"$cache_dir/.$1.lock"
    flock 9
    if [ "$force" = 0 ] && cache_valid; then cache_hit; exit 0; fi
}

# invalidate_facts: the facts files go first, so that an interrupted build never leaves
# an old image that looks valid beside half-written new files.
invalidate_facts() { rm -f "$facts_json" "$facts_env"; }

# ---- the working directory --------------------------------------------------------------
work=

# make_workdir PREFIX [PARENT]: a new directory PARENT/PREFIX.XXXXXX (PARENT defaults to
# H2K_GUEST_WORKDIR_PARENT, else /var/tmp: images are too large for a tmpfs /tmp), removed
# on exit, also on failure, after unmounting what is still mounted below it.  A caller's
# on_exit function runs first (ending a guestfish, removing half-written files).
make_workdir() {
    work=$(mktemp -d "${2:-${H2K_GUEST_WORKDIR_PARENT:-/var/tmp}}/$1.XXXXXX")
    trap remove_workdir EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

mounts_below() {
    awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# unmount_below: everything mounted below the working directory, deepest first.
unmount_below() {
    local m
    for m in $(mounts_below); do umount "$m" || umount -l "$m"; done
}

remove_workdir() {
    local rc=$? m
    trap - EXIT INT TERM
    if declare -F on_exit >/dev/null; then on_exit || true; fi
    if [ -n "$work" ] && [ -d "$work" ]; then
        for m in $(mounts_below); do umount "$m" 2>/dev/null || umount -l "$m" || true; done
        if [ -n "$(mounts_below)" ]; then
            # Removing it would reach into what is mounted (a /dev, a /proc).
            log "WARNING: still mounted below $work, not removing it"
        else
            rm -rf --one-file-system "$work"
        fi
    fi
    [ "$rc" = 0 ] || log "build failed (exit $rc)"
    exit "$rc"
}

# ---- the build's phases -------------------------------------------------------------------
timings=()
start_clock() {
    t_start=$(date +%s)
    t_mark=$t_start
}

# phase TEXT KEY: logs how long the phase since the last one took; KEY names it in the
# facts' build_seconds.
phase() {
    local now
    now=$(date +%s)
    log "$1 done in $((now - t_mark)) s"
    timings+=("$2=$((now - t_mark))")
    t_mark=$now
}

# ---- a guest's root directory in a chroot ($root) ------------------------------------------
# chroot_up: proc, a read-only sys and a private /dev: never the host's, whose nodes must
# not be removable from inside.
chroot_up() {
    mount -t proc proc "$root/proc"
    mount -t sysfs -o ro sysfs "$root/sys"
    mount -t tmpfs -o mode=0755,size=8m tmpfs "$root/dev"
    mknod -m 666 "$root/dev/null" c 1 3
    mknod -m 666 "$root/dev/zero" c 1 5
    mknod -m 666 "$root/dev/full" c 1 7
    mknod -m 666 "$root/dev/random" c 1 8
    mknod -m 666 "$root/dev/urandom" c 1 9
    mknod -m 666 "$root/dev/tty" c 5 0
    mkdir -p "$root/dev/pts" "$root/dev/shm"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
    ln -s pts/ptmx "$root/dev/ptmx"
    ln -s /proc/self/fd "$root/dev/fd"
}

chroot_down() { unmount_below; }

# in_root COMMAND...: COMMAND inside the guest's root, with none of this machine's
# environment.
in_root() {
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LC_ALL=C DEBIAN_FRONTEND=noninteractive "$@"
}

# no_services / services_allowed: while packages are installed in the chroot, their
# maintainer scripts start no service (on this machine).
no_services() {
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
}
services_allowed() { rm -f "$root/usr/sbin/policy-rc.d"; }

# check_initramfs LISTING MODULE...: the initramfs (its file list) holds each MODULE and
# no virtio driver: these guests must stop in the initramfs on virtio until fixed.  The
# list goes to grep as a here-string, not through a pipe: grep -q stops at the first
# match, and a writer still writing a long list would die of SIGPIPE, which pipefail
# turns into a failed match.
check_initramfs() {
    local list=$1 mod
    shift
    if grep -q 'virtio' <<<"$list"; then
        grep virtio <<<"$list" >&2
        die "the initramfs contains virtio modules"
    fi
    for mod; do
        grep -q "/$mod\.ko" <<<"$list" || die "the initramfs lacks $mod"
    done
}

# ---- images derived from the Debian 12 test guest -------------------------------------------
# use_base_guest: the Debian 12 guest (build-debian-guest.sh builds or finds it; it is never
# modified) in `base`, its facts in `base_facts` (whose hash enters the derived stamp: a
# rebuilt base rebuilds what is derived from it).
use_base_guest() {
    base=$("$here/build-debian-guest.sh")
    [ -s "$base" ] || die "base guest not built"
    # shellcheck disable=SC2034  # read by the caller
    base_facts=${base%.vmdk}.env
}

# download_for_guest STATUS DIR PACKAGE...: apt-get downloads into DIR the PACKAGEs and
# what they need that the guest lacks, resolved against the guest's dpkg STATUS file; the
# machine's own dpkg state is neither read nor touched.
download_for_guest() {
    local status=$1 debs=$2
    shift 2
    mkdir -p "$debs/partial"
    apt-get -q -y -d --no-install-recommends \
        -o Dir::State::status="$status" \
        -o Dir::Cache::archives="$debs" \
        -o Debug::NoLocking=1 \
        -o APT::Sandbox::User=root \
        install "$@" >"$work/apt.log" 2>&1 ||
        { cat "$work/apt.log" >&2; die "apt-get could not download $*"; }
    ls "$debs"/*.deb >/dev/null 2>&1 || { cat "$work/apt.log" >&2; die "nothing downloaded"; }
    # shellcheck disable=SC2012  # Debian package file names are plain
    log "downloaded: $(cd "$debs" && ls -- *.deb | tr '\n' ' ')"
}

# ---- the image and its description ------------------------------------------------------
# to_vmdk RAW VMDK: the kind of VMDK VMware writes (one sparse file, LSI Logic adapter).
to_vmdk() {
    qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse,adapter_type=lsilogic \
        "$1" "$2"
}

# The pieces of a VMX that the VMware-shaped guests share, in the order VMware writes them.
# vmx_head DISPLAYNAME FIRMWARE
vmx_head() {
    printf '.encoding = "UTF-8"\nconfig.version = "8"\nvirtualHW.version = "19"\n'
    printf 'displayName = "%s"\nguestOS = "debian12-64"\nfirmware = "%s"\n' "$1" "$2"
}
# vmx_pvscsi_disks FILE...: one pvscsi controller, the FILEs as its disks 0, 1, ...
vmx_pvscsi_disks() {
    local i=0 f
    printf 'scsi0.present = "TRUE"\nscsi0.virtualDev = "pvscsi"\n'
    for f; do
        printf 'scsi0:%s.present = "TRUE"\nscsi0:%s.deviceType = "scsi-hardDisk"\n' "$i" "$i"
        printf 'scsi0:%s.fileName = "%s"\n' "$i" "$f"
        i=$((i + 1))
    done
}
# vmx_vmxnet3 MAC: a vmxnet3 NIC in PCI slot 192 (so the guest names it ens192).
vmx_vmxnet3() {
    printf 'ethernet0.present = "TRUE"\nethernet0.virtualDev = "vmxnet3"\n'
    printf 'ethernet0.connectionType = "bridged"\nethernet0.networkName = "VM Network"\n'
    printf 'ethernet0.addressType = "static"\nethernet0.address = "%s"\n' "$1"
    printf 'ethernet0.pciSlotNumber = "192"\n'
}

# write_facts DESCRIPTION: $facts_json from the caller's json_facts (its `"key": value,`
# lines) and $facts_env from its env_facts (its H2K_GUEST_* lines), each followed by the
# guest's network and boot marker (from the caller's guest_hostname, guest_ifname,
# guest_mac, guest_ip, guest_prefix and guest_gateway: every VMware-shaped guest has
# them) and closed by the build's times and stamp; sets t_total.  Both are written aside
# and renamed last: the stamp appears only once the image is complete.
write_facts() {
    local t json_timings="" marker="H2K-BOOT-OK $guest_hostname $guest_ip"
    t_total=$(($(date +%s) - t_start))
    for t in "${timings[@]}"; do json_timings+="\"${t%%=*}\": ${t#*=}, "; done
    {
        echo "{"
        json_facts
        printf '  "interface": "%s",\n  "mac": "%s",\n' "$guest_ifname" "$guest_mac"
        printf '  "ip": "%s",\n  "prefix": %s,\n' "$guest_ip" "$guest_prefix"
        printf '  "gateway": "%s",\n  "boot_marker": "%s",\n' "$guest_gateway" "$marker"
        printf '  "build_seconds": {%s"total_s": %s},\n' "$json_timings" "$t_total"
        printf '  "built_at": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
        printf '  "script_sha256": "%s"\n}\n' "$stamp"
    } >"$facts_json.tmp"
    {
        printf '# hyper2kvm %s facts (shell syntax); written by %s\n' "$1" "$(basename "$script")"
        env_facts
        printf 'H2K_GUEST_IFNAME=%s\nH2K_GUEST_MAC=%s\n' "$guest_ifname" "$guest_mac"
        printf 'H2K_GUEST_IP=%s\nH2K_GUEST_PREFIX=%s\n' "$guest_ip" "$guest_prefix"
        printf "H2K_GUEST_GATEWAY=%s\nH2K_GUEST_BOOT_MARKER='%s'\n" "$guest_gateway" "$marker"
        printf 'H2K_GUEST_SCRIPT_SHA256=%s\n' "$stamp"
    } >"$facts_env.tmp"
    mv -f "$facts_json.tmp" "$facts_json"
    mv -f "$facts_env.tmp" "$facts_env"
}
