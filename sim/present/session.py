"""One browser session of the dashboard: its models, the snapshot its page shows, and Play.

Play runs in one thread per session (:meth:`Session.play`). Stepping is decoupled from
drawing: a month costs a few milliseconds at 500 households, while the page is refreshed at
most every :data:`REFRESH_S` seconds (the key numbers and the charts, whose lines keep their
figure and only get new data) and the networks every :data:`NETWORK_EVERY` months and
whenever Play stops. Play stops at the run's horizon, on Pause (a newer :attr:`Session.token`),
and as soon as the browser's page is no longer connected; when the session closes
(:meth:`Session.close`), its models are dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sim.present.livemodel import DashboardModel, Snapshot

__all__ = [
    "CLOSED_MESSAGE",
    "NETWORK_EVERY",
    "PLAY_MESSAGE",
    "REFRESH_S",
    "SPEEDS",
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


class Session:
    """One browser session's models and the snapshot its page shows."""

    def __init__(self) -> None:
        self.model: DashboardModel | None = DashboardModel()
        self.snap: Snapshot | None = self.model.snapshot(draw=True)
        self.closed = threading.Event()
        self.steps_played = 0
        self.token = 0  # which Play loop may run: a newer token stops older loops
        self.play_rate = 0.0  # months per second of the last Play
        self.play_stepping = 0.0  # months per second of its stepping alone (no drawing)

    def reset(self, settings: dict[str, Any]) -> Snapshot:
        """Build new models from ``settings`` (a Reset)."""
        self.model = DashboardModel(**settings)
        self.snap = self.model.snapshot(draw=True)
        return self.snap

    def refresh(self, draw: bool) -> Snapshot:
        """A new snapshot of the models (drawing the networks if ``draw``)."""
        assert self.model is not None
        previous = self.snap.networks if self.snap is not None else None
        self.snap = self.model.snapshot(previous, draw=draw)
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
        is made up by the next months' pauses (up to a second's worth, then the clock
        restarts). ``publish`` receives a snapshot at most every :data:`REFRESH_S` seconds
        (with the networks redrawn every :data:`NETWORK_EVERY` months) and a last one, with
        the networks, when Play stops; ``on_end`` is called then if this loop was still the
        session's current one (the page shows Play again).
        """
        model, token = self.model, self.token
        if model is None:
            return
        last_draw, last_network = 0.0, model.a.steps
        started_play, months = time.monotonic(), 0
        stepping = 0.0
        due = started_play
        try:
            while self.token == token and not model.at_horizon:
                if self.model is not model or not connected():
                    return
                started = time.monotonic()
                model.step()
                stepping += time.monotonic() - started
                months += 1
                if started - last_draw >= REFRESH_S:
                    network = model.a.steps - last_network >= NETWORK_EVERY
                    if network:
                        last_network = model.a.steps
                    publish(self.refresh(draw=network))
                    last_draw = time.monotonic()
                due += pause_s
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                elif pause < -1.0:
                    due = time.monotonic()
        finally:
            elapsed = time.monotonic() - started_play
            self.play_rate = months / elapsed if elapsed > 0 else 0.0
            self.play_stepping = months / stepping if stepping > 0 else 0.0
            if months:
                print(
                    f"{PLAY_MESSAGE}: {months} months in {elapsed:.1f} s, "
                    f"{self.play_rate:.1f} months/s (stepping alone: "
                    f"{self.play_stepping:.1f} months/s)",
                    flush=True,
                )
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
