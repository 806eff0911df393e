"""Installable for real: shipped data through importlib.resources, user files and results in
the working directory, ``python -m sim``, ``init``, and the user's git commit never recorded."""

import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from sim.paths import RESULTS, ROOT, SCENARIOS, SWEEPS, source_checkout
from sim.present.cli import main
from sim.scenario import load_scenario


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def test_shipped_data_is_package_data():
    data = files("sim") / "data"
    for name in (
        "scenarios/msp.toml",
        "scenarios/policies/status_quo.toml",
        "scenarios/maps/example/nodes.csv",
        "sweeps/partnership_grid.toml",
    ):
        assert data.joinpath(*name.split("/")).is_file(), name
    assert SCENARIOS == Path(str(data / "scenarios")) and SWEEPS == Path(str(data / "sweeps"))
    assert len(list(SCENARIOS.glob("*.toml"))) == 10


def test_checkout_folders_are_the_shipped_ones():
    # The README's paths (scenarios/msp.toml) work from the checkout: the same files.
    assert (ROOT / "scenarios").resolve() == SCENARIOS.resolve()
    assert (ROOT / "sweeps").resolve() == SWEEPS.resolve()
    assert load_scenario(ROOT / "scenarios" / "msp_low_trust.toml") == load_scenario(
        SCENARIOS / "msp_low_trust.toml"
    )


def test_results_default_to_the_working_directory():
    assert RESULTS == Path("results") and not RESULTS.is_absolute()


def test_an_install_inside_a_users_repository_is_not_a_checkout(tmp_path):
    # A user's project with its own git repository and a .venv holding the installed package.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'their-project'\n")
    site = tmp_path / ".venv" / "lib" / "site-packages"
    (site / "sim").mkdir(parents=True)
    assert not source_checkout(site)
    assert source_checkout(ROOT)


def test_python_dash_m_sim_runs_the_cli_and_writes_under_the_cwd(tmp_path):
    (tmp_path / "mine.toml").write_text('extends = "msp.toml"\nname = "mine"\n')
    (tmp_path / "msp.toml").write_text('name = "msp"\n[partnership]\ntype = "msp"\n')
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "--scenario",
            "mine.toml",
            "--steps",
            "2",
            "--replications",
            "1",
            "--no-progress",
            "--no-figure",
        ],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (folder,) = (tmp_path / "results").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "mine" in json.dumps(manifest["scenarios"])


def test_python_dash_m_sim_is_the_same_cli(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "levers"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "factors.communication" in proc.stdout


def test_init_copies_the_shipped_scenarios_for_editing(tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["init", str(out)]) == 0
    assert "copied" in capsys.readouterr().out
    for name in ("msp.toml", "policies/forum_with_exit.toml", "maps/example/edges.csv"):
        assert (out / "scenarios" / name).read_bytes() == (SCENARIOS / name).read_bytes()
    assert (out / "sweeps" / "success_factors_sobol.toml").is_file()
    edited = out / "scenarios" / "msp_low_trust.toml"
    edited.write_text(edited.read_text().replace("trust = ", "trust = 0.11 #"))
    assert load_scenario(edited).factors.trust == 0.11
    assert main(["init", str(out)]) == 2  # not empty: refused, nothing overwritten
    assert load_scenario(edited).factors.trust == 0.11
