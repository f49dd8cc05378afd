#!/bin/bash
# Builds hyper2kvm's real test guest: a Debian system shaped like an old VMware VM, on
# Debian 12 (bookworm, the default), 11 (bullseye) or 13 (trixie).
#
#   scripts/images/build-debian-guest.sh [--suite bookworm|bullseye|trixie] [--force] [--verify]
#
# Prints the path of the cached image:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/hyper2kvm/images/debianNN-vmware.vmdk
# (debian12-vmware.vmdk for bookworm, debian11-vmware.vmdk for bullseye,
# debian13-vmware.vmdk for trixie), next to which debianNN-vmware.json and
# debianNN-vmware.env describe it (addresses, MAC, UUIDs, kernel version, ...).  Both
# carry a stamp, the SHA-256 of this script and of lib.sh: when either changes, the next
# call rebuilds.  A valid cache is only checked and printed.  Each release has its own
# cache: building one never touches another's.
#
#   --suite S  the Debian release (default bookworm)
#   --force    rebuild even if the cache is valid
#   --verify   after building (or finding) the image, boot it under qemu (TCG) twice with
#              boot-guest.sh: on IDE it must print the boot marker with its static
#              address, on virtio-blk it must stop in the initramfs
#
# What the guest looks like (see tests/images.md), with the release's own kernel,
# systemd, initramfs-tools and GRUB:
#   - MBR disk, 3 GiB; sda1 ext4 root, sda2 swap; fstab names /dev/sda1 and /dev/sda2
#   - grub-pc in the MBR, grub.cfg booting root=/dev/sda1 (GRUB_DISABLE_LINUX_UUID=true)
#   - initramfs with MODULES=list: VMware, IDE and SATA storage drivers only, no virtio
#   - ens192 (pinned to a 00:50:56 MAC by 70-persistent-net.rules), static 10.0.2.15/24
#     via 10.0.2.2 in /etc/network/interfaces; open-vm-tools installed
#   - serial console and getty on ttyS0; root password "h2k-test" (TEST ONLY)
#   - a unit printing "H2K-BOOT-OK <hostname> <ip|none>" to ttyS0 once
#     multi-user.target and network-online.target are reached
#   - hostname h2k-debianNN
#
# Building needs root (debootstrap, chroot), debootstrap (one that knows the suite),
# sfdisk, mkfs.ext4, mkswap, guestfish (libguestfs; LIBGUESTFS_BACKEND defaults to
# direct), qemu-img, lsinitramfs, wget.  No loop device is used.  Packages come from the
# Debian mirror named in the machine's apt sources (override with H2K_DEBIAN_MIRROR=URL).
# When that mirror no longer carries the suite (releases past their end of life move to
# Debian's archive), the archive mirror H2K_DEBIAN_ARCHIVE_MIRROR is used instead
# (default http://archive.debian.org/debian).  Set H2K_GUEST_DEB_CACHE=DIR to keep the
# downloaded packages between builds (in a subdirectory per suite).  Working files live in
# a temporary directory under /var/tmp (override with H2K_GUEST_WORKDIR_PARENT) that is
# removed on exit.
set -euo pipefail

script=$(readlink -f "$0")
here=$(dirname "$script")
# shellcheck source=scripts/images/lib.sh
. "$here/lib.sh"

# ---- the guest's facts (also written to the .json/.env files) ---------------------------
guest_ifname=ens192
guest_mac=00:50:56:3a:12:7b           # VMware's manually-assigned range 00:50:56:00-3f
guest_ip=10.0.2.15                    # qemu user networking: guest, gateway, DNS
guest_prefix=24
guest_gateway=10.0.2.2
guest_dns=10.0.2.3
guest_root_password=h2k-test          # TEST ONLY: documented, never use outside tests
disk_bytes=$((3 * 1024 * 1024 * 1024))
sector=512
p1_start=2048                         # 1 MiB
p1_sectors=$((2560 * 2048))           # 2560 MiB root
p2_start=$((p1_start + p1_sectors))
p2_sectors=$((disk_bytes / sector - p2_start))
initramfs_modules="ata_piix ata_generic ahci mptspi mptsas mptscsih mptbase
scsi_transport_spi BusLogic vmw_pvscsi sd_mod ext4 crc32c_generic"

