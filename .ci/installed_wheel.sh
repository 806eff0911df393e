#!/usr/bin/env bash
# CI: the built wheel, installed into a fresh venv OUTSIDE the checkout, inside a user's own git
# repository (a project .venv), runs the default job and one command of each kind from that
# folder; every result must land there and none in site-packages, and the manifest must not
# take the user's git commit for the model's. Called by .ci/run; usage: installed_wheel.sh PYTHON
set -euo pipefail
export PS4='+ $(date +%T) '
PY=${1:-python3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
set -x
"$PY" -m pip wheel --no-deps -q -w "$WORK/dist" "$SRC"
WHEEL=$(ls "$WORK"/dist/kemitraan-*.whl)
cd "$WORK"
git init -q . && git -c user.name=u -c user.email=u@example.org commit -q --allow-empty -m "the user's own project"
"$PY" -m venv .venv
.venv/bin/python -m pip install -q "$WHEEL"   # the plain install: models and sweeps
export PATH="$WORK/.venv/bin:$PATH" MPLBACKEND=Agg
SITE=$(python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
INSTALLED="$WORK/.installed"; touch "$INSTALLED"; sleep 1   # later files: written by the commands
python -c "import sim, sys; assert '$SRC' not in sim.__file__, sim.__file__; print('sim from', sim.__file__)"

kemitraan --steps 12 --replications 2 --no-progress                  # the default job
python -m sim levers >/dev/null
kemitraan init study
kemitraan compare study/scenarios/policies/status_quo.toml \
    study/scenarios/policies/community_seat.toml --steps 6 --replications 2 --no-progress
cat > tiny.toml <<'TOML'
name = "tiny"
scenarios = ["baseline", "msp"]
reference = "baseline"
replications = 2
seed = 1
steps = 6
outcomes = ["welfare_mean", "welfare_q1"]
[set]
"population.households" = 100
[design]
method = "grid"
[design.levers]
"factors.communication" = { values = [0.3, 0.8] }
TOML
kemitraan sweep tiny.toml --no-progress
kemitraan analyze results/tiny
kemitraan validate --size ci
kemitraan discover --size ci --workers 1 --no-progress   # PRIM from the plain install
kemitraan animate --steps 3 --every 1 --out run.gif
kemitraan evidence                                      # the shipped targets; ./evidence.md
kemitraan archive model-archive                         # from the wheel's data only
set +x
test "$(ls -d results/2* | wc -l)" -eq 2                # run and compare: results/<timestamp>/
for f in results/tiny/manifest.json results/tiny/data_dictionary.csv validation.md evidence.md \
    results/discover-msp-ci/report.md img/validation/pattern_01.png run.gif model-archive/LICENSE model-archive/codemeta.json \
    model-archive/docs/ODD.md model-archive/code/sim/__init__.py model-archive/code/pyproject.toml; do test -s "$f" || { echo "missing $f"; exit 1; }; done
ls results/2*/summary.csv >/dev/null
# Nothing the commands wrote may land in site-packages: no file there is newer than the install
# (bytecode caches aside). A name search would also match other packages' own data, e.g.
# statsmodels' tests/results folders (EMA Workbench needs statsmodels).
WRITTEN=$(find "$SITE" -newer "$INSTALLED" -type f ! -name '*.pyc' -print)
if [ -n "$WRITTEN" ]; then
    echo "results written into site-packages:"; echo "$WRITTEN" | head -n 20; exit 1
fi
python - <<'PYEOF'
import glob, json
for path in glob.glob("results/2*/manifest.json"):
    git = json.load(open(path))["git"]
    assert git["commit"] is None, (path, git)  # the user's repository is not the model's
print("installed wheel: results in the working directory, no user commit in manifests")
PYEOF
