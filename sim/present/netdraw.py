"""Drawing the stakeholder network of a live model, for the dashboard, animations and notebooks.

What the picture encodes:

- **agent types** by colour and marker: government (blue square), firms (orange triangle),
  NGOs (pink diamond), the community's seat in the partnership (green hexagon) and villages
  (circles; each stands for its households, aggregated so hundreds of households stay legible
  and fast to draw);
- **power** by node size: an organization's size grows with its decision weight in the
  partnership (:func:`sim.power.decision_weights`, the last decision) or, outside it, with its
  formal authority; the community hexagon with the community's decision weight;
- **trust** by edge colour and width (vermillion is low, blue high): between partnership members one
  arrow per direction, coloured by the truster's trust in the trustee (the graph's directed
  ``trust`` on organization ties; the community's trust is its representatives' trust); from
  each village to each organization serving it, the households' mean trust in that
  organization (``model.hh.trust``); between villages, grey lines as wide as their social
  ties;
- **welfare** by the fill of the village circles.

The layout is computed once per model and cached (:func:`network_layout`): villages sit on a
circle, organizations on an inner ring, each on the side of the villages it serves, and the
community seat in the centre. It involves no randomness, so nodes never move between steps.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from sim.mechanisms.partnership import COMMUNITY

if TYPE_CHECKING:
    from collections.abc import Callable

    from sim.model.model import PartnershipModel

__all__ = ["STYLE", "TRUST_CMAP", "draw_network", "network_layout", "village_trust"]

TRUST_CMAP = LinearSegmentedColormap.from_list("trust", ["#D55E00", "#E69F00", "#0072B2"])
"""Colour map of trust: vermillion (0) through amber to blue (1), Okabe-Ito colours that stay
apart for the common colour-vision deficiencies (a red-green map does not)."""

WELFARE_CMAP = colormaps["Blues"]
_WELFARE_NORM = Normalize(0.0, 0.9)

STYLE = {
    "government": {"color": "#0072B2", "marker": "s", "label": "government"},
    "firm": {"color": "#E69F00", "marker": "^", "label": "firm"},
    "ngo": {"color": "#CC79A7", "marker": "D", "label": "NGO"},
    COMMUNITY: {"color": "#009E73", "marker": "h", "label": "community (seat)"},
    "village": {"color": "#7f7f7f", "marker": "o", "label": "village (households)"},
}
"""Colour (Okabe-Ito), marker and legend label of each kind of node."""

_LAYOUTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def network_layout(model: PartnershipModel) -> dict[object, np.ndarray]:
    """Fixed positions of villages (``("village", v)``), organizations and the community seat.

    Computed once per model and cached (on a weak reference, so a finished model is still
    freed). Deterministic, with no randomness: villages sit on the unit circle; organizations
    on an inner ring, each in the free slot nearest the weighted mean direction of the villages
    it serves (so a firm working in the north-east sits north-east); the community seat at the
    centre, where its arrows to every partner stay short.
    """
    cached = _LAYOUTS.get(model)
    if cached is not None:
        return cached
    n_villages = int(model.hh.village.max()) + 1
    angles = np.pi / 2 - 2 * np.pi * np.arange(n_villages) / n_villages
    pos: dict[object, np.ndarray] = {
        ("village", v): np.array([np.cos(a), np.sin(a)]) for v, a in enumerate(angles)
    }
    orgs = [o.node for o in model.organizations]
    counts = np.bincount(model.hh.village, minlength=n_villages)
    unit = np.column_stack([np.cos(angles), np.sin(angles)])
    preferred = []
    for org in orgs:
        col = model.org_index[org]
        share = np.bincount(model.hh.village[model.tied[:, col]], minlength=n_villages) / counts
        direction = share @ unit
        # An organization serving every village has no direction: it goes last, anywhere.
        strength = float(np.hypot(*direction)) / max(1e-12, share.sum())
        preferred.append((np.arctan2(direction[1], direction[0]), strength))
    m = len(orgs)
    slots = np.pi / 2 - 2 * np.pi * np.arange(m) / max(1, m)
    free = list(range(m))
    for k in sorted(range(m), key=lambda k: -preferred[k][1]):
        angle = preferred[k][0]
        gap = [abs(np.angle(np.exp(1j * (slots[s] - angle)))) for s in free]
        s = free.pop(int(np.argmin(gap)))
        pos[orgs[k]] = 0.55 * np.array([np.cos(slots[s]), np.sin(slots[s])])
    pos[COMMUNITY] = np.zeros(2)
    _LAYOUTS[model] = pos
    return pos


def village_trust(model: PartnershipModel) -> np.ndarray:
    """(villages, organizations) mean trust of each village's households in each organization.

    NaN where the organization does not serve the village.
    """
    n_villages = int(model.hh.village.max()) + 1
    out = np.full((n_villages, len(model.organizations)), np.nan)
    for col in range(len(model.organizations)):
        tied = model.tied[:, col]
        count = np.bincount(model.hh.village[tied], minlength=n_villages)
        total = np.bincount(model.hh.village[tied], model.hh.trust[tied, col], n_villages)
        out[:, col] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out


def _power(model: PartnershipModel) -> dict[str, float]:
    """Each party's power: its decision weight if in the partnership, else authority / parties."""
    p = model.active_partnership
    n_parties = len(model.organizations) + 1
    out = {node: model.authority(node) / n_parties for node in [*model.org_index, COMMUNITY]}
    if p is not None:
        for node, w in zip(p.members, p.weights, strict=True):
            out[node] = float(w)
    return out


