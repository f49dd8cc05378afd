@echo off
rem hyper2kvm first boot: re-apply the source VM's static IP settings to the NIC with the same MAC
rem generated for Windows NT 6.1 build 7601 x86
setlocal
set failed=0
call :find 00:50:56:AA:BB:01
if not defined name (
    echo NIC 00:50:56:AA:BB:01: no adapter with this MAC address: not configured
    set /a failed+=1
    goto nic0_end
)
echo NIC 00:50:56:AA:BB:01: adapter "%name%"
call :netsh interface ipv4 set address name="%name%" source=static address=192.0.2.10 mask=255.255.255.0 gateway=192.0.2.1 gwmetric=1
call :netsh interface ipv4 add address name="%name%" address=192.0.2.11 mask=255.255.255.0
call :netsh interface ipv6 add address interface="%name%" address=2001:db8::10/64
call :netsh interface ipv6 add route ::/0 interface="%name%" nexthop=2001:db8::1
call :netsh interface ipv4 set dnsservers name="%name%" source=static address=192.0.2.53 register=primary
call :netsh interface ipv4 add dnsservers name="%name%" address=198.51.100.53 index=2
call :netsh interface ipv6 set dnsservers name="%name%" source=static address=2001:db8::53 register=primary
:nic0_end
echo NIC 00:50:56:AA:BB:02: DHCP in the source VM: nothing to apply
call :find 00:50:56:AA:BB:03
if not defined name (
    echo NIC 00:50:56:AA:BB:03: no adapter with this MAC address: not configured
    set /a failed+=1
    goto nic2_end
)
echo NIC 00:50:56:AA:BB:03: adapter "%name%"
call :netsh interface ipv4 set address name="%name%" source=static address=10.1.2.3 mask=255.255.0.0
:nic2_end
echo NICs that failed: %failed%
if not "%failed%"=="0" exit /b 1
exit /b 0

rem :find MAC sets name to the connection name of the adapter with MAC,
rem waiting up to 5 minutes for the virtio NIC to appear
:find
set "name="
for /l %%t in (1,1,60) do if not defined name call :query %1
exit /b 0
:query
for /f "tokens=1,* delims==" %%a in ('wmic nic where "MACAddress='%1'" get NetConnectionID /value 2^>nul ^| find "="') do for /f "delims=" %%c in ("%%b") do set "name=%%c"
if not defined name ping -n 6 127.0.0.1 >nul
exit /b 0

rem :netsh ARGS runs netsh and logs its exit code
:netsh
echo netsh %*
netsh %*
set rc=%errorlevel%
echo netsh exit code %rc%
if not "%rc%"=="0" set /a failed+=1
exit /b 0
