#!/usr/bin/env bash
# ansible-test sanity (and, with `units` as first argument, ansible-test units)
# for the collection.
#
# ansible-test wants the collection at .../ansible_collections/lvs/cluster as a
# real directory, so the tracked files (plus untracked files not ignored by
# git) are copied into .lab/sanity/ansible_collections/lvs/cluster, made a git
# repository there (ansible-test lists files through git), and tested with the
# venv's ansible-test. Extra arguments go to ansible-test.
#
#   tests/sanity.sh                       # all sanity tests
#   tests/sanity.sh --test pep8           # one sanity test
#   tests/sanity.sh units                 # ansible-test units, pure-logic tests
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VENV:-$REPO/.venv}"
PYTHON_VERSION="${PYTHON_VERSION:-3.11}"
COMMAND=sanity
if [ "${1:-}" = units ] || [ "${1:-}" = sanity ]; then
  COMMAND=$1
  shift
fi

DEST="$REPO/.lab/sanity/ansible_collections/lvs/cluster"
rm -rf "$DEST"
mkdir -p "$DEST"
cd "$REPO"
# Files deleted in the work tree but still tracked are skipped, and so is what
# galaxy.yml's build_ignore keeps out of the built collection (the lab,
# molecule scenarios, ...): the copy is what `ansible-galaxy collection build`
# ships, as far as git knows about it.
git ls-files -z --cached --others --exclude-standard \
  | "$VENV/bin/python" -c '
import fnmatch, os, sys, yaml
with open("galaxy.yml") as f:
    ignore = (yaml.safe_load(f) or {}).get("build_ignore") or []
# the patterns ansible-galaxy always adds (but galaxy.yml, which ansible-test reads)
ignore += ["MANIFEST.json", "FILES.json", ".git", "*.pyc", "*.retry",
           "tests/output", "lvs-cluster-*.tar.gz"]
ignore_dirs = {"CVS", ".bzr", ".hg", ".git", ".svn", "__pycache__", ".tox"}
out = sys.stdout.buffer
for path in sys.stdin.buffer.read().decode().split("\0"):
    if not path or not os.path.lexists(path):
        continue
    parts = path.split("/")
    dirs = ["/".join(parts[:i]) for i in range(1, len(parts))]
    if any(os.path.basename(d) in ignore_dirs for d in dirs):
        continue
    if any(fnmatch.fnmatch(p, pat) for p in dirs + [path] for pat in ignore):
        continue
    out.write(path.encode() + b"\0")
' \
  | tar --null -T - -cf - \
  | tar -C "$DEST" -xf -

cd "$DEST"
git init -q
git add -A
git -c user.name=sanity -c user.email=sanity@localhost commit -q -m sanity

export PATH="$VENV/bin:$PATH"
unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_CONFIG
# ansible-test keeps one virtual environment per sanity test under
# ~/.ansible/test; keep them in .lab, and give ansible-test an offline
# stand-in for the pip bootstrap script it would download.
export HOME="$REPO/.lab/sanity/home"
PIP_VERSION="$(sed -n "s/^ *pip='\\([0-9.]*\\)',\$/\\1/p" \
  "$("$VENV/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py")"
mkdir -p "$HOME/.ansible/test/cache"
cp "$REPO/tests/sanity/get_pip.py" "$HOME/.ansible/test/cache/get_pip_${PIP_VERSION//./_}.py"
# The collections the roles depend on (ansible.posix, ...) come with the
# `ansible` package in the venv; ansible-test finds them next to ansible-core.
if [ "$COMMAND" = units ] && [ $# -eq 0 ]; then
  # The pure-logic unit tests. test_keepalived_template.py and
  # test_realserver_windows.py run ansible-playbook/ansible-doc against the
  # repository's .venv and .lab/collections; `make test-unit` runs them.
  set -- tests/unit/test_ipvs_model.py tests/unit/test_realserver_net.py tests/unit/test_os_family_vars.py \
    tests/unit/test_lvs_status.py
fi
exec "$VENV/bin/ansible-test" "$COMMAND" --python "$PYTHON_VERSION" --local --color no "$@"
