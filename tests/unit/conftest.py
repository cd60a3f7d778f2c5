"""Unit tests: pure logic (parsing, rendering, validation), on the machine.

The collection is imported as ansible_collections.lvs.cluster through
.lab/collections (made by `make setup`).
"""
import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, ".lab", "collections"))
sys.path.insert(0, os.path.join(REPO, "lab"))
