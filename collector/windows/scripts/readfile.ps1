# Read one file in base64 chunks (the PSRP transport's file fetch): shared read access, so files
# that running services hold open are copied too; $Tail keeps the newest $Cap bytes.
$stream = [System.IO.File]::Open($Path, 'Open', 'Read', 'ReadWrite, Delete')
try {
    $length = $stream.Length
    "#length=$length"   # first object: lets the client mark the item truncated past the cap
    $take = [Math]::Min($length, $Cap)
    if ($Tail -and $length -gt $Cap) { [void]$stream.Seek($length - $Cap, 'Begin') }
    $buffer = New-Object byte[] $Chunk
    $left = $take
    while ($left -gt 0) {
        $n = $stream.Read($buffer, 0, [int][Math]::Min($Chunk, $left))
        if ($n -le 0) { break }
        [Convert]::ToBase64String($buffer, 0, $n)
        $left -= $n
    }
} finally { $stream.Dispose() }
