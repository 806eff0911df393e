"""Safe by default: the library never evaluates, executes or unpickles what a user hands it.

Scenario files are read with ``tomllib`` (data only). This test greps the source of ``sim/``
for the constructs that would turn a data file into code; any use must be added to
``ALLOWED`` with a reason, so a new one cannot slip in unnoticed.
"""

from __future__ import annotations

import re

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
    source = (ROOT / "sim" / "scenario.py").read_text()
    assert "tomllib.load" in source
    assert not re.search(r"\b(import|from) (yaml|pickle|dill|cloudpickle)\b", source)
