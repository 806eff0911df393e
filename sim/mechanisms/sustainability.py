"""Sustainability: external funding, operation and maintenance (O&M), and a community O&M body.

What lasts after a programme ends depends on who pays for what (docs/ODD.md, submodel 7.11):

* **External funding.** Part of each organization's budget is external (donor grants or loans,
  a programme's money); the rest is its own (a government's recurrent budget, a firm's CSR).
  The funding horizon ends only the external part (:func:`available_share`).
* **Operation and maintenance.** Assets built by programmes (the access services: health
  posts, schools, roads and water) depreciate unless someone maintains them. Their owner
  decides who: assets a partnership builds with the community as a partner are the
  community's, maintained by a community O&M body (a user committee; in PNPM the *kelompok
  pengguna dan pemelihara*, KPP); assets of agencies acting alone are maintained from the
  agency's recurrent O&M budget, if any (:func:`om_share`).
* **Institutional persistence.** The community body forms while an externally funded
  partnership facilitates it and the community has a say, and erodes where users do not pay
  their contributions; users pay for a service in proportion to how much of it works
  (:func:`user_payment`, :func:`om_body_step`). A body that loses its users' payments stops
  maintaining, the service decays, payments fall further: the feedback by which community
  management either lasts or collapses (Foster 2013; Foster & Hope 2016; Regmi 2008).

Every function is pure; the model owns the state (:class:`Upkeep`).

Example:
    >>> available_share(np.array([0.0, 1.0]), 0.2)
    array([1. , 0.2])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Upkeep",
    "available_share",
    "external_factor",
    "om_body_step",
    "om_share",
    "service_continuity",
    "upkeep_share",
    "user_payment",
]


@dataclass
class Upkeep:
    """The state of upkeep, owned by the model.

    Attributes:
        body: strength of the community O&M body in [0, 1] (0: none, or collapsed).
        peak_access: the highest mean access reached so far (the reference of
            :func:`service_continuity`).
        share: mean share of the access services' depreciation offset in the last step.
    """

    body: float = 0.0
    peak_access: float = 0.0
    share: float = 0.0


def external_factor(step: int, horizon: int, after: float) -> float:
    """Share of external funding that flows at ``step``: ``after`` once ``step > horizon > 0``.

    Example:
        >>> external_factor(36, 36, 0.2), external_factor(37, 36, 0.2), external_factor(99, 0, 0.2)
        (1.0, 0.2, 1.0)
    """
    return after if 0 < horizon < step else 1.0


def available_share(external_share: np.ndarray, factor: float) -> np.ndarray:
    """Share of each organization's budget available: ``a = 1 − s (1 − f)``.

    ``s`` is the external (donor or programme) share of the budget, ``f`` the share of
    external funding still flowing (:func:`external_factor`). The organization's own part
    ``1 − s`` is never cut by the funding horizon.

    Example:
        >>> available_share(np.array([0.0, 0.5, 1.0]), 0.0)
        array([1. , 0.5, 0. ])
    """
    return 1.0 - np.asarray(external_share, dtype=float) * (1.0 - factor)


def user_payment(compliance: float, service: float) -> float:
    """Share of users who pay their O&M contribution: ``p = c · v``.

    ``c`` is the share who pay for a fully working service, ``v`` in [0, 1] the service level
    (mean access). Payment follows the value users get from the service: non-payment is
    widespread and is predicted by the service's quality and use (Foster & Hope 2016, J. Rural
    Stud. 47:85, abstract); the linear form is an assumption.

    Example:
        >>> user_payment(0.8, 0.5)
        0.4
    """
    return compliance * service


def om_body_step(
    strength: float,
    facilitation: float,
    payment: float,
    formation_rate: float,
    decay_rate: float,
) -> float:
    """One month of the community O&M body: ``S' = S + r_f b (1 − S) − r_d (1 − p) S``.

    ``b`` in [0, 1] is the facilitation the body receives (an externally funded partnership in
    which the community has a say), ``p`` the share of users who pay. Without facilitation the
    body persists only where users pay; where they do not, it erodes at rate ``r_d`` (a
    majority of communities fail to sustain revenue collection: Foster & Hope 2016; absence of
    user fee collection predicts non-functional handpumps in all three countries studied:
    Foster 2013, Environ. Sci. Technol., doi:10.1021/es402086n, abstract). Farmer-managed
    irrigation systems in Nepal outperform agency-managed ones on most measures (Regmi 2008,
    J. Dev. Sustain. Agric. 3:20, abstract). The linear form is an assumption. The result
    stays in [0, 1] when every argument is in [0, 1].

    Example:
        >>> om_body_step(0.5, 1.0, 1.0, 0.1, 0.2)
        0.55
        >>> om_body_step(0.5, 0.0, 0.0, 0.1, 0.2)
        0.4
    """
    return (
        strength
        + formation_rate * facilitation * (1.0 - strength)
        - decay_rate * (1.0 - payment) * strength
    )


def om_share(body: float, coverage: float, agency: float) -> float:
    """Share of the assets' depreciation that funded O&M offsets: ``m = min(1, κ S + a)``.

    ``κ S``: a community body of strength ``S`` maintains up to ``κ`` (``om_coverage``);
    ``a``: what the owning agencies' recurrent O&M budgets maintain (``om_agency``).

    Example:
        >>> om_share(0.5, 0.8, 0.0), om_share(1.0, 0.8, 0.5)
        (0.4, 1.0)
    """
    return min(1.0, coverage * body + agency)


def upkeep_share(community: np.ndarray, om: float) -> np.ndarray:
    """The assets' maintained share per household: ``μ = 1 − (1 − μ_h)(1 − m)``.

    ``μ_h`` is the households' own informal upkeep (``maintenance · capacity · empowerment``),
    ``m`` the funded O&M of :func:`om_share`; the two act independently. With ``m = 0`` it is
    ``μ_h`` itself (returned unchanged, so the shares' bits do not move).

    Example:
        >>> upkeep_share(np.array([0.0, 0.5]), 0.5)
        array([0.5 , 0.75])
    """
    if om == 0.0:
        return community
    return 1.0 - (1.0 - community) * (1.0 - om)


def service_continuity(access: float, peak: float) -> float:
    """Share of the best service level reached that still works: ``min(1, a_t / max_{τ<t} a_τ)``.

    A functionality rate in the spirit of water-point monitoring (share of built points still
    working; 79.4% of 1,509 Ghanaian water sources: Fisher et al. 2015, Water Resour. Res.,
    doi:10.1002/2014WR016770, abstract); 1 while services hold or grow beyond ``peak``.

    Example:
        >>> service_continuity(0.3, 0.6), service_continuity(0.7, 0.6)
        (0.5, 1.0)
    """
    return min(1.0, access / peak) if peak > 0 else 1.0
