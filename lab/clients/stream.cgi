#!/usr/bin/python3
"""CGI of the real servers' test web: a long-lived response, one line every 0.2 s.

Installed by lab/failover/clients.py as /cgi-bin/stream; the client's
connections to it must survive a director fail-over when IPVS syncs them.
QUERY_STRING: how many lines (default 1500, i.e. 5 minutes).
"""
import os
import socket
import sys
import time

lines = int(os.environ.get("QUERY_STRING") or 1500)
sys.stdout.write("Content-Type: text/plain\r\n\r\n")
sys.stdout.flush()
name = socket.gethostname()
for i in range(lines):
    sys.stdout.write("%s %d\n" % (name, i))
    sys.stdout.flush()
    time.sleep(0.2)
