# TCP connections by state and owning process, with how many use a local port of the dynamic range.
$numbers = @((netsh int ipv4 show dynamicportrange protocol=tcp) -replace '[^0-9]', '' | Where-Object { $_ -ne '' })
$start = [int]$numbers[0]; $end = $start + [int]$numbers[1] - 1
$names = @{}
Get-Process | ForEach-Object { $names[$_.Id] = $_.ProcessName }
Get-NetTCPConnection -ErrorAction SilentlyContinue | Group-Object State, OwningProcess | ForEach-Object {
    $first = $_.Group[0]
    $inRange = @($_.Group | Where-Object { $_.LocalPort -ge $start -and $_.LocalPort -le $end }).Count
    [pscustomobject]@{
        State = [string]$first.State; OwningProcess = $first.OwningProcess
        ProcessName = $names[[int]$first.OwningProcess]; Count = $_.Count; InDynamicRange = $inRange
    }
} | ConvertTo-BundleJson
