#!/usr/bin/env python
"""Kemitraan command line: run partnership scenarios and write tidy results.

    python run_simulation.py                      # the default comparison of all scenarios
    python run_simulation.py --scenario scenarios/msp.toml --set factors.trust=0.2
    python run_simulation.py levers               # every lever with default, range and source

Bad input (a missing or malformed scenario, an unknown key, an out-of-range value, an output
folder that exists) ends with one clear message and exit code 2.
"""

from __future__ import annotations

import sys

from sim.present.cli import main

if __name__ == "__main__":
    sys.exit(main())
