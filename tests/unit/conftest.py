"""Unit tests: pure logic (parsing, rendering, validation), on the machine.

The collection is imported as ansible_collections.lvs.cluster through
.lab/collections (made by `make setup`) and the lab package as `lab`: both are
on pytest's pythonpath (pytest.ini at the repository's root).
"""
