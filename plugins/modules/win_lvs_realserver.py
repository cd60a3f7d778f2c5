#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the module is win_lvs_realserver.ps1, run on the Windows host.

DOCUMENTATION = r'''
---
module: win_lvs_realserver
short_description: Prepare a Windows Server host as an LVS-DR real server (loopback adapter, VIPs, weak host)
version_added: "0.1.0"
description:
  - Puts the VIPs of an LVS-DR (or TUN) service on a Microsoft KM-TEST loopback adapter, as IPv4 /32
    and IPv6 /128, and enables weak host receive and send on that adapter and on the interface facing
    the director, so the host accepts and answers packets for the VIPs without answering ARP or
    neighbour discovery for them (Windows answers only for addresses of the receiving interface).
  - "O(state=present): finds the loopback adapter named O(adapter_name), or creates one: a
    root-enumerated device with hardware id C(*MSLOOP) and the in-box driver C(%windir%\\INF\\netloop.inf),
    created through SetupAPI the way C(devcon.exe) does it (no download), then renamed. Its PnP
    instance id is recorded under C(HKLM:\\SOFTWARE\\lvs.cluster\\realserver_windows\\<adapter_name>),
    so a later run finds it again (even if renamed) and never creates a second one. An existing adapter
    of that name must be a loopback adapter; it is used but never removed."
  - The adapter is dedicated to the VIPs. The module sets exactly O(vips) on it (other manual addresses
    on it are removed), in the active and persistent store, disables DNS registration, DHCP, NetBIOS
    over TCP/IP (O(disable_netbios)) and any default route on it.
  - Weak host receive and send are enabled for the address families of the VIPs on the loopback and,
    with O(lan_weak_host), on the director-facing interface (O(lan_interface), O(lan_address), or the
    interface of the best default route). The previous values are recorded and restored when the
    interface is no longer used.
  - "O(state=absent), or O(state=present) with no VIPs: removes the VIPs and restores the recorded
    weak host, DNS registration and NetBIOS values; O(state=absent) also removes the adapter if this
    module created it, and the registry record."
  - Every option is checked before anything is read or changed on the host; an error names the
    option. Loopback, unspecified, multicast, link-local and broadcast addresses are refused as VIPs.
  - B(Never run on Windows.) The project has no Windows host; the module is parsed and its argument
    spec is checked against this documentation, but it has not been executed. Try it on a test machine
    first (C(tests/windows/) in the source repository).
author: lvs.cluster developers (!UNKNOWN)
options:
  state:
    description: C(present) configures the real server, C(absent) removes what the module added.
    type: str
    choices: [present, absent]
    default: present
  adapter_name:
    description:
      - Name (interface alias) of the loopback adapter that carries the VIPs.
      - Must not be empty or contain a backslash, a slash or a double quote (it is part of a registry path).
    type: str
    default: lvs-loopback
  vips:
    description:
      - The VIPs, plain IPv4 or IPv6 addresses without a prefix; IPv4 get /32, IPv6 /128.
      - Duplicates (also differently written IPv6 addresses) are merged.
      - An empty list with O(state=present) removes the VIPs and restores the interface settings but
        keeps the adapter. Ignored (with a warning) with O(state=absent).
    type: list
    elements: str
    default: []
  lan_interface:
    description:
      - Interface alias (for example C(Ethernet)) of the interface facing the director, which gets weak
        host receive/send when O(lan_weak_host=true).
      - Without O(lan_interface) and O(lan_address), the interface of the best default route (lowest
        route plus interface metric, not the loopback adapter) is used.
    type: str
  lan_address:
    description:
      - An IP address held by the interface facing the director, which selects that interface.
    type: str
  lan_weak_host:
    description:
      - Enable weak host receive/send on the director-facing interface too (needed since Windows
        Server 2008 R2). Disable only if you manage it yourself.
    type: bool
    default: true
  skip_as_source:
    description:
      - Add the VIPs with C(SkipAsSource), so Windows never picks a VIP as the source address of
        connections it opens itself (replies to connections to a VIP still come from the VIP).
    type: bool
    default: true
  disable_netbios:
    description: Disable NetBIOS over TCP/IP on the loopback adapter (DNS registration is always disabled on it).
    type: bool
    default: true
notes:
  - Supports check mode (nothing is changed; RV(changes) lists what would be) and diff mode (the
    adapter, its addresses and the weak host settings before and after; in check mode "after" is the
    predicted state).
  - Written for Windows Server 2016, 2019, 2022 and 2025 (Windows PowerShell 5.1).
  - Windows cannot decapsulate IP-in-IP, so an LVS-TUN real server needs third-party software for the
    tunnel; the VIPs are configured as for DR.
seealso:
  - module: lvs.cluster.vip_address
  - module: lvs.cluster.arp_sysctl
'''

EXAMPLES = r'''
- name: DR real server for two VIPs, weak host on the interface of the default route
  lvs.cluster.win_lvs_realserver:
    vips: [192.0.2.100, 2001:db8::100]

- name: Director-facing interface chosen by an address it holds, NetBIOS left alone
  lvs.cluster.win_lvs_realserver:
    adapter_name: vip-loopback
    vips: [192.0.2.100]
    lan_address: 192.0.2.31
    disable_netbios: false

- name: Remove the VIPs, restore the settings and remove the adapter (if created here)
  lvs.cluster.win_lvs_realserver:
    state: absent
'''

RETURN = r'''
changes:
  description: What was changed, in order (in check mode, what would be changed).
  returned: always
  type: list
  elements: str
  sample: ["create loopback adapter 'lvs-loopback' (*MSLOOP, netloop.inf)", "add 192.0.2.100/32 to 'lvs-loopback'"]
adapter:
  description: Name of the loopback adapter after the task, null when there is none.
  returned: success
  type: str
  sample: lvs-loopback
addresses:
  description: The manual addresses on the adapter after the task (predicted in check mode).
  returned: success
  type: list
  elements: str
  sample: ["192.0.2.100/32", "2001:db8::100/128"]
instance_id:
  description: PnP instance id of the adapter, as recorded in the registry; null when none is known.
  returned: success
  type: str
  sample: ROOT\NET\0000
owns_adapter:
  description: Whether this module created the adapter (O(state=absent) then removes it).
  returned: success
  type: bool
  sample: true
'''
