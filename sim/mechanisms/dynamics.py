"""Dynamics among partners: communication, shared understanding, commitment and trust.

Every rule here is a small pure function over numpy arrays. The model gathers the state it
needs (from the stakeholder graph and the household arrays), calls these functions, and writes
the results back; none of them touches a model, a graph or a random generator unless one is
passed in explicitly.

Notation: ``m`` parties in a partnership, indexed ``i, j``; ``T[i, j]`` is party ``i``'s trust
in party ``j`` (directional, in [0, 1]); ``x[i]`` is party ``i``'s view of the partnership's
goal, in [0, 1].
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = [
    "communication_probability",
    "conditional_contribution",
    "degroot_weights",
    "diffuse",
    "diffuse_on_ties",
    "diffusion_operator",
    "friedkin_johnsen_step",
    "motivation",
    "partner_experience",
    "procedural_unfairness",
    "realign_anchors",
    "satisfaction",
    "shared_understanding",
    "trust_update",
    "unfairness",
]


def communication_probability(trust: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Probability that each pair of partners communicates in a step.

    ``p[i, j] = q[i, j] * (T[i, j] + T[j, i]) / 2`` with a zero diagonal. Communication needs a
    channel (``q``, the quality of the tie, set by the ``communication`` success factor) and the
    willingness of both sides, which grows with mutual trust (Ansell & Gash 2008, JPART 18:543:
    "face-to-face dialogue" and trust building form a cycle; Bryson, Crosby & Stone 2006, PAR 66).

    Args:
        trust: (m, m) directional trust matrix in [0, 1].
        quality: (m, m) symmetric communication quality of the ties in [0, 1].

    Returns:
        (m, m) symmetric matrix of probabilities in [0, 1], zero on the diagonal.

    Example:
        >>> communication_probability(np.array([[0, 1.0], [0.5, 0]]), np.full((2, 2), 0.8))
        array([[0. , 0.6],
               [0.6, 0. ]])
    """
    p = quality * 0.5 * (trust + trust.T)
    np.fill_diagonal(p, 0.0)
    return np.clip(p, 0.0, 1.0)


def degroot_weights(trust: np.ndarray, talked: np.ndarray, self_weight: float) -> np.ndarray:
    """Row-stochastic influence matrix: who listens to whom, in proportion to trust.

    ``W[i, j] ∝ T[i, j]`` for the partners ``j`` that ``i`` talked with this step, and
    ``W[i, i] ∝ self_weight``; rows sum to 1 (DeGroot 1974, JASA 69:118). A party that talked
    with nobody keeps its own view (``W[i, i] = 1``).

    Args:
        trust: (m, m) directional trust matrix.
        talked: (m, m) boolean matrix of the pairs that communicated (symmetric).
        self_weight: weight a party gives its own view (> 0).

    Returns:
        (m, m) row-stochastic matrix.

    Example:
        >>> degroot_weights(np.array([[0, 1.0], [1.0, 0]]), np.array([[0, 1], [1, 0]], bool), 1.0)
        array([[0.5, 0.5],
               [0.5, 0.5]])
    """
    w = np.where(talked, trust, 0.0).astype(float)
    np.fill_diagonal(w, self_weight)
    return w / w.sum(axis=1, keepdims=True)


def friedkin_johnsen_step(
    views: np.ndarray, anchors: np.ndarray, weights: np.ndarray, susceptibility: float
) -> np.ndarray:
    """One step of Friedkin–Johnsen opinion dynamics.

    ``x' = λ W x + (1 − λ) x0``: each party moves toward the trust-weighted views of those it
    talked with, but stays anchored to its initial position ``x0`` with weight ``1 − λ``
    (Friedkin & Johnsen 1990, J. Math. Sociol. 15:193). With ``λ = 1`` this is DeGroot's model,
    whose repeated application converges to the consensus ``π·x0``, ``π`` the stationary
    distribution of ``W``.

    Args:
        views: current views ``x`` (m,).
        anchors: anchored initial positions ``x0`` (m,).
        weights: row-stochastic influence matrix ``W`` (m, m).
        susceptibility: ``λ`` in [0, 1].

    Returns:
        The new views (m,).

    Example:
        >>> w = np.array([[0.5, 0.5], [0.5, 0.5]])
        >>> friedkin_johnsen_step(np.array([0.0, 1.0]), np.array([0.0, 1.0]), w, 1.0)
        array([0.5, 0.5])
    """
    return susceptibility * (weights @ views) + (1.0 - susceptibility) * anchors


