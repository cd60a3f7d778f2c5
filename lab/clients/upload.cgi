#!/usr/bin/python3
"""CGI of the real servers' test web: reads the request body, answers its length and SHA-256.

Installed by molecule/tun's verify as /cgi-bin/upload: a large upload from the
client through a TUN director must arrive byte for byte.
"""
import hashlib
import os
import sys

length = int(os.environ.get("CONTENT_LENGTH") or 0)
digest = hashlib.sha256()
left = length
while left > 0:
    chunk = sys.stdin.buffer.read(min(65536, left))
    if not chunk:
        break
    digest.update(chunk)
    left -= len(chunk)
sys.stdout.write("Content-Type: text/plain\r\n\r\n%d %s\n" % (length - left, digest.hexdigest()))
