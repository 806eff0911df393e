"""Phase 6, trust: partners learn from each other's conduct, households from what they receive.

Partners seen directly are judged by their conduct; the others by the joint output against
plan net of expected leakage, which carries shirking, coordination costs and misunderstanding
alike (attribution under noise: Kollock 1993; Van Lange, Ouwerkerk & Tazelaar 2002, JPSP
82:768). Households compare the benefits they received with what each programme announced,
and trust spreads along their social ties (docs/ODD.md, submodel 7.6). The rules are
:mod:`sim.mechanisms.dynamics`'s; this module applies them to one step's arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from sim.mechanisms import dynamics, kernels
from sim.mechanisms.governance import beliefs
from sim.mechanisms.partnership import COMMUNITY, Partnership
from sim.model.delivery import Scratch
from sim.model.step import Parties, StepRecord
from sim.scenario.schema import DynamicsSection

__all__ = ["Diffusion", "household_trust", "household_trust_in_several", "partner_experience"]


def partner_experience(
    p: Partnership, observed: np.ndarray, trust: np.ndarray, d: DynamicsSection
) -> np.ndarray:
    """Members' trust after this step's experience of each other; updates their beliefs."""
    inferred = np.where(observed, p.contribution[None, :], p.signal)
    direct = dynamics.partner_experience(p.contribution, p.unfairness, p.weights)
    seen = dynamics.partner_experience(np.ones(p.size), p.unfairness, p.weights)
    experience = np.where(observed, direct, seen * p.signal)
    new = dynamics.trust_update(trust, experience, d.trust_gain, d.trust_loss)
    p.belief = beliefs(inferred, p.belief)
    return new


class Diffusion:
    """The households' trust diffusion operator, rebuilt when the rate changes.

    The social ties do not change after step 0; the rate may (an intervention on
    ``dynamics.household_diffusion``).

    Example:
        >>> ties = sp.csr_array(np.array([[0.0, 1.0], [1.0, 0.0]]))
        >>> d = Diffusion(ties)
        >>> d.operator(0.5).toarray().tolist(), d.operator(0.0)
        ([[0.0, 0.5], [0.5, 0.0]], None)
    """

    def __init__(self, social_ties: sp.csr_array) -> None:
        self.social_ties = social_ties
        self._rate: float | None = None
        self._operator: sp.csr_array | None = None

    def operator(self, rate: float) -> sp.csr_array | None:
        """The diffusion operator at ``rate``; ``None`` with no ties or a zero rate."""
        if rate <= 0 or not self.social_ties.nnz:
            return None
        if self._operator is None or self._rate != rate:
            self._rate, self._operator = rate, dynamics.diffusion_operator(self.social_ties, rate)
        return self._operator


def household_trust(
    p: Partnership | None,
    parties: Parties,
    record: StepRecord,
    scratch: Scratch,
    diffusion: sp.csr_array | None,
    d: DynamicsSection,
) -> None:
    """Households update their trust in the organizations that served them, then talk.

    ``diffusion`` is :func:`~sim.mechanisms.dynamics.diffusion_operator` of the households'
    social ties at ``d.household_diffusion`` (``None``: no diffusion, no ties or a zero rate).
    """
    hh = parties.hh
    programmes = [(name, got) for name, got in record.received.items() if record.promised[name] > 0]
    # A large district with diffusion runs the last programme's update into a scratch array
    # and diffuses from it back into the households' trust (two compiled passes, no copy).
    staged = None
    for k, (programme, received) in enumerate(programmes):
        experience = np.minimum(1.0, received / record.promised[programme])
        area = record.areas[programme]
        orgs = (
            [m for m in p.members if m != COMMUNITY] if programme == "partnership" else [programme]
        )
        if len(orgs) > 1 and area.size == len(hh):
            cols = [parties.index[o] for o in orgs]
            if (
                diffusion is not None
                and k == len(programmes) - 1
                and sorted(cols) == list(range(hh.trust.shape[1]))
                and kernels.enabled(len(hh))
            ):
                staged = scratch("trust_b", zero=False, like=hh.trust)
            household_trust_in_several(
                hh.trust,
                experience,
                cols,
                parties.structure.tied_weight,
                d,
                scratch,
                tied=parties.structure.tied,
                out=staged,
            )
            continue
        for org in orgs:
            col = parties.index[org]
            idx, seen = _tied_in(parties, area, experience, org)
            hh.trust[idx, col] = dynamics.trust_update(
                hh.trust[idx, col], seen, d.trust_gain, d.trust_loss
            )
    if diffusion is None:
        return
    if staged is not None:  # the same bits as the numpy forms below
        kernels.diffuse(staged, diffusion, d.household_diffusion, out=hh.trust)
        return
    dynamics.diffuse(hh.trust, diffusion, d.household_diffusion, out=hh.trust)
    # A mean of trusts is a trust, but the rounded weights ω/deg can carry a mean of ones
    # a unit in the last place past 1 (products of non-negatives cannot go below 0).
    np.minimum(hh.trust, 1.0, out=hh.trust)


def household_trust_in_several(
    trust: np.ndarray,
    experience: np.ndarray,
    cols: Sequence[int],
    tied_weight: np.ndarray,
    d: DynamicsSection,
    scratch: Scratch | None = None,
    *,
    tied: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> None:
    """Households' trust in several organizations after one programme served everyone.

    ``experience`` (n,) is each household's; only households tied to an organization update
    their trust in it (its ties, ``tied_weight``, are the mask; ``tied``, the same as bools,
    lets a large district run the compiled form, :func:`sim.mechanisms.kernels.trust_step`,
    with the same bits). The arithmetic per entry is that of one organization at a time, in
    one pass over the columns ``cols`` of ``trust``. ``out`` (all the organizations only)
    receives the result instead of ``trust``.
    """
    if sorted(cols) == list(range(trust.shape[1])):  # all of them: no gather, no scatter
        if tied is not None and kernels.enabled(len(trust)):
            kernels.trust_step(trust, experience, tied, d.trust_gain, d.trust_loss, out=out)
            return
        work = None
        if scratch is not None and out is None:
            work = (scratch("trust_a", zero=False, like=trust), scratch("trust_b", False, trust))
        dynamics.trust_update(
            trust,
            experience[:, None],
            d.trust_gain,
            d.trust_loss,
            observed=tied_weight,
            out=trust if out is None else out,
            work=work,
        )
    elif out is not None:
        raise ValueError("out is for a programme of every organization")
    else:
        trust[:, cols] = dynamics.trust_update(
            trust[:, cols],
            experience[:, None],
            d.trust_gain,
            d.trust_loss,
            observed=tied_weight[:, cols],
        )


def _tied_in(
    parties: Parties, area: np.ndarray, values: np.ndarray, org: str
) -> tuple[np.ndarray | slice, np.ndarray]:
    """The households of ``area`` tied to ``org``, and their entries of ``values``.

    The households come as an index array, or as a slice when they are everyone (which spares
    a gather and a scatter over all households).
    """
    own = parties.served(org)
    structure = parties.structure
    if area is structure.service_areas[org]:  # a solo programme: its area is the service area
        return own, values
    if area.size == len(parties.hh):  # everyone: the service area, in the same order
        return own, values if isinstance(own, slice) else values[own]
    tied = structure.tied[area, parties.index[org]]
    return np.compress(tied, area), np.compress(tied, values)
