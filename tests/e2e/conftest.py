"""Shared set-up for the end-to-end tests.

Every test gets a fresh GATEHOUSE_HOME and HOME, the real `gatehouse` CLI,
and, when it asks for `app`, the real Gatehouse window started by
tauri-driver + WebKitWebDriver on the X display the test command provides.
Screenshots go under the build's target directory (e2e-screenshots/).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from webdriver import Session

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
PROFILE = os.environ.get("GATEHOUSE_PROFILE", "debug")
BIN = TARGET / PROFILE
SCREENSHOTS = TARGET / "e2e-screenshots"


def _binary(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: build it first (the test command does)")
    return path


def app_binary() -> Path:
    return _binary("gatehouse-app")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    data = tmp_path / "gatehouse"
    home.mkdir()
    e = dict(os.environ)
    e.update(HOME=str(home), GATEHOUSE_HOME=str(data), XDG_DATA_HOME=str(home / ".local/share"))
    # A proxy that needs an approval must not start the app on its own in
    # tests; the approval tests start it themselves.
    e["GATEHOUSE_APP"] = ""
    return e


class Cli:
    def __init__(self, env: dict[str, str]):
        self.env = env
        self.path = _binary("gatehouse")

    def run(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(self.path), *args], env=self.env, input=input, capture_output=True, text=True, timeout=60
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"gatehouse {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def json(self, *args: str):
        return json.loads(self.run(*args, "--json").stdout)


@pytest.fixture
def cli(env) -> Cli:
    return Cli(env)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tauri-driver exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("tauri-driver did not listen")


def _wait_for_app_exit(path: str, timeout: float = 10) -> None:
    """The app is single-instance on the session bus: the next test's app
    would hand over to a lingering one and exit. Wait for it to be gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(["pgrep", "-f", path], capture_output=True).returncode != 0:
            return
        time.sleep(0.05)
    subprocess.run(["pkill", "-9", "-f", path])


class App:
    """The running Gatehouse window."""

    def __init__(self, session: Session, shots: Path):
        self.s = session
        self.shots = shots

    def open_page(self, page: str) -> None:
        self.s.click(self.s.find(f'nav a[data-page="{page}"]'))
        self.s.wait_for(
            lambda: self.s.execute("return document.querySelector('nav a[aria-current=page]')?.dataset.page")
            == page,
            what=f"page {page}",
        )

    def screenshot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.s.screenshot(path)
        return path

    def table_rows(self) -> list[str]:
        return self.s.execute(
            "return [...document.querySelectorAll('table tbody tr')].map(r => r.dataset.key)"
        )


def _start(env: dict[str, str], log) -> tuple[subprocess.Popen, Session]:
    port = _free_port()
    driver = subprocess.Popen(
        ["tauri-driver", "--port", str(port), "--native-port", str(_free_port())],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_port(port, driver)
        session = Session(f"http://127.0.0.1:{port}", str(_binary("gatehouse-app")))
        session.wait_for(lambda: session.execute("return !!document.querySelector('nav')"), what="the UI")
        return driver, session
    except Exception:
        _stop(driver)
        raise


def _stop(driver: subprocess.Popen) -> None:
    _wait_for_app_exit(str(_binary("gatehouse-app")))
    driver.terminate()
    try:
        driver.wait(10)
    except subprocess.TimeoutExpired:
        driver.kill()


@pytest.fixture
def app(env, request, tmp_path: Path):
    if not os.environ.get("DISPLAY"):
        pytest.fail("no X display: run the E2E tests under Xvfb (the test command does)")
    log = open(tmp_path / "tauri-driver.log", "w")
    # Starting WebKitWebDriver is occasionally refused on a loaded machine
    # (the driver drops the new-session request). That is set-up, not the
    # behaviour under test: start afresh, on new ports, a few times.
    for attempt in range(3):
        try:
            driver, session = _start(env, log)
            break
        except (OSError, TimeoutError, RuntimeError) as e:
            if attempt == 2:
                raise
            log.write(f"start attempt {attempt + 1} failed: {e!r}\n")
    try:
        yield App(session, SCREENSHOTS / request.node.name)
    finally:
        session.close()
        _stop(driver)
        log.close()
