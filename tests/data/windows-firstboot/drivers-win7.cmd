@echo off
rem hyper2kvm first boot: install the drivers copied into the guest with pnputil
rem generated for Windows NT 6.1 build 7601 x86
setlocal
set "dir=C:\Windows\Drivers\VirtIO"
echo installing every driver below "%dir%": pnputil -i -a, one .inf at a time
set failed=0
for /r "%dir%" %%i in (*.inf) do call :add "%%~fi"
echo drivers that failed: %failed%
if not "%failed%"=="0" exit /b 1
exit /b 0

:add
echo pnputil -i -a %1
"%SystemRoot%\System32\pnputil.exe" -i -a %1
set rc=%errorlevel%
echo pnputil exit code %rc%
if not "%rc%"=="0" if not "%rc%"=="3010" set /a failed+=1
exit /b 0
