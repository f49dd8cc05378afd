#!/bin/bash
# Builds corpus guest 2: a Debian 12 VMware VM with a btrfs root on subvolumes, a
# dracut initramfs, NetworkManager and /var on a second disk.  Derived from the cached
# Debian test guest (build-debian-guest.sh, which this script calls; its image is never
# modified): its files are copied out with debugfs, changed in a chroot and written
# onto two new disks.
#
#   scripts/images/build-debian-btrfs-guest.sh [--force]
#
# Prints the path of the VMX describing the VM:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/hyper2kvm/images/debian12-btrfs-vmware.vmx
# next to which lie its two disks (debian12-btrfs-vmware-disk1.vmdk, -disk2.vmdk) and
# debian12-btrfs-vmware.json / .env with the guest's facts.  The .env carries a stamp
# (SHA-256 of this script, of lib.sh and of the base guest's facts): when any of them
# changes, the next call rebuilds.
#
# What the guest looks like:
#   - disk 1 (MBR): sda1 btrfs with subvolumes "@" (mounted at /) and "@home" (/home);
#     fstab names them by UUID with subvol=; grub-pc boots root=UUID rootflags=subvol=@
#   - disk 2 (MBR): sdb1 ext4 holding /var, named "/dev/sdb1" in fstab
#   - initramfs built by Debian's dracut (initramfs-tools removed) with only the
#     VMware, IDE and SATA storage drivers: no virtio
#   - NetworkManager; /etc/NetworkManager/system-connections/ens192.nmconnection binds
#     the static address 10.0.2.15/24 (gateway 10.0.2.2) to the interface name ens192,
#     the name vmxnet3 gets in PCI slot 192 on VMware; no ifupdown, no udev naming rule
#   - the VMX: pvscsi controller with both disks, vmxnet3 NIC with a static 00:50:56 MAC
#   - serial console, root password and boot marker as in the base guest
#
# Needs root (chroot), guestfish (LIBGUESTFS_BACKEND defaults to direct), qemu-img,
# debugfs, sfdisk, mkfs.btrfs, mkfs.ext4, and the Debian mirror the base guest's apt sources
# name (override with H2K_DEBIAN_MIRROR=URL).
set -euo pipefail

script=$(readlink -f "$0")
here=$(dirname "$script")
# shellcheck source=scripts/images/lib.sh
. "$here/lib.sh"
name=debian12-btrfs-vmware
use_appliance always

guest_hostname=h2k-debian12-btrfs
guest_ifname=ens192
guest_mac=00:50:56:3a:12:7c
guest_ip=10.0.2.15
guest_prefix=24
guest_gateway=10.0.2.2
guest_dns=10.0.2.3
disk1_bytes=$((3 * 1024 * 1024 * 1024))
disk2_bytes=$((512 * 1024 * 1024))
sector=512
p_start=2048
initramfs_drivers="ata_piix ata_generic ahci libahci mptspi mptsas mptscsih mptbase
scsi_transport_spi BusLogic vmw_pvscsi sd_mod sr_mod btrfs ext4 crc32c_generic"

read_force_option "$@"
use_base_guest
vmx=$cache_dir/$name.vmx
disk1=$cache_dir/$name-disk1.vmdk
disk2=$cache_dir/$name-disk2.vmdk
facts_json=$cache_dir/$name.json
facts_env=$cache_dir/$name.env
stamp=$(build_stamp "$script" "$base_facts")

cache_valid() {
    all_present "$vmx" "$disk1" "$disk2" "$facts_json" "$facts_env" &&
        env_stamped "$facts_env"
}
# The last line of stdout is the VMX's path: callers read it.
cache_hit() { printf '%s\n' "$vmx"; }
reuse_cache_or_lock "$name"

need_root chroot
need_tools guestfish qemu-img debugfs sfdisk mkfs.btrfs mkfs.ext4 uuidgen chroot

make_workdir h2k-btrfs-guest
root=$work/root
on_exit() { rm -f "$vmx.tmp" "$disk1.tmp" "$disk2.tmp"; }
start_clock
invalidate_facts

