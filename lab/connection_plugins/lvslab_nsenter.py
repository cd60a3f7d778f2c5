# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""community.docker.nsenter with pipelining, for the lab's hosts.

The nsenter connection already hands a command its stdin; it only declares no
pipelining because of become prompts, which lab hosts (root) never need. With
pipelining a task is one nsenter instead of four or five (temp dir, copy,
chmod, run, clean up), and every process start is costly in the lab kernel.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: lvslab_nsenter
short_description: nsenter into a lab host, with pipelining
description:
  - community.docker.nsenter with C(has_pipelining) set; lab hosts run as root without become.
author: lvs.cluster contributors
options:
  nsenter_pid:
    description:
      - PID of a process in the lab host's namespaces (its init).
      - Required, unlike community.docker.nsenter's default of 1, which would be the lab kernel itself.
    type: int
    required: true
    vars:
      - name: ansible_nsenter_pid
    env:
      - name: ANSIBLE_NSENTER_PID
    ini:
      - section: nsenter_connection
        key: nsenter_pid
"""

from ansible_collections.community.docker.plugins.connection.nsenter import Connection as NsenterConnection


class Connection(NsenterConnection):
    transport = "lvslab_nsenter"
    has_pipelining = True
