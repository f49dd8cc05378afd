@echo off
rem hyper2kvm first boot: install the drivers copied into the guest with pnputil
rem generated for Windows NT 10.0 build 17763 x64
setlocal
set "dir=C:\Program Files\hyper2kvm\drivers"
echo installing every driver below "%dir%": pnputil /add-driver /subdirs /install
"%SystemRoot%\System32\pnputil.exe" /add-driver "%dir%\*.inf" /subdirs /install
set rc=%errorlevel%
echo pnputil exit code %rc%
rem 259: the packages were added but no present device needed them
if "%rc%"=="259" exit /b 0
exit /b %rc%
