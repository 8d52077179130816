# Prepended to every k8s-bundle script: quiet progress, UTF-8 output on Windows PowerShell 5.1
# and PowerShell 7 alike, errors reported on stderr without stopping the script.
$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$utf8 = New-Object System.Text.UTF8Encoding $false
try { [Console]::OutputEncoding = $utf8 } catch { }
$OutputEncoding = $utf8
function ConvertTo-BundleJson {
    # Always an array, whatever the count: ConvertTo-Json alone gives an object for one item.
    param([Parameter(ValueFromPipeline = $true)] $InputObject, [int] $Depth = 10)
    begin { $all = New-Object System.Collections.ArrayList }
    process { if ($null -ne $InputObject) { [void]$all.Add($InputObject) } }
    end { ConvertTo-Json -InputObject @($all.ToArray()) -Depth $Depth }
}
