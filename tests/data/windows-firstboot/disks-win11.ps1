# hyper2kvm first boot: bring offline disks online (SAN policy OnlineAll)
# generated for Windows NT 10.0 build 22631 x64
$ErrorActionPreference = 'Stop'
$failed = 0
try {
    Set-StorageSetting -NewDiskPolicy OnlineAll
    Write-Output 'SAN policy: OnlineAll'
} catch {
    Write-Output "SAN policy: not changed: $_"
}
foreach ($d in Get-Disk) {
    $n = $d.Number
    if (-not $d.IsOffline) {
        Write-Output "disk ${n}: online"
        continue
    }
    try {
        Set-Disk -Number $n -IsOffline $false
        Write-Output "disk ${n}: brought online"
        if ((Get-Disk -Number $n).IsReadOnly) {
            Set-Disk -Number $n -IsReadOnly $false
            Write-Output "disk ${n}: read-only attribute cleared"
        }
    } catch {
        Write-Output "disk ${n}: failed: $_"
        $failed++
    }
}
Write-Output "disks that failed: $failed"
if ($failed -ne 0) { exit 1 }
exit 0
