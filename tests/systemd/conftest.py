"""tests/systemd runs on the machine while a lab kernel runs lab/topologies/dr-systemd.yml:

    lvslab run -t lab/topologies/dr-systemd.yml -- pytest tests/systemd

The `lab` fixture is the one of tests/lab (commands through the lab broker).
"""
import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    "lab_conftest", os.path.join(os.path.dirname(__file__), "..", "lab", "conftest.py"))
_lab = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_lab)

lab = _lab.lab
pytest_collection_modifyitems = _lab.pytest_collection_modifyitems
