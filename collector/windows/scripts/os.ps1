# OS version, build and update revision (UBR), edition, hypervisor, uptime, time zone.
$os = Get-CimInstance Win32_OperatingSystem
$cs = Get-CimInstance Win32_ComputerSystem
$cv = Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
$tz = [System.TimeZoneInfo]::Local
[pscustomobject]@{
    Caption = $os.Caption; Version = $os.Version; BuildNumber = $os.BuildNumber; UBR = $cv.UBR
    EditionID = $cv.EditionID; DisplayVersion = $cv.DisplayVersion; ReleaseId = $cv.ReleaseId
    InstallationType = $cv.InstallationType; OSArchitecture = $os.OSArchitecture
    LastBootUpTime = $os.LastBootUpTime.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
    UptimeSeconds = [int]((Get-Date) - $os.LastBootUpTime).TotalSeconds
    CsName = $os.CSName; Manufacturer = $cs.Manufacturer; Model = $cs.Model
    NumberOfLogicalProcessors = $cs.NumberOfLogicalProcessors; TotalPhysicalMemory = $cs.TotalPhysicalMemory
    TimeZone = $tz.Id; UtcOffsetSeconds = [int]$tz.GetUtcOffset((Get-Date)).TotalSeconds
    PowerShellVersion = $PSVersionTable.PSVersion.ToString()
} | ConvertTo-Json
