"""Pure rules: each a small function over arrays with its equation, its source and a doctest.

Modules here import only :mod:`sim.scenario` and :mod:`sim.errors`; they never see a model.
"""
