"""Animated exports of a run for slides: the network evolving beside the welfare chart.

API::

    from sim import PartnershipModel
    from sim.present.animation import animate
    model = PartnershipModel.from_scenario("scenarios/msp_poor_communication.toml", seed=1)
    animate(model, "poor_communication.gif", steps=60)

Command line::

    python run_simulation.py animate --scenario scenarios/msp.toml --steps 60 --out run.gif
    python run_simulation.py animate --scenario scenarios/msp.toml \
        --compare scenarios/msp_poor_communication.toml --steps 60 --out ab.mp4

With ``--compare`` (``animate(model, out, steps, compare=model_b)``), A and B run side by side
on the same seed: both networks above, one chart below (A solid, B dashed), 16:9.

A GIF has one frame for the starting state and one after every ``every`` steps, so
``steps // every + 1`` frames. The network is drawn by :func:`sim.netdraw.draw_network`, the
same drawing the dashboard shows. GIFs are written with Pillow (matplotlib's
``PillowWriter``, driven frame by frame); MP4 needs ffmpeg: the system's, or the binary of the
pip-installable imageio-ffmpeg (in the dashboard extra).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import UserError
from sim.experiments.disk import write_atomic
from sim.model import memory
from sim.paths import SCENARIOS
from sim.present import args as opts
from sim.present.i18n import LANGUAGES, translator
from sim.scenario import load_scenario
from sim.scenario.inputs import output_path

if TYPE_CHECKING:
    from sim.model.model import PartnershipModel

__all__ = ["CHART_OUTCOMES", "animate", "command"]


CHART_OUTCOMES = ("welfare_mean", "welfare_q1", "empowerment_mean", "trust_partners")
"""What the chart beside the network draws by default."""

FORMATS = (".gif", ".mp4")

FIGSIZE = (10, 4.2)
"""The figure's size in inches: ``dpi`` times this is the frame's size in pixels."""

FIGSIZE_AB = (12.8, 7.2)
"""The figure's size with ``compare`` (A and B side by side): 16:9."""

LIMITS = {"dpi": (10, 300), "fps": (1, 60), "every": (1, 100_000), "frames": (1, 2_000)}
"""What ``animate`` accepts. 300 dpi is print quality (3000 x 1260 pixels); browsers show a
GIF at most ~50 frames a second; 2,000 frames are over five minutes at 6 fps, and a GIF holds
every frame in memory until it is written (:func:`gif_bytes`)."""


def gif_bytes(frames: int, dpi: int, compare: bool = False) -> int:
    """Memory a GIF export holds: every frame as RGBA pixels until the file is written.

    Example:
        >>> gif_bytes(61, 80)  # the default: 60 months at 80 dpi, about 66 MB
        65587200
    """
    size = FIGSIZE_AB if compare else FIGSIZE
    width, height = round(size[0] * dpi), round(size[1] * dpi)
    return frames * width * height * 4


class AnimationError(UserError):
    """An animation that cannot be made: a bad option, output path or missing encoder."""


def _use_pip_ffmpeg() -> None:
    """Point matplotlib at imageio-ffmpeg's ffmpeg binary when there is no system ffmpeg.

    imageio-ffmpeg is pip-installable, so MP4 works on a machine where only pip is available.
    """
    import shutil

    import matplotlib

    if shutil.which(matplotlib.rcParams["animation.ffmpeg_path"]):
        return
    try:
        import imageio_ffmpeg  # deferred: an optional binary of ~30 MB
    except ImportError:
        return
    matplotlib.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()


