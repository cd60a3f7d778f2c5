#Requires -Version 5.1
<#
.SYNOPSIS
Prepare a Windows Server host as an LVS-DR (or TUN) real server, or undo it.

.DESCRIPTION
Run by ansible.windows.win_powershell from the lvs.cluster realserver_windows
role (Windows Server 2016, 2019, 2022, 2025; Windows PowerShell 5.1).

present:
  * finds the loopback adapter named AdapterName, or creates one: a root
    enumerated device with hardware id *MSLOOP and the in-box driver
    %windir%\INF\netloop.inf ("Microsoft KM-TEST Loopback Adapter"), created
    through SetupAPI the way devcon.exe does it (no download, no devcon), then
    renamed to AdapterName. Its PnP instance id is recorded under
    HKLM:\SOFTWARE\lvs.cluster\realserver_windows\<AdapterName>, so a later
    run finds it again (even if renamed) and never creates a second one;
  * sets exactly the VIPs on it: IPv4 /32, IPv6 /128 (persistent store,
    SkipAsSource as asked);
  * disables DNS registration, NetBIOS (optional) and any default route on it;
  * enables weak host receive and send on it and on the interface facing the
    director (by alias, by address it holds, or the default-route interface),
    for the address families of the VIPs; the previous values are recorded.
absent (or present with no VIPs, which keeps the adapter):
  removes the VIPs, restores the recorded weak host / DNS / NetBIOS values,
  and removes the adapter if (and only if) this script created it.

Every change goes through ShouldProcess, so check mode (-WhatIf) reports what
would change without changing anything. $Ansible.Diff gets before/after.
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param (
    [Parameter(Mandatory = $true)]
    [ValidateSet('present', 'absent')]
    [string]
    $State,

    [Parameter(Mandatory = $true)]
    [ValidateNotNullOrEmpty()]
    [string]
    $AdapterName,

    [string[]]
    $Vips = @(),

    [ValidateSet('alias', 'address', 'default_route')]
    [string]
    $LanSelect = 'default_route',

    [string]
    $LanAlias = '',

    [string]
    $LanAddress = '',

    [bool]
    $LanWeakHost = $true,

    [bool]
    $SkipAsSource = $true,

    [bool]
    $DisableNetbios = $true
)

$ErrorActionPreference = 'Stop'

$MarkerRoot = 'HKLM:\SOFTWARE\lvs.cluster\realserver_windows'
$MarkerKey = Join-Path $MarkerRoot $AdapterName
$NetClassGuid = '4d36e972-e325-11ce-bfc1-08002be10318'
$LoopbackHardwareId = '*MSLOOP'

$script:changes = New-Object System.Collections.Generic.List[string]
$script:warnings = New-Object System.Collections.Generic.List[string]
$inCheckMode = [bool]$WhatIfPreference
if ((Get-Variable -Name Ansible -ErrorAction SilentlyContinue) -and $Ansible.CheckMode) {
    $inCheckMode = $true
}

function Add-Change {
    param ([string]$Message)
    $script:changes.Add($Message)
}

# ---------------------------------------------------------------- SetupAPI
$setupApiSource = @'
using System;
using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Text;

namespace LvsCluster
{
    public static class LoopbackDevice
    {
        [StructLayout(LayoutKind.Sequential)]
        private struct SP_DEVINFO_DATA
        {
            public int cbSize;
            public Guid ClassGuid;
            public int DevInst;
            public IntPtr Reserved;
        }

        private const int DICD_GENERATE_ID = 0x1;
        private const int SPDRP_HARDWAREID = 0x1;
        private const int DIF_REMOVE = 0x5;
        private const int DIF_REGISTERDEVICE = 0x19;
        private const int ERROR_NO_MORE_ITEMS = 259;

        [DllImport("setupapi.dll", SetLastError = true)]
        private static extern IntPtr SetupDiCreateDeviceInfoList(ref Guid classGuid, IntPtr hwndParent);

        [DllImport("setupapi.dll", SetLastError = true)]
        private static extern bool SetupDiDestroyDeviceInfoList(IntPtr deviceInfoSet);

