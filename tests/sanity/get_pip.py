"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test creates an empty virtual environment per sanity test and runs
https://ci-files.testing.ansible.com/ansible-test/get-pip-<version>.py in it
with pip install arguments (`--disable-pip-version-check pip==24.2
--no-setuptools --no-wheel`). That host is not reachable here; the Python
standard library's ensurepip installs a pip, which then installs the pinned
pip from the configured package index. tests/sanity.sh puts this file where
ansible-test looks for its cached copy.
"""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--quiet'] + args)
