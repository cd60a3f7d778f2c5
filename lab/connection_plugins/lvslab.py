# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reach a lab host from the machine through the lab broker (lab/broker.py).

The Ansible controller runs on the machine, only the managed hosts live in the
lab kernel. Each command is one request to the broker, which carries it over the
lab kernel's serial line to the agent inside; the agent runs it in the host's
namespaces, as sshd would on a real host. Lab hosts run as root and need no
become, so pipelining is on: a task is one request.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: lvslab
short_description: run commands in a lab host through the lab broker
description:
  - Each command becomes one request on the lab broker's unix socket; the agent in the lab kernel runs it in the
    lab host's namespaces. Files are copied through the same channel. Pipelining is supported.
author: lvs.cluster contributors
options:
  remote_addr:
    description: the lab host's name (the inventory host name by default)
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  socket:
    description: the broker's unix socket (set by C(lvslab run))
    type: str
    env:
      - name: LVSLAB_SOCKET
    vars:
      - name: ansible_lvslab_socket
"""

import os
import re
import shlex

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

# The lab package: the checkout is on PYTHONPATH under `lvslab run` (lab.machine.command_env),
# the only place a lab host can be reached from.
from lab import client as lvslab_client

display = Display()

# How a pipelined module payload is started (ActionBase with pipelining): such
# a payload goes to the host's resident Python (lab/zygote.py) instead of
# a new interpreter, unless LVSLAB_RESIDENT_PYTHON=0.
PIPELINED_PYTHON = re.compile(r"^/bin/sh -c '(/usr/bin/python3(?:\.\d+)?) && sleep 0'$")


class Connection(ConnectionBase):
    """Ansible connection to a lab host: each command one request to the lab broker."""
    transport = "lvslab"
    has_pipelining = True

    def _connect(self):
        # The agent runs commands as root, as the lab hosts' only user.
        self._play_context.remote_user = "root"
        if not self._connected:
            display.vvv("ESTABLISH LVSLAB CONNECTION", host=self._host())
            self._connected = True
        return self

    def _host(self):
        return self.get_option("remote_addr") or self._play_context.remote_addr

    def _run(self, argv, in_data=None, kind="host"):
        socket_path = self.get_option("socket")
        if socket_path:
            os.environ["LVSLAB_SOCKET"] = socket_path
        try:
            rc, out, err, error = lvslab_client.run(argv, host=self._host(), input=in_data, kind=kind)
        except lvslab_client.LabUnavailable as exc:
            raise AnsibleConnectionFailure(to_native(exc))
        if error and rc in (125, 127):
            # The request itself failed (host off, line stalled): like ssh's 255.
            raise AnsibleConnectionFailure("lab host %s: %s" % (self._host(), error))
        return rc, out, err

    def exec_command(self, cmd, in_data=None, sudoable=True):
        """Run cmd in the lab host (a pipelined module payload in its resident Python); rc, stdout, stderr."""
        super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        display.vvv("EXEC %s" % to_text(cmd), host=self._host())
        match = PIPELINED_PYTHON.match(to_text(cmd))
        if match and in_data and os.environ.get("LVSLAB_RESIDENT_PYTHON", "1") != "0":
            return self._run([match.group(1)], in_data=in_data, kind="python")
        return self._run(["/bin/sh", "-c", to_text(cmd)], in_data=in_data)

    def put_file(self, in_path, out_path):
        """Copy a machine file into the lab host."""
        super(Connection, self).put_file(in_path, out_path)
        display.vvv("PUT %s TO %s" % (in_path, out_path), host=self._host())
        try:
            with open(to_bytes(in_path, errors="surrogate_or_strict"), "rb") as f:
                data = f.read()
        except IOError as exc:
            raise AnsibleError("failed to read %s: %s" % (in_path, to_native(exc)))
        rc, out, err = self._run(["/bin/sh", "-c", "cat > %s" % shlex.quote(out_path)], in_data=data)
        if rc != 0:
            raise AnsibleError("failed to transfer file to %s: %s" % (out_path, to_native(err)))

    def fetch_file(self, in_path, out_path):
        """Copy a file of the lab host to the machine."""
        super(Connection, self).fetch_file(in_path, out_path)
        display.vvv("FETCH %s TO %s" % (in_path, out_path), host=self._host())
        rc, out, err = self._run(["cat", in_path])
        if rc != 0:
            raise AnsibleError("failed to fetch %s: %s" % (in_path, to_native(err)))
        with open(to_bytes(out_path, errors="surrogate_or_strict"), "wb") as f:
            f.write(out)

    def close(self):
        """Nothing to close: every request is its own connection."""
        self._connected = False