def shared_understanding(views: np.ndarray) -> float:
    """Shared understanding of the goal: one minus the normalized dispersion of the views.

    ``SU = 1 − 2·sd(x)``; views lie in [0, 1], whose largest possible standard deviation is 1/2,
    so ``SU`` is in [0, 1]: 1 when all agree, 0 when the views are split between the extremes.
    A single party understands itself (``SU = 1``).

    Example:
        >>> shared_understanding(np.array([0.0, 1.0]))
        0.0
        >>> shared_understanding(np.array([0.3, 0.3, 0.3]))
        1.0
    """
    if views.size < 2:
        return 1.0
    return float(np.clip(1.0 - 2.0 * views.std(), 0.0, 1.0))


def realign_anchors(positions: np.ndarray, views: np.ndarray, rate: float) -> np.ndarray:
    """Evaluation re-aligns goals: the anchors become a mix of own position and joint view.

    ``x0' = p + ρ (mean(x) − p)``, with ``p`` each party's own position (its view when it
    joined, which it keeps). A joint review of goals against outcomes is how collaborations
    revise what each party holds on to (Ansell & Gash 2008, "shared understanding"; Emerson,
    Nabatchi & Balogh 2012, JPART 22:1, "joint determination"); in Friedkin & Johnsen's model
    (1990, J. Math. Sociol. 15:193) the initial positions keep their weight for good, so
    repeated reviews move what a party holds on to toward the joint view without erasing its
    own position. (Re-aligning the last anchors instead, ``x0' = x0 + ρ (mean(x) − x0)``,
    compounds: the anchors' spread shrinks by ``1 − ρ`` at every evaluation and shared
    understanding reached 1.000 in every surviving partnership by month 120, whatever the
    clarity of its goals.)

    Example:
        >>> realign_anchors(np.array([0.0, 1.0]), np.array([0.4, 0.6]), 0.5)
        array([0.25, 0.75])
    """
    return positions + rate * (views.mean() - positions)


def satisfaction(preferences: np.ndarray, delivered: np.ndarray) -> np.ndarray:
    """How well what was delivered matches what each party wanted (cosine similarity).

    ``x_i = (p_i · a) / (‖p_i‖ ‖a‖)`` in [0, 1] for non-negative vectors: 1 when the mix of
    services is exactly the party's preferred mix.

    Example:
        >>> satisfaction(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1.0, 0.0]))
        array([1., 0.])
    """
    norms = np.linalg.norm(preferences, axis=1) * np.linalg.norm(delivered)
    dots = preferences @ delivered
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def unfairness(payoffs: np.ndarray) -> np.ndarray:
    """Perceived unfairness: each party's disadvantageous inequity against the others.

    ``U_i = 1/(m − 1) Σ_j max(x_j − x_i, 0)``, the "envy" term of Fehr & Schmidt (1999, QJE
    114:817) applied to the parties' satisfaction with what the partnership delivers. A party
    whose wishes are overridden by more powerful partners feels it most.

    Example:
        >>> unfairness(np.array([1.0, 0.5, 0.0]))
        array([0.  , 0.25, 0.75])
    """
    m = payoffs.size
    if m < 2:
        return np.zeros(m)
    gaps = np.maximum(payoffs[None, :] - payoffs[:, None], 0.0)
    return gaps.sum(axis=1) / (m - 1)