# ---- 1. the base guest's files ---------------------------------------------------------
# Read straight from its ext4 root with debugfs (no appliance, no loop device): rdump
# keeps owners, modes and times but drops the set-id and sticky bits, which are put back
# from a listing of every directory (one more debugfs run).  Extended attributes are not
# kept (the test guest needs none).
log "copying the files of $base"
# shellcheck disable=SC1090
base_root_dev=$(. "$base_facts"; echo "$H2K_GUEST_ROOT_DEVICE")
[ "$base_root_dev" = /dev/sda1 ] || die "the base guest's root is not /dev/sda1"
base_fs="$work/base.raw?offset=$((2048 * 512))"
qemu-img convert -f vmdk -O raw "$base" "$work/base.raw"
mkdir -p "$root"
debugfs -R "rdump / $root" "$base_fs" >"$work/rdump.log" 2>&1 ||
    { tail -n 30 "$work/rdump.log" >&2; die "cannot copy the base guest's files"; }
(cd "$root" && find . -type d -printf 'ls -p /%P\n') >"$work/ls.cmds"
debugfs -f "$work/ls.cmds" "$base_fs" 2>/dev/null |
    awk -F/ '/^debugfs: ls -p / { dir = substr($0, 16); if (dir != "/") dir = dir "/"; next }
             NF >= 7 && $6 != "." && $6 != ".." {
                 perm = substr($3, length($3) - 3)
                 if (substr(perm, 1, 1) != "0") print perm, dir $6 }' >"$work/modes"
while read -r mode path; do
    if [ -e "$root$path" ] && [ ! -L "$root$path" ]; then chmod "$mode" "$root$path"; fi
done <"$work/modes"
grep -q ' /usr/bin/passwd$' "$work/modes" || die "no set-id bits found in the base guest"
rm -f "$work/base.raw"
kver=$(ls "$root/lib/modules")
[ "$(printf '%s\n' "$kver" | wc -l)" = 1 ] || die "expected one kernel, found: $kver"
phase "copy of the base guest" copy_s

# ---- 2. dracut, NetworkManager, btrfs-progs in a chroot -------------------------------
if [ -n "${H2K_DEBIAN_MIRROR:-}" ]; then
    printf 'deb %s bookworm main\n' "${H2K_DEBIAN_MIRROR%/}" >"$root/etc/apt/sources.list"
fi
no_services
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
chroot_up
in_root apt-get -q update >"$work/apt.log" 2>&1 || { tail -n 30 "$work/apt.log" >&2; die "apt-get update failed"; }
# The initramfs a VMware host-only build would have: the storage drivers VMware, IDE and
# SATA need, no virtio.  dracut's kernel hook builds it when the package is installed,
# with this configuration, removed afterwards (later rebuilds use Debian's defaults).
# "drivers" is the exact list of storage drivers; the dracut modules that add virtio
# drivers (qemu, virtiofs, nvdimm) are left out.
mkdir -p "$root/etc/dracut.conf.d"
# shellcheck disable=SC2086,SC2116  # the echo joins the list into one line
cat >"$root/etc/dracut.conf.d/10-h2k-vmware.conf" <<DRACUTCONF
hostonly="no"
drivers=" $(echo $initramfs_drivers) "
omit_dracutmodules+=" qemu qemu-net virtiofs nvdimm "
omit_drivers+=" virtio virtio_ring virtio_pci virtio_blk virtio_scsi virtio_net virtiofs virtio_pmem nd_virtio "
DRACUTCONF
# btrfs-progs first, so that the image dracut's hook builds has the btrfs module;
# dracut replaces initramfs-tools
in_root apt-get -q -y --no-install-recommends install btrfs-progs \
    >>"$work/apt.log" 2>&1 || { tail -n 40 "$work/apt.log" >&2; die "apt-get install failed"; }
in_root apt-get -q -y --no-install-recommends install dracut network-manager \
    >>"$work/apt.log" 2>&1 || { tail -n 40 "$work/apt.log" >&2; die "apt-get install failed"; }
