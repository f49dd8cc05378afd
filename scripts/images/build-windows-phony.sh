#!/bin/bash
# Builds hyper2kvm's phony Windows test guests: small disks with a real partition
# table, a real NTFS file system holding registry hives (the shared minimal hive with
# the shared .reg files and ours merged by hivexregedit), a placeholder cmd.exe whose
# PE header gives the architecture, and for UEFI an ESP with a BCD hive and the boot
# loader paths.  Nothing in them executes: they are for inspection and the offline
# repairs.
#
#   scripts/images/build-windows-phony.sh [--force] [NAME...]
#
# Prints one line per guest: NAME PATH.  Images are cached as
#   ${XDG_CACHE_HOME:-$HOME/.cache}/hyper2kvm/images/phony-NAME.qcow2
# with a stamp, the SHA-256 of this script and of lib.sh (a change to either rebuilds
# them), under a
# lock (parallel callers wait for one build).  All the guests to build share one
# guestfish session.  GUIDs and addresses are fixed so that
# golden tests can name them.
#
# Guests:
#   win7     MBR/BIOS, Windows 7 32-bit (x86) client: no DriverDatabase key, so the
#            block driver goes through the CriticalDeviceDatabase; one DHCP adapter
#   win2k22  MBR/BIOS, Windows Server 2022 (amd64), current control set 002, a static
#            IPv4 address with gateway and two DNS servers on its vmxnet3 adapter,
#            VMware Tools in the Uninstall key, a DriverDatabase
#   win11    GPT/UEFI, Windows 11 (build 22631, amd64) client: ESP with
#            EFI\Microsoft\Boot\{BCD,bootmgfw.efi} and EFI\Boot\bootx64.efi, MSR,
#            NTFS; Fast Startup enabled but no active hibernation file (clean shutdown)
#   win10hib MBR/BIOS, Windows 10 (amd64) hibernated: hiberfil.sys starts with the
#            hibernation signature and Fast Startup (HiberbootEnabled) is on
# MountedDevices: C: names the system partition (MBR: disk signature 0x34333231 written
# at byte 440 + offset 1 MiB; win11: "DMIO:ID:" + the NTFS partition's GPT GUID);
# win2k22 also has a D: on a disk (signature 0xaabbccdd) that is not in the image.
set -euo pipefail

script=$(readlink -f "$0")
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/images/lib.sh
. "$here/lib.sh"
top=$(cd "$here/../.." && pwd)
shared=${H2K_SHARED_DIR:-$top/../shared}
data=$shared/testdata/phony-guests
stamp=$(build_stamp "$script")
read_force_and_names "$@"
[ ${#names[@]} -gt 0 ] || names=(win7 win2k22 win11 win10hib)

need_tools guestfish qemu-img hivexregedit iconv od flock
[ -f "$data/minimal-hive" ] || die "$data/minimal-hive is missing"
use_appliance auto
mkdir -p "$cache_dir"
exec 9>"$cache_dir/.windows-phony.lock"
flock 9
make_workdir h2k-winphony "${TMPDIR:-/var/tmp}"

# utf16 STRING: the UTF-16LE bytes of STRING, as .reg hex pairs with a trailing comma
utf16() { printf '%s' "$1" | iconv -f UTF-8 -t UTF-16LE | od -An -tx1 -v | tr -s ' \n' ',,' | sed 's/^,//'; }
# multi STRING...: a REG_MULTI_SZ in .reg form
multi() { local o=""; for s in "$@"; do o="$o$(utf16 "$s")00,00,"; done; echo "hex(7):${o}00,00"; }
# expand STRING: a REG_EXPAND_SZ in .reg form
expand() { echo "hex(2):$(utf16 "$1")00,00"; }

# hive NAME PREFIX REG...: a hive from the minimal hive with the .reg files merged
hive() {
    local out=$1 prefix=$2
    shift 2
    cp "$data/minimal-hive" "$out"
    chmod u+w "$out"
    for r in "$@"; do
        hivexregedit --merge "$out" --prefix "$prefix" "$r"
    done
}

# pe ARCH FILE: a placeholder executable whose PE header says x86 or amd64
pe() {
    local mach opt chr magic
    case $1 in
        amd64) mach='\x64\x86' opt='\xf0\x00' chr='\x22\x00' magic='\x0b\x02' ;;
        x86) mach='\x4c\x01' opt='\xe0\x00' chr='\x02\x01' magic='\x0b\x01' ;;
    esac
    mkdir -p "$(dirname "$2")"
    { printf 'MZ'; head -c 58 /dev/zero; printf '\x40\x00\x00\x00PE\0\0'; printf "$mach"
      printf '\x00\x00'; head -c 12 /dev/zero; printf "$opt"; printf "$chr"; printf "$magic"
      head -c 300 /dev/zero; } > "$2"
}

