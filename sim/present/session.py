"""One browser session of the dashboard: its models, the snapshot its page shows, and Play.

Play runs in one thread per session (:meth:`Session.play`). Stepping is decoupled from
drawing: a month of A and B costs about 10 ms at 500 households, while the page is refreshed
at most every :data:`REFRESH_S` seconds (the key numbers and the charts, whose lines keep
their figure and only get new data) and the networks, the dearest picture, every
:data:`NETWORK_EVERY` months at the earliest, within :data:`NETWORK_SHARE` of the time, and
whenever Play stops. Play stops at the run's horizon, on Pause (a newer :attr:`Session.token`),
and as soon as the browser's page is no longer connected; when the session closes
(:meth:`Session.close`), its models are dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.present.livemodel import DashboardModel, Snapshot

__all__ = [
    "CATCH_UP_S",
    "CLOSED_MESSAGE",
    "NETWORK_EVERY",
    "NETWORK_SHARE",
    "PAGE_SHARE",
    "PLAY_MESSAGE",
    "REFRESH_S",
    "SPEEDS",
    "PlayTimes",
    "Session",
    "current_context",
    "page_connected",
]

REFRESH_S = 0.25
"""During Play, the page (numbers and charts) is redrawn at most this often (seconds)."""

NETWORK_EVERY = 24
"""During Play, the network is redrawn every this many months (and whenever Play stops)."""

SPEEDS = {"1": 1.0, "2": 0.5, "5": 0.2, "10": 0.1, "20": 0.05, "max": 0.005}
"""Play speeds (months per second) and the pause between months they mean (seconds); *max*
keeps 5 ms, so the server still answers the page while Play runs."""


CLOSED_MESSAGE = "Kemitraan dashboard: a session closed; Play stopped and its models were freed"
"""Written to the server's output when a page's session closes."""

PLAY_MESSAGE = "Kemitraan dashboard: Play"
"""Starts the line written to the server's output when Play stops: months, seconds, rates."""


CATCH_UP_S = 3.0
"""Play's clock makes up at most this many seconds of months that drawing delayed (a drawing
of the networks takes up to ~2 s on a loaded machine); beyond it the clock restarts."""

PAGE_SHARE = 0.4
"""During Play, updating the page (the charts' PNGs, the numbers, sending them) takes at most
about this share of the time: after an update that took *p* seconds, the next starts no
sooner than *p* (1 - share) / share seconds after it ended (and :data:`REFRESH_S` at the
soonest). On an idle
machine an update takes ~0.06 s, so the page refreshes every 0.25 s; under load it refreshes
less often rather than slowing the months down."""

NETWORK_SHARE = 0.25
"""During Play, drawing the networks (two PNGs, ~0.3 s on an idle 2-core machine, seconds
under load) takes at most about this share of the time: after a drawing that took *d*
seconds, the next waits at least *d* (1 - share) / share seconds."""


@dataclass
class PlayTimes:
    """Where one Play's time went (seconds), for the server's output and the browser test.

    >>> t = PlayTimes(months=40, elapsed=2.0, stepping=0.5, networks=1, network=0.3)
    >>> t.rate, t.stepping_rate
    (20.0, 80.0)
    >>> print(t)  # doctest: +NORMALIZE_WHITESPACE
    40 months in 2.0 s, 20.0 months/s (stepping alone 80.0 months/s); stepping 0.5 s,
    networks 0.3 s (drawn 1x), snapshots 0.0 s, page updates 0.0 s (0x), pauses 0.0 s
    """

    months: int = 0
    elapsed: float = 0.0
    stepping: float = 0.0
    networks: int = 0
    network: float = 0.0
    snapshots: float = 0.0
    pages: int = 0
    page: float = 0.0
    pauses: float = 0.0

    @property
    def rate(self) -> float:
        """Months per second of Play, all included."""
        return self.months / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def stepping_rate(self) -> float:
        """Months per second of the stepping alone (the models, nothing drawn)."""
        return self.months / self.stepping if self.stepping > 0 else 0.0

    def __str__(self) -> str:
        return (
            f"{self.months} months in {self.elapsed:.1f} s, {self.rate:.1f} months/s "
            f"(stepping alone {self.stepping_rate:.1f} months/s); stepping {self.stepping:.1f} s, "
            f"networks {self.network:.1f} s (drawn {self.networks}x), snapshots "
            f"{self.snapshots:.1f} s, page updates {self.page:.1f} s ({self.pages}x), pauses "
            f"{self.pauses:.1f} s"
        )


