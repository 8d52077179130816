<#
.SYNOPSIS
  Builds dist\k8s-bundle.exe (the collector-only Windows executable: collect, redact, verify)
  and dist\k8s-bundle.exe.sha256 beside it, on a Windows build host.

.DESCRIPTION
  Step-by-step host setup and reasons: docs/building.md ("Windows"). PyInstaller does not
  cross-compile, so this runs on Windows only. It never touches the working tree outside
  build\ and dist\: pip installs the project from a copy in build\src.

.PARAMETER Python
  python.exe to build with (CPython 3.11 or newer, 64-bit, from python.org). Default: the
  `py` launcher's newest 3.x, else `python` on PATH.

.EXAMPLE
  powershell -NoProfile -ExecutionPolicy Bypass -File packaging\build-windows.ps1
.EXAMPLE
  powershell -NoProfile -ExecutionPolicy Bypass -File packaging\build-windows.ps1 -Python C:\Python311\python.exe
#>
[CmdletBinding()]
param(
    [string]$Python = ""
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# Native programs report failure through their exit code only; Windows PowerShell 5.1 does not
# stop on it, so every call goes through here.
function Invoke-Native {
    param([Parameter(Mandatory)][string]$Exe, [string[]]$Arguments = @())
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "build-windows: '$Exe $($Arguments -join ' ')' failed with exit code $LASTEXITCODE"
    }
}

$repo = Split-Path -Parent $PSScriptRoot
Set-Location $repo
$start = Get-Date

# 1. The interpreter: 64-bit CPython >= 3.11 (the project's floor; PyInstaller bundles it).
if (-not $Python) {
    if (Get-Command py -ErrorAction SilentlyContinue) {
        $Python = (& py -3 -c "import sys; print(sys.executable)").Trim()
    } elseif (Get-Command python -ErrorAction SilentlyContinue) {
        $Python = (Get-Command python).Source
    } else {
        throw "build-windows: no Python found; install 64-bit Python 3.11+ from python.org (docs/building.md)"
    }
}
$check = "import struct, sys; sys.exit(0 if sys.version_info >= (3, 11) and struct.calcsize('P') == 8 else 1)"
& $Python -c $check
if ($LASTEXITCODE -ne 0) {
    throw "build-windows: $Python is not a 64-bit Python 3.11 or newer"
}

# 2. A build virtualenv of its own, so nothing of the host's site-packages gets into the exe.
$venv = Join-Path $repo 'build\venv-windows'
$venvPy = Join-Path $venv 'Scripts\python.exe'
if (-not (Test-Path $venvPy)) {
    Invoke-Native $Python @('-m', 'venv', $venv)
}
$pip = @('-m', 'pip', '--disable-pip-version-check', '-q', 'install')
Invoke-Native $venvPy ($pip + @('--upgrade', 'pip'))
Invoke-Native $venvPy ($pip + @('-r', 'packaging\requirements-build.txt'))

# 3. The collector's runtime dependencies only (pyproject.toml minus polars, jinja2, cel-python,
#    jsonschema), passed as arguments, not through a file: Windows PowerShell 5.1 would write a
#    redirected file as UTF-16. Then the project itself from a snapshot of the sources in
#    build\src (the spec below runs from that snapshot too).
$requirements = @(& $venvPy 'packaging\selection.py' 'requirements')
if ($LASTEXITCODE -ne 0) { throw "build-windows: packaging\selection.py requirements failed" }
Invoke-Native $venvPy ($pip + $requirements)
Invoke-Native $venvPy @('packaging\selection.py', 'stage', 'build\src')
Invoke-Native $venvPy ($pip + @('--no-deps', '--no-build-isolation', '--force-reinstall', 'build\src'))

# 4. PyInstaller: one-file console executable with the version resource (see the spec). Run
#    from build\: from the repository root, `python -m` would put the source folder k8s_bundle\
#    (without the folders setup.py maps beneath it) ahead of the installed package.
Push-Location (Join-Path $repo 'build')
try {
    Invoke-Native $venvPy @('-m', 'PyInstaller', '--noconfirm', '--clean', '--log-level', 'WARN',
        '--distpath', 'pyinstaller-dist-windows', '--workpath', 'pyinstaller-work-windows',
        'src\packaging\k8s-bundle-windows.spec')
} finally {
    Pop-Location
}

# 5. dist\k8s-bundle.exe and its checksum, in the format `sha256sum -c` reads (LF, no BOM).
New-Item -ItemType Directory -Force -Path 'dist' | Out-Null
$exe = Join-Path $repo 'dist\k8s-bundle.exe'
Copy-Item -Force 'build\pyinstaller-dist-windows\k8s-bundle.exe' $exe
$hash = (Get-FileHash -Algorithm SHA256 -Path $exe).Hash.ToLowerInvariant()
[System.IO.File]::WriteAllText("$exe.sha256", "$hash  k8s-bundle.exe`n", [System.Text.Encoding]::ASCII)

# 6. Smoke test: the executable starts and names its version and bundle format.
Invoke-Native $exe @('--version')
$size = (Get-Item $exe).Length
$seconds = [int]((Get-Date) - $start).TotalSeconds
Write-Host "build-windows: $exe $size bytes, built in $seconds s; SHA-256 $hash (in $exe.sha256)"