# system_extra CCS: our SYSTEM additions for control set number CCS (001/002)
system_extra() {
    local cs="HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet$1"
    cat <<REG
[$cs]

[$cs\\Services]

[$cs\\Services\\Tcpip]

[$cs\\Control]

[$cs\\Control\\Session Manager]

[$cs\\Control\\Session Manager\\Power]
"HiberbootEnabled"=dword:0000000${2:-0}

[$cs\\Control\\Class]

[$cs\\Control\\Class\\{4D36E97B-E325-11CE-BFC1-08002BE10318}]
"Class"="SCSIAdapter"

[$cs\\Control\\Class\\{4D36E972-E325-11CE-BFC1-08002BE10318}]
"Class"="Net"

[$cs\\Services\\Tcpip\\Parameters]
"Hostname"="windows.invalid"

[$cs\\Services\\Tcpip\\Parameters\\Interfaces]

REG
}

# nic CCS INDEX GUID DESC: a network adapter's class entry
nic() {
    local cs="HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet$1"
    cat <<REG
[$cs\\Control\\Class\\{4D36E972-E325-11CE-BFC1-08002BE10318}\\$2]
"NetCfgInstanceId"="$3"
"DriverDesc"="$4"
"ComponentId"="pci\\\\ven_15ad&dev_07b0"

REG
}

# dhcp CCS GUID: a DHCP interface
dhcp() {
    cat <<REG
[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet$1\\Services\\Tcpip\\Parameters\\Interfaces\\$2]
"EnableDHCP"=dword:00000001
"DhcpIPAddress"="192.168.122.50"
"DhcpSubnetMask"="255.255.255.0"

REG
}

# mounted_mbr LETTER SIG OFFSET: a MountedDevices value naming an MBR partition
# (SIG: the disk signature's 4 bytes as at byte 440; OFFSET: the partition's start in
# bytes), overriding the shared hive's C: (whose offset is no partition of ours)
mounted_mbr() {
    local o
    o=$(printf '%016x' "$3" | sed 's/../&\n/g' | tac | paste -sd, -)
    printf '[HKEY_LOCAL_MACHINE\\SYSTEM\\MountedDevices]\n"\\\\DosDevices\\\\%s:"=hex(3):%s,%s\n\n' \
        "$1" "$2" "$o"
}