suite=bookworm
verify=0
while [ $# -gt 0 ]; do
    case $1 in
        --suite) [ $# -ge 2 ] || die "--suite needs a value"; suite=$2; shift ;;
        --suite=*) suite=${1#--suite=} ;;
        --force) force=1 ;;
        --verify) verify=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done
case $suite in
    bullseye) os_version=11 ;;
    bookworm) os_version=12 ;;
    trixie) os_version=13 ;;
    *) die "unknown suite '$suite' (bookworm, bullseye or trixie)" ;;
esac
name=debian$os_version-vmware
guest_hostname=h2k-debian$os_version

vmdk=$cache_dir/$name.vmdk
facts_json=$cache_dir/$name.json
facts_env=$cache_dir/$name.env
stamp=$(build_stamp "$script")

cache_valid() {
    all_present "$vmdk" "$facts_json" "$facts_env" &&
        json_stamped "$facts_json" && env_stamped "$facts_env"
}

run_verify() {
    # shellcheck disable=SC1090
    . "$facts_env"
    local logdir
    logdir=$(mktemp -d "${TMPDIR:-/tmp}/h2k-guest-verify.XXXXXX")
    log "verify: IDE boot (expect the marker with $H2K_GUEST_IP)"
    "$here/boot-guest.sh" --disk "$vmdk" --bus ide --nic e1000 --mac "$H2K_GUEST_MAC" \
        --expect marker --ip "$H2K_GUEST_IP" --timeout 240 --log "$logdir/ide.log" >&2 ||
        die "IDE boot did not reach the marker (log: $logdir/ide.log)"
    log "verify: virtio-blk boot (expect the initramfs to give up)"
    "$here/boot-guest.sh" --disk "$vmdk" --bus virtio --nic e1000 --mac "$H2K_GUEST_MAC" \
        --expect alert --timeout 180 --log "$logdir/virtio.log" >&2 ||
        die "virtio boot did not stop in the initramfs (log: $logdir/virtio.log)"
    rm -rf "$logdir"
    log "verify: both boots behaved"
}

# The last line of stdout is the image's path: callers read it.
cache_hit() {
    if [ "$verify" = 1 ]; then run_verify; fi
    printf '%s\n' "$vmdk"
}

reuse_cache_or_lock "$name"

need_root "debootstrap, chroot"
need_tools debootstrap chroot sfdisk mkfs.ext4 mkswap guestfish qemu-img lsinitramfs \
    uuidgen truncate dd awk wget

