; The Windows installer of Inference Runtime, built by `make dist` with
; Debian's makensis:
;
;   makensis -DVERSION=1.2.3 -DSRCDIR=dist/windows -DOUTFILE=setup.exe installer.nsi
;
; SRCDIR holds inference-runtime.exe, ir.exe and appicon.ico. It installs for
; the current user (no administrator rights) into %LOCALAPPDATA%\Programs,
; adds a Start menu entry, puts ir.exe on the user's PATH, and registers the
; .gguf file type so that a double-click opens the model in the app (which
; imports it, into the running window when one is open).
;
; The app draws its window with Microsoft Edge WebView2, part of Windows 11
; and of current Windows 10; when it is missing, the installer says where to
; get it (the installer carries no Microsoft download).

Unicode true
!include "MUI2.nsh"
!include "StrFunc.nsh"
${StrStr}
${UnStrRep}

!ifndef VERSION
  !define VERSION "dev"
!endif
!ifndef SRCDIR
  !define SRCDIR "."
!endif
!ifndef OUTFILE
  !define OUTFILE "inference-runtime-setup.exe"
!endif

!define APPNAME "Inference Runtime"
!define APPEXE "inference-runtime.exe"
!define PROGID "InferenceRuntime.gguf"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\InferenceRuntime"
!define WEBVIEW2_GUID "{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"

Name "${APPNAME}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\${APPNAME}"
InstallDirRegKey HKCU "${UNINSTKEY}" "InstallLocation"
RequestExecutionLevel user
SetCompressor zlib
!define MUI_ICON "${SRCDIR}\appicon.ico"
!define MUI_UNICON "${SRCDIR}\appicon.ico"

!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!define MUI_FINISHPAGE_RUN "$INSTDIR\${APPEXE}"
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Section "Install"
  SetOutPath "$INSTDIR"
  File "${SRCDIR}\${APPEXE}"
  File "${SRCDIR}\ir.exe"
  File "${SRCDIR}\appicon.ico"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  CreateShortcut "$SMPROGRAMS\${APPNAME}.lnk" "$INSTDIR\${APPEXE}"

  ; .gguf opens in the app: "inference-runtime.exe" "C:\path\model.gguf"
  WriteRegStr HKCU "Software\Classes\.gguf" "" "${PROGID}"
  WriteRegStr HKCU "Software\Classes\.gguf" "Content Type" "application/x-gguf"
  WriteRegStr HKCU "Software\Classes\.gguf\OpenWithProgids" "${PROGID}" ""
  WriteRegStr HKCU "Software\Classes\${PROGID}" "" "GGUF model"
  WriteRegStr HKCU "Software\Classes\${PROGID}\DefaultIcon" "" "$INSTDIR\appicon.ico"
  WriteRegStr HKCU "Software\Classes\${PROGID}\shell\open\command" "" '"$INSTDIR\${APPEXE}" "%1"'
  WriteRegStr HKCU "Software\Classes\Applications\${APPEXE}\SupportedTypes" ".gguf" ""
  ; Tell Explorer the associations changed (SHCNE_ASSOCCHANGED).
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'

  ; ir.exe on the user's PATH.
  ReadRegStr $0 HKCU "Environment" "Path"
  ${StrStr} $1 "$0" "$INSTDIR"
  StrCmp $1 "" 0 path_done
    StrCmp $0 "" 0 +3
      WriteRegExpandStr HKCU "Environment" "Path" "$INSTDIR"
      Goto path_sent
    WriteRegExpandStr HKCU "Environment" "Path" "$0;$INSTDIR"
  path_sent:
    SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=2000
  path_done:

  WriteRegStr HKCU "${UNINSTKEY}" "DisplayName" "${APPNAME}"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\appicon.ico"
  WriteRegStr HKCU "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegDWORD HKCU "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTKEY}" "NoRepair" 1

  ; WebView2: per-machine or per-user runtime, as Microsoft documents it.
  ReadRegStr $2 HKLM "SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_GUID}" "pv"
  StrCmp $2 "" 0 webview_ok
  ReadRegStr $2 HKCU "Software\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_GUID}" "pv"
  StrCmp $2 "" 0 webview_ok
    MessageBox MB_YESNO|MB_ICONINFORMATION "${APPNAME} needs the Microsoft Edge WebView2 Runtime, which is not installed.$\r$\nOpen its download page now?" IDNO webview_ok
    ExecShell "open" "https://developer.microsoft.com/microsoft-edge/webview2/"
  webview_ok:
SectionEnd

Section "Uninstall"
  Delete "$INSTDIR\${APPEXE}"
  Delete "$INSTDIR\ir.exe"
  Delete "$INSTDIR\appicon.ico"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${APPNAME}.lnk"

  ReadRegStr $0 HKCU "Software\Classes\.gguf" ""
  StrCmp $0 "${PROGID}" 0 +2
    DeleteRegValue HKCU "Software\Classes\.gguf" ""
  DeleteRegValue HKCU "Software\Classes\.gguf\OpenWithProgids" "${PROGID}"
  DeleteRegKey HKCU "Software\Classes\${PROGID}"
  DeleteRegKey HKCU "Software\Classes\Applications\${APPEXE}"
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'

  ReadRegStr $0 HKCU "Environment" "Path"
  ${UnStrRep} $0 "$0" ";$INSTDIR" ""
  ${UnStrRep} $0 "$0" "$INSTDIR" ""
  WriteRegExpandStr HKCU "Environment" "Path" "$0"
  SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=2000

  DeleteRegKey HKCU "${UNINSTKEY}"
  ; The models and chats stay in %APPDATA%\Inference Runtime.
SectionEnd