def draw_network(
    ax: Axes,
    model: PartnershipModel,
    *,
    title: str | None = None,
    legend: bool = True,
    gettext: Callable[[str], str] = str,
    fontsize: float = 6.5,
) -> Axes:
    """Draw the model's stakeholder network on ``ax`` (cleared first); returns ``ax``.

    See the module docstring for what colours, sizes and markers mean. ``gettext`` translates
    the legend (:func:`sim.present.i18n.translator`); ``fontsize`` (points) sizes the legend,
    the villages' numbers and the title (the dashboard draws them larger, for a projector).
    Cheap enough to call every step: one scatter per kind of node, one line collection per kind
    of tie and one arrow per directed trust between partners.
    """
    ax.clear()
    pos = network_layout(model)
    p = model.active_partnership
    members = set(p.members) if p is not None else set()
    n_villages = int(model.hh.village.max()) + 1
    orgs = [o.node for o in model.organizations]

    # Villages to each other: grey, as wide as their cross-village social ties.
    vil = model.hh.village
    rows, cols = model.social_ties.nonzero()
    across = vil[rows] < vil[cols]
    if across.any():
        pairs, count = np.unique(
            np.column_stack([vil[rows[across]], vil[cols[across]]]), axis=0, return_counts=True
        )
        segs = [[pos[("village", int(a))], pos[("village", int(b))]] for a, b in pairs]
        ax.add_collection(
            LineCollection(segs, colors="#bbbbbb", linewidths=0.4 + 0.4 * np.sqrt(count), zorder=1)
        )

    # Villages to the organizations serving them: households' mean trust.
    vt = village_trust(model)
    segs, colours = [], []
    for col, org in enumerate(orgs):
        for v in np.flatnonzero(~np.isnan(vt[:, col])):
            segs.append([pos[("village", int(v))], pos[org]])
            colours.append(vt[v, col])
    if segs:
        c = np.asarray(colours)
        ax.add_collection(
            LineCollection(
                segs, colors=TRUST_CMAP(c), linewidths=0.5 + 2.0 * c, alpha=0.55, zorder=2
            )
        )

    # Partners' directed trust: one arrow per direction, coloured and sized by trust. Added
    # as artists, not with add_patch: the limits are fixed below, and add_patch's update of
    # the data limits (clipping each curved arrow's path) cost a fifth of a drawing.
    if p is not None:
        t = model.trust_matrix()
        for i, a in enumerate(p.members):
            for j, b in enumerate(p.members):
                if i == j:
                    continue
                value = float(t[i, j])
                ax.add_artist(
                    FancyArrowPatch(
                        pos[a],
                        pos[b],
                        connectionstyle="arc3,rad=0.18",
                        arrowstyle="-|>",
                        mutation_scale=7 + 6 * value,
                        color=TRUST_CMAP(value),
                        linewidth=0.6 + 2.8 * value,
                        alpha=0.9,
                        shrinkA=9,
                        shrinkB=9,
                        zorder=3,
                    )
                )
    else:
        for i, a in enumerate(orgs):
            for b in orgs[i + 1 :]:
                ax.plot(*np.array([pos[a], pos[b]]).T, color="#dddddd", lw=0.6, zorder=1)

    # Villages: size by households, fill by mean welfare.
    w = model.hh.welfare()
    counts = np.bincount(vil, minlength=n_villages)
    mean_w = np.bincount(vil, w, n_villages) / np.maximum(counts, 1)
    xy = np.array([pos[("village", v)] for v in range(n_villages)])
    ax.scatter(
        xy[:, 0],
        xy[:, 1],
        s=80 + 400 * counts / max(1, counts.max()),
        c=WELFARE_CMAP(_WELFARE_NORM(mean_w)),
        marker=STYLE["village"]["marker"],
        edgecolors="#555555",
        linewidths=0.8,
        zorder=4,
    )
    for v in range(n_villages):
        ax.annotate(
            f"{mean_w[v]:.2f}",
            xy[v] * 1.19,
            ha="center",
            va="center",
            fontsize=fontsize,
            color="#333333",
            zorder=6,
        )

    # Organizations and the community seat: size by power, ring marks partnership members.
    power = _power(model)
    parties = [*orgs, COMMUNITY] if COMMUNITY in members else orgs
    for kind in ("government", "firm", "ngo", COMMUNITY):
        nodes = [
            n
            for n in parties
            if (n == COMMUNITY and kind == COMMUNITY)
            or (n != COMMUNITY and model.org_by_node[n].kind == kind)
        ]
        if not nodes:
            continue
        xy = np.array([pos[n] for n in nodes])
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            s=[60 + 2400 * power[n] for n in nodes],
            c=STYLE[kind]["color"],
            marker=STYLE[kind]["marker"],
            edgecolors=["black" if n in members else "white" for n in nodes],
            linewidths=[1.6 if n in members else 0.8 for n in nodes],
            zorder=5,
        )
    ax.set_xlim(-1.32, 1.32)
    ax.set_ylim(-1.28, 1.28)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=fontsize + 2.5)
    if legend:
        handles = [
            Line2D(
                [],
                [],
                marker=s["marker"],
                color="none",
                markerfacecolor=s["color"],
                markeredgecolor="#333333",
                markersize=7,
                label=gettext(s["label"]),
            )
            for s in STYLE.values()
        ]
        handles.append(Line2D([], [], color=TRUST_CMAP(0.1), lw=1.2, label=gettext("low trust")))
        handles.append(Line2D([], [], color=TRUST_CMAP(0.9), lw=3.0, label=gettext("high trust")))
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            fontsize=fontsize,
            frameon=False,
            title=gettext("organization size = power"),
            title_fontsize=fontsize,
        )
    return ax
