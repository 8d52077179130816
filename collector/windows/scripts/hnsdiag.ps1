$tool = Get-Command hnsdiag.exe -ErrorAction SilentlyContinue
if (-not $tool) { Write-Error 'hnsdiag.exe not found'; exit 3 }
& $tool.Source list all -d