def procedural_unfairness(decision_weights: np.ndarray) -> np.ndarray:
    """Procedural unfairness: how far each party's say falls short of an equal share.

    ``V_i = max(0, 1 − m·w_i / Σw)``: 0 for a party with at least an equal share of the
    decision weight, approaching 1 for a party with no say. People judge a process by the
    voice it gives them, apart from what it delivers (the "voice effect": Thibaut & Walker
    1975; Lind & Tyler 1988, *The Social Psychology of Procedural Justice*); in collaborative
    governance, stakeholders without a meaningful say lose trust and commitment (Ansell &
    Gash 2008, JPART 18:543, on power imbalances; Purdy 2012, PAR 72:409).

    Args:
        decision_weights: (m,) non-negative decision weights, not all zero.

    Returns:
        (m,) procedural unfairness in [0, 1].

    Example:
        >>> procedural_unfairness(np.array([0.5, 0.3, 0.2]))
        array([0. , 0.1, 0.4])
    """
    w = np.asarray(decision_weights, dtype=float)
    deficit = 1.0 - w.size * w / w.sum()
    # Equal weights can miss an equal share by a rounding error; that is not unfairness.
    return np.where(deficit > 1e-12, np.minimum(deficit, 1.0), 0.0)


def motivation(
    trust_in_others: np.ndarray,
    understanding: float,
    deterrence: float,
    dialogue: np.ndarray,
    unfair: np.ndarray,
    weights: tuple[float, float, float, float, float],
) -> np.ndarray:
    """Each party's own motivation to contribute (the intercept of conditional cooperation).

    ``m_i = clip(ω_T·T̄_i + ω_S·SU + ω_D·D + ω_C·C_i − ω_U·U_i, 0, 1)`` where ``T̄_i`` is
    ``i``'s mean trust in the other members, ``SU`` the shared understanding, ``D`` the
    deterrence (the expected sanction per unit withheld: detection probability × sanction,
    :func:`sim.mechanisms.governance.expected_sanction`; 0 when nothing is monitored or
    nothing is sanctioned), ``C_i`` the share of partners ``i`` talked with this step and
    ``U_i`` its perceived unfairness. Trust raises cooperation (Ostrom 1998, APSR 92:1), so
    does communication, chiefly through the commitments it renews (Balliet 2010, J. Conflict
    Resolut. 54:39: d ≈ 1.0), and the threat of sanctions (Fehr & Gächter 2000, AER 90:980;
    Becker 1968); inequity lowers it (Fehr & Schmidt 1999).

    Example:
        >>> motivation(np.array([1.0]), 1.0, 0.0, np.array([0.0]), np.array([0.0]),
        ...            (0.4, 0.3, 0.2, 0.1, 1.0))
        array([0.7])
    """
    w_t, w_s, w_d, w_c, w_u = weights
    m = (
        w_t * trust_in_others
        + w_s * understanding
        + w_d * deterrence
        + w_c * dialogue
        - w_u * unfair
    )
    return np.clip(m, 0.0, 1.0)


def conditional_contribution(belief: np.ndarray, motive: np.ndarray, slope: float) -> np.ndarray:
    """Contribution rate of conditional cooperators.

    ``k_i = ρ·b_i + (1 − ρ)·m_i``: a party matches what it believes the others contribute
    (``b_i``) with slope ``ρ < 1`` and fills the rest from its own motivation ``m_i``
    (Fischbacher, Gächter & Fehr 2001, Econ. Lett. 71:397). When beliefs follow observed
    contributions, contributions converge to the motivations: cooperation decays unless trust,
    understanding or the threat of sanctions keep the motivations high (Fischbacher & Gächter
    2010, AER 100:541).

    Example:
        >>> conditional_contribution(np.array([0.8]), np.array([0.4]), 0.75)
        array([0.7])
    """
    return np.clip(slope * belief + (1.0 - slope) * motive, 0.0, 1.0)


