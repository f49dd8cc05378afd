# hyper2kvm first boot: re-apply the source VM's static IP settings to the NIC with the same MAC
# generated for Windows NT 10.0 build 20348 x64
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
$a = Find-Adapter '00-50-56-8A-20-10'
if (-not $a) {
    Write-Output 'NIC 00-50-56-8A-20-10: no adapter with this MAC address: not configured'
    $failed++
} else {
    try {
        $i = $a.ifIndex
        Write-Output "NIC 00-50-56-8A-20-10: adapter '$($a.Name)', interface index $i"
        Set-NetIPInterface -InterfaceIndex $i -AddressFamily IPv4 -Dhcp Disabled
        Get-NetIPAddress -InterfaceIndex $i -AddressFamily IPv4 -ErrorAction SilentlyContinue | Remove-NetIPAddress -Confirm:$false
        Get-NetRoute -InterfaceIndex $i -DestinationPrefix '0.0.0.0/0' -ErrorAction SilentlyContinue | Remove-NetRoute -Confirm:$false
        New-NetIPAddress -InterfaceIndex $i -AddressFamily IPv4 -IPAddress '192.168.20.10' -PrefixLength 24 | Out-Null
        Write-Output 'NIC 00-50-56-8A-20-10: address 192.168.20.10/24'
        New-NetRoute -InterfaceIndex $i -DestinationPrefix '0.0.0.0/0' -NextHop '192.168.20.1' | Out-Null
        Write-Output 'NIC 00-50-56-8A-20-10: default gateway 192.168.20.1'
        Set-DnsClientServerAddress -InterfaceIndex $i -ServerAddresses @('192.168.20.2', '192.168.20.3')
        Write-Output 'NIC 00-50-56-8A-20-10: DNS servers 192.168.20.2 192.168.20.3'
    } catch {
        Write-Output "NIC 00-50-56-8A-20-10: failed: $_"
        $failed++
    }
}
Write-Output "NICs that failed: $failed"
if ($failed -ne 0) { exit 1 }
exit 0