in_root apt-get -q -y purge ifupdown initramfs-tools initramfs-tools-core \
    >>"$work/apt.log" 2>&1 || { tail -n 40 "$work/apt.log" >&2; die "apt-get purge failed"; }
# the btrfs module must be in the image
# (grep reads the whole listing: grep -q could end lsinitrd early, and pipefail would
# take that for a missing btrfs)
if ! in_root lsinitrd "/boot/initrd.img-$kver" | grep 'sbin/btrfs' >/dev/null; then
    log "rebuilding the initramfs with the btrfs module"
    in_root dracut --force --kver "$kver" "/boot/initrd.img-$kver" >"$work/dracut.log" 2>&1 ||
        { tail -n 40 "$work/dracut.log" >&2; die "dracut failed"; }
fi
rm -f "$root/etc/dracut.conf.d/10-h2k-vmware.conf"
phase "dracut, network-manager, btrfs-progs" packages_s

initrd_list=$(in_root lsinitrd "/boot/initrd.img-$kver")
check_initramfs "$initrd_list" vmw_pvscsi sd_mod btrfs ata_piix
grep -q 'usr/lib/modules/' <<<"$initrd_list" || die "no usr/lib/modules in the initramfs"
log "initramfs (dracut): $(printf '%s\n' "$initrd_list" | grep -c '\.ko') modules, no virtio"

# ---- 4. system configuration ------------------------------------------------------------
btrfs_uuid=$(uuidgen)
var_uuid=$(uuidgen)
echo "$guest_hostname" >"$root/etc/hostname"
sed -i "s/h2k-debian12\$/$guest_hostname/" "$root/etc/hosts"
cat >"$root/etc/fstab" <<EOF
# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
UUID=$btrfs_uuid /               btrfs   defaults,subvol=@ 0       0
UUID=$btrfs_uuid /home           btrfs   defaults,subvol=@home 0   0
# second disk, added later
/dev/sdb1       /var            ext4    defaults        0       2
EOF
rm -f "$root/etc/udev/rules.d/70-persistent-net.rules" "$root/etc/network/interfaces"
mkdir -p "$root/etc/NetworkManager/system-connections"
cat >"$root/etc/NetworkManager/system-connections/$guest_ifname.nmconnection" <<EOF
[connection]
id=$guest_ifname
uuid=$(uuidgen)
type=ethernet
interface-name=$guest_ifname
autoconnect=true

[ethernet]

[ipv4]
method=manual
address1=$guest_ip/$guest_prefix,$guest_gateway
dns=$guest_dns;

[ipv6]
method=ignore
EOF
chmod 600 "$root/etc/NetworkManager/system-connections/$guest_ifname.nmconnection"
printf 'nameserver %s\n' "$guest_dns" >"$root/etc/resolv.conf"
# The root is named by UUID: drop the base guest's device-name setting.
sed -i '/GRUB_DISABLE_LINUX_UUID/d; /Name the root file system by device/d' "$root/etc/default/grub"
in_root systemctl enable NetworkManager.service NetworkManager-wait-online.service \
    >>"$work/apt.log" 2>&1
