"""What every part of the lab shares: its paths, its error and running a command."""
import os
import subprocess

LAB_HOME = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(LAB_HOME)
# The lvslab command (lab/bin/lvslab): the package's CLI with the checkout on PYTHONPATH.
LVSLAB = os.path.join(LAB_HOME, "bin", "lvslab")
STATE_DIR = "/run/lab"
STATE_FILE = os.path.join(STATE_DIR, "state.json")
INVENTORY_FILE = os.path.join(STATE_DIR, "inventory.yml")


class LabError(Exception):
    """A lab operation that cannot be done; the CLI prints it and exits 1."""


def sh(*argv, check=True, capture=False):
    """Run argv; raise LabError with its stderr when it fails (and check is true)."""
    res = subprocess.run(argv, check=False, text=True,
                         stdout=subprocess.PIPE if capture else None,
                         stderr=subprocess.PIPE if capture else None)
    if check and res.returncode != 0:
        raise LabError("command failed (%d): %s %s" % (res.returncode, " ".join(argv),
                                                        (res.stderr or "").strip()))
    return res


def inside():
    """True in the lab kernel (the controller and what it starts), False on the machine."""
    return os.environ.get("LVSLAB_INSIDE") == "1"


def out_file(name):
    """A file of the running lab in its output folder (what the machine's side reads)."""
    out = os.environ.get("LVSLAB_OUT")
    if not out:
        raise LabError("no lab is running here (use 'lvslab run -- COMMAND')")
    return os.path.join(out, name)


def write_atomic(path, text):
    """Replace the file at path with text in one step (readers never see half a file)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
