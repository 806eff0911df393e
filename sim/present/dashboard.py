"""The ``dashboard`` command: serve the live dashboard (``sim/app.py``) with Solara.

``python run_simulation.py dashboard [--host 127.0.0.1] [--port 8765] [--no-open]`` runs
``solara run sim/app.py --host HOST --port PORT --production`` with this checkout first on the
import path, and stops with Ctrl-C. It listens on 127.0.0.1 (this computer only) unless
``--host`` says otherwise, e.g. ``--host 0.0.0.0`` to let a classroom's laptops on the same
network connect (a warning says so); an empty ``--host`` is refused rather than silently
listening everywhere, and ``--host ::1`` (IPv6 loopback) works. SIGINT (Ctrl-C) and SIGTERM
both stop the server. A session whose page was closed without saying so (a lost network) is
dropped after :data:`SESSION_TIMEOUT`.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from sim.errors import UserError
from sim.paths import ROOT
from sim.present import args as opts

__all__ = ["APP", "command", "solara_command"]

APP = Path(__file__).resolve().parent / "app.py"

SESSION_TIMEOUT = "2m"
"""How long Solara keeps a session whose page is gone (Solara's own default is a day)."""


class DashboardError(UserError):
    """The dashboard cannot start: a bad option, a busy port or a missing dependency."""


@opts.bounded(1, 65535)
def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = opts.Parser(  # usage + one error line, exit code 2
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


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _check_port(host: str, port: int) -> None:
    if not host.strip():
        raise DashboardError(
            "--host '': an empty address would listen on every network interface; say "
            "--host 0.0.0.0 (or ::) if that is meant, or keep the default 127.0.0.1"
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # As the server will: a port still in TIME_WAIT after a restart is free, one that
        # another program listens on is not.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
    """Serve the dashboard until SIGINT or SIGTERM; returns solara's exit code."""
    args = _parser().parse_args(argv)
    if importlib.util.find_spec("solara") is None:
        raise DashboardError(
            "the dashboard needs Solara: pip install -e '.[dashboard]' (see README, Quick start)"
        )
    _check_port(args.host, args.port)
    if not _is_loopback(args.host):
        print(
            f"warning: --host {args.host} lets other computers on the network open the "
            "dashboard (and run models on this one)",
            file=sys.stderr,
            flush=True,
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", SESSION_TIMEOUT)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Kemitraan dashboard: http://{shown}:{args.port}/  (Ctrl-C stops)", flush=True)
    # SIGTERM becomes an exception here, so subprocess.call kills solara on its way out, as
    # it does on Ctrl-C (SIGINT, KeyboardInterrupt): no server is left behind either way.
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        return subprocess.call(solara_command(args.host, args.port, not args.no_open), env=env)
    except (_Stop, KeyboardInterrupt):
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Stop(Exception):
    """SIGTERM arrived: stop serving."""


def _raise_stop(_signum: int, _frame: object) -> None:
    raise _Stop
