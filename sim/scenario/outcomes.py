"""The model's outcomes, declared once.

The model records these at step 0 and after every step (defined in docs/ODD.md); intervention
triggers (``when``), sweeps, plots and tests read the names from here.
"""

from __future__ import annotations

__all__ = ["OUTCOMES"]

OUTCOMES = (
    "welfare_mean",
    "welfare_q1",
    "access_mean",
    "capacity_mean",
    "empowerment_mean",
    "income_mean",
    "welfare_gini",
    "income_gini",
    "welfare_atkinson",
    "welfare_sen",
    "mpi_h",
    "mpi_a",
    "mpi_m0",
    "trust_partners",
    "trust_community",
    "shared_understanding",
    "power_balance",
    "community_voice",
    "contribution_rate",
    "pooled_resources",
    "delivered",
    "leakage",
    "partnership_active",
    "partnership_size",
    "spent",
)
"""Model-level outcomes recorded at step 0 and after every step (defined in docs/ODD.md)."""