def partner_experience(
    reliability: np.ndarray, unfair: np.ndarray, decision_weights: np.ndarray
) -> np.ndarray:
    """What each party experiences of each partner in a step.

    ``E[i, j] = r_j · (1 − U_i · w_j / max(w))``: the partner's reliability (delivered over
    promised contribution, capped at 1) discounted by the unfairness ``i`` perceives, blamed on
    partners in proportion to their decision power (Fehr & Schmidt 1999; blame follows control,
    Ansell & Gash 2008 on power imbalances).

    Args:
        reliability: (m,) ``r_j`` in [0, 1].
        unfair: (m,) ``U_i`` in [0, 1].
        decision_weights: (m,) ``w_j`` (positive, any scale).

    Returns:
        (m, m) experience matrix in [0, 1] (the diagonal is meaningless and set to 1).

    Example:
        >>> partner_experience(np.array([1.0, 0.5]), np.array([0.0, 0.5]), np.array([1.0, 1.0]))
        array([[1. , 0.5],
               [0.5, 1. ]])
    """
    blame = decision_weights / decision_weights.max()
    e = reliability[None, :] * (1.0 - unfair[:, None] * blame[None, :])
    np.fill_diagonal(e, 1.0)
    return np.clip(e, 0.0, 1.0)


def trust_update(
    trust: np.ndarray,
    experience: np.ndarray,
    gain_rate: float,
    loss_rate: float,
    observed: np.ndarray | None = None,
    *,
    out: np.ndarray | None = None,
    work: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Experience-based trust updating with asymmetric rates.

    ``T' = T + γ (E − T)`` with ``γ = γ⁺`` when ``E ≥ T`` and ``γ = γ⁻`` when ``E < T``;
    ``γ⁻ > γ⁺`` makes trust slow to build and quick to break (Slovic 1993, Risk Anal. 13:675;
    Poortinga & Pidgeon 2004, Risk Anal. 24:1475). Under constant experience ``E`` the closed
    form is ``T_t = E + (1 − γ)^t (T_0 − E)``. Entries not ``observed`` keep their trust.

    Args:
        trust: current trust, any shape, in [0, 1].
        experience: experience of the same shape, in [0, 1].
        gain_rate: ``γ⁺`` in [0, 1].
        loss_rate: ``γ⁻`` in [0, 1].
        observed: mask of the same shape (or broadcasting to it), boolean or 0/1 floats;
            ``None`` means all observed.
        out: array to write the result into (may be ``trust`` itself, updating in place).
        work: two arrays of the result's shape for the intermediates (scratch kept between
            calls spares allocating them; large fresh arrays cost page faults).

    Returns:
        The updated trust, in [0, 1].

    Example:
        >>> trust_update(np.array([0.5, 0.5]), np.array([1.0, 0.0]), 0.1, 0.4)
        array([0.55, 0.3 ])
    """
    # Branch-free: γ(E − T) is the smaller of γ⁺(E − T) and γ⁻(E − T) when γ⁺ ≤ γ⁻ (the
    # larger when γ⁺ > γ⁻): for E > T the smaller rate gives the smaller product, for E < T
    # the larger rate the more negative one. Both products are the formula's own, so every
    # entry rounds as the formula does. (np.where on the sign costs a mispredicted branch
    # per entry: three times the arithmetic.) Not observed: the step is multiplied by 0, so
    # the entry gains an exact zero.
    if work is None:
        diff = np.asarray(np.subtract(experience, trust))
        step = np.empty_like(diff)
    else:
        diff, step = np.subtract(experience, trust, out=work[0]), work[1]
    np.multiply(diff, gain_rate, out=step)
    diff *= loss_rate
    (np.minimum if gain_rate <= loss_rate else np.maximum)(step, diff, out=step)
    if observed is not None:
        step *= observed
    step += trust
    new = np.clip(step, 0.0, 1.0, out=step if out is None else out)
    return new if new.ndim else new[()]


def diffusion_operator(adjacency: sp.csr_array, rate: float) -> sp.csr_array:
    """The neighbours' pull of :func:`diffuse_on_ties` as one sparse matrix, ``ω D⁻¹ A``.

    Row ``i`` holds ``ω / deg_i`` for each of its neighbours, so ``(ω D⁻¹ A) v`` is ``ω``
    times the neighbours' mean; a node with no ties gets ``ω`` on the diagonal instead (its
    own value stands in for the neighbours' mean, so it keeps its value). Built once for a
    model's ties and rate, it spares the division by the degree and the scaling by ``ω``
    at every step (:func:`diffuse`).

    Example:
        >>> a = sp.csr_array(np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]]))
        >>> diffusion_operator(a, 0.5).toarray().tolist()
        [[0.0, 0.25, 0.25], [0.5, 0.0, 0.0], [0.5, 0.0, 0.0]]
    """
    adjacency = sp.csr_array(adjacency, dtype=float)
    degree = np.diff(adjacency.indptr)
    alone = degree == 0
    if alone.any():  # a self-loop stands in for the missing neighbours
        adjacency = sp.csr_array(adjacency + sp.diags_array(alone.astype(float)))
        degree = np.diff(adjacency.indptr)
    adjacency.sort_indices()
    data = rate * adjacency.data / np.repeat(np.asarray(adjacency.sum(axis=1)).ravel(), degree)
    return sp.csr_array((data, adjacency.indices, adjacency.indptr), shape=adjacency.shape)


def diffuse(
    values: np.ndarray,
    operator: sp.csr_array,
    rate: float,
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`diffuse_on_ties` with the operator built once: ``v' = (1 − ω) v + (ω D⁻¹ A) v``.

    ``operator`` is :func:`diffusion_operator` of the ties at the same ``rate``. The result
    equals :func:`diffuse_on_ties` to within a unit or two in the last place: the weight
    ``ω / deg`` is rounded once and multiplies each neighbour's value, where that function
    divides the neighbours' sum (``tests/test_fast_paths.py``).

    Example:
        >>> a = sp.csr_array(np.array([[0, 1], [1, 0]]))
        >>> diffuse(np.array([0.0, 1.0]), diffusion_operator(a, 0.5), 0.5)
        array([0.5, 0.5])
    """
    pull = np.asarray(operator @ values, dtype=float)
    if out is None:
        out = np.empty_like(values, dtype=float)
    np.multiply(values, 1.0 - rate, out=out)
    out += pull
    return out


