#!/bin/bash
# Builds corpus guest 1: a Debian 12 UEFI system shaped like a VMware VM installed with
# Debian's installer ("guided, use entire disk and set up LVM"), derived from the cached
# Debian test guest (build-debian-guest.sh, which this script calls; the base image is
# never modified).
#
#   scripts/images/build-debian-uefi-guest.sh [--force]
#
# Prints the path of the cached VMX:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/hyper2kvm/images/debian12-uefi.vmx
# next to which debian12-uefi.vmdk is its disk and debian12-uefi.json / .env describe it.
# The .env carries a stamp, the SHA-256 of this script, of lib.sh and of the base guest's
# facts: when any of them changes, the next call rebuilds.  A valid cache is only printed.
#
# What the guest looks like:
#   - GPT disk, 3 GiB: sda1 ESP (vfat, 100 MiB), sda2 /boot (ext4, 400 MiB), sda3 LVM PV
#     of VG "uefi-vg": LV root (XFS, /) and LV swap_1
#   - fstab: /dev/mapper/uefi--vg-root, UUID= for /boot and /boot/efi, swap by LV name
#   - grub-efi-amd64 in \EFI\debian\grubx64.efi only (no removable-media fallback
#     \EFI\BOOT\BOOTX64.EFI: the VM's boot entry lived in VMware's NVRAM file)
#   - initramfs (MODULES=list): VMware, IDE, SATA storage drivers, dm_mod, xfs; no virtio
#   - systemd-networkd: /etc/systemd/network/10-ens192.network matches Name=ens192 (the
#     predictable name of the vmxnet3 NIC in PCI slot 192), static 10.0.2.15/24; no
#     ifupdown, no udev rule pinning the name; open-vm-tools installed
#   - serial console on ttyS0, root password "h2k-test" (TEST ONLY), the boot marker unit
#     of the base guest
#   - the VMX: firmware = "efi", pvscsi controller, vmxnet3 NIC with a static MAC
#
# Packages (grub-efi-amd64, lvm2, xfsprogs, dosfstools) come from the machine's apt
# sources (apt-get --download-only, resolved against the guest's own dpkg status).  The
# base system is copied out (tar), the packages are installed and the initramfs built in
# a chroot on the build machine (native speed: under emulation this took half an hour
# on a loaded machine), then one guestfish appliance (libguestfs; LIBGUESTFS_BACKEND
# defaults to direct) partitions the disk, unpacks the tree and installs GRUB.  Needs
# root (chroot), qemu-img, guestfish, apt-get, lsinitramfs; no loop device.
set -euo pipefail

script=$(readlink -f "$0")
here=$(dirname "$script")
# shellcheck source=scripts/images/lib.sh
. "$here/lib.sh"
name=debian12-uefi
use_appliance always

# ---- the guest's facts -----------------------------------------------------------------
guest_hostname=h2k-uefi
guest_ifname=ens192
guest_mac=00:50:56:1e:16:01
guest_ip=10.0.2.15
guest_prefix=24
guest_gateway=10.0.2.2
guest_dns=10.0.2.3
vg=uefi-vg
root_lv_dev=/dev/mapper/uefi--vg-root
swap_lv_dev=/dev/mapper/uefi--vg-swap_1
disk_bytes=$((3 * 1024 * 1024 * 1024))
esp_start=2048;   esp_end=$((esp_start + 100 * 2048 - 1))
boot_start=$((esp_end + 1)); boot_end=$((boot_start + 400 * 2048 - 1))
pv_start=$((boot_end + 1))
root_mib=2200
initramfs_modules="ata_piix ata_generic ahci mptspi mptsas mptscsih mptbase
scsi_transport_spi BusLogic vmw_pvscsi sd_mod ext4 crc32c_generic dm_mod xfs"

read_force_option "$@"
use_base_guest
vmdk=$cache_dir/$name.vmdk
vmx=$cache_dir/$name.vmx
facts_json=$cache_dir/$name.json
facts_env=$cache_dir/$name.env
stamp=$(build_stamp "$script" "$base_facts")

