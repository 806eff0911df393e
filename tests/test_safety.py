"""Safe by default: the library never evaluates, executes or unpickles what a user hands it.

Scenario files are read with ``tomllib`` (data only). This test greps the source of ``sim/``
for the constructs that would turn a data file into code; any use must be added to
``ALLOWED`` with a reason, so a new one cannot slip in unnoticed.
"""

from __future__ import annotations

import re

import pytest

from .conftest import ROOT

FORBIDDEN = {
    "eval(": re.compile(r"(?<![\w.])eval\("),
    "exec(": re.compile(r"(?<![\w.])exec\("),
    "pickle.load": re.compile(r"\bpickle\.loads?\("),
    "marshal.load": re.compile(r"\bmarshal\.loads?\("),
    "yaml.load": re.compile(r"\byaml\.(unsafe_)?load\("),
    "shell=True": re.compile(r"shell\s*=\s*True"),
    "__import__(": re.compile(r"\b__import__\("),
    "pd.read_pickle": re.compile(r"\bread_pickle\("),
    "np.load(allow_pickle=True)": re.compile(r"allow_pickle\s*=\s*True"),
}

ALLOWED: dict[tuple[str, str], str] = {}
"""(file relative to the repository, construct) -> why it is safe. Empty: none is needed."""


def _hits() -> list[tuple[str, int, str, str]]:
    hits = []
    for path in sorted((ROOT / "sim").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for name, pattern in FORBIDDEN.items():
                if pattern.search(line) and (rel, name) not in ALLOWED:
                    hits.append((rel, number, name, line.strip()))
    return hits


def test_no_eval_exec_pickle_or_shell_in_the_library():
    assert _hits() == []


def test_the_grep_would_catch_each_construct(tmp_path):
    # The patterns themselves can fail: each matches its construct and not a near miss.
    samples = {
        "eval(": ("x = eval(text)", "df.eval('a + b')"),
        "exec(": ("exec(code)", "ProcessPoolExecutor(max_workers=2)"),
        "pickle.load": ("pickle.load(fh)", "pickled = 1"),
        "yaml.load": ("yaml.load(text)", "yaml.safe_load(text)"),
        "shell=True": ("run(cmd, shell=True)", "run(cmd, shell=False)"),
    }
    for name, (bad, fine) in samples.items():
        assert FORBIDDEN[name].search(bad), name
        assert not FORBIDDEN[name].search(fine), name


def test_scenarios_are_read_as_toml_data_only():
    source = "\n".join(p.read_text() for p in sorted((ROOT / "sim" / "scenario").glob("*.py")))
    assert "tomllib.load" in source
    assert not re.search(r"\b(import|from) (yaml|pickle|dill|cloudpickle)\b", source)


def test_the_dashboard_command_listens_on_localhost_unless_told(monkeypatch, capsys):
    """The command as run (not only its parser): the solara command line it starts."""
    from sim.present import dashboard
    from sim.present.cli import main

    started = []
    monkeypatch.setattr(dashboard, "_check_port", lambda host, port: None)
    monkeypatch.setattr(dashboard.subprocess, "call", lambda cmd, env: started.append(cmd) or 0)
    assert main(["dashboard", "--no-open"]) == 0
    assert main(["dashboard", "--no-open", "--host", "0.0.0.0", "--port", "9000"]) == 0
    default, explicit = started
    assert default[default.index("--host") + 1] == "127.0.0.1"
    assert "--no-open" in default and "--open" not in default
    assert explicit[explicit.index("--host") + 1] == "0.0.0.0"
    assert explicit[explicit.index("--port") + 1] == "9000"
    assert "http://127.0.0.1:8765/" in capsys.readouterr().out


def test_the_map_importer_bounds_bytes_and_rows_before_reading_everything(tmp_path, monkeypatch):
    """A map file over the byte limit is refused before it is parsed; rows are counted while
    reading, so a file of many tiny rows stops at the limit (it used to become one dictionary
    per row first: a 20 MB file of 2.8 million rows took over a gigabyte). The limits are
    lowered here to keep the test fast; the mechanism is the same."""
    import tracemalloc

    from sim.scenario import maps

    monkeypatch.setitem(maps.LIMITS, "edges", 1000)
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "villages.csv").write_text("id,households\nv1,10\nv2,10\n")
    (folder / "nodes.csv").write_text("id,type\ngov,government\n")
    (folder / "edges.csv").write_text("source,target\n" + "gov,v1\n" * 300_000)  # 2.1 MB
    tracemalloc.start()
    try:
        with pytest.raises(maps.MapError, match=r"edges.csv row 1002: more than 1000 rows"):
            maps.load_map(folder)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6, peak  # 1 000 rows read, not 300 000 (about 130 MB)
    monkeypatch.setitem(maps.LIMITS, "file_bytes", 1_000_000)
    maps._load_cached.cache_clear()
    with pytest.raises(maps.MapError, match="too large for a stakeholder map; allowed: at most"):
        maps.load_map(folder)