# mounted_gpt LETTER GUID: a MountedDevices value naming a GPT partition by its GUID
mounted_gpt() {
    local g=${2//-/} b
    g=${g,,}
    b=$(printf '%s' "${g:6:2},${g:4:2},${g:2:2},${g:0:2},${g:10:2},${g:8:2},${g:14:2},${g:12:2}")
    b="$b,$(printf '%s' "${g:16}" | sed 's/../&,/g; s/,$//')"
    printf '[HKEY_LOCAL_MACHINE\\SYSTEM\\MountedDevices]\n"\\\\DosDevices\\\\%s:"=hex(3):44,4d,49,4f,3a,49,44,3a,%s\n\n' \
        "$1" "$b"
}

driver_database() {
    cat <<'REG'
[HKEY_LOCAL_MACHINE\SYSTEM\DriverDatabase]
"Architecture"=dword:00000009

[HKEY_LOCAL_MACHINE\SYSTEM\DriverDatabase\DeviceIds]

[HKEY_LOCAL_MACHINE\SYSTEM\DriverDatabase\DriverInfFiles]

[HKEY_LOCAL_MACHINE\SYSTEM\DriverDatabase\DriverPackages]

REG
}

software_extra() {
    cat <<REG
[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion]
"DevicePath"=$(expand '%SystemRoot%\inf')
"ProgramFilesDir"="C:\\\\Program Files"

REG
}

vmware_tools() {
    local g='{FE2F6A2C-196E-4210-9C04-2B1BC21F07EF}'
    cat <<REG
[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\$g]
"DisplayName"="VMware Tools"
"DisplayVersion"="12.3.5.22544099"
"Publisher"="VMware, Inc."
"UninstallString"="MsiExec.exe /I$g"
"InstallLocation"="C:\\\\Program Files\\\\VMware\\\\VMware Tools\\\\"

REG
}

# Stages the Windows tree of guest $1 in $root (hives, cmd.exe, folders).
stage_windows() {
    local name=$1 arch=$2 sw=$3
    local cfg="$root/Windows/System32/config"
    mkdir -p "$cfg" "$root/Windows/System32/drivers" "$root/Windows/INF" \
        "$root/Program Files" "$root/Users/Public"
    pe "$arch" "$root/Windows/System32/cmd.exe"
    pe "$arch" "$root/Windows/explorer.exe"
    hive "$cfg/SOFTWARE" 'HKEY_LOCAL_MACHINE\SOFTWARE' "$data/$sw" "$data/windows-software-all.reg" \
        "$work/$name/software.reg"
    hive "$cfg/SYSTEM" 'HKEY_LOCAL_MACHINE\SYSTEM' "$data/windows-system.reg" "$work/$name/system.reg"
}

guest_win7() {
    { system_extra 001; nic 001 0007 '{3F1D8E0A-7A7A-4B7B-8C8C-000000000007}' 'Intel(R) PRO/1000 MT Network Connection'
      dhcp 001 '{3F1D8E0A-7A7A-4B7B-8C8C-000000000007}'
      mounted_mbr C 31,32,33,34 1048576; } > "$work/win7/system.reg"
    software_extra > "$work/win7/software.reg"
    stage_windows win7 x86 win7-32-software.reg
}
disk_win7() {
    cat <<GF
part-init /dev/sda mbr
part-add /dev/sda p 2048 -2048
part-set-mbr-id /dev/sda 1 0x7
pwrite-device /dev/sda "\x31\x32\x33\x34" 440
mkfs ntfs /dev/sda1
mount /dev/sda1 /
tar-in $work/win7/root.tar /
GF
}

guest_win2k22() {
    local g='{6C6F6B69-5354-4154-4943-000000000001}'
    { system_extra 001; system_extra 002; driver_database
      nic 002 0001 "$g" 'vmxnet3 Ethernet Adapter'
      # C: on the system partition; D: on a data disk that is not part of the image
      mounted_mbr C 31,32,33,34 1048576; mounted_mbr D dd,cc,bb,aa 1048576
      cat <<REG
[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]
"Current"=dword:00000002
"Default"=dword:00000002
"LastKnownGood"=dword:00000001

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Services\\Tcpip\\Parameters]
"Hostname"="winsrv2022"

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Services\\Tcpip\\Parameters\\Interfaces\\$g]
"EnableDHCP"=dword:00000000
"IPAddress"=$(multi 192.168.20.10)
"SubnetMask"=$(multi 255.255.255.0)
"DefaultGateway"=$(multi 192.168.20.1)
"NameServer"="192.168.20.2,192.168.20.3"

REG
    } > "$work/win2k22/system.reg"
    { software_extra; vmware_tools; } > "$work/win2k22/software.reg"
    stage_windows win2k22 amd64 win2k22-software.reg
    mkdir -p "$root/Program Files/VMware/VMware Tools"
    printf 'phony' > "$root/Program Files/VMware/VMware Tools/vmtoolsd.exe"
}
disk_win2k22() { disk_win7 | sed "s,$work/win7/,$work/win2k22/,"; }

