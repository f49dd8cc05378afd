# hyper2kvm first boot: re-apply the source VM's static IP settings to the NIC with the same MAC
# generated for Windows NT 10.0 build 17763 x64
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
$a = Find-Adapter '00-50-56-AA-BB-01'
if (-not $a) {
    Write-Output 'NIC 00-50-56-AA-BB-01: no adapter with this MAC address: not configured'
    $failed++
} else {
    try {
        $i = $a.ifIndex
        Write-Output "NIC 00-50-56-AA-BB-01: adapter '$($a.Name)', interface index $i"
        Set-NetIPInterface -InterfaceIndex $i -AddressFamily IPv4 -Dhcp Disabled
        Get-NetIPAddress -InterfaceIndex $i -AddressFamily IPv4 -ErrorAction SilentlyContinue | Remove-NetIPAddress -Confirm:$false
        Get-NetRoute -InterfaceIndex $i -DestinationPrefix '0.0.0.0/0' -ErrorAction SilentlyContinue | Remove-NetRoute -Confirm:$false
        New-NetIPAddress -InterfaceIndex $i -AddressFamily IPv4 -IPAddress '192.0.2.10' -PrefixLength 24 | Out-Null
        Write-Output 'NIC 00-50-56-AA-BB-01: address 192.0.2.10/24'
        New-NetIPAddress -InterfaceIndex $i -AddressFamily IPv4 -IPAddress '192.0.2.11' -PrefixLength 24 | Out-Null
        Write-Output 'NIC 00-50-56-AA-BB-01: address 192.0.2.11/24'
        New-NetRoute -InterfaceIndex $i -DestinationPrefix '0.0.0.0/0' -NextHop '192.0.2.1' | Out-Null
        Write-Output 'NIC 00-50-56-AA-BB-01: default gateway 192.0.2.1'
        Get-NetIPAddress -InterfaceIndex $i -AddressFamily IPv6 -PrefixOrigin Manual -ErrorAction SilentlyContinue | Remove-NetIPAddress -Confirm:$false
        Get-NetRoute -InterfaceIndex $i -DestinationPrefix '::/0' -ErrorAction SilentlyContinue | Remove-NetRoute -Confirm:$false
        New-NetIPAddress -InterfaceIndex $i -AddressFamily IPv6 -IPAddress '2001:db8::10' -PrefixLength 64 | Out-Null
        Write-Output 'NIC 00-50-56-AA-BB-01: address 2001:db8::10/64'
        New-NetRoute -InterfaceIndex $i -DestinationPrefix '::/0' -NextHop '2001:db8::1' | Out-Null
        Write-Output 'NIC 00-50-56-AA-BB-01: default gateway 2001:db8::1'
        Set-DnsClientServerAddress -InterfaceIndex $i -ServerAddresses @('192.0.2.53', '198.51.100.53', '2001:db8::53')
        Write-Output 'NIC 00-50-56-AA-BB-01: DNS servers 192.0.2.53 198.51.100.53 2001:db8::53'
    } catch {
        Write-Output "NIC 00-50-56-AA-BB-01: failed: $_"
        $failed++
    }
}
Write-Output 'NIC 00-50-56-AA-BB-02: DHCP in the source VM: nothing to apply'
$a = Find-Adapter '00-50-56-AA-BB-03'
if (-not $a) {
    Write-Output 'NIC 00-50-56-AA-BB-03: no adapter with this MAC address: not configured'
    $failed++
} else {
    try {
        $i = $a.ifIndex
        Write-Output "NIC 00-50-56-AA-BB-03: adapter '$($a.Name)', interface index $i"
        Set-NetIPInterface -InterfaceIndex $i -AddressFamily IPv4 -Dhcp Disabled
        Get-NetIPAddress -InterfaceIndex $i -AddressFamily IPv4 -ErrorAction SilentlyContinue | Remove-NetIPAddress -Confirm:$false
        Get-NetRoute -InterfaceIndex $i -DestinationPrefix '0.0.0.0/0' -ErrorAction SilentlyContinue | Remove-NetRoute -Confirm:$false
        New-NetIPAddress -InterfaceIndex $i -AddressFamily IPv4 -IPAddress '10.1.2.3' -PrefixLength 16 | Out-Null
        Write-Output 'NIC 00-50-56-AA-BB-03: address 10.1.2.3/16'
    } catch {
        Write-Output "NIC 00-50-56-AA-BB-03: failed: $_"
        $failed++
    }
}
Write-Output "NICs that failed: $failed"
if ($failed -ne 0) { exit 1 }
exit 0
