# hyper2kvm first boot: re-apply the source VM's static IP settings to the NIC with the same MAC
# generated for Windows NT 6.3 build 9600 x64
$ErrorActionPreference = 'Stop'
$failed = 0
# the virtio NIC appears once PnP has installed its driver: wait for it
function Find-Adapter([string]$Mac) {
    for ($t = 0; $t -lt 60; $t++) {
        $a = Get-NetAdapter -ErrorAction SilentlyContinue |
            Where-Object { $_.MacAddress -eq $Mac } | Select-Object -First 1
        if ($a) { return $a }
        Start-Sleep -Seconds 5
    }
    return $null
}
Write-Output 'no NIC in the source VM: nothing to apply'
Write-Output "NICs that failed: $failed"
if ($failed -ne 0) { exit 1 }
exit 0