class Session:
    """One browser session's models and the snapshot its page shows."""

    def __init__(self) -> None:
        self.gettext: Callable[[str], str] = str  # the page's language, for the networks
        self.model: DashboardModel | None = DashboardModel()
        self.snap: Snapshot | None = self.model.snapshot(draw=True)
        self.closed = threading.Event()
        self.steps_played = 0
        self.token = 0  # which Play loop may run: a newer token stops older loops
        self.play_rate = 0.0  # months per second of the last Play
        self.last_play = PlayTimes()  # where the last Play's time went

    def reset(self, settings: dict[str, Any]) -> Snapshot:
        """Build new models from ``settings`` (a Reset)."""
        self.model = DashboardModel(**settings)
        self.snap = self.model.snapshot(draw=True, gettext=self.gettext)
        return self.snap

    def refresh(self, draw: bool) -> Snapshot:
        """A new snapshot of the models (drawing the networks if ``draw``)."""
        assert self.model is not None
        previous = self.snap.networks if self.snap is not None else None
        self.snap = self.model.snapshot(previous, draw=draw, gettext=self.gettext)
        return self.snap

    def play(
        self,
        pause_s: float,
        publish: Callable[[Snapshot], None],
        connected: Callable[[], bool],
        on_end: Callable[[], None],
    ) -> None:
        """Step the models until the horizon, a newer :attr:`token` or a lost page.

        Months are due every ``pause_s`` seconds on a fixed clock, so the time spent drawing
        is made up by the next months' pauses (up to :data:`CATCH_UP_S` seconds' worth, then
        the clock restarts). ``publish`` receives a snapshot at most every :data:`REFRESH_S` seconds
        (less often where updating the page would take over :data:`PAGE_SHARE` of the time) and
        a last one, with the networks, when Play stops; ``on_end`` is called then if this loop
        was still the session's current one (the page shows Play again). The networks are
        redrawn every :data:`NETWORK_EVERY` months at the earliest, and no sooner than keeps
        their drawing within :data:`NETWORK_SHARE` of the time. Where the time went is kept in
        :attr:`last_play` and written to the server's output.
        """
        model, token = self.model, self.token
        if model is None:
            return
        times = PlayTimes()
        self.last_play = times
        last_draw, last_network = 0.0, model.a.steps
        network_cost, network_done = 0.0, 0.0
        page_cost, page_rest = 0.0, (1 - PAGE_SHARE) / PAGE_SHARE
        started_play = time.monotonic()
        due = started_play
        try:
            while self.token == token and not model.at_horizon:
                if self.model is not model or not connected():
                    return
                started = time.monotonic()
                model.step()
                times.stepping += time.monotonic() - started
                times.months += 1
                if started - last_draw >= max(REFRESH_S, page_cost * page_rest):
                    rest = network_cost * (1 - NETWORK_SHARE) / NETWORK_SHARE
                    network = (
                        model.a.steps - last_network >= NETWORK_EVERY
                        and started - network_done >= rest
                    )
                    t0 = time.monotonic()
                    snap = self.refresh(draw=network)
                    t1 = time.monotonic()
                    publish(snap)
                    last_draw = time.monotonic()
                    page_cost = last_draw - t1
                    times.page += page_cost
                    times.pages += 1
                    if network:
                        last_network, network_cost, network_done = model.a.steps, t1 - t0, t1
                        times.networks += 1
                        times.network += t1 - t0
                    else:
                        times.snapshots += t1 - t0
                due += pause_s
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                    times.pauses += pause
                elif pause < -CATCH_UP_S:
                    due = time.monotonic()
        finally:
            times.elapsed = time.monotonic() - started_play
            self.play_rate = times.rate
            if times.months:
                print(f"{PLAY_MESSAGE}: {times}", flush=True)
            if self.model is model and not self.closed.is_set():
                publish(self.refresh(draw=True))
                if self.token == token:
                    on_end()

    def close(self) -> None:
        """The page went away: stop Play and drop the models."""
        self.closed.set()
        self.token += 1
        self.model = None
        self.snap = None
        print(CLOSED_MESSAGE, flush=True)


def page_connected(context: Any) -> bool:
    """Whether a browser page is still connected to this session's kernel."""
    if context is None:
        return True
    if context.closed_event.is_set():
        return False
    from solara.server.kernel_context import PageStatus

    return PageStatus.CONNECTED in list(context.page_status.values())


def current_context() -> Any:
    """The Solara kernel context of the session being rendered (None outside a server)."""
    try:
        from solara.server import kernel_context

        return kernel_context.get_current_context()
    except Exception:  # outside a server (a test rendering the page): nothing to watch
        return None
