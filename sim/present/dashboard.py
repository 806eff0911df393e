"""The ``dashboard`` command: serve the live dashboard (``sim/app.py``) with Solara.

``python run_simulation.py dashboard [--host 127.0.0.1] [--port 8765] [--no-open]`` runs
``solara run sim/app.py --host HOST --port PORT --production`` with this checkout first on the
import path, and stops with Ctrl-C. It listens on 127.0.0.1 (this computer only) unless
``--host`` says otherwise, e.g. ``--host 0.0.0.0`` to let a classroom's laptops on the same
network connect.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

from sim.errors import UserError
from sim.paths import ROOT

__all__ = ["APP", "command", "solara_command"]

APP = Path(__file__).resolve().parent / "app.py"


class DashboardError(UserError):
    """The dashboard cannot start: a bad option, a busy port or a missing dependency."""


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    from sim.present.cli import _Parser  # usage + one error line, exit code 2

    p = _Parser(
        prog="run_simulation.py dashboard",
        description=(
            "Serve the live dashboard (Mesa SolaraViz): sliders for the partnership type, the "
            "five success factors, community size and seed; the network, live charts, key "
            "numbers and an A/B comparison. Open the printed address in a browser; Ctrl-C stops."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8765, help="port to listen on (default 8765)")
    p.add_argument("--no-open", action="store_true", help="do not open a browser window")
    return p


def solara_command(host: str, port: int, open_browser: bool = False) -> list[str]:
    """The ``solara run`` command line that serves the dashboard."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        str(APP),
        "--host",
        host,
        "--port",
        str(port),
        "--open" if open_browser else "--no-open",
        # Production mode: no file watcher, so writing a file in the folder (a GIF, a results
        # table) never restarts the server and drops a classroom's sessions.
        "--production",
    ]


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except socket.gaierror:
            raise DashboardError(
                f"--host {host!r}: not an address of this computer (try 127.0.0.1 or 0.0.0.0)"
            ) from None
        except OSError as exc:
            raise DashboardError(
                f"--port {port}: cannot listen on {host}:{port} ({exc.strerror}); "
                "another program (perhaps another dashboard) uses it: choose another --port"
            ) from None


def command(argv: list[str]) -> int:
    """Serve the dashboard until interrupted; returns solara's exit code."""
    args = _parser().parse_args(argv)
    if importlib.util.find_spec("solara") is None:
        raise DashboardError(
            "the dashboard needs Solara: pip install -e '.[dashboard]' (see README, Quick start)"
        )
    _check_port(args.host, args.port)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    print(f"Kemitraan dashboard: http://{args.host}:{args.port}/  (Ctrl-C stops)", flush=True)
    return subprocess.call(solara_command(args.host, args.port, not args.no_open), env=env)
