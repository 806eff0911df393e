"""The dashboard in a real browser: Playwright driving the system's headless Chromium.

The app is served exactly as a user starts it (``python run_simulation.py dashboard``) on a free
port. The tests check that the page renders its title and controls, that moving a slider and
stepping changes what the key numbers and charts show (to the exact value the same model
computes in this process), that the A/B comparison appears, that a policy design's
interventions appear in the events list as they fire, and that neither the browser console nor
the server reports an error.

Set ``KEMITRAAN_SCREENSHOT=docs/img/dashboard.png`` to refresh the README's screenshot.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs the system Chromium at /usr/bin/chromium (apt-get install chromium; "
    ".ci/run installs it). Playwright's own browser download is never used.",
)

TITLE = "Kemitraan: partnerships and community welfare"
CONTROLS = (
    "Partnership type",
    "Goal clarity",
    "Power balance",
    "Communication",
    "Trust (prehistory)",
    "Evaluation every N months (0 = never)",
    "Community size (households)",
    "Seed",
    "Policy design (sets type and factors)",
    "Compare with B = A but …",
    "Play Interval (ms)",  # Mesa's speed control
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The dashboard served by the project's own command, on a free port of 127.0.0.1."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("dashboard") / "server.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "run_simulation.py"),
                "dashboard",
                "--port",
                str(port),
                "--no-open",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: solara is stopped with it
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            pytest.fail(f"dashboard did not start:\n{log_path.read_text()}")
        time.sleep(0.3)
    yield {"url": url, "log": log_path}
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        pg.goto(server["url"])
        pg.get_by_text("Key numbers", exact=True).wait_for(timeout=45_000)
        yield pg, errors
        browser.close()
    assert "Traceback" not in server["log"].read_text(), server["log"].read_text()


def _step_counter(pg) -> str:
    return pg.get_by_text(re.compile(r"^Step: \d+$")).inner_text()


def _number(pg, key: str, run: str = "a") -> str:
    return pg.locator(f".kn-{key}-{run}").inner_text()


def _assert_shows(pg, key: str, value: str, run: str = "a", timeout: float = 20.0) -> None:
    """The number panel reads exactly ``value``. The panel may redraw a moment after the step
    counter does (more so under load), so poll up to ``timeout`` s before comparing."""
    deadline = time.monotonic() + timeout
    text = _number(pg, key, run)
    while text != value and time.monotonic() < deadline:
        time.sleep(0.1)
        text = _number(pg, key, run)
    assert text == value, (key, run, text, value)


def _step(pg, times: int, expect: int) -> None:
    button = pg.get_by_role("button", name=re.compile("^step$", re.I))
    for _ in range(times):
        button.click()
    pg.get_by_text(f"Step: {expect}", exact=True).wait_for(timeout=20_000)


def _slider(pg, label: str, exact: bool = True):
    # By exact accessible name: "Power balance" is also in the Change-now panel's
    # "Now: power balance", and a text filter would match both.
    return pg.get_by_role("slider", name=label, exact=exact)


def _network_image(pg) -> str:
    return pg.locator("img").first.get_attribute("src")


def _expected(steps: int, **controls) -> dict:
    """What the same model shows after ``steps`` months, computed here (it is deterministic)."""
    from sim.present.app import DashboardModel

    model = DashboardModel(**controls)
    for _ in range(steps):
        model.step()
    return {label[0]: run.metrics for label, run in model.runs}


@needs_chromium
def test_slider_and_steps_change_numbers_and_charts_and_ab_appears(page, tmp_path):
    pg, errors = page
    before_img = _network_image(pg)
    w0 = float(_number(pg, "welfare_mean"))
    _step(pg, 3, expect=3)
    expected = _expected(3)["A"]
    _assert_shows(pg, "welfare_mean", f"{expected['welfare_mean']:.3f}")
    assert float(_number(pg, "welfare_mean")) > w0  # a good partnership raises welfare
    assert _network_image(pg) != before_img  # the figures were redrawn

    # Power balance slider to 0 (decisions follow raw power), then Reset and step again.
    slider = _slider(pg, "Power balance")
    slider.focus()
    pg.keyboard.press("Home")
    assert slider.get_attribute("aria-valuenow") == "0"
    pg.get_by_role("button", name=re.compile("^reset$", re.I)).click()
    pg.get_by_text("Step: 0", exact=True).wait_for(timeout=20_000)
    _step(pg, 3, expect=3)
    raw = _expected(3, power_balance=0.0)["A"]
    _assert_shows(pg, "power_balance", f"{raw['power_balance']:.3f}")
    shown = float(_number(pg, "power_balance"))
    assert shown < expected["power_balance"] - 0.05  # lopsided power is visible

    # A/B: B = A with poor communication, same seed; several months per click.
    pg.locator(".v-select", has_text="Compare with B").click()
    pg.get_by_role("option", name="poor communication").click()
    render = _slider(pg, "Render Interval", exact=False)  # Mesa's label carries more words
    render.focus()
    for _ in range(6):
        pg.keyboard.press("ArrowRight")
    months = int(render.get_attribute("aria-valuenow"))
    assert months > 1
    pg.get_by_role("button", name=re.compile("^reset$", re.I)).click()
    pg.get_by_text("Step: 0", exact=True).wait_for(timeout=20_000)
    _step(pg, 2, expect=2 * months)
    both = _expected(2 * months, power_balance=0.0, compare="poor communication")
    for run in ("A", "B"):
        for key in ("welfare_mean", "trust_partners", "shared_understanding"):
            _assert_shows(pg, key, f"{both[run][key]:.3f}", run.lower())
    assert pg.get_by_text(f"B (month {2 * months})", exact=True).is_visible()
    assert pg.locator("img").count() == 3  # B's network beside A's
    shot = tmp_path / "dashboard.png"
    pg.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 50_000
    target = os.environ.get("KEMITRAAN_SCREENSHOT")
    if target:
        shutil.copyfile(shot, ROOT / target if not Path(target).is_absolute() else target)
    assert errors == []


@needs_chromium
def test_page_renders_title_controls_network_and_numbers_in_a_fresh_session(page):
    # Runs after the test above has stepped its own session to month 26 on the same server:
    # a new tab starts at step 0 with the default controls, so sessions do not share a model.
    pg, errors = page
    assert pg.get_by_text(TITLE).is_visible()
    for label in CONTROLS:
        assert pg.get_by_text(label, exact=True).first.is_visible(), label
    for name in ("reset", "step"):
        assert pg.get_by_role("button", name=re.compile(f"^{name}$", re.I)).is_visible()
    assert _step_counter(pg) == "Step: 0"
    assert _slider(pg, "Power balance").get_attribute("aria-valuenow") == "0.7"
    # Network and charts are two PNG figures; the key numbers start at the model's step 0.
    assert pg.locator("img").count() == 2
    start = _expected(0)["A"]
    _assert_shows(pg, "welfare_mean", f"{start['welfare_mean']:.3f}")
    assert pg.get_by_text("No interventions have fired yet.").is_visible()
    assert pg.get_by_text("Compare A with B").is_visible()  # B's panel says how to get one

    # Play runs the model on its own; Pause stops it. Whatever month it stops at, the numbers
    # are the model's at that month.
    pg.get_by_role("button", name="▶").click()
    pg.get_by_text(re.compile(r"^Step: ([3-9]|\d\d+)$")).wait_for(timeout=20_000)
    pg.get_by_role("button", name="❚❚").click()
    pg.get_by_role("button", name="▶").wait_for(timeout=10_000)
    # Mesa's play loop may finish the step it was sleeping before (one more month); after
    # that the counter must hold still.
    stopped, deadline = _step_counter(pg), time.monotonic() + 10
    while True:
        time.sleep(1.0)
        now = _step_counter(pg)
        if now == stopped:
            break
        assert time.monotonic() < deadline, "still stepping 10 s after Pause"
        stopped = now
    month = int(stopped.split()[-1])
    _assert_shows(pg, "welfare_mean", f"{_expected(month)['A']['welfare_mean']:.3f}")
    assert errors == []


@needs_chromium
def test_a_policy_design_fires_its_interventions_into_the_events_list(page):
    # communication_programme sets factors.communication at step 1 (undone at 37) and has a
    # mediation trigger (trust among partners < 0.65). With B = "low trust" (initial trust
    # 0.2) both runs start the programme at month 1, and B's trigger fires at once too.
    pg, errors = page
    assert pg.locator(".policy-note").inner_text().startswith("Policy design: none.")
    pg.locator(".v-select", has_text="Policy design").click()
    pg.get_by_role("option", name="communication_programme", exact=True).click()
    pg.locator(".v-select", has_text="Compare with B").click()
    pg.get_by_role("option", name="low trust", exact=True).click()
    pg.get_by_role("button", name=re.compile("^reset$", re.I)).click()
    # The session is at step 0 already, so wait for the rebuilt model's note instead.
    design = "Policy design communication_programme ("
    pg.locator(".policy-note", has_text=design).wait_for(timeout=20_000)
    assert _step_counter(pg) == "Step: 0"
    note = pg.locator(".policy-note").inner_text()
    assert note.startswith(design)
    assert "their sliders are not used" in note
    assert pg.get_by_text("No interventions have fired yet.").is_visible()

    _step(pg, 1, expect=1)
    pg.locator(".event").first.wait_for(timeout=20_000)
    from sim.present.app import DashboardModel, event_lines

    model = DashboardModel(policy="communication_programme", compare="low trust")
    model.step()
    expected = event_lines(model.runs)
    assert expected == [
        "A · month 1: communication programme — set factors.communication: 0.5 → 0.85",
        "B · month 1: communication programme — set factors.communication: 0.5 → 0.85",
        "B · month 1: mediation — set factors.evaluation_interval: 12 → 3",
    ]
    assert pg.locator(".event").all_inner_texts() == expected
    # The design, not the sliders (communication 0.8 by default), set the starting levers,
    # and the numbers are still exactly the model's.
    metrics = {label[0]: run.metrics for label, run in model.runs}
    for run in ("A", "B"):
        _assert_shows(pg, "welfare_mean", f"{metrics[run]['welfare_mean']:.3f}", run.lower())
    assert errors == []


# ------------------------------------------------------------------ the command, without a browser
def test_command_listens_on_localhost_by_default_and_runs_this_checkouts_app():
    from sim.present.dashboard import APP, _parser, solara_command

    args = _parser().parse_args([])
    assert (args.host, args.port) == ("127.0.0.1", 8765)
    cmd = solara_command(args.host, args.port)
    assert cmd[1:5] == ["-m", "solara", "run", str(APP)]
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert "--production" in cmd  # no file watcher that would restart a class's sessions
    assert APP == ROOT / "sim" / "present" / "app.py"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "0"], "--port: must be between 1 and 65535, got 0"),
        (["--port", "http"], "expected a whole number, got 'http'"),
        (["--host", "no.such.host.invalid"], "not an address of this computer"),
        (["--colour", "red"], "unrecognized arguments: --colour red"),
    ],
)
def test_command_refuses_bad_options_with_exit_code_2(capsys, args, message):
    from sim.present.cli import main

    assert main(["dashboard", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_command_refuses_a_busy_port(capsys):
    from sim.present.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["dashboard", "--port", str(port), "--no-open"]) == 2
    assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_policy_designs_are_found_by_glob_and_an_unknown_one_is_refused():
    from sim.errors import UserError
    from sim.present.app import DashboardModel, model_params, policy_designs

    files = sorted(p.stem for p in (ROOT / "scenarios" / "policies").glob("*.toml"))
    assert list(policy_designs()) == files
    assert model_params["policy"]["values"] == ["none", *files]
    with pytest.raises(UserError, match=r"policy = 'nope': unknown policy design; choose 'none'"):
        DashboardModel(households=60, policy="nope")


@needs_chromium
def test_change_now_sliders_act_on_the_running_model_without_a_reset(page):
    pg, errors = page
    _step(pg, 2, expect=2)
    slider = _slider(pg, "Now: communication")
    assert slider.get_attribute("aria-valuenow") == "0.8"  # the running model's value
    slider.focus()
    pg.keyboard.press("Home")  # 0, then two ticks up within the same month: one change, 0.1
    pg.keyboard.press("ArrowRight")
    pg.keyboard.press("ArrowRight")
    assert slider.get_attribute("aria-valuenow") == "0.1"
    from playwright.sync_api import expect  # polls: the server redraws after each key

    waiting = pg.locator(".pending")
    expect(waiting).to_have_text("Next month: factors.communication 0.8 → 0.1", timeout=20_000)
    assert pg.locator(".event", has_text="dashboard (live)").count() == 0
    _step(pg, 4, expect=6)  # no Reset: the months go on from 2
    line = pg.locator(".event", has_text="dashboard (live)")
    expect(line).to_have_text(
        ["A · month 3: dashboard (live) — set factors.communication: 0.8 → 0.1"], timeout=20_000
    )  # one line: the three key presses made one change
    expect(waiting).to_have_count(0)

    from sim.present.app import DashboardModel

    changed, unchanged = DashboardModel(), DashboardModel()
    for _ in range(2):
        changed.step()
        unchanged.step()
    changed.set_live("factors.communication", 0.1)
    for _ in range(4):
        changed.step()
        unchanged.step()
    for key in ("trust_partners", "shared_understanding", "welfare_mean"):
        _assert_shows(pg, key, f"{changed.a.metrics[key]:.3f}")
    shown = _number(pg, "shared_understanding")
    assert shown != f"{unchanged.a.metrics['shared_understanding']:.3f}"  # the change mattered
    assert errors == []
