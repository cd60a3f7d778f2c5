#!powershell

# Copyright: lvs.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell Ansible.ModuleUtils.AddType

# Prepare a Windows Server host as an LVS-DR real server, or undo it
# (documentation: win_lvs_realserver.py next to this file).
#
# present: finds the loopback adapter named adapter_name, or creates one (a
# root-enumerated *MSLOOP device with the in-box netloop.inf, through SetupAPI
# as devcon.exe does it) and records its PnP instance id under
# HKLM:\SOFTWARE\lvs.cluster\realserver_windows\<adapter_name>; sets exactly
# the VIPs on it (/32, /128); disables DNS registration, NetBIOS (optional),
# DHCP and any default route on it; enables weak host receive/send on it and
# on the director-facing interface (the previous values are recorded).
# absent (or present with no VIPs, which keeps the adapter): removes the VIPs,
# restores the recorded values, removes the adapter if this module created it.
#
# Written for Windows PowerShell 5.1 (Server 2016-2025). It has never run on
# Windows: no Windows host is available to the project's tests.

$ErrorActionPreference = 'Stop'

$spec = @{
    options = @{
        state = @{ type = 'str'; choices = 'present', 'absent'; default = 'present' }
        adapter_name = @{ type = 'str'; default = 'lvs-loopback' }
        vips = @{ type = 'list'; elements = 'str'; default = @() }
        lan_interface = @{ type = 'str' }
        lan_address = @{ type = 'str' }
        lan_weak_host = @{ type = 'bool'; default = $true }
        skip_as_source = @{ type = 'bool'; default = $true }
        disable_netbios = @{ type = 'bool'; default = $true }
    }
    mutually_exclusive = @(, @('lan_interface', 'lan_address'))
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$State = $module.Params.state
$AdapterName = $module.Params.adapter_name
$LanInterface = $module.Params.lan_interface
$LanAddress = $module.Params.lan_address
$LanWeakHost = $module.Params.lan_weak_host
$SkipAsSource = $module.Params.skip_as_source
$DisableNetbios = $module.Params.disable_netbios
$inCheckMode = $module.CheckMode

$MarkerRoot = 'HKLM:\SOFTWARE\lvs.cluster\realserver_windows'
$NetClassGuid = '4d36e972-e325-11ce-bfc1-08002be10318'
$LoopbackHardwareId = '*MSLOOP'

$script:changes = New-Object -TypeName System.Collections.Generic.List[string]

# Records a change; returns $true when it is to be made (not in check mode).
function Register-Change {
    param ([string]$Message)
    $script:changes.Add($Message)
    -not $inCheckMode
}

# ---------------------------------------------------------------- input
# Every value is checked before anything is read or changed; an error names the option.
function ConvertTo-IPAddressText {
    param ([string]$Option, [string]$Value)
    $text = $Value.Trim()
    $parsed = $null
    $dotted = '^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$'
    # [IPAddress]::TryParse also takes "10", "10.1" and "10.1.2" (classful forms) and scope ids
    if ($text -match '[/%]' -or -not ($text -match $dotted -or $text.Contains(':')) -or
        -not [System.Net.IPAddress]::TryParse($text, [ref]$parsed)) {
        $module.FailJson("${Option}: '$Value' is not an IPv4 or IPv6 address (no /prefix, no %scope)")
    }
    # canonical form (compressed, lowercase IPv6) so comparisons with Windows' output are stable
    $parsed.ToString()
}

function Test-UsableVip {
    param ([string]$Text)
    $ip = [System.Net.IPAddress]::Parse($Text)
    if ([System.Net.IPAddress]::IsLoopback($ip)) { return 'a loopback address' }
    if ($ip.AddressFamily -eq [System.Net.Sockets.AddressFamily]::InterNetworkV6) {
        if ($ip.Equals([System.Net.IPAddress]::IPv6Any)) { return 'the unspecified address' }
        if ($ip.IsIPv6Multicast) { return 'a multicast address' }
        if ($ip.IsIPv6LinkLocal) { return 'a link-local address' }
    }
    else {
        $first = $ip.GetAddressBytes()[0]
        if ($first -eq 0) { return 'in 0.0.0.0/8' }
        if ($first -ge 224) { return 'a multicast, reserved or broadcast address' }
        if ($Text.StartsWith('169.254.')) { return 'a link-local address' }
    }
    $null
}

if ([string]::IsNullOrWhiteSpace($AdapterName) -or $AdapterName -match '["\\/]' -or $AdapterName.Length -gt 255) {
    $module.FailJson("adapter_name: '$AdapterName' is not a usable interface alias (empty, too long, or contains \, / or `")")
}

$Vips = New-Object -TypeName System.Collections.Generic.List[string]
$vipsParam = if ($null -eq $module.Params.vips) { @() } else { @($module.Params.vips) }
foreach ($item in $vipsParam) {
    if ($null -eq $item) { $module.FailJson('vips: an element is empty') }
    $text = ConvertTo-IPAddressText -Option 'vips' -Value ([string]$item)
    $why = Test-UsableVip $text
    if ($why) { $module.FailJson("vips: '$item' is $why, not a VIP") }
    if (-not $Vips.Contains($text)) { $Vips.Add($text) }
}
if ($State -eq 'absent' -and $Vips.Count -gt 0) {
    $module.Warn('vips are ignored with state=absent: every address on the adapter is removed')
    $Vips.Clear()
}
if ($null -ne $LanInterface -and [string]::IsNullOrWhiteSpace($LanInterface)) {
    $module.FailJson('lan_interface: empty; leave it out to use the interface of the default route')
}
if ($null -ne $LanAddress) {
    $LanAddress = ConvertTo-IPAddressText -Option 'lan_address' -Value $LanAddress
}

$MarkerKey = Join-Path -Path $MarkerRoot -ChildPath $AdapterName
$families = @()
if ($Vips | Where-Object { -not $_.Contains(':') }) { $families += 'IPv4' }
if ($Vips | Where-Object { $_.Contains(':') }) { $families += 'IPv6' }

# ---------------------------------------------------------------- SetupAPI
$setupApiSource = @'
using System;
using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Text;

//NoWarn -Name CS0649
//NoWarn -Name CS0169

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
        Add-CSharpType -References $setupApiSource -AnsibleModule $module
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

# The record is bookkeeping, not host configuration: removing it is not a change.
function Remove-Marker {
    if ($inCheckMode -or -not (Test-Path -LiteralPath $MarkerKey)) { return }
    Remove-Item -LiteralPath $MarkerKey -Recurse -Force
    foreach ($key in $MarkerRoot, (Split-Path -Path $MarkerRoot -Parent)) {
        if ((Test-Path -LiteralPath $key) -and -not (Get-ChildItem -LiteralPath $key)) {
            Remove-Item -LiteralPath $key -Force
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
            throw "adapter_name: adapter '$AdapterName' exists but is not a loopback adapter ($($adapter.InterfaceDescription))"
        }
        return $adapter
    }
    if ($Marker.InstanceId) {
        $adapter = Get-NetAdapter -IncludeHidden -ErrorAction SilentlyContinue |
            Where-Object { $_.PnPDeviceID -eq $Marker.InstanceId } | Select-Object -First 1
        if ($adapter) {
            if (Register-Change "rename adapter '$($adapter.Name)' (created by this module) back to '$AdapterName'") {
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
    if (-not (Register-Change "create loopback adapter '$AdapterName' ($LoopbackHardwareId, netloop.inf)")) { return $null }
    Initialize-SetupApi
    $inf = Join-Path -Path $env:windir -ChildPath 'INF\netloop.inf'
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
    if ($null -ne $LanInterface) {
        $if = Get-NetAdapter -Name $LanInterface -ErrorAction SilentlyContinue
        if (-not $if) { throw "lan_interface: no network adapter named '$LanInterface'" }
        $index = [int]$if.ifIndex
        $option = 'lan_interface'
    }
    elseif ($null -ne $LanAddress) {
        $ip = Get-NetIPAddress -IPAddress $LanAddress -ErrorAction SilentlyContinue | Select-Object -First 1
        if (-not $ip) { throw "lan_address: no interface holds address $LanAddress" }
        $index = [int]$ip.InterfaceIndex
        $option = 'lan_address'
    }
    else {
        $route = Get-NetRoute -DestinationPrefix '0.0.0.0/0', '::/0' -ErrorAction SilentlyContinue |
            Where-Object { $_.InterfaceIndex -ne $LoopbackIndex } |
            Sort-Object -Property { $_.RouteMetric + (Get-NetIPInterface -InterfaceIndex $_.InterfaceIndex -AddressFamily $_.AddressFamily).InterfaceMetric } |
            Select-Object -First 1
        if (-not $route) { throw 'lan_interface: no default route; set lan_interface or lan_address' }
        $index = [int]$route.InterfaceIndex
        $option = 'lan_interface'
    }
    if ($index -eq $LoopbackIndex) {
        throw "${option}: the director-facing interface is the loopback adapter '$AdapterName'"
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
            if (Register-Change "weak host receive/send enabled on '$alias' ($family)") {
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
                    $message = "weak host on '$($adapter.Name)' ($family) restored to receive=$($want.WeakHostReceive) send=$($want.WeakHostSend)"
                    if (Register-Change $message) {
                        Set-NetIPInterface -InterfaceIndex $adapter.ifIndex -AddressFamily $family `
                            -WeakHostReceive $want.WeakHostReceive -WeakHostSend $want.WeakHostSend
                    }
                }
            }
        }
        if (-not $inCheckMode) { $Marker.Interfaces.Remove($guid) }
    }
}

function Get-VipAddress {
    param ([int]$Index)
    @(Get-NetIPAddress -InterfaceIndex $Index -ErrorAction SilentlyContinue |
            Where-Object { $_.PrefixOrigin -eq 'Manual' })
}

function Sync-Vip {
    param ([int]$Index, [string[]]$Wanted)
    $current = Get-VipAddress $Index
    foreach ($addr in $current) {
        $ip = [string]$addr.IPAddress
        $len = if ($addr.AddressFamily -eq 'IPv6') { 128 } else { 32 }
        $keep = ($Wanted -contains $ip) -and ([int]$addr.PrefixLength -eq $len)
        if (-not $keep) {
            if (Register-Change "remove $ip/$($addr.PrefixLength) from '$AdapterName'") {
                Remove-NetIPAddress -InterfaceIndex $Index -IPAddress $ip -Confirm:$false
            }
        }
        elseif ([bool]$addr.SkipAsSource -ne $SkipAsSource) {
            if (Register-Change "set SkipAsSource=$SkipAsSource on $ip") {
                Set-NetIPAddress -InterfaceIndex $Index -IPAddress $ip -SkipAsSource $SkipAsSource
            }
        }
    }
    foreach ($ip in $Wanted) {
        $len = if ($ip.Contains(':')) { 128 } else { 32 }
        $have = $current | Where-Object { [string]$_.IPAddress -eq $ip -and [int]$_.PrefixLength -eq $len }
        if (-not $have) {
            if (Register-Change "add $ip/$len to '$AdapterName'") {
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
        if (Register-Change "disable DNS registration on '$AdapterName'") {
            Save-Marker $Marker
            Set-DnsClient -InterfaceIndex $Index -RegisterThisConnectionsAddress $false
        }
    }
    $ipv4 = Get-NetIPInterface -InterfaceIndex $Index -AddressFamily IPv4 -ErrorAction SilentlyContinue
    if ($ipv4 -and [string]$ipv4.Dhcp -eq 'Enabled') {
        if (Register-Change "disable DHCP on '$AdapterName'") {
            Set-NetIPInterface -InterfaceIndex $Index -AddressFamily IPv4 -Dhcp Disabled
        }
    }
    foreach ($route in @(Get-NetRoute -InterfaceIndex $Index -DestinationPrefix '0.0.0.0/0', '::/0' -ErrorAction SilentlyContinue)) {
        if (Register-Change "remove default route $($route.DestinationPrefix) via $($route.NextHop) from '$AdapterName'") {
            $route | Remove-NetRoute -Confirm:$false
        }
    }
    if ($DisableNetbios) {
        $cfg = Get-CimInstance -ClassName Win32_NetworkAdapterConfiguration -Filter "InterfaceIndex=$Index" -ErrorAction SilentlyContinue
        if ($cfg -and $cfg.IPEnabled -and [int]$cfg.TcpipNetbiosOptions -ne 2) {
            if (-not $Marker.Loopback.ContainsKey('TcpipNetbiosOptions')) {
                $Marker.Loopback['TcpipNetbiosOptions'] = [int]$cfg.TcpipNetbiosOptions
            }
            if (Register-Change "disable NetBIOS over TCP/IP on '$AdapterName'") {
                Save-Marker $Marker
                $r = Invoke-CimMethod -InputObject $cfg -MethodName SetTcpipNetbios -Arguments @{ TcpipNetbiosOptions = [uint32]2 }
                if ($r.ReturnValue -ne 0 -and $r.ReturnValue -ne 1) {
                    $module.Warn("SetTcpipNetbios on '$AdapterName' returned $($r.ReturnValue)")
                }
            }
        }
    }
}

function Restore-LoopbackIsolation {
    param ($Marker, [int]$Index)
    if ($Marker.Loopback.ContainsKey('RegisterThisConnectionsAddress')) {
        $dns = Get-DnsClient -InterfaceIndex $Index -ErrorAction SilentlyContinue
        if ($dns -and -not $dns.RegisterThisConnectionsAddress) {
            if (Register-Change "restore DNS registration on '$AdapterName'") {
                Set-DnsClient -InterfaceIndex $Index -RegisterThisConnectionsAddress $true
            }
        }
    }
    if ($Marker.Loopback.ContainsKey('TcpipNetbiosOptions')) {
        $want = [int]$Marker.Loopback['TcpipNetbiosOptions']
        $cfg = Get-CimInstance -ClassName Win32_NetworkAdapterConfiguration -Filter "InterfaceIndex=$Index" -ErrorAction SilentlyContinue
        if ($cfg -and $cfg.IPEnabled -and [int]$cfg.TcpipNetbiosOptions -ne $want) {
            if (Register-Change "restore NetBIOS setting $want on '$AdapterName'") {
                Invoke-CimMethod -InputObject $cfg -MethodName SetTcpipNetbios `
                    -Arguments @{ TcpipNetbiosOptions = [uint32]$want } | Out-Null
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
        $snap.addresses = @(Get-VipAddress ([int]$adapter.ifIndex) |
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
$marker = $null
$lanIndex = $null
try {
    $marker = Get-Marker
    $adapter = Find-LoopbackAdapter $marker
    if ($State -eq 'present' -and $Vips.Count -gt 0 -and $LanWeakHost) {
        $lanIndex = Get-LanInterfaceIndex $(if ($adapter) { [int]$adapter.ifIndex } else { -1 })
    }
    $before = Get-Snapshot $lanIndex

    if ($State -eq 'present' -and $Vips.Count -gt 0) {
        foreach ($ip in $Vips) {
            $elsewhere = @(Get-NetIPAddress -IPAddress $ip -ErrorAction SilentlyContinue |
                    Where-Object { -not $adapter -or $_.InterfaceIndex -ne $adapter.ifIndex })
            if ($elsewhere.Count -gt 0) {
                $other = $elsewhere[0].InterfaceAlias
                $module.Warn("VIP $ip is also configured on interface '$other': that interface answers ARP/ND for it, which breaks LVS-DR.")
            }
        }
        if (-not $adapter) { $adapter = New-LoopbackAdapter $marker }
        if ($adapter) {
            $index = [int]$adapter.ifIndex
            if ($adapter.PnPDeviceID -and [string]$marker.InstanceId -ne [string]$adapter.PnPDeviceID) {
                # A loopback adapter with this name that the module did not create: use it, never remove it.
                $marker.InstanceId = [string]$adapter.PnPDeviceID
                $marker.Created = $false
            }
            Set-LoopbackIsolation $marker $index
            Sync-Vip $index $Vips.ToArray()
            $keep = @(Get-IfGuid $index)
            Set-WeakHost -Marker $marker -Index $index -Families $families
            if ($null -ne $lanIndex) {
                $keep += Get-IfGuid $lanIndex
                Set-WeakHost -Marker $marker -Index $lanIndex -Families $families
            }
            # an interface used before (another director-facing NIC) gets its old values back
            Restore-WeakHost $marker $keep
            Save-Marker $marker
        }
    }
    else {
        # absent, or present without VIPs: undo, keep the adapter unless absent and created here
        if ($adapter) {
            $index = [int]$adapter.ifIndex
            Sync-Vip $index @()
            Restore-LoopbackIsolation $marker $index
        }
        Restore-WeakHost $marker @()
        if ($State -eq 'absent') {
            if ($adapter -and $marker.Created) {
                if (Register-Change "remove loopback adapter '$AdapterName' ($($marker.InstanceId))") {
                    Initialize-SetupApi
                    [LvsCluster.LoopbackDevice]::Remove($NetClassGuid, $marker.InstanceId)
                }
            }
            Remove-Marker
        }
        elseif ($marker.InstanceId) {
            Save-Marker $marker
        }
    }

    if ($inCheckMode) {
        # the predicted state
        $after = [ordered]@{ adapter = $null; addresses = @(); weak_host = [ordered]@{} }
        if ($State -eq 'present' -and $Vips.Count -gt 0) {
            $after.adapter = $AdapterName
            $after.addresses = @($Vips | ForEach-Object { if ($_.Contains(':')) { "$_/128" } else { "$_/32" } } | Sort-Object)
            foreach ($k in $before.weak_host.Keys) { $after.weak_host[$k] = $before.weak_host[$k] }
            $names = @($AdapterName)
            if ($null -ne $lanIndex) { $names += (Get-NetAdapter -InterfaceIndex $lanIndex).Name }
            foreach ($n in $names) { foreach ($f in $families) { $after.weak_host["$n $f"] = 'receive=Enabled send=Enabled' } }
        }
        elseif ($adapter -and -not ($State -eq 'absent' -and $marker.Created)) {
            $after.adapter = $AdapterName
            $after.weak_host = $before.weak_host
        }
    }
    else {
        $after = Get-Snapshot $lanIndex
    }
}
catch {
    # Errors that name an option are thrown as "<option>: ..." by the functions above.
    $message = $_.Exception.Message
    if ($script:changes.Count -gt 0 -and -not $inCheckMode) {
        $message += " (steps run, the last one failed: $($script:changes -join '; '))"
    }
    $module.Result.changed = ($script:changes.Count -gt 0) -and -not $inCheckMode
    $module.Result.changes = @($script:changes)
    $module.FailJson($message, $_)
}

$module.Result.changed = $script:changes.Count -gt 0
$module.Result.changes = @($script:changes)
$module.Result.adapter = $after.adapter
$module.Result.addresses = @($after.addresses)
$module.Result.instance_id = if ($marker.InstanceId) { [string]$marker.InstanceId } else { $null }
$module.Result.owns_adapter = [bool]$marker.Created
$module.Diff.before = $before
$module.Diff.after = $after
$module.ExitJson()