def diffuse_on_ties(values: np.ndarray, adjacency: sp.csr_array, rate: float) -> np.ndarray:
    """Social influence along ties: DeGroot averaging toward the neighbours' mean.

    ``v' = (1 − ω) v + ω · (A v) / deg`` for nodes with neighbours; isolated nodes keep their
    value (DeGroot 1974; trust in institutions spreads through social networks: Coleman 1990,
    *Foundations of Social Theory*, ch. 8). ``values`` may be (n,) or (n, k), one column per
    object of trust. This is the formula as written; the model applies it through an operator
    built once (:func:`diffusion_operator`, :func:`diffuse`).

    Args:
        values: (n,) or (n, k) values on the nodes.
        adjacency: (n, n) symmetric sparse adjacency (0/1 or weighted).
        rate: ``ω`` in [0, 1].

    Example:
        >>> a = sp.csr_array(np.array([[0, 1], [1, 0]]))
        >>> diffuse_on_ties(np.array([0.0, 1.0]), a, 0.5)
        array([0.5, 0.5])
    """
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    degree = degree.reshape((-1,) + (1,) * (values.ndim - 1))
    mean = np.asarray(adjacency @ values, dtype=float)  # the neighbours' sum, then their mean
    has = np.broadcast_to(degree > 0, mean.shape)
    mean[~has] = values[~has]
    np.divide(mean, degree, out=mean, where=has)
    return (1.0 - rate) * values + rate * mean
