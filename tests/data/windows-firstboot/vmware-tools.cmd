@echo off
rem hyper2kvm first boot: uninstall VMware Tools silently
rem generated for any Windows version
setlocal
echo uninstalling VMware Tools, product code {FE2F6A2C-196E-4210-9C04-2B1BC21F07EF}
start "" /wait "%SystemRoot%\System32\msiexec.exe" /x {FE2F6A2C-196E-4210-9C04-2B1BC21F07EF} /qn /norestart
set rc=%errorlevel%
echo msiexec exit code %rc%
rem 1605: this product is not installed (any more): nothing to do
if "%rc%"=="1605" exit /b 0
rem 3010: uninstalled, a restart completes it (the runner notes it)
exit /b %rc%