def _check_out(out: Path, overwrite: bool) -> None:
    output_path(out, "--out", AnimationError, "file")
    if out.suffix.lower() not in FORMATS:
        raise AnimationError(
            f"--out {out}: unknown format {out.suffix or '(no suffix)'!r}; use .gif (or .mp4 "
            "where ffmpeg is installed)"
        )
    if out.suffix.lower() == ".mp4":
        from matplotlib import animation as mpl_animation

        _use_pip_ffmpeg()
        if not mpl_animation.writers.is_available("ffmpeg"):
            raise AnimationError(
                f"--out {out}: MP4 needs ffmpeg: pip install imageio-ffmpeg (or use .gif)"
            )
    if out.is_dir():
        raise AnimationError(f"--out {out}: is a folder; give a file name such as run.gif")
    if out.exists() and not overwrite:
        raise AnimationError(f"--out {out}: exists; choose another name or pass --overwrite")
    if not out.parent.is_dir():
        raise AnimationError(f"--out {out}: folder {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise AnimationError(f"--out {out}: cannot write in {out.parent}")


def check_options(
    steps: int, every: int, fps: int, dpi: int, out: Path, compare: bool = False
) -> None:
    """Refuse options outside :data:`LIMITS`, too many frames, or a GIF too big for memory."""
    for name, value in (("every", every), ("fps", fps), ("dpi", dpi)):
        low, high = LIMITS[name]
        if not low <= value <= high:
            raise AnimationError(f"--{name} {value}: must be between {low} and {high}")
    if steps < 1:
        raise AnimationError(f"--steps {steps}: must be at least 1")
    frames = steps // every + 1
    most = LIMITS["frames"][1]
    if frames > most:
        raise AnimationError(
            f"--steps {steps} --every {every}: {frames} frames; allowed: at most {most} "
            f"(use --every {-(-steps // (most - 1))} or more, or fewer --steps)"
        )
    if Path(out).suffix.lower() == ".gif":
        need = gif_bytes(frames, dpi, compare)
        cap, available = memory.memory_cap(), memory.available_bytes()
        limit = min((v for v in (cap, available) if v), default=None)
        if limit is not None and need > limit:
            raise AnimationError(
                f"--dpi {dpi} with {frames} frames: a GIF holds every frame in memory, about "
                f"{memory.format_bytes(need)}, more than the {memory.format_bytes(limit)} "
                "available; lower --dpi, raise --every or write .mp4"
            )


def animate(
    model: PartnershipModel,
    out: str | Path,
    steps: int,
    *,
    every: int = 1,
    fps: int = 6,
    dpi: int = 80,
    outcomes: Sequence[str] = CHART_OUTCOMES,
    overwrite: bool = True,
    compare: PartnershipModel | None = None,
    gettext: Callable[[str], str] = str,
) -> Path:
    """Run ``model`` for ``steps`` steps and write the animation to ``out`` (.gif or .mp4).

    With ``compare`` (a model B on the same seed), A and B run side by side: their networks
    next to each other, one chart below with A's lines solid and B's dashed. On the same seed
    both share villages, households and ties and draw the same random numbers until their
    levers make them differ (common random numbers), so what differs between the two pictures
    is the levers' doing.

    Args:
        model: a freshly built (or partly run) model; it is stepped in place.
        out: the file to write; written through a temporary file, so an interrupted export
            never leaves half a GIF under the final name.
        steps: steps to run.
        every: steps between frames.
        fps: frames per second.
        dpi: resolution (the figure is 10 x 4.2 inches).
        outcomes: model outcomes drawn in the chart (columns of ``model.results()``).
        overwrite: whether an existing ``out`` may be replaced.
        gettext: the language of the labels (``sim.present.i18n.translator("id")`` for Bahasa
            Indonesia); English by default.
        compare: configuration B, built on ``model``'s seed and at the same month; stepped in
            place with A. The figure is then 12.8 x 7.2 inches (16:9; 1024 x 576 px at dpi
            80, 1280 x 720 at dpi 100).

    Returns:
        The path written. The animation has ``steps // every + 1`` frames.

    Raises:
        AnimationError: bad numbers, an unknown outcome, an output that cannot be written, or
            a B on another seed or at another month than A.
    """
    from matplotlib import animation as mpl_animation
    from matplotlib.figure import Figure

    from sim.present.netdraw import draw_network
    from sim.present.plots import LABELS, OKABE_ITO

    _ = gettext
    out = Path(out)
    check_options(steps, every, fps, dpi, out, compare=compare is not None)
    runs = [("A", model)] + ([("B", compare)] if compare is not None else [])
    unknown = [o for o in outcomes if any(o not in m.metrics for _, m in runs)]
    if unknown:
        raise AnimationError(f"unknown outcomes {unknown}; choose from {sorted(model.metrics)}")
    if compare is not None and compare.seed != model.seed:
        raise AnimationError(
            f"A is on seed {model.seed} and B on seed {compare.seed}: build B on A's seed, so "
            "that both share households and random numbers (common random numbers)"
        )
    if compare is not None and compare.steps != model.steps:
        raise AnimationError(
            f"A is at month {model.steps} and B at month {compare.steps}: start both at the "
            "same month"
        )
    _check_out(out, overwrite)
    frames = steps // every + 1
    start = int(model.steps)
    horizon = start + (frames - 1) * every

    if compare is None:
        fig = Figure(figsize=FIGSIZE, layout="constrained")
        ax_net, ax_chart = fig.subplots(1, 2, width_ratios=(1.25, 1))
        nets = {"A": ax_net}
    else:
        fig = Figure(figsize=FIGSIZE_AB, layout="constrained")
        axes = fig.subplot_mosaic([["A", "B"], ["chart", "chart"]], height_ratios=(1.5, 1))
        nets, ax_chart = {"A": axes["A"], "B": axes["B"]}, axes["chart"]
    lines = {}
    for k, outcome in enumerate(outcomes):
        for label, _m in runs:
            (lines[(label, outcome)],) = ax_chart.plot(
                [],
                [],
                "-" if label == "A" else "--",
                color=OKABE_ITO[k % len(OKABE_ITO)],
                lw=1.6,
                label=_(LABELS.get(outcome, outcome)) if label == "A" else None,
            )
    ax_chart.set_xlim(start, max(horizon, start + 1))
    ax_chart.set_ylim(0.0, 1.0)
    ax_chart.set_xlabel(_("month (step)"))
    ax_chart.set_ylabel(_("index or share (0-1)"))
    ax_chart.grid(alpha=0.3)
    if compare is None:
        ax_chart.legend(fontsize=8, loc="upper left", frameon=False)
        ax_chart.set_title(model.config.name, fontsize=10)
    else:
        ax_chart.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        ax_chart.set_title(
            _("solid: A = {a}; dashed: B = {b} (seed {seed} for both)").format(
                a=model.config.name, b=compare.config.name, seed=model.seed
            ),
            fontsize=11,
        )

    def draw(frame: int):
        for label, run in runs:
            if frame > 0:
                for _month in range(every):
                    run.step()
            df = run.results()
            df = df[df["step"] >= start]
            for outcome in outcomes:
                lines[(label, outcome)].set_data(df["step"].to_numpy(), df[outcome].to_numpy())
            name = run.config.name if compare is None else f"{label}: {run.config.name}"
            title = _("{run}, month {month}").format(run=name, month=run.steps)
            draw_network(nets[label], run, title=title, gettext=_)
        return []

    if out.suffix.lower() == ".gif":
        writer = mpl_animation.PillowWriter(fps=fps)
    else:
        writer = mpl_animation.FFMpegWriter(fps=fps)

    def write(tmp: Path) -> None:
        # Pillow and ffmpeg pick the format from the suffix, which the temporary name lacks.
        named = Path(f"{tmp}{out.suffix}")
        try:
            # The writer's own frame loop (what FuncAnimation.save runs, minus its extra
            # redraw per frame): half the drawing, the same file.
            with writer.saving(fig, str(named), dpi):
                for frame in range(frames):
                    draw(frame)
                    if frame == 0:
                        # Nothing moves, so lay the figure out once and keep it.
                        fig.get_layout_engine().execute(fig)
                        fig.set_layout_engine("none")
                    writer.grab_frame()
            os.replace(named, tmp)
        finally:
            named.unlink(missing_ok=True)

    write_atomic(out, write)
    return out


def _limited(name: str):
    low, high = LIMITS[name]
    return opts.int_at_least(low, maximum=high)


def _parser() -> argparse.ArgumentParser:
    p = opts.Parser(
        prog="run_simulation.py animate",
        description=(
            "Export one run as an animated GIF or MP4 for slides: the stakeholder network (trust "
            "on the ties, power as node size) beside the welfare chart, one frame every --every "
            "months; with --compare, A and B side by side on the same seed."
        ),
        epilog="Example: python run_simulation.py animate --scenario scenarios/msp.toml "
        "--steps 60 --out run.gif",
    )
    p.add_argument(
        "--scenario",
        type=Path,
        default=SCENARIOS / "msp.toml",
        metavar="FILE",
        help="scenario file (default: scenarios/msp.toml)",
    )
    p.add_argument(
        "--compare",
        type=Path,
        metavar="FILE",
        help="scenario file of configuration B: A and B side by side on the same seed "
        "(common random numbers), B's lines dashed",
    )
    p.add_argument("--steps", type=opts.steps, default=60, help="months to run (default 60)")
    p.add_argument("--out", type=Path, required=True, help="output file, .gif (or .mp4)")
    p.add_argument("--seed", type=opts.seed, help="model seed (default: the scenario's)")
    p.add_argument(
        "--every",
        type=_limited("every"),
        default=1,
        help="months per frame (default 1)",
    )
    p.add_argument(
        "--fps",
        type=_limited("fps"),
        default=6,
        help=f"frames per second, at most {LIMITS['fps'][1]} (default 6)",
    )
    p.add_argument(
        "--dpi",
        type=_limited("dpi"),
        default=80,
        help=f"resolution, {LIMITS['dpi'][0]} to {LIMITS['dpi'][1]} (default 80)",
    )
    opts.add_set_option(p, "of the scenario (and of B's, with --compare)")
    p.add_argument(
        "--language",
        choices=list(LANGUAGES),
        default="en",
        help="language of the labels: en (default) or id (Bahasa Indonesia)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    return p


def command(argv: list[str]) -> int:
    """``animate``: run one scenario (or A and B side by side) and write the animation."""
    args = _parser().parse_args(argv)
    scenario = load_scenario(args.scenario, args.overrides)
    scenario_b = None if args.compare is None else load_scenario(args.compare, args.overrides)
    check_options(
        args.steps, args.every, args.fps, args.dpi, args.out, compare=scenario_b is not None
    )
    _check_out(args.out, args.overwrite)
    files = [args.scenario] + ([args.compare] if args.compare else [])
    built = [scenario] + ([scenario_b] if scenario_b else [])
    memory.check_fits(built, steps=args.steps, workers=len(built), files=files)
    from sim.model.model import PartnershipModel

    seed = scenario.run.seed if args.seed is None else args.seed
    model = PartnershipModel(scenario, seed=seed)
    model_b = None if scenario_b is None else PartnershipModel(scenario_b, seed=seed)
    frames = args.steps // args.every + 1
    animate(
        model,
        args.out,
        args.steps,
        every=args.every,
        fps=args.fps,
        dpi=args.dpi,
        overwrite=args.overwrite,
        compare=model_b,
        gettext=translator(args.language),
    )
    runs = scenario.name + (f" beside {scenario_b.name}" if scenario_b else "")
    print(f"wrote {args.out} ({frames} frames, {runs}, seed {model.seed})")
    return 0
