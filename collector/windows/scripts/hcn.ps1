# HNS objects through the HCN V2 API (computenetwork.dll, Windows Server 2019 and later), with
# the V1 HostNetworkingService cmdlets as the fallback. Nothing is downloaded, nothing changes.
# Parameter (set by the catalogue): $Kind = networks | endpoints | namespaces | loadbalancers | schema
$hcnSource = @'
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

public static class K8sBundleHcn
{
    const string Dll = "computenetwork.dll";
    [DllImport(Dll, CharSet = CharSet.Unicode)] static extern int HcnEnumerateNetworks(string query, [MarshalAs(UnmanagedType.LPWStr)] out string ids, [MarshalAs(UnmanagedType.LPWStr)] out string error);
    [DllImport(Dll, CharSet = CharSet.Unicode)] static extern int HcnOpenNetwork(ref Guid id, out IntPtr handle, [MarshalAs(UnmanagedType.LPWStr)] out string error);
    [DllImport(Dll, CharSet = CharSet.Unicode)] static extern int HcnQueryNetworkProperties(IntPtr handle, string query, [MarshalAs(UnmanagedType.LPWStr)] out string props, [MarshalAs(UnmanagedType.LPWStr)] out string error);
    [DllImport(Dll)] static extern int HcnCloseNetwork(IntPtr handle);
    [DllImport(Dll, CharSet = CharSet.Unicode)] static extern int HcnEnumerateEndpoints(string query, [MarshalAs(UnmanagedType.LPWStr)] out string ids, [MarshalAs(UnmanagedType.LPWStr)] out string error);
    [DllImport(Dll, CharSet = CharSet.Unicode)] static extern int HcnOpenEndpoint(ref Guid id, out IntPtr handle, [MarshalAs(UnmanagedType.LPWStr)] out string error);
    [DllImport(Dll, CharSet = CharSet.Unicode)] static extern int HcnQueryEndpointProperties(IntPtr handle, string query, [MarshalAs(UnmanagedType.LPWStr)] out string props, [MarshalAs(UnmanagedType.LPWStr)] out string error);
    [DllImport(Dll)] static extern int HcnCloseEndpoint(IntPtr handle);
    [DllImport(Dll, CharSet = CharSet.Unicode)] static extern int HcnEnumerateNamespaces(string query, [MarshalAs(UnmanagedType.LPWStr)] out string ids, [MarshalAs(UnmanagedType.LPWStr)] out string error);
    [DllImport(Dll, CharSet = CharSet.Unicode)] static extern int HcnOpenNamespace(ref Guid id, out IntPtr handle, [MarshalAs(UnmanagedType.LPWStr)] out string error);
    [DllImport(Dll, CharSet = CharSet.Unicode)] static extern int HcnQueryNamespaceProperties(IntPtr handle, string query, [MarshalAs(UnmanagedType.LPWStr)] out string props, [MarshalAs(UnmanagedType.LPWStr)] out string error);
    [DllImport(Dll)] static extern int HcnCloseNamespace(IntPtr handle);
    [DllImport(Dll, CharSet = CharSet.Unicode)] static extern int HcnEnumerateLoadBalancers(string query, [MarshalAs(UnmanagedType.LPWStr)] out string ids, [MarshalAs(UnmanagedType.LPWStr)] out string error);
    [DllImport(Dll, CharSet = CharSet.Unicode)] static extern int HcnOpenLoadBalancer(ref Guid id, out IntPtr handle, [MarshalAs(UnmanagedType.LPWStr)] out string error);
    [DllImport(Dll, CharSet = CharSet.Unicode)] static extern int HcnQueryLoadBalancerProperties(IntPtr handle, string query, [MarshalAs(UnmanagedType.LPWStr)] out string props, [MarshalAs(UnmanagedType.LPWStr)] out string error);
    [DllImport(Dll)] static extern int HcnCloseLoadBalancer(IntPtr handle);

    const string Query = "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Flags\":0}";

    // The ids come back as a JSON array of GUID strings; the properties of each object as JSON.
    public static string Dump(string kind)
    {
        string ids, error;
        int hr;
        switch (kind)
        {
            case "networks": hr = HcnEnumerateNetworks(Query, out ids, out error); break;
            case "endpoints": hr = HcnEnumerateEndpoints(Query, out ids, out error); break;
            case "namespaces": hr = HcnEnumerateNamespaces(Query, out ids, out error); break;
            case "loadbalancers": hr = HcnEnumerateLoadBalancers(Query, out ids, out error); break;
            default: throw new ArgumentException(kind);
        }
        if (hr != 0) throw new Exception(String.Format("HcnEnumerate {0} failed: 0x{1:x8} {2}", kind, hr, error));
        List<string> parts = new List<string>();
        foreach (string raw in (ids ?? "[]").Trim('[', ']', ' ', '\r', '\n').Split(','))
        {
            string text = raw.Trim().Trim('"', '{', '}');
            if (text.Length == 0) continue;
            Guid id = new Guid(text);
            IntPtr h;
            string props = null;
            switch (kind)
            {
                case "networks": if (HcnOpenNetwork(ref id, out h, out error) == 0) { HcnQueryNetworkProperties(h, Query, out props, out error); HcnCloseNetwork(h); } break;
                case "endpoints": if (HcnOpenEndpoint(ref id, out h, out error) == 0) { HcnQueryEndpointProperties(h, Query, out props, out error); HcnCloseEndpoint(h); } break;
                case "namespaces": if (HcnOpenNamespace(ref id, out h, out error) == 0) { HcnQueryNamespaceProperties(h, Query, out props, out error); HcnCloseNamespace(h); } break;
                case "loadbalancers": if (HcnOpenLoadBalancer(ref id, out h, out error) == 0) { HcnQueryLoadBalancerProperties(h, Query, out props, out error); HcnCloseLoadBalancer(h); } break;
            }
            if (!String.IsNullOrEmpty(props)) parts.Add(props);
        }
        return "[" + String.Join(",\n", parts.ToArray()) + "]";
    }
}
'@

function Test-HcnV2 {
    if (-not (Test-Path "$env:SystemRoot\System32\computenetwork.dll")) { return $false }
    try { Add-Type -TypeDefinition $hcnSource -ErrorAction Stop; [void][K8sBundleHcn]::Dump('networks'); return $true }
    catch { Write-Warning "HCN V2 API unavailable: $($_.Exception.Message)"; return $false }
}

$v2 = Test-HcnV2
if ($Kind -eq 'schema') { if ($v2) { 'V2' } else { 'V1' }; return }
if ($v2) {
    [K8sBundleHcn]::Dump($Kind)
    return
}
# V1: the built-in HostNetworkingService module (Windows Server 2016/2019).
Import-Module HostNetworkingService -ErrorAction SilentlyContinue
switch ($Kind) {
    'networks'      { Get-HnsNetwork | ConvertTo-BundleJson -Depth 20 }
    'endpoints'     { Get-HnsEndpoint | ConvertTo-BundleJson -Depth 20 }
    'namespaces'    { if (Get-Command Get-HnsNamespace -ErrorAction SilentlyContinue) { Get-HnsNamespace | ConvertTo-BundleJson -Depth 20 } else { '[]' } }
    'loadbalancers' { '[]' }   # V1 has no load balancer objects: see hns-policylists.json
}
