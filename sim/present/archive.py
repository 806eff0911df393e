"""``archive``: write a model archive ready for the CoMSES Net Computational Model Library.

The layout follows CoMSES Net's recommended archive structure (code, docs, data and results
in their own folders; licence, README and ``codemeta.json`` at the top)::

    OUT/
      LICENSE  README.md  CITATION.cff  codemeta.json
      code/     the sim package, run_simulation.py, pyproject.toml, scenarios/, sweeps/
      docs/     ODD.md (the model description) and the other reference pages, with images

It works from a clone and from an installed wheel alike: the files that are not Python code
(licence, README, citation, codemeta, changelog, ``pyproject.toml``, ``run_simulation.py`` and
the documentation pages with their images) ship as package data under ``sim/data/archive/``
(in a clone, links to the checkout's own files; in a wheel, copies), the code is the running
``sim`` package and the scenarios and sweeps are its shipped data. ``codemeta.json`` is written
with the running ``sim.__version__``.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> out = Path(tempfile.mkdtemp()) / "kemitraan-archive"
    >>> files = write_archive(out)
    >>> sorted(p for p in ("LICENSE", "README.md", "codemeta.json") if (out / p).is_file())
    ['LICENSE', 'README.md', 'codemeta.json']
    >>> (out / "code" / "sim" / "__init__.py").is_file(), (out / "docs" / "ODD.md").is_file()
    (True, True)
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import sim
from sim.errors import UserError
from sim.experiments import prepare_output_folder
from sim.paths import DATA, SCENARIOS, SWEEPS
from sim.present import args as opts

__all__ = ["command", "write_archive"]

TOP_FILES = ("LICENSE", "README.md", "CITATION.cff", "codemeta.json")
"""Files copied to the archive's top folder (CoMSES asks for licence, README and codemeta)."""

CODE = ("run_simulation.py", "pyproject.toml", "CHANGELOG.md")
"""Files beside the package under ``code/``; with ``sim/``, ``scenarios/`` and ``sweeps/``
they are everything needed to install and run the model."""

SHIPPED = DATA / "archive"
"""The archive's non-code files as package data, in the repository's layout."""

PACKAGE = Path(sim.__file__).resolve().parent
"""The running ``sim`` package (a checkout's or site-packages')."""

DOCS = ("ODD.md", "policies.md", "sweeps.md", "dashboard.md", "validation.md", "img")
"""What goes under ``docs/``; ``ODD.md`` is required, the rest is copied when present."""

_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")


def _skip_in_package(folder: str, names: list[str]) -> set[str]:
    """What not to copy of the package: caches, and the archive's own files (``data/archive``)."""
    skipped = set(_SKIP(folder, names))
    if Path(folder).resolve() == (PACKAGE / "data").resolve():
        skipped.add("archive")
    return skipped


def _source(root: Path) -> None:
    """Refuse a tree that lacks the archive's files, naming what is missing."""
    needed = (*TOP_FILES, "docs/ODD.md")
    missing = [name for name in needed if not (root / name).is_file()]
    if missing:
        raise UserError(
            f"archive: {root} does not hold the model's files (missing {', '.join(missing)}); "
            "reinstall kemitraan, or run the archive command from a clone of the repository"
        )


def write_archive(out: Path, *, root: Path = SHIPPED, overwrite: bool = False) -> list[Path]:
    """Write the CoMSES-ready archive of the running model into the folder ``out``.

    Args:
        out: The archive folder; refused if it exists and is not empty, unless ``overwrite``.
        root: Where the non-code files are, in the repository's layout (default: the package
            data under ``sim/data/archive``; a checkout's top folder works too).
        overwrite: Allow writing into an existing, non-empty folder.

    Returns:
        Every file written, relative to ``out``, sorted.

    Raises:
        UserError: ``root`` lacks the licence, README, citation, codemeta or ODD, or ``out``
            cannot be used.
    """
    root = Path(root)
    _source(root)
    out = prepare_output_folder(Path(out), overwrite=overwrite)
    for name in TOP_FILES:
        shutil.copyfile(root / name, out / name)
    meta = json.loads((root / "codemeta.json").read_text(encoding="utf-8"))
    meta["version"] = meta["softwareVersion"] = sim.__version__
    (out / "codemeta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    code = out / "code"
    shutil.copytree(PACKAGE, code / "sim", ignore=_skip_in_package, dirs_exist_ok=True)
    shutil.copytree(SCENARIOS, code / "scenarios", ignore=_SKIP, dirs_exist_ok=True)
    shutil.copytree(SWEEPS, code / "sweeps", ignore=_SKIP, dirs_exist_ok=True)
    for kind, names, base in (("code", CODE, root), ("docs", DOCS, root / "docs")):
        for name in names:
            src, dst = base / name, out / kind / name
            if src.is_dir():
                shutil.copytree(src, dst, ignore=_SKIP, dirs_exist_ok=True)
            elif src.is_file():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
    return sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())


def command(argv: list[str]) -> int:
    """The ``archive`` command: ``archive OUT [--overwrite]``."""
    parser = opts.Parser(
        prog="kemitraan archive",
        description=(
            "Write a model archive ready for the CoMSES Net Computational Model Library: code/, "
            "docs/ (the ODD), LICENSE, README.md, CITATION.cff and codemeta.json."
        ),
    )
    parser.add_argument("out", type=Path, help="archive folder (must be new or empty)")
    parser.add_argument("--overwrite", action="store_true", help="write into a non-empty folder")
    args = parser.parse_args(argv)
    files = write_archive(args.out, overwrite=args.overwrite)
    print(f"wrote {len(files)} files to {args.out}", file=sys.stdout)
    return 0
