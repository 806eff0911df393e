"""Citable and archivable: licence, citation, changelog, one version, codemeta, archive."""

import json
import re
import tomllib

import pytest

import sim
from sim.errors import UserError
from sim.paths import ROOT
from sim.present.archive import write_archive
from sim.present.cli import main


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_version_has_one_source():
    project = _pyproject()["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert _pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "sim.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", sim.__version__)


def test_citation_and_codemeta_agree_with_the_version():
    cff = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(r'^version: "(.+)"$', cff, re.M).group(1) == sim.__version__
    assert re.search(r"^cff-version: 1\.2\.0$", cff, re.M)
    for key in ("message:", "title:", "authors:", "license: MIT"):
        assert re.search(rf"^{key}", cff, re.M), key
    meta = json.loads((ROOT / "codemeta.json").read_text(encoding="utf-8"))
    assert meta["version"] == meta["softwareVersion"] == sim.__version__
    assert meta["license"] == "https://spdx.org/licenses/MIT"


def test_codemeta_lists_the_same_requirements_as_pyproject():
    meta = json.loads((ROOT / "codemeta.json").read_text(encoding="utf-8"))
    assert meta["softwareRequirements"] == _pyproject()["project"]["dependencies"]


def test_licence_is_mit_with_its_holder_and_spdx_metadata():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "The Kemitraan developers" in text
    project = _pyproject()["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert project["authors"] == [{"name": "The Kemitraan developers"}]
    assert "Programming Language :: Python :: 3.11" in project["classifiers"]


def test_changelog_follows_keep_a_changelog():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "keepachangelog.com" in text
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings[0] == "Unreleased"
    assert any(h.startswith(sim.__version__) for h in headings)


def test_archive_command_writes_a_comses_layout(tmp_path, capsys):
    out = tmp_path / "archive"
    assert main(["archive", str(out)]) == 0
    assert "files to" in capsys.readouterr().out
    for name in ("LICENSE", "README.md", "codemeta.json", "CITATION.cff", "docs/ODD.md"):
        assert (out / name).is_file(), name
    for name in ("sim/__init__.py", "sim/model/model.py", "run_simulation.py", "pyproject.toml"):
        assert (out / "code" / name).is_file(), name
    assert (out / "code" / "scenarios" / "msp.toml").read_bytes() == (
        ROOT / "scenarios" / "msp.toml"
    ).read_bytes()
    assert not list(out.rglob("__pycache__"))
    meta = json.loads((out / "codemeta.json").read_text(encoding="utf-8"))
    assert meta["version"] == sim.__version__


def test_archive_refuses_a_non_empty_folder(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["archive", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_archive_refuses_a_tree_without_the_models_files(tmp_path):
    with pytest.raises(UserError, match=r"does not hold the model's files \(missing LICENSE"):
        write_archive(tmp_path / "out", root=tmp_path)
    assert not (tmp_path / "out").exists()


def test_archive_needs_only_the_package_and_its_data(tmp_path, monkeypatch):
    """As from an installed wheel: the working directory is elsewhere and nothing of the
    checkout but the package (with its data) is read; the archive holds the same files."""
    monkeypatch.chdir(tmp_path)
    from sim.paths import DATA

    shipped = DATA / "archive"
    out = tmp_path / "a"
    files = {p.as_posix() for p in write_archive(out)}
    for name in ("LICENSE", "README.md", "CITATION.cff", "codemeta.json", "docs/ODD.md",
                 "code/run_simulation.py", "code/pyproject.toml", "code/CHANGELOG.md",
                 "code/sim/paths.py", "code/scenarios/msp.toml"):  # fmt: skip
        assert name in files, name
    assert (out / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    assert (out / "docs" / "ODD.md").read_bytes() == (ROOT / "docs" / "ODD.md").read_bytes()
    assert not any(f.startswith("code/sim/data/archive") for f in files)  # no second copy
    # The shipped copies are the checkout's files (links in a clone, copies in a wheel).
    for name in ("LICENSE", "README.md", "CITATION.cff", "codemeta.json", "CHANGELOG.md",
                 "pyproject.toml", "run_simulation.py", "docs/ODD.md"):  # fmt: skip
        assert (shipped / name).read_bytes() == (ROOT / name).read_bytes(), name