cache_valid() {
    all_present "$vmdk" "$vmx" "$facts_json" "$facts_env" && env_stamped "$facts_env"
}
# The last line of stdout is the VMX's path: callers read it.
cache_hit() { printf '%s\n' "$vmx"; }
reuse_cache_or_lock "$name"

need_root chroot
need_tools guestfish qemu-img apt-get truncate chroot tar lsinitramfs
invalidate_facts

make_workdir h2k-uefi-guest
gf_pid=
on_exit() {
    if [ -n "$gf_pid" ]; then
        guestfish --remote="$gf_pid" -- exit >/dev/null 2>&1 || kill "$gf_pid" 2>/dev/null || true
    fi
    rm -f "$vmdk.tmp.$$" "$vmx.tmp"
}
start_clock

raw=$work/disk.raw
truncate -s "$disk_bytes" "$raw"

# One appliance for the whole build: the base disk read-only (sda), the new disk (sdb).
eval "$(guestfish --listen 2>"$work/gf-listen.log")" ||
    { cat "$work/gf-listen.log" >&2; die "guestfish --listen failed"; }
gf_pid=$GUESTFISH_PID
gf() { guestfish --remote="$gf_pid" -- "$@"; }
gf add-drive "$base" readonly:true format:vmdk
gf add-drive "$raw" format:raw
gf run
phase "appliance" appliance_s

gf mount-ro /dev/sda1 /
gf download /var/lib/dpkg/status "$work/status"
gf umount /
[ -s "$work/status" ] || die "empty dpkg status in the base guest"

download_for_guest "$work/status" "$work/debs" grub-efi-amd64 lvm2 xfsprogs dosfstools
ls "$work"/debs/grub-efi-amd64_*.deb >/dev/null 2>&1 || { cat "$work/apt.log" >&2; die "grub-efi-amd64 not downloaded"; }
phase "package download" download_s

# ---- the disk: GPT, ESP, /boot, LVM (root XFS, swap) -----------------------------------
gf part-init /dev/sdb gpt
gf part-add /dev/sdb p "$esp_start" "$esp_end"
gf part-add /dev/sdb p "$boot_start" "$boot_end"
gf part-add /dev/sdb p "$pv_start" -34
gf part-set-gpt-type /dev/sdb 1 C12A7328-F81F-11D2-BA4B-00A0C93EC93B
gf part-set-gpt-type /dev/sdb 2 0FC63DAF-8483-4772-8E79-3D69D8477DE4
gf part-set-gpt-type /dev/sdb 3 E6D6D379-F507-44C2-A23C-238F2A3DF928
gf mkfs vfat /dev/sdb1
gf mkfs ext4 /dev/sdb2
gf pvcreate /dev/sdb3
gf vgcreate "$vg" /dev/sdb3
gf lvcreate root "$vg" "$root_mib"
gf lvcreate-free swap_1 "$vg" 100
gf mkfs xfs "/dev/$vg/root"
gf mkswap "/dev/$vg/swap_1"
esp_uuid=$(gf vfs-uuid /dev/sdb1)
boot_uuid=$(gf vfs-uuid /dev/sdb2)
root_uuid=$(gf vfs-uuid "/dev/$vg/root")
swap_uuid=$(gf vfs-uuid "/dev/$vg/swap_1")

gf mount-ro /dev/sda1 /
gf tar-out / "$work/base.tar" numericowner:true xattrs:true
gf umount /
phase "partitions, file systems, base system copied out" copy_s

# ---- configuration ---------------------------------------------------------------------
cat >"$work/fstab" <<EOF
# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
$root_lv_dev /               xfs     defaults        0       0
# /boot was on /dev/sda2 during installation
UUID=$boot_uuid /boot           ext4    defaults        0       2
# /boot/efi was on /dev/sda1 during installation
UUID=$esp_uuid  /boot/efi       vfat    umask=0077      0       1
$swap_lv_dev none            swap    sw              0       0
EOF
cat >"$work/network" <<EOF
# VMware vmxnet3 NIC (PCI slot 192)
[Match]
Name=$guest_ifname

