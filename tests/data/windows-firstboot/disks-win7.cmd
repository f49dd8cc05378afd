@echo off
rem hyper2kvm first boot: bring offline disks online (SAN policy OnlineAll)
rem generated for Windows NT 6.1 build 7601 x86
setlocal
set "dp=%TEMP%\h2k-firstboot-diskpart.txt"
> "%dp%" echo san policy=OnlineAll
echo diskpart: san policy=OnlineAll
"%SystemRoot%\System32\diskpart.exe" /s "%dp%"
for /l %%n in (0,1,2) do call :disk %%n
del "%dp%"
exit /b 0

rem :disk N brings disk N online and clears its read-only attribute
:disk
> "%dp%" echo select disk %1
>> "%dp%" echo online disk noerr
>> "%dp%" echo attributes disk clear readonly noerr
echo diskpart: disk %1
"%SystemRoot%\System32\diskpart.exe" /s "%dp%"
echo diskpart exit code %errorlevel%
exit /b 0
