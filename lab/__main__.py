"""`python -m lab ...`: the lvslab command (lab/bin/lvslab runs this)."""
import sys

from lab.cli import main

sys.exit(main())
