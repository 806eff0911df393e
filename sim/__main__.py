"""``python -m sim``: the same command line as ``run_simulation.py`` and ``kemitraan``."""

import sys

from sim.present.cli import main

if __name__ == "__main__":
    sys.exit(main())
