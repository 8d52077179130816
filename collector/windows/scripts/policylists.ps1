# HNS V1 policy lists (ELB policies are kube-proxy's load balancers on V1 hosts; V2 hosts
# still answer the V1 API). IsDSR marks direct server return.
Import-Module HostNetworkingService -ErrorAction SilentlyContinue
if (-not (Get-Command Get-HnsPolicyList -ErrorAction SilentlyContinue)) {
    Write-Error 'Get-HnsPolicyList is not available (no HostNetworkingService module)'
    exit 3
}
Get-HnsPolicyList | ConvertTo-BundleJson -Depth 20