        [DllImport("setupapi.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern bool SetupDiCreateDeviceInfoW(IntPtr deviceInfoSet, string deviceName,
            ref Guid classGuid, string deviceDescription, IntPtr hwndParent, int creationFlags,
            ref SP_DEVINFO_DATA deviceInfoData);

        [DllImport("setupapi.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern bool SetupDiSetDeviceRegistryPropertyW(IntPtr deviceInfoSet,
            ref SP_DEVINFO_DATA deviceInfoData, int property, byte[] propertyBuffer, int propertyBufferSize);

        [DllImport("setupapi.dll", SetLastError = true)]
        private static extern bool SetupDiCallClassInstaller(int installFunction, IntPtr deviceInfoSet,
            ref SP_DEVINFO_DATA deviceInfoData);

        [DllImport("setupapi.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern bool SetupDiGetDeviceInstanceIdW(IntPtr deviceInfoSet,
            ref SP_DEVINFO_DATA deviceInfoData, StringBuilder deviceInstanceId, int deviceInstanceIdSize,
            out int requiredSize);

        [DllImport("setupapi.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern bool SetupDiOpenDeviceInfoW(IntPtr deviceInfoSet, string deviceInstanceId,
            IntPtr hwndParent, int openFlags, ref SP_DEVINFO_DATA deviceInfoData);

        [DllImport("newdev.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern bool UpdateDriverForPlugAndPlayDevicesW(IntPtr hwndParent, string hardwareId,
            string fullInfPath, int installFlags, out bool rebootRequired);

        private static void Check(bool ok, string what)
        {
            if (!ok) { throw new Win32Exception(Marshal.GetLastWin32Error(), what); }
        }

        // Create a root-enumerated *MSLOOP device and install netloop.inf on it
        // (what "devcon install netloop.inf *MSLOOP" does). Returns its instance id.
        public static string Create(string classGuid, string hardwareId, string infPath)
        {
            Guid guid = new Guid(classGuid);
            IntPtr set = SetupDiCreateDeviceInfoList(ref guid, IntPtr.Zero);
            if (set == new IntPtr(-1)) { throw new Win32Exception(Marshal.GetLastWin32Error(), "SetupDiCreateDeviceInfoList"); }
            string instanceId;
            try
            {
                SP_DEVINFO_DATA data = new SP_DEVINFO_DATA();
                data.cbSize = Marshal.SizeOf(typeof(SP_DEVINFO_DATA));
                Check(SetupDiCreateDeviceInfoW(set, "Net", ref guid, null, IntPtr.Zero, DICD_GENERATE_ID, ref data),
                    "SetupDiCreateDeviceInfo");
                byte[] ids = Encoding.Unicode.GetBytes(hardwareId + "\0\0");
                Check(SetupDiSetDeviceRegistryPropertyW(set, ref data, SPDRP_HARDWAREID, ids, ids.Length),
                    "SetupDiSetDeviceRegistryProperty");
                Check(SetupDiCallClassInstaller(DIF_REGISTERDEVICE, set, ref data), "DIF_REGISTERDEVICE");
                StringBuilder sb = new StringBuilder(512);
                int needed;
                Check(SetupDiGetDeviceInstanceIdW(set, ref data, sb, sb.Capacity, out needed),
                    "SetupDiGetDeviceInstanceId");
                instanceId = sb.ToString();
            }
            finally
            {
                SetupDiDestroyDeviceInfoList(set);
            }
            // No INSTALLFLAG_FORCE: loopback adapters that already have the driver are left
            // alone; the new device has none, so it gets netloop.inf. ERROR_NO_MORE_ITEMS
            // (nothing updated) is left to the caller, which waits for the adapter.
            bool reboot;
            if (!UpdateDriverForPlugAndPlayDevicesW(IntPtr.Zero, hardwareId, infPath, 0, out reboot))
            {
                int err = Marshal.GetLastWin32Error();
                if (err != ERROR_NO_MORE_ITEMS) { throw new Win32Exception(err, "UpdateDriverForPlugAndPlayDevices"); }
            }
            return instanceId;
        }

        // Remove one device by instance id (what "devcon remove @<id>" does).
        public static void Remove(string classGuid, string instanceId)
        {
            Guid guid = new Guid(classGuid);
            IntPtr set = SetupDiCreateDeviceInfoList(ref guid, IntPtr.Zero);
            if (set == new IntPtr(-1)) { throw new Win32Exception(Marshal.GetLastWin32Error(), "SetupDiCreateDeviceInfoList"); }
            try
            {
                SP_DEVINFO_DATA data = new SP_DEVINFO_DATA();
                data.cbSize = Marshal.SizeOf(typeof(SP_DEVINFO_DATA));
                Check(SetupDiOpenDeviceInfoW(set, instanceId, IntPtr.Zero, 0, ref data), "SetupDiOpenDeviceInfo");
                Check(SetupDiCallClassInstaller(DIF_REMOVE, set, ref data), "DIF_REMOVE");
            }
            finally
            {
                SetupDiDestroyDeviceInfoList(set);
            }
        }
    }
}
'@

function Initialize-SetupApi {
    if (-not ('LvsCluster.LoopbackDevice' -as [type])) {
        Add-Type -TypeDefinition $setupApiSource -Language CSharp
    }
}

# ------------------------------------------------------------ marker state
function Get-Marker {
    $marker = @{ InstanceId = ''; Created = $false; Interfaces = @{}; Loopback = @{} }
    if (Test-Path -LiteralPath $MarkerKey) {
        $raw = (Get-ItemProperty -LiteralPath $MarkerKey -Name State -ErrorAction SilentlyContinue).State
        if ($raw) {
            $obj = $raw | ConvertFrom-Json
            if ($obj.InstanceId) { $marker.InstanceId = [string]$obj.InstanceId }
            if ($obj.Created) { $marker.Created = [bool]$obj.Created }
            if ($obj.Interfaces) {
                foreach ($p in $obj.Interfaces.PSObject.Properties) {
                    $entry = @{ Alias = [string]$p.Value.Alias }
                    foreach ($family in 'IPv4', 'IPv6') {
                        if ($p.Value.PSObject.Properties[$family]) {
                            $entry[$family] = @{
                                WeakHostReceive = [string]$p.Value.$family.WeakHostReceive
                                WeakHostSend = [string]$p.Value.$family.WeakHostSend
                            }
                        }
                    }
                    $marker.Interfaces[$p.Name] = $entry
                }
            }
            if ($obj.Loopback) {
                foreach ($p in $obj.Loopback.PSObject.Properties) { $marker.Loopback[$p.Name] = $p.Value }
            }
        }
    }
    $marker
}

function Save-Marker {
    param ($Marker)
    if ($inCheckMode) { return }
    foreach ($key in (Split-Path -Path $MarkerRoot -Parent), $MarkerRoot, $MarkerKey) {
        if (-not (Test-Path -LiteralPath $key)) { New-Item -Path $key | Out-Null }
    }
    $json = ConvertTo-Json -InputObject $Marker -Depth 6 -Compress
    Set-ItemProperty -LiteralPath $MarkerKey -Name State -Value $json
}

function Remove-Marker {
    if ((Test-Path -LiteralPath $MarkerKey) -and
        $PSCmdlet.ShouldProcess($MarkerKey, 'Remove role state')) {
        Remove-Item -LiteralPath $MarkerKey -Recurse -Force
        foreach ($key in $MarkerRoot, (Split-Path -Path $MarkerRoot -Parent)) {
            if ((Test-Path -LiteralPath $key) -and -not (Get-ChildItem -LiteralPath $key)) {
                Remove-Item -LiteralPath $key -Force
            }
        }
    }
}

# ------------------------------------------------------------ adapters
function Test-IsLoopback {
    param ($Adapter)
    ([string]$Adapter.ComponentID -eq $LoopbackHardwareId) -or
    ([string]$Adapter.DriverDescription -like '*KM-TEST Loopback*') -or
    ([string]$Adapter.InterfaceDescription -like '*KM-TEST Loopback*')
}

function Find-LoopbackAdapter {
    param ($Marker)
    $adapter = Get-NetAdapter -Name $AdapterName -IncludeHidden -ErrorAction SilentlyContinue
    if ($adapter) {
        if (-not (Test-IsLoopback $adapter)) {
            throw "Adapter '$AdapterName' exists but is not a loopback adapter ($($adapter.InterfaceDescription)); choose another realserver_windows_adapter_name."
        }
        return $adapter
    }
    if ($Marker.InstanceId) {
        $adapter = Get-NetAdapter -IncludeHidden -ErrorAction SilentlyContinue |
            Where-Object { $_.PnPDeviceID -eq $Marker.InstanceId } | Select-Object -First 1
        if ($adapter) {
            Add-Change "rename adapter '$($adapter.Name)' (created by this role) back to '$AdapterName'"
            if ($PSCmdlet.ShouldProcess($adapter.Name, "Rename-NetAdapter to $AdapterName")) {
                Rename-NetAdapter -Name $adapter.Name -NewName $AdapterName
                $adapter = Get-NetAdapter -Name $AdapterName -IncludeHidden
            }
            return $adapter
        }
    }
    $null
}

function New-LoopbackAdapter {
    param ($Marker)
    Add-Change "create loopback adapter '$AdapterName' ($LoopbackHardwareId, netloop.inf)"
    if (-not $PSCmdlet.ShouldProcess($AdapterName, 'Create KM-TEST loopback adapter')) { return $null }
    Initialize-SetupApi
    $inf = Join-Path $env:windir 'INF\netloop.inf'
    $instanceId = [LvsCluster.LoopbackDevice]::Create($NetClassGuid, $LoopbackHardwareId, $inf)
    # Record at once: if anything below fails, the next run finds this device.
    $Marker.InstanceId = $instanceId
    $Marker.Created = $true
    Save-Marker $Marker
    $adapter = $null
    for ($i = 0; $i -lt 60 -and -not $adapter; $i++) {
        Start-Sleep -Milliseconds 500
        $adapter = Get-NetAdapter -IncludeHidden -ErrorAction SilentlyContinue |
            Where-Object { $_.PnPDeviceID -eq $instanceId } | Select-Object -First 1
    }
    if (-not $adapter) { throw "Loopback device $instanceId was created but no network adapter appeared." }
    Rename-NetAdapter -Name $adapter.Name -NewName $AdapterName
    Get-NetAdapter -Name $AdapterName -IncludeHidden
}

function Get-LanInterfaceIndex {
    param ([int]$LoopbackIndex)
    switch ($LanSelect) {
        'alias' {
            $if = Get-NetAdapter -Name $LanAlias -ErrorAction SilentlyContinue
            if (-not $if) { throw "No network adapter named '$LanAlias' (realserver_windows_lan_alias)." }
            $index = [int]$if.ifIndex
        }
        'address' {
            $ip = Get-NetIPAddress -IPAddress $LanAddress -ErrorAction SilentlyContinue | Select-Object -First 1
            if (-not $ip) { throw "No interface holds address $LanAddress (realserver_windows_lan_address)." }
            $index = [int]$ip.InterfaceIndex
        }
        default {
            $route = Get-NetRoute -DestinationPrefix '0.0.0.0/0', '::/0' -ErrorAction SilentlyContinue |
                Where-Object { $_.InterfaceIndex -ne $LoopbackIndex } |
                Sort-Object -Property { $_.RouteMetric + (Get-NetIPInterface -InterfaceIndex $_.InterfaceIndex -AddressFamily $_.AddressFamily).InterfaceMetric } |
                Select-Object -First 1
            if (-not $route) { throw 'No default route: set realserver_windows_lan_select to alias or address.' }
            $index = [int]$route.InterfaceIndex
        }
    }
    if ($index -eq $LoopbackIndex) {
        throw "The director-facing interface is the loopback adapter '$AdapterName'; check realserver_windows_lan_*."
    }
    $index
}

# ------------------------------------------------------------ settings
function Get-IfGuid {
    param ([int]$Index)
    [string](Get-NetAdapter -InterfaceIndex $Index -IncludeHidden).InterfaceGuid
}

function Get-WeakHost {
    param ([int]$Index, [string]$Family)
    $ipif = Get-NetIPInterface -InterfaceIndex $Index -AddressFamily $Family -ErrorAction SilentlyContinue
    if (-not $ipif) { return $null }
    @{ WeakHostReceive = [string]$ipif.WeakHostReceive; WeakHostSend = [string]$ipif.WeakHostSend }
}

function Set-WeakHost {
    param ($Marker, [int]$Index, [string[]]$Families)
    $guid = Get-IfGuid $Index
    $alias = (Get-NetAdapter -InterfaceIndex $Index -IncludeHidden).Name
    foreach ($family in $Families) {
        $now = Get-WeakHost $Index $family
        if (-not $now) { throw "$family is not enabled on interface '$alias'." }
        if (-not $Marker.Interfaces.ContainsKey($guid)) { $Marker.Interfaces[$guid] = @{ Alias = $alias } }
        if (-not $Marker.Interfaces[$guid].ContainsKey($family)) { $Marker.Interfaces[$guid][$family] = $now }
        if ($now.WeakHostReceive -ne 'Enabled' -or $now.WeakHostSend -ne 'Enabled') {
            Add-Change "weak host receive/send enabled on '$alias' ($family)"
            if ($PSCmdlet.ShouldProcess("$alias $family", 'Set-NetIPInterface -WeakHostReceive Enabled -WeakHostSend Enabled')) {
                Save-Marker $Marker
                Set-NetIPInterface -InterfaceIndex $Index -AddressFamily $family -WeakHostReceive Enabled -WeakHostSend Enabled
            }
        }
    }
}

function Restore-WeakHost {
    param ($Marker, [string[]]$KeepGuids = @())
    foreach ($guid in @($Marker.Interfaces.Keys)) {
        if ($KeepGuids -contains $guid) { continue }
        $entry = $Marker.Interfaces[$guid]
        $adapter = Get-NetAdapter -IncludeHidden -ErrorAction SilentlyContinue |
            Where-Object { [string]$_.InterfaceGuid -eq $guid } | Select-Object -First 1
        if ($adapter) {
            foreach ($family in 'IPv4', 'IPv6') {
                if (-not $entry.ContainsKey($family)) { continue }
                $want = $entry[$family]
                $now = Get-WeakHost ([int]$adapter.ifIndex) $family
                if ($now -and ($now.WeakHostReceive -ne $want.WeakHostReceive -or $now.WeakHostSend -ne $want.WeakHostSend)) {
                    Add-Change "weak host on '$($adapter.Name)' ($family) restored to receive=$($want.WeakHostReceive) send=$($want.WeakHostSend)"
                    if ($PSCmdlet.ShouldProcess("$($adapter.Name) $family", 'Restore weak host settings')) {
                        Set-NetIPInterface -InterfaceIndex $adapter.ifIndex -AddressFamily $family `
                            -WeakHostReceive $want.WeakHostReceive -WeakHostSend $want.WeakHostSend
                    }
                }
            }
        }
        if (-not $inCheckMode) { $Marker.Interfaces.Remove($guid) }
    }
}

function Get-VipAddresses {
    param ([int]$Index)
    @(Get-NetIPAddress -InterfaceIndex $Index -ErrorAction SilentlyContinue |
        Where-Object { $_.PrefixOrigin -eq 'Manual' })
}

function Sync-Vips {
    param ([int]$Index, [string[]]$Wanted)
    $current = Get-VipAddresses $Index
    foreach ($addr in $current) {
        $ip = [string]$addr.IPAddress
        $len = if ($addr.AddressFamily -eq 'IPv6') { 128 } else { 32 }
        $keep = ($Wanted -contains $ip) -and ([int]$addr.PrefixLength -eq $len)
        if (-not $keep) {
            Add-Change "remove $ip/$($addr.PrefixLength) from '$AdapterName'"
            if ($PSCmdlet.ShouldProcess("$ip on $AdapterName", 'Remove-NetIPAddress')) {
                Remove-NetIPAddress -InterfaceIndex $Index -IPAddress $ip -Confirm:$false
            }
        }
        elseif ([bool]$addr.SkipAsSource -ne $SkipAsSource) {
            Add-Change "set SkipAsSource=$SkipAsSource on $ip"
            if ($PSCmdlet.ShouldProcess("$ip on $AdapterName", "Set-NetIPAddress -SkipAsSource $SkipAsSource")) {
                Set-NetIPAddress -InterfaceIndex $Index -IPAddress $ip -SkipAsSource $SkipAsSource
            }
        }
    }
    foreach ($ip in $Wanted) {
        $parsed = [System.Net.IPAddress]::Parse($ip)
        $len = if ($parsed.AddressFamily -eq 'InterNetworkV6') { 128 } else { 32 }
        $have = $current | Where-Object { [string]$_.IPAddress -eq $ip -and [int]$_.PrefixLength -eq $len }
        if (-not $have) {
            Add-Change "add $ip/$len to '$AdapterName'"
            if ($PSCmdlet.ShouldProcess("$ip/$len on $AdapterName", 'New-NetIPAddress')) {
                # Default policy store: active and persistent, so it survives reboot.
                New-NetIPAddress -InterfaceIndex $Index -IPAddress $ip -PrefixLength $len `
                    -SkipAsSource $SkipAsSource -Type Unicast | Out-Null
            }
        }
    }
}

function Set-LoopbackIsolation {
    param ($Marker, [int]$Index)
    $dns = Get-DnsClient -InterfaceIndex $Index -ErrorAction SilentlyContinue
    if ($dns -and $dns.RegisterThisConnectionsAddress) {
        if (-not $Marker.Loopback.ContainsKey('RegisterThisConnectionsAddress')) {
            $Marker.Loopback['RegisterThisConnectionsAddress'] = $true
        }
        Add-Change "disable DNS registration on '$AdapterName'"
        if ($PSCmdlet.ShouldProcess($AdapterName, 'Set-DnsClient -RegisterThisConnectionsAddress $false')) {
            Save-Marker $Marker
            Set-DnsClient -InterfaceIndex $Index -RegisterThisConnectionsAddress $false
        }
    }
    $ipv4 = Get-NetIPInterface -InterfaceIndex $Index -AddressFamily IPv4 -ErrorAction SilentlyContinue
    if ($ipv4 -and [string]$ipv4.Dhcp -eq 'Enabled') {
        Add-Change "disable DHCP on '$AdapterName'"
        if ($PSCmdlet.ShouldProcess($AdapterName, 'Set-NetIPInterface -Dhcp Disabled')) {
            Set-NetIPInterface -InterfaceIndex $Index -AddressFamily IPv4 -Dhcp Disabled
        }
    }
    foreach ($route in @(Get-NetRoute -InterfaceIndex $Index -DestinationPrefix '0.0.0.0/0', '::/0' -ErrorAction SilentlyContinue)) {
        Add-Change "remove default route via $($route.NextHop) from '$AdapterName'"
        if ($PSCmdlet.ShouldProcess($AdapterName, "Remove-NetRoute $($route.DestinationPrefix) $($route.NextHop)")) {
            $route | Remove-NetRoute -Confirm:$false
        }
    }
    if ($DisableNetbios) {
        $cfg = Get-CimInstance -ClassName Win32_NetworkAdapterConfiguration -Filter "InterfaceIndex=$Index" -ErrorAction SilentlyContinue
        if ($cfg -and $cfg.IPEnabled -and [int]$cfg.TcpipNetbiosOptions -ne 2) {
            if (-not $Marker.Loopback.ContainsKey('TcpipNetbiosOptions')) {
                $Marker.Loopback['TcpipNetbiosOptions'] = [int]$cfg.TcpipNetbiosOptions
            }
            Add-Change "disable NetBIOS over TCP/IP on '$AdapterName'"
            if ($PSCmdlet.ShouldProcess($AdapterName, 'SetTcpipNetbios(2)')) {
                Save-Marker $Marker
                $r = Invoke-CimMethod -InputObject $cfg -MethodName SetTcpipNetbios -Arguments @{ TcpipNetbiosOptions = [uint32]2 }
                if ($r.ReturnValue -ne 0 -and $r.ReturnValue -ne 1) {
                    $script:warnings.Add("SetTcpipNetbios on '$AdapterName' returned $($r.ReturnValue)")
                }
            }
        }
    }
}

function Restore-LoopbackIsolation {
    param ($Marker, [int]$Index)
    if ($Marker.Loopback.ContainsKey('RegisterThisConnectionsAddress')) {
        Add-Change "restore DNS registration on '$AdapterName'"
        if ($PSCmdlet.ShouldProcess($AdapterName, 'Set-DnsClient -RegisterThisConnectionsAddress $true')) {
            Set-DnsClient -InterfaceIndex $Index -RegisterThisConnectionsAddress $true
        }
    }
    if ($Marker.Loopback.ContainsKey('TcpipNetbiosOptions')) {
        $cfg = Get-CimInstance -ClassName Win32_NetworkAdapterConfiguration -Filter "InterfaceIndex=$Index" -ErrorAction SilentlyContinue
        if ($cfg -and $cfg.IPEnabled) {
            Add-Change "restore NetBIOS setting on '$AdapterName'"
            if ($PSCmdlet.ShouldProcess($AdapterName, 'SetTcpipNetbios')) {
                Invoke-CimMethod -InputObject $cfg -MethodName SetTcpipNetbios `
                    -Arguments @{ TcpipNetbiosOptions = [uint32]$Marker.Loopback['TcpipNetbiosOptions'] } | Out-Null
            }
        }
    }
    if (-not $inCheckMode) { $Marker.Loopback = @{} }
}

function Get-Snapshot {
    param ($LanIndex = $null)
    $snap = [ordered]@{ adapter = $null; addresses = @(); weak_host = [ordered]@{} }
    $adapter = Get-NetAdapter -Name $AdapterName -IncludeHidden -ErrorAction SilentlyContinue
    if ($adapter) {
        $snap.adapter = [string]$adapter.Name
        $snap.addresses = @(Get-VipAddresses ([int]$adapter.ifIndex) |
            ForEach-Object { "$($_.IPAddress)/$($_.PrefixLength)" } | Sort-Object)
        foreach ($family in 'IPv4', 'IPv6') {
            $w = Get-WeakHost ([int]$adapter.ifIndex) $family
            if ($w) { $snap.weak_host["$($adapter.Name) $family"] = "receive=$($w.WeakHostReceive) send=$($w.WeakHostSend)" }
        }
    }
    if ($null -ne $LanIndex) {
        $lan = Get-NetAdapter -InterfaceIndex $LanIndex -IncludeHidden -ErrorAction SilentlyContinue
        foreach ($family in 'IPv4', 'IPv6') {
            $w = Get-WeakHost $LanIndex $family
            if ($w -and $lan) { $snap.weak_host["$($lan.Name) $family"] = "receive=$($w.WeakHostReceive) send=$($w.WeakHostSend)" }
        }
    }
    $snap
}

# ------------------------------------------------------------ main
# canonical form (lowercase, compressed IPv6) so comparisons with Windows' own output are stable
$canonical = New-Object System.Collections.Generic.List[string]
foreach ($ip in $Vips) {
    $parsed = $null
    if (-not [System.Net.IPAddress]::TryParse($ip.Trim(), [ref]$parsed)) { throw "Not an IP address: '$ip'." }
    $text = $parsed.ToString()
    if (-not $canonical.Contains($text)) { $canonical.Add($text) }
}
$Vips = [string[]]$canonical.ToArray()
$families = @()
if ($Vips | Where-Object { $_ -notmatch ':' }) { $families += 'IPv4' }
if ($Vips | Where-Object { $_ -match ':' }) { $families += 'IPv6' }

$marker = Get-Marker
$adapter = Find-LoopbackAdapter $marker
$lanIndex = $null
if ($State -eq 'present' -and $Vips.Count -gt 0 -and $LanWeakHost) {
    $lanIndex = Get-LanInterfaceIndex $(if ($adapter) { [int]$adapter.ifIndex } else { -1 })
}
$before = Get-Snapshot $lanIndex

if ($State -eq 'present' -and $Vips.Count -gt 0) {
    foreach ($ip in $Vips) {
        $elsewhere = Get-NetIPAddress -IPAddress $ip -ErrorAction SilentlyContinue |
            Where-Object { -not $adapter -or $_.InterfaceIndex -ne $adapter.ifIndex }
        if ($elsewhere) {
            $script:warnings.Add("VIP $ip is also configured on interface '$($elsewhere[0].InterfaceAlias)': that interface answers ARP/ND for it, which breaks LVS-DR.")
        }
    }
    if (-not $adapter) { $adapter = New-LoopbackAdapter $marker }
    if ($adapter) {
        $index = [int]$adapter.ifIndex
        if ($adapter.PnPDeviceID -and [string]$marker.InstanceId -ne [string]$adapter.PnPDeviceID) {
            # A loopback adapter with this name that the role did not create: use it, never remove it.
            $marker.InstanceId = [string]$adapter.PnPDeviceID
            $marker.Created = $false
        }
        Set-LoopbackIsolation $marker $index
        Sync-Vips $index $Vips
        $keep = @(Get-IfGuid $index)
        Set-WeakHost $marker $index $families
        if ($null -ne $lanIndex) {
            $keep += Get-IfGuid $lanIndex
            Set-WeakHost $marker $lanIndex $families
        }
        # an interface used before (other director-facing NIC) gets its old values back
        Restore-WeakHost $marker $keep
        Save-Marker $marker
    }
}
else {
    # absent, or present without VIPs: undo, keep the adapter unless absent and created here
    if ($adapter) {
        $index = [int]$adapter.ifIndex
        Sync-Vips $index @()
        Restore-LoopbackIsolation $marker $index
    }
    Restore-WeakHost $marker @()
    if ($State -eq 'absent') {
        if ($adapter -and $marker.Created) {
            Add-Change "remove loopback adapter '$AdapterName' ($($marker.InstanceId))"
            if ($PSCmdlet.ShouldProcess($AdapterName, 'Remove loopback device')) {
                Initialize-SetupApi
                [LvsCluster.LoopbackDevice]::Remove($NetClassGuid, $marker.InstanceId)
            }
        }
        Remove-Marker
    }
    elseif ($marker.InstanceId -and -not $inCheckMode) {
        Save-Marker $marker
    }
}

if ($inCheckMode) {
    # predicted state
    $after = [ordered]@{ adapter = $null; addresses = @(); weak_host = [ordered]@{} }
    if ($State -eq 'present' -and $Vips.Count -gt 0) {
        $after.adapter = $AdapterName
        $after.addresses = @($Vips | ForEach-Object { if ($_ -match ':') { "$_/128" } else { "$_/32" } } | Sort-Object)
        foreach ($k in $before.weak_host.Keys) { $after.weak_host[$k] = $before.weak_host[$k] }
        $names = @($AdapterName)
        if ($null -ne $lanIndex) { $names += (Get-NetAdapter -InterfaceIndex $lanIndex).Name }
        foreach ($n in $names) { foreach ($f in $families) { $after.weak_host["$n $f"] = 'receive=Enabled send=Enabled' } }
    }
    elseif ($adapter -and -not ($State -eq 'absent' -and $marker.Created)) {
        $after.adapter = $AdapterName
    }
}
else {
    $after = Get-Snapshot $lanIndex
}

$Ansible.Changed = $script:changes.Count -gt 0
$Ansible.Diff = @{ before = $before; after = $after }
$Ansible.Result = @{
    adapter = $AdapterName
    instance_id = $marker.InstanceId
    created_by_role = [bool]$marker.Created
    changes = @($script:changes)
    warnings = @($script:warnings)
}