# ---- which mirror: the one the machine's apt configuration names ------------------------
# One-line style (sources.list, *.list): "deb [opts] URI SUITE COMPONENTS..."
# deb822 style (*.sources): paragraphs with Types/URIs/Suites/Enabled fields.
mirror_from_apt() {
    local want=$1 files_list=() files_sources=() f
    [ -f /etc/apt/sources.list ] && files_list+=(/etc/apt/sources.list)
    for f in /etc/apt/sources.list.d/*.list; do [ -f "$f" ] && files_list+=("$f"); done
    for f in /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && files_sources+=("$f"); done
    {
        if [ ${#files_list[@]} -gt 0 ]; then
            awk '{ sub(/#.*/, "") }
                 $1 == "deb" {
                     i = 2
                     if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                     if (i + 1 <= NF) print $i, $(i + 1)
                 }' "${files_list[@]}"
        fi
        if [ ${#files_sources[@]} -gt 0 ]; then
            awk 'BEGIN { RS = ""; FS = "\n" }
                 {
                     types = ""; uris = ""; suites = ""; enabled = "yes"; key = ""
                     for (n = 1; n <= NF; n++) {
                         line = $n
                         if (line ~ /^#/) continue
                         if (line ~ /^[ \t]/) { val = line }
                         else {
                             key = tolower(substr(line, 1, index(line, ":") - 1))
                             val = substr(line, index(line, ":") + 1)
                         }
                         if (key == "types") types = types " " val
                         else if (key == "uris") uris = uris " " val
                         else if (key == "suites") suites = suites " " val
                         else if (key == "enabled") enabled = val
                     }
                     gsub(/[ \t]+/, "", enabled)
                     if (tolower(enabled) == "no" || (" " types " ") !~ /[ \t]deb[ \t]/) next
                     nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
                     for (a = 1; a <= nu; a++) if (u[a] != "")
                         for (b = 1; b <= ns; b++) if (s[b] != "") print u[a], s[b]
                 }' "${files_sources[@]}"
        fi
    } | awk -v want="$want" -v suite="$suite" '
        $1 !~ /^(https?|ftp|file):/ { next }
        want == "exact" && $2 == suite { print $1; exit }
        want == "debian" && $2 ~ /^(bullseye|bookworm|trixie|forky|duke|sid|stable|testing|unstable|oldstable)$/ { print $1; exit }'
}

[ -f "/usr/share/debootstrap/scripts/$suite" ] ||
    die "this debootstrap does not know $suite (no /usr/share/debootstrap/scripts/$suite)"
mirror=${H2K_DEBIAN_MIRROR:-}
[ -n "$mirror" ] || mirror=$(mirror_from_apt exact)
[ -n "$mirror" ] || mirror=$(mirror_from_apt debian)
[ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list{,.d/*.list,.d/*.sources}; set H2K_DEBIAN_MIRROR"
mirror=${mirror%/}
# Honour an apt proxy for debootstrap's downloads, as apt itself would.
if [ -z "${http_proxy:-}" ] && command -v apt-config >/dev/null 2>&1; then
    apt_proxy=$(apt-config shell P Acquire::http::Proxy 2>/dev/null | sed -n "s/^P='\(.*\)'$/\1/p")
    [ -n "$apt_proxy" ] && [ "$apt_proxy" != DIRECT ] && export http_proxy=$apt_proxy
fi

# A release past its end of life leaves the main mirror for Debian's archive: use the
# archive only when the configured mirror lacks the suite.
suite_on_mirror() {
    wget -q -T 30 -t 2 -O /dev/null "$1/dists/$suite/Release"
}
apt_extra_conf=""
if ! suite_on_mirror "$mirror"; then
    archive=${H2K_DEBIAN_ARCHIVE_MIRROR:-http://archive.debian.org/debian}
    archive=${archive%/}
    log "$mirror does not carry $suite; trying the archive mirror $archive"
    suite_on_mirror "$archive" || die "neither $mirror nor $archive carries $suite"
    mirror=$archive
    # Archived Release files are past their Valid-Until date.
    apt_extra_conf='Acquire::Check-Valid-Until "false";'
fi

make_workdir "h2k-debian-$suite-guest"
tmp_vmdk="$vmdk.tmp.$$"
on_exit() { rm -f "$tmp_vmdk"; }

root=$work/root
raw=$work/disk.raw
mkdir -p "$root"
start_clock
invalidate_facts

# ---- 1. debootstrap -------------------------------------------------------------------
log "debootstrap $suite (minbase) from $mirror into $work"
deb_cache=
deb_cache_args=()
if [ -n "${H2K_GUEST_DEB_CACHE:-}" ]; then
    # Each release has its own packages: keep them apart.
    deb_cache=$H2K_GUEST_DEB_CACHE/$suite
    mkdir -p "$deb_cache"
    deb_cache=$(readlink -f "$deb_cache")
    deb_cache_args=(--cache-dir="$deb_cache")
fi
debootstrap --variant=minbase --arch=amd64 --components=main \
    --include=systemd-sysv,udev,kmod,ifupdown,iproute2,netbase,initramfs-tools,busybox,zstd,e2fsprogs \
    "${deb_cache_args[@]}" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
# debootstrap bind-mounts /dev inside containers; make sure nothing is left mounted.
unmount_below
phase "debootstrap" debootstrap_s

# ---- 2. configuration, then kernel + GRUB + open-vm-tools inside a chroot -------------
printf 'deb %s %s main\n' "$mirror" "$suite" >"$root/etc/apt/sources.list"
if [ -n "$apt_extra_conf" ]; then
    printf '%s\n' "$apt_extra_conf" >"$root/etc/apt/apt.conf.d/99h2k-archive"
fi
no_services
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# initramfs: only what the VM needed on VMware (IDE, SATA, LSI Logic, PVSCSI), no virtio.
cat >"$root/etc/initramfs-tools/conf.d/h2k-modules" <<'EOF'
# hyper2kvm test guest: like an initramfs built on VMware with MODULES=dep, it lists only
# the storage drivers that VMware (and IDE/SATA) need, and no virtio driver.
MODULES=list
EOF
{
    echo "# VMware, IDE and SATA storage drivers (hyper2kvm test guest; no virtio)"
    for mod in $initramfs_modules; do echo "$mod"; done
} >>"$root/etc/initramfs-tools/modules"

root_uuid=$(uuidgen)
swap_uuid=$(uuidgen)
disk_id=$(uuidgen | tr -d '-' | cut -c1-8)
printf 'RESUME=UUID=%s\n' "$swap_uuid" >"$root/etc/initramfs-tools/conf.d/resume"

chroot_up
in_root debconf-set-selections <<'EOF'
grub-pc grub-pc/install_devices multiselect
grub-pc grub-pc/install_devices_empty boolean true
EOF
in_root apt-get -q update >"$work/apt.log" 2>&1 || { tail -n 30 "$work/apt.log" >&2; die "apt-get update failed"; }
if [ -n "$deb_cache" ]; then
    cp -n "$deb_cache"/*.deb "$root/var/cache/apt/archives/" 2>/dev/null || true
fi
in_root apt-get -q -y --no-install-recommends install linux-image-amd64 grub-pc open-vm-tools \
    >>"$work/apt.log" 2>&1 || { tail -n 40 "$work/apt.log" >&2; die "apt-get install failed"; }
if [ -n "$deb_cache" ]; then
    cp -n "$root"/var/cache/apt/archives/*.deb "$deb_cache/" 2>/dev/null || true
fi
# The installed system remembers its boot disk like the VMware original did.
in_root debconf-set-selections <<'EOF'
grub-pc grub-pc/install_devices multiselect /dev/sda
grub-pc grub-pc/install_devices_empty boolean false
EOF
phase "kernel, grub-pc, open-vm-tools" packages_s

# /lib/modules: merged-/usr or not, depending on the release and debootstrap.
kver=$(ls "$root/lib/modules")
[ "$(printf '%s\n' "$kver" | wc -l)" = 1 ] || die "expected one kernel, found: $kver"
if [ ! -f "$root/boot/vmlinuz-$kver" ] || [ ! -f "$root/boot/initrd.img-$kver" ]; then
    die "kernel or initramfs missing in /boot"
fi
# ---- 3. the VMware-era system configuration ------------------------------------------
echo "$guest_hostname" >"$root/etc/hostname"
cat >"$root/etc/hosts" <<EOF
127.0.0.1	localhost
127.0.1.1	$guest_hostname

::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF
cat >"$root/etc/fstab" <<'EOF'
# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
/dev/sda1       /               ext4    errors=remount-ro 0       1
/dev/sda2       none            swap    sw              0       0
EOF
cat >"$root/etc/network/interfaces" <<EOF
# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface (VMware vmxnet3)
auto $guest_ifname
iface $guest_ifname inet static
	address $guest_ip/$guest_prefix
	gateway $guest_gateway
	dns-nameservers $guest_dns
EOF
printf 'nameserver %s\n' "$guest_dns" >"$root/etc/resolv.conf"
mkdir -p "$root/etc/udev/rules.d"
cat >"$root/etc/udev/rules.d/70-persistent-net.rules" <<EOF
# This file was automatically generated by the /lib/udev/write_net_rules
# program, run by the persistent-net-generator.rules rules file.
#
# You can modify it, as long as you keep each rule on a single line,
# and change only the value of the NAME= key.

# PCI device 0x15ad:0x07b0 (vmxnet3)
SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="$guest_mac", ATTR{dev_id}=="0x0", ATTR{type}=="1", NAME="$guest_ifname"
EOF

cat >"$root/etc/default/grub" <<'EOF'
# If you change this file, run 'update-grub' afterwards to update
# /boot/grub/grub.cfg.
# For full documentation of the options in this file, see:
#   info -f grub -n 'Simple configuration'

GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=ttyS0,115200n8"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1"
GRUB_DISABLE_RECOVERY=true

# Name the root file system by device (root=/dev/sda1), as this VM always has.
GRUB_DISABLE_LINUX_UUID=true
EOF

# Boot marker for boot tests.
cat >"$root/usr/local/sbin/h2k-boot-marker" <<'EOF'
#!/bin/sh
# hyper2kvm test guest: report on the serial port that the boot reached
# multi-user.target, with the IPv4 address of the first non-loopback interface.
ifname=$(ip -o link show | awk -F': ' '$2 != "lo" { sub(/@.*/, "", $2); print $2; exit }')
ip=""
[ -n "$ifname" ] && ip=$(ip -o -4 addr show dev "$ifname" | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
msg=$(printf 'H2K-NET %s %s\nH2K-BOOT-OK %s %s' "${ifname:-none}" \
    "$(cat "/sys/class/net/$ifname/address" 2>/dev/null || echo none)" \
    "$(hostname)" "${ip:-none}")
echo "$msg"
printf '\n%s\n' "$msg" >/dev/ttyS0
EOF
chmod 755 "$root/usr/local/sbin/h2k-boot-marker"
cat >"$root/etc/systemd/system/h2k-boot-marker.service" <<'EOF'
[Unit]
Description=hyper2kvm test guest boot marker on ttyS0
After=multi-user.target network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/h2k-boot-marker
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
EOF

in_root systemctl enable h2k-boot-marker.service serial-getty@ttyS0.service >>"$work/apt.log" 2>&1
echo "root:$guest_root_password" | in_root chpasswd

# ---- 4. initramfs check: storage drivers for VMware/IDE/SATA, no virtio ---------------
initrd_list=$(lsinitramfs "$root/boot/initrd.img-$kver")
check_initramfs "$initrd_list" ata_piix ahci mptspi vmw_pvscsi sd_mod ext4
log "initramfs: $(printf '%s\n' "$initrd_list" | grep -c '\.ko') modules, no virtio"

# ---- 5. trim -------------------------------------------------------------------------
# Kernel modules for hardware no VM has (GPUs, sound, wireless, media, InfiniBand, ...):
# about 150 MiB.  Everything VMware, KVM (virtio) and qemu emulate stays.
for dir in sound drivers/media drivers/net/wireless net/wireless net/mac80211 \
           net/bluetooth drivers/bluetooth drivers/infiniband drivers/staging drivers/iio \
           drivers/isdn drivers/gpu/drm/amd drivers/gpu/drm/nouveau drivers/gpu/drm/i915 \
           drivers/gpu/drm/radeon drivers/net/ethernet/mellanox; do
    rm -rf "$root/lib/modules/$kver/kernel/$dir"
done
in_root depmod -a "$kver"
in_root apt-get clean
chroot_down
services_allowed
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/lintian "$root"/usr/share/linda \
    "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old \
    "$root"/var/log/apt/* "$root"/var/log/bootstrap.log
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
find "$root/var/log" -type f -exec truncate -s 0 {} +
rootfs_kib=$(du -sk "$root" | cut -f1)
log "root file system: $((rootfs_kib / 1024)) MiB; largest: $(du -sm "$root"/lib/modules/* \
    "$root"/usr/lib/x86_64-linux-gnu "$root"/usr/share "$root"/usr/bin "$root"/usr/lib/firmware \
    "$root"/boot "$root"/var 2>/dev/null | sort -rn | head -n 6 | sed "s#$root##" | tr '\t\n' ' ;')"
phase "configuration and trim" configure_s

# ---- 6. disk: MBR, ext4 root from the directory, swap --------------------------------
truncate -s "$disk_bytes" "$raw"
sfdisk -q "$raw" <<EOF
label: dos
label-id: 0x$disk_id
unit: sectors

start=$p1_start, size=$p1_sectors, type=83, bootable
start=$p2_start, size=$p2_sectors, type=82
EOF
mkfs.ext4 -q -F -U "$root_uuid" -E "offset=$((p1_start * sector))" -d "$root" \
    "$raw" "$((p1_sectors * sector / 1024))k"
truncate -s "$((p2_sectors * sector))" "$work/swap"
chmod 600 "$work/swap"
mkswap -U "$swap_uuid" "$work/swap" >"$work/mkswap.log" 2>&1 || { cat "$work/mkswap.log" >&2; die "mkswap failed"; }
dd if="$work/swap" of="$raw" bs=1M seek="$((p2_start * sector / 1048576))" \
    conv=notrunc,sparse status=none
rm -f "$work/swap"
rm -rf --one-file-system "$root"
phase "disk image" disk_s

# ---- 7. GRUB, installed and configured from inside the guest (libguestfs) -------------
# Inside the appliance the disk may have another name than /dev/sda: ask grub-probe.
# update-grub then writes root=<that device>; rename it to the guest's /dev/sda1.
use_appliance always
cat >"$work/grub-setup.sh" <<'EOF'
#!/bin/sh
set -e
disk=$(grub-probe -t disk /)
part=$(grub-probe -t device /)
# (not "root=...": the checks below look for root= in grub.cfg's lines)
echo "in the appliance: root file system $part, disk $disk"
grub-install --target=i386-pc "$disk" 2>&1
update-grub 2>&1
if [ "$part" != /dev/sda1 ]; then
    sed -i "s#root=$part #root=/dev/sda1 #g" /boot/grub/grub.cfg
fi
EOF
guestfish --rw --format=raw -a "$raw" >"$work/guestfish.log" 2>&1 <<EOF ||
run
mount /dev/sda1 /
upload $work/grub-setup.sh /root/h2k-grub-setup.sh
sh "/bin/sh /root/h2k-grub-setup.sh"
rm /root/h2k-grub-setup.sh
cat /boot/grub/grub.cfg
umount-all
EOF
    { tail -n 40 "$work/guestfish.log" >&2; die "GRUB installation through guestfish failed"; }
grep -q 'root=/dev/sda1 ' "$work/guestfish.log" || { cat "$work/guestfish.log" >&2; die "grub.cfg lacks root=/dev/sda1"; }
if grep -E 'root=UUID|root=/dev/sd[b-z]|root=/dev/vd' "$work/guestfish.log" >&2; then
    die "grub.cfg names the root otherwise than /dev/sda1"
fi
grep -q "vmlinuz-$kver" "$work/guestfish.log" || die "grub.cfg does not boot $kver"
dd if="$raw" bs=512 count=1 status=none | grep -aq GRUB || die "no GRUB boot code in the MBR"
phase "grub-install and update-grub (guestfish)" grub_s

# ---- 8. VMDK, then the facts ----------------------------------------------------------
to_vmdk "$raw" "$tmp_vmdk"
rm -f "$raw"
mv -f "$tmp_vmdk" "$vmdk"
phase "qemu-img convert to VMDK" convert_s
vmdk_bytes=$(stat -c %s "$vmdk")

json_facts() {
    cat <<EOF
  "name": "$name",
  "path": "$vmdk",
  "format": "vmdk",
  "vmdk_subformat": "monolithicSparse",
  "vmdk_adapter_type": "lsilogic",
  "virtual_size_bytes": $disk_bytes,
  "file_bytes": $vmdk_bytes,
  "os": "debian",
  "os_version": "$os_version",
  "suite": "$suite",
  "kernel_version": "$kver",
  "hostname": "$guest_hostname",
  "root_password": "$guest_root_password",
  "partition_table": "dos",
  "disk_id": "0x$disk_id",
  "root_device": "/dev/sda1",
  "root_fs": "ext4",
  "root_fs_uuid": "$root_uuid",
  "root_partuuid": "$disk_id-01",
  "root_start_sector": $p1_start,
  "root_sectors": $p1_sectors,
  "swap_device": "/dev/sda2",
  "swap_uuid": "$swap_uuid",
  "swap_partuuid": "$disk_id-02",
  "swap_start_sector": $p2_start,
  "swap_sectors": $p2_sectors,
  "kernel_cmdline": "root=/dev/sda1 ro console=ttyS0,115200n8",
  "initramfs_modules": "list",
  "initramfs_has_virtio": false,
  "dns": "$guest_dns",
EOF
}
env_facts() {
    cat <<EOF
H2K_GUEST_IMAGE=$vmdk
H2K_GUEST_KERNEL=$kver
H2K_GUEST_HOSTNAME=$guest_hostname
H2K_GUEST_ROOT_PASSWORD=$guest_root_password
H2K_GUEST_DISK_ID=0x$disk_id
H2K_GUEST_ROOT_DEVICE=/dev/sda1
H2K_GUEST_ROOT_UUID=$root_uuid
H2K_GUEST_SWAP_DEVICE=/dev/sda2
H2K_GUEST_SWAP_UUID=$swap_uuid
EOF
}
write_facts "test guest"
log "built $vmdk ($((vmdk_bytes / 1048576)) MiB, kernel $kver) in $t_total s: ${timings[*]}"

cache_hit
