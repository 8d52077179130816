# $What = adapters | ipaddress | route | firewall | ipconfig | routeprint | volumes
switch ($What) {
    'adapters'   { Get-NetAdapter -IncludeHidden | Select-Object Name, InterfaceDescription, ifIndex, Status, MacAddress, LinkSpeed, Hidden, MtuSize | ConvertTo-BundleJson }
    'ipaddress'  { Get-NetIPAddress -IncludeAllCompartments -ErrorAction SilentlyContinue | Select-Object InterfaceAlias, InterfaceIndex, IPAddress, PrefixLength, AddressFamily, CompartmentId, PrefixOrigin | ConvertTo-BundleJson }
    'route'      { Get-NetRoute -IncludeAllCompartments -ErrorAction SilentlyContinue | Select-Object DestinationPrefix, NextHop, InterfaceAlias, InterfaceIndex, RouteMetric, CompartmentId | ConvertTo-BundleJson }
    'firewall'   { Get-NetFirewallProfile | Select-Object Name, Enabled, DefaultInboundAction, DefaultOutboundAction | ConvertTo-BundleJson }
    'ipconfig'   { ipconfig /allcompartments /all }
    'routeprint' { route print }
    'volumes'    { Get-CimInstance Win32_LogicalDisk -Filter 'DriveType=3' | Select-Object DeviceID, FileSystem, Size, FreeSpace | ConvertTo-BundleJson }
}