[Network]
Address=$guest_ip/$guest_prefix
Gateway=$guest_gateway
DNS=$guest_dns
EOF
{
    echo "# VMware, IDE and SATA storage drivers, LVM and XFS (hyper2kvm test guest; no virtio)"
    for mod in $initramfs_modules; do echo "$mod"; done
} >"$work/modules"
printf 'RESUME=%s\n' "$swap_lv_dev" >"$work/resume"
cat >"$work/setup.sh" <<EOF
set -e
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
# the VM's own identity, network and boot loader, not the base guest's
echo $guest_hostname >/etc/hostname
sed -i 's/h2k-debian12/$guest_hostname/' /etc/hosts
rm -f /etc/udev/rules.d/70-persistent-net.rules
dpkg --purge ifupdown
rm -rf /etc/network/interfaces /etc/network/interfaces.d
echo 'grub-efi-amd64 grub2/update_nvram boolean false' | debconf-set-selections
echo 'grub-efi-amd64 grub2/force_efi_extra_removable boolean false' | debconf-set-selections
# grub.cfg is generated in the appliance, where the disk is; no update-grub here
rm -f /boot/grub/grub.cfg
dpkg --purge grub-pc grub-pc-bin
cd /root/h2k-debs
# python3 and python3-minimal pre-depend on configured packages of the same set
# (xfsprogs needs python3): the second pass installs what the first could not
dpkg -i ./libexpat1_*.deb ./libpython3.11-minimal_*.deb ./python3.11-minimal_*.deb
dpkg -i --force-confdef --force-confold ./*.deb || dpkg -i --force-confdef --force-confold ./*.deb
cd /
rm -rf /root/h2k-debs
systemctl enable systemd-networkd.service
update-initramfs -u -k all
if lsinitramfs /boot/initrd.img-* | grep -q virtio; then echo 'virtio in the initramfs'; exit 1; fi
for m in vmw_pvscsi dm-mod xfs; do
    lsinitramfs /boot/initrd.img-* | grep -q "/\$m.ko" || { echo "initramfs lacks \$m"; exit 1; }
done
lsinitramfs /boot/initrd.img-* | grep -q 'sbin/lvm' || { echo 'initramfs lacks lvm'; exit 1; }
dpkg -l open-vm-tools | grep -q '^ii'
apt-get clean
echo H2K-UEFI-SETUP-OK
EOF
cat >"$work/grub.sh" <<EOF
set -e
grub-install --target=x86_64-efi --efi-directory=/boot/efi --bootloader-id=debian --no-nvram
test -f /boot/efi/EFI/debian/grubx64.efi
test ! -e /boot/efi/EFI/BOOT
update-grub
grep -q 'root=$root_lv_dev ' /boot/grub/grub.cfg
echo H2K-UEFI-GRUB-OK
EOF

# ---- packages and initramfs in a chroot on this machine (native speed) ---------------
root=$work/root
mkdir -p "$root"
tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' -xpf "$work/base.tar"
rm -f "$work/base.tar"
install -m 644 "$work/fstab" "$root/etc/fstab"
mkdir -p "$root/etc/systemd/network" "$root/root/h2k-debs"
install -m 644 "$work/network" "$root/etc/systemd/network/10-$guest_ifname.network"
install -m 644 "$work/modules" "$root/etc/initramfs-tools/modules"
install -m 644 "$work/resume" "$root/etc/initramfs-tools/conf.d/resume"
cp "$work"/debs/*.deb "$root/root/h2k-debs/"
cp "$work/setup.sh" "$root/root/h2k-setup.sh"
no_services
chroot_up
in_root /bin/sh /root/h2k-setup.sh >"$work/setup.log" 2>&1 ||
    { tail -n 40 "$work/setup.log" >&2; die "setup in the chroot failed"; }
grep -q H2K-UEFI-SETUP-OK "$work/setup.log" || { tail -n 40 "$work/setup.log" >&2; die "setup did not finish"; }
chroot_down
services_allowed
rm -f "$root/root/h2k-setup.sh"
rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
# shellcheck disable=SC2012  # kernel versions are plain names
kver=$(ls "$root/usr/lib/modules" | head -n 1)
# /boot/efi is the ESP's mount point: vfat takes no owners, so it is not in the tar
tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' --exclude=./boot/efi \
    -cf "$work/root.tar" .
rm -rf --one-file-system "$root"
phase "packages and initramfs (chroot)" setup_s

# ---- the tree onto the new disk, then GRUB from inside it (appliance) -----------------
gf mount "/dev/$vg/root" /
gf mkdir /boot
gf mount /dev/sdb2 /boot
gf mkdir /boot/efi
gf mount /dev/sdb1 /boot/efi
gf tar-in "$work/root.tar" / xattrs:true
rm -f "$work/root.tar"
gf upload "$work/grub.sh" /root/h2k-grub.sh
gf sh "/bin/sh /root/h2k-grub.sh >/root/h2k-grub.log 2>&1; echo rc=\$?" >"$work/grub.log" 2>&1 || true
gf download /root/h2k-grub.log "$work/grub-out.log" || true
gf rm-f /root/h2k-grub.sh
gf rm-f /root/h2k-grub.log
if ! grep -q 'rc=0' "$work/grub.log" || ! grep -q H2K-UEFI-GRUB-OK "$work/grub-out.log"; then
    tail -n 40 "$work/grub.log" "$work/grub-out.log" >&2
    die "grub-install or update-grub failed"
fi
gf umount-all
gf exit
gf_pid=
phase "disk contents and grub-efi (appliance)" grub_s

to_vmdk "$raw" "$vmdk.tmp.$$"
rm -f "$raw"
mv -f "$vmdk.tmp.$$" "$vmdk"
phase "qemu-img convert to VMDK" convert_s

{
    vmx_head "$name" efi
    printf 'uefi.secureBoot.enabled = "FALSE"\nnvram = "%s.nvram"\n' "$name"
    printf 'memSize = "1024"\nnumvcpus = "1"\n'
    vmx_pvscsi_disks "$name.vmdk"
    vmx_vmxnet3 "$guest_mac"
    printf 'tools.syncTime = "FALSE"\n'
} >"$vmx.tmp"
mv -f "$vmx.tmp" "$vmx"

json_facts() {
    cat <<EOF
  "name": "$name",
  "vmx": "$vmx",
  "path": "$vmdk",
  "firmware": "efi",
  "partition_table": "gpt",
  "kernel_version": "$kver",
  "hostname": "$guest_hostname",
  "esp_uuid": "$esp_uuid",
  "boot_uuid": "$boot_uuid",
  "root_device": "$root_lv_dev",
  "root_fs": "xfs",
  "root_fs_uuid": "$root_uuid",
  "swap_device": "$swap_lv_dev",
  "swap_uuid": "$swap_uuid",
  "network_config": "systemd-networkd",
EOF
}
env_facts() {
    cat <<EOF
H2K_GUEST_VMX=$vmx
H2K_GUEST_IMAGE=$vmdk
H2K_GUEST_KERNEL=$kver
H2K_GUEST_HOSTNAME=$guest_hostname
H2K_GUEST_ROOT_DEVICE=$root_lv_dev
H2K_GUEST_BOOT_UUID=$boot_uuid
H2K_GUEST_ESP_UUID=$esp_uuid
EOF
}
write_facts "corpus guest 1"
log "built $vmx + $vmdk ($(( $(stat -c %s "$vmdk") / 1048576 )) MiB) in $t_total s: ${timings[*]}"
cache_hit
