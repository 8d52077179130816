# The Kubernetes-related services and processes: state, start mode, binary path, the command line
# that really runs (nssm wraps the real program: its Application/AppParameters are in the registry).
$serviceNames = @('kubelet', 'kubeproxy', 'kube-proxy', 'flanneld', 'containerd', 'docker', 'hns', 'vfpext', 'csi-proxy')
$processNames = @('kubelet.exe', 'kube-proxy.exe', 'flanneld.exe', 'containerd.exe', 'dockerd.exe', 'csi-proxy.exe')
$procs = @(Get-CimInstance Win32_Process)
$seen = @{}
$rows = foreach ($svc in Get-CimInstance Win32_Service | Where-Object { $serviceNames -contains $_.Name }) {
    $wrapper = 'native'; $app = $null; $appParams = $null; $cmd = $null
    $params = Get-ItemProperty "HKLM:\SYSTEM\CurrentControlSet\Services\$($svc.Name)\Parameters" -ErrorAction SilentlyContinue
    if ($svc.PathName -match 'nssm' -or ($params -and $params.Application)) {
        $wrapper = 'nssm'; $app = $params.Application; $appParams = $params.AppParameters
    }
    if ($svc.ProcessId) {
        $proc = $procs | Where-Object { $_.ProcessId -eq $svc.ProcessId }
        $child = $procs | Where-Object { $_.ParentProcessId -eq $svc.ProcessId -and $_.Name -ne 'conhost.exe' } | Select-Object -First 1
        if ($wrapper -eq 'nssm' -and $child) { $proc = $child }
        if ($proc) { $cmd = $proc.CommandLine; $seen[[int]$proc.ProcessId] = $true }
    }
    [pscustomobject]@{
        Name = $svc.Name; DisplayName = $svc.DisplayName; State = $svc.State; StartMode = $svc.StartMode
        PathName = $svc.PathName; ProcessId = $svc.ProcessId; CommandLine = $cmd; Wrapper = $wrapper
        Application = $app; AppParameters = $appParams
    }
}
# Started by a script (start.ps1, Start-Process) rather than as a service.
$extra = foreach ($p in $procs | Where-Object { $processNames -contains $_.Name -and -not $seen[[int]$_.ProcessId] }) {
    [pscustomobject]@{
        Name = ($p.Name -replace '\.exe$', '' -replace '^kube-proxy$', 'kubeproxy'); DisplayName = $null
        State = 'Running'; StartMode = $null; PathName = $p.ExecutablePath; ProcessId = $p.ProcessId
        CommandLine = $p.CommandLine; Wrapper = 'process'; Application = $null; AppParameters = $null
    }
}
@($rows) + @($extra) | ConvertTo-BundleJson
