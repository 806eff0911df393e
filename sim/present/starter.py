"""``init``: copy the shipped scenarios and sweep files into a folder a user can edit.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp()) / "my-study"
    >>> files = init_folder(folder)
    >>> (folder / "scenarios" / "msp.toml").is_file(), (folder / "sweeps").is_dir()
    (True, True)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sim.experiments import prepare_output_folder
from sim.paths import SCENARIOS, SWEEPS
from sim.present import args as opts

__all__ = ["command", "init_folder"]

_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


def init_folder(folder: Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the shipped ``scenarios/`` (with ``policies/`` and ``maps/``) and ``sweeps/``.

    Args:
        folder: Where to copy them; refused if it exists and is not empty, unless ``overwrite``.
        overwrite: Allow copying into a non-empty folder (files of the same name are replaced).

    Returns:
        Every file copied, relative to ``folder``, sorted.

    Raises:
        UserError: ``folder`` cannot be used.
    """
    folder = prepare_output_folder(Path(folder), overwrite=overwrite)
    for source in (SCENARIOS, SWEEPS):
        shutil.copytree(source, folder / source.name, ignore=_SKIP, dirs_exist_ok=True)
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def command(argv: list[str]) -> int:
    """The ``init`` command: ``init DIR [--overwrite]``."""
    parser = opts.Parser(
        prog="kemitraan init",
        description=(
            "Copy the shipped scenarios (with policy designs and the example map) and sweep "
            "files into DIR, to edit and run: kemitraan --scenario DIR/scenarios/msp.toml"
        ),
    )
    parser.add_argument("dir", type=Path, help="folder to create (must be new or empty)")
    parser.add_argument("--overwrite", action="store_true", help="copy into a non-empty folder")
    args = parser.parse_args(argv)
    files = init_folder(args.dir, overwrite=args.overwrite)
    print(f"copied {len(files)} files to {args.dir}: scenarios/ and sweeps/")
    return 0