in_root apt-get clean
chroot_down
services_allowed
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/var/log/apt/*
find "$root/var/log" -type f -exec truncate -s 0 {} +
phase "initramfs and configuration" configure_s

# ---- 5. disks: sda1 btrfs (subvolumes @, @home), sdb1 ext4 (/var) -----------------------
raw1=$work/disk1.raw
raw2=$work/disk2.raw
truncate -s "$disk1_bytes" "$raw1"
truncate -s "$disk2_bytes" "$raw2"
printf 'label: dos\nunit: sectors\n\nstart=%s, type=83, bootable\n' "$p_start" | sfdisk -q "$raw1"
printf 'label: dos\nunit: sectors\n\nstart=%s, type=83\n' "$p_start" | sfdisk -q "$raw2"
# The root file system is made from the directory here (no appliance I/O): its top level
# holds the tree, which the appliance snapshots into @ (copy-on-write, instant) and then
# removes from the top level.  /var goes to the second disk.
mv "$root/var" "$work/var"
mkdir -m 755 "$root/var"
p1_bytes=$((disk1_bytes - p_start * sector))
truncate -s "$p1_bytes" "$work/p1"
mkfs.btrfs -q -f -U "$btrfs_uuid" -L h2k-root --rootdir "$root" "$work/p1" >"$work/mkfs.log" 2>&1 ||
    { cat "$work/mkfs.log" >&2; die "mkfs.btrfs failed"; }
dd if="$work/p1" of="$raw1" bs=1M seek=1 conv=notrunc,sparse status=none
rm -f "$work/p1"
mkfs.ext4 -q -F -U "$var_uuid" -E "offset=$((p_start * sector))" -d "$work/var" \
    "$raw2" "$(((disk2_bytes - p_start * sector) / 1024))k"
rm -rf --one-file-system "$root" "${work:?}/var"
cat >"$work/grub-setup.sh" <<'EOF'
#!/bin/sh
set -e
disk=$(grub-probe -t disk /)
echo "appliance-disk=$disk"
grub-install --target=i386-pc "$disk" 2>&1
update-grub 2>&1
EOF
guestfish --rw --format=raw -a "$raw1" -a "$raw2" >"$work/guestfish.log" 2>&1 <<EOF ||
run
mount /dev/sda1 /
btrfs-subvolume-snapshot / /@
btrfs-subvolume-create /@home
glob rm-rf /[!@]*
umount /
mount-options subvol=@ /dev/sda1 /
mount-options subvol=@home /dev/sda1 /home
upload $work/grub-setup.sh /root/h2k-grub-setup.sh
sh "/bin/sh /root/h2k-grub-setup.sh"
rm /root/h2k-grub-setup.sh
cat /boot/grub/grub.cfg
btrfs-subvolume-list /
umount-all
EOF
    { tail -n 40 "$work/guestfish.log" >&2; die "filling the disks through guestfish failed"; }
grep -q "root=UUID=$btrfs_uuid .*rootflags=subvol=@" "$work/guestfish.log" ||
    { grep -n 'linux' "$work/guestfish.log" >&2; die "grub.cfg does not boot the @ subvolume"; }
dd if="$raw1" bs=512 count=1 status=none | grep -aq GRUB || die "no GRUB boot code in the MBR"
phase "disks, subvolumes and grub (guestfish)" disk_s

to_vmdk "$raw1" "$disk1.tmp"
to_vmdk "$raw2" "$disk2.tmp"
rm -f "$raw1" "$raw2"
{
    vmx_head "$guest_hostname" bios
    printf 'memsize = "1024"\nnumvcpus = "1"\n'
    vmx_pvscsi_disks "$name-disk1.vmdk" "$name-disk2.vmdk"
    vmx_vmxnet3 "$guest_mac"
} >"$vmx.tmp"
mv -f "$disk1.tmp" "$disk1"
mv -f "$disk2.tmp" "$disk2"
mv -f "$vmx.tmp" "$vmx"
phase "VMDKs and VMX" convert_s

json_facts() {
    cat <<EOF
  "name": "$name",
  "vmx": "$vmx",
  "disks": ["$disk1", "$disk2"],
  "os": "debian",
  "os_version": "12",
  "kernel_version": "$kver",
  "hostname": "$guest_hostname",
  "root_fs": "btrfs",
  "root_fs_uuid": "$btrfs_uuid",
  "root_subvolume": "@",
  "home_subvolume": "@home",
  "var_device": "/dev/sdb1",
  "var_fs_uuid": "$var_uuid",
  "initramfs_generator": "dracut",
  "initramfs_has_virtio": false,
  "network": "NetworkManager keyfile",
EOF
}
env_facts() {
    cat <<EOF
H2K_GUEST_VMX=$vmx
H2K_GUEST_KERNEL=$kver
H2K_GUEST_HOSTNAME=$guest_hostname
H2K_GUEST_ROOT_UUID=$btrfs_uuid
H2K_GUEST_VAR_UUID=$var_uuid
EOF
}
write_facts "corpus guest 2"
log "built $vmx in $t_total s: ${timings[*]}"
cache_hit
