# One event log as JSON lines, newest first (a size cap then keeps the newest events), for the
# last $Seconds seconds. A pipeline, not a variable: each event is written as soon as it is
# read, so a large log is never held whole, here or on the collector's side.
$start = (Get-Date).AddSeconds(-$Seconds)
Get-WinEvent -FilterHashtable @{ LogName = $LogName; StartTime = $start } -ErrorAction SilentlyContinue |
    ForEach-Object {
        [pscustomobject]@{
            TimeCreated = $_.TimeCreated.ToUniversalTime().ToString('o'); Id = $_.Id; Level = $_.Level
            LevelDisplayName = $_.LevelDisplayName; ProviderName = $_.ProviderName; LogName = $_.LogName
            Message = $_.Message
        } | ConvertTo-Json -Compress
    }
