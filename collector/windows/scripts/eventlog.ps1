# One event log as JSON lines, newest first (a size cap then keeps the newest events), for the
# last $Seconds seconds. Each line is written as soon as it is read: nothing is held whole.
$start = (Get-Date).AddSeconds(-$Seconds)
$events = Get-WinEvent -FilterHashtable @{ LogName = $LogName; StartTime = $start } -ErrorAction SilentlyContinue
foreach ($e in $events) {
    [pscustomobject]@{
        TimeCreated = $e.TimeCreated.ToUniversalTime().ToString('o'); Id = $e.Id; Level = $e.Level
        LevelDisplayName = $e.LevelDisplayName; ProviderName = $e.ProviderName; LogName = $e.LogName
        Message = $e.Message
    } | ConvertTo-Json -Compress
}
