# The pause (sandbox) images the runtime holds, with the OS build each was made for:
# `crictl inspecti` shows the image config's os.version (process isolation needs the host's build).
$crictl = Get-Command crictl.exe -ErrorAction SilentlyContinue
if (-not $crictl -and (Test-Path 'C:\k\crictl.exe')) { $crictl = Get-Command 'C:\k\crictl.exe' }
if (-not $crictl) { Write-Error 'crictl.exe not found'; exit 3 }
$images = (& $crictl.Source images -o json | Out-String | ConvertFrom-Json).images
$rows = foreach ($img in $images) {
    $tags = @($img.repoTags) + @($img.repoDigests)
    if (-not ($tags -match 'pause|infra')) { continue }
    $info = & $crictl.Source inspecti -o json $img.id | Out-String | ConvertFrom-Json
    $spec = $info.info.imageSpec
    [pscustomobject]@{
        Id = $img.id; RepoTags = @($img.repoTags); OS = $spec.os
        OSVersion = $spec.'os.version'; Architecture = $spec.architecture
    }
}
@($rows) | ConvertTo-BundleJson
