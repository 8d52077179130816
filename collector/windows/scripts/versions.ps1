# Versions of the node's components as their binaries report them (null when not found).
function First-Version([string]$exe, [string[]]$arguments) {
    $cmd = Get-Command $exe -ErrorAction SilentlyContinue
    if (-not $cmd) { foreach ($dir in 'C:\k', 'C:\flannel', 'C:\k\cni', 'C:\opt\cni\bin', "$env:ProgramFiles\containerd", "$env:ProgramFiles\containerd\cni\bin") {
        if (Test-Path "$dir\$exe") { $cmd = Get-Command "$dir\$exe"; break } } }
    if (-not $cmd) { return $null }
    try {
        $out = & $cmd.Source @arguments 2>&1 | Out-String
        if ($out -match 'v?\d+\.\d+(\.\d+)?[^\s,"]*') { return $Matches[0] }
    } catch { }
    return $null
}
$env:CNI_COMMAND = 'VERSION'
[ordered]@{
    'kubelet'     = First-Version 'kubelet.exe' @('--version')
    'kube-proxy'  = First-Version 'kube-proxy.exe' @('--version')
    'flanneld'    = First-Version 'flanneld.exe' @('--version')
    'containerd'  = First-Version 'containerd.exe' @('--version')
    'docker'      = First-Version 'docker.exe' @('version', '--format', '{{.Server.Version}}')
    'crictl'      = First-Version 'crictl.exe' @('--version')
    'win-bridge'  = First-Version 'win-bridge.exe' @('--version')
    'win-overlay' = First-Version 'win-overlay.exe' @('--version')
    'flannel-cni' = First-Version 'flannel.exe' @('--version')
} | ConvertTo-Json
