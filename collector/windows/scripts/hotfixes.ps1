Get-HotFix | Select-Object HotFixID, Description, InstalledOn, InstalledBy | ConvertTo-BundleJson
