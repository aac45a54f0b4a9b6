; Inno Setup script of the Windows installer. build_installer.py compiles it with iscc, passing
; the values below with /D (see build_support/windows.py); it is not meant to be run by hand.
; Per user: installs into %LOCALAPPDATA%\Programs without asking for administrator rights.

#ifndef AppVersion
  #error Pass /DAppVersion=..., /DDistDir=..., /DRootDir=..., /DOutputName=..., /DArch=... (build_installer.py does)
#endif

#define AppName "Gradient Desktop"
#define GuiExe "Gradient Desktop.exe"

[Setup]
; A fixed id: a newer installer upgrades the installed copy instead of adding a second one.
AppId={{4C7B6E0E-2D49-4E57-9C5B-6A2B8E1F0D18}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppName}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
ArchitecturesAllowed={#Arch}
ArchitecturesInstallIn64BitMode={#Arch}
OutputDir={#DistDir}
OutputBaseFilename={#OutputName}
SetupIconFile={#RootDir}\resources\icons\gradient-desktop.ico
UninstallDisplayIcon={app}\{#GuiExe}
UninstallDisplayName={#AppName}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#DistDir}\gradient-desktop\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#GuiExe}"; IconFilename: "{app}\_internal\resources\icons\gradient-desktop.ico"; Comment: "Map clients and push usage to Gradient"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#GuiExe}"; IconFilename: "{app}\_internal\resources\icons\gradient-desktop.ico"; Tasks: desktopicon

[Run]
Filename: "{app}\{#GuiExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; The uninstaller removes the program folder; the user's settings, database and logs (in
; %LOCALAPPDATA%\gradient-desktop) and the keys in Credential Manager stay, as users expect
; when reinstalling.