guest_win10hib() {
    { system_extra 001 1; driver_database; mounted_mbr C 31,32,33,34 1048576; } \
        > "$work/win10hib/system.reg"
    software_extra > "$work/win10hib/software.reg"
    stage_windows win10hib amd64 win10-software.reg
    # a hibernation file in use: its header starts with the signature
    { printf 'HIBR'; head -c 4092 /dev/zero; } > "$root/hiberfil.sys"
}
disk_win10hib() { disk_win7 | sed "s,$work/win7/,$work/win10hib/,"; }

guest_win11() {
    local g='{3F1D8E0A-7A7A-4B7B-8C8C-000000000011}'
    { system_extra 001 1; driver_database; nic 001 0001 "$g" 'vmxnet3 Ethernet Adapter'
      dhcp 001 "$g"; mounted_gpt C 6B1E0C2A-0011-4E11-9A11-000000000011; } \
        > "$work/win11/system.reg"
    software_extra > "$work/win11/software.reg"
    stage_windows win11 amd64 win11-software.reg
    local esp="$work/win11/esp"
    mkdir -p "$esp/EFI/Microsoft/Boot" "$esp/EFI/Boot"
    cp "$data/minimal-hive" "$esp/EFI/Microsoft/Boot/BCD"
    chmod u+w "$esp/EFI/Microsoft/Boot/BCD"
    hivexregedit --merge "$esp/EFI/Microsoft/Boot/BCD" "$data/windows-bcd.reg"
    pe amd64 "$esp/EFI/Microsoft/Boot/bootmgfw.efi"
    pe amd64 "$esp/EFI/Boot/bootx64.efi"
    (cd "$esp" && tar --numeric-owner --owner=0 --group=0 -cf "$work/win11/esp.tar" .)
}
disk_win11() {
    cat <<GF
part-init /dev/sda gpt
part-add /dev/sda p 2048 206847
part-add /dev/sda p 206848 239615
part-add /dev/sda p 239616 -2048
part-set-gpt-type /dev/sda 1 C12A7328-F81F-11D2-BA4B-00A0C93EC93B
part-set-gpt-type /dev/sda 2 E3C9E316-0B5C-4DB8-817D-F92DF00215AE
part-set-gpt-type /dev/sda 3 EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
part-set-gpt-guid /dev/sda 3 6B1E0C2A-0011-4E11-9A11-000000000011
mkfs vfat /dev/sda1
mkfs ntfs /dev/sda3
mount /dev/sda3 /
tar-in $work/win11/root.tar /
umount /
mount /dev/sda1 /
tar-in $work/win11/esp.tar /
GF
}

# Every guest that needs building in ONE guestfish session (one appliance launch:
# most of the time is the launch, not the guest).
todo=()
for name in "${names[@]}"; do
    declare -F "guest_$name" >/dev/null || die_usage "unknown guest $name"
    img="$cache_dir/phony-$name.qcow2"
    if [ "$force" = 0 ] && stamp_file_matches "$img"; then
        continue
    fi
    todo+=("$name")
done
if [ ${#todo[@]} -gt 0 ]; then
    t0=$(date +%s)
    adds=()
    letters=(a b c d e f g h)
    session="$work/session.gf"
    echo run > "$session"
    i=0
    for name in "${todo[@]}"; do
        root="$work/$name/root"
        mkdir -p "$root"
        "guest_$name"
        (cd "$root" && tar --numeric-owner --owner=0 --group=0 -cf "$work/$name/root.tar" .)
        qemu-img create -q -f qcow2 "$work/$name/disk.qcow2" 1G
        adds+=(-a "$work/$name/disk.qcow2")
        "disk_$name" | sed "s,/dev/sda,/dev/sd${letters[$i]},g" >> "$session"
        echo "umount-all" >> "$session"
        i=$((i + 1))
    done
    guestfish --format=qcow2 "${adds[@]}" -f "$session" >&2
    for name in "${todo[@]}"; do
        mv "$work/$name/disk.qcow2" "$cache_dir/phony-$name.qcow2"
        echo "$stamp" > "$cache_dir/phony-$name.qcow2.stamp"
    done
    log "${todo[*]} built in $(( $(date +%s) - t0 )) s"
fi
for name in "${names[@]}"; do
    echo "$name $cache_dir/phony-$name.qcow2"
done
