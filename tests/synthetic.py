"""Shared test data: the metadata of a synthetic posterior file (not a calibration result)."""

SYNTHETIC_META = {
    "method": "synthetic (test only)",
    "targets_fit": [],
    "targets_held_out": [],
    "size": "ci",
    "runs": 0,
    "commit": "test",
    "created": "2026-12-04T08:30:00Z",
}
