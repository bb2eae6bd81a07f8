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


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    data = tmp_path / "gatehouse"
    home.mkdir()
    e = dict(os.environ)
    e.update(HOME=str(home), GATEHOUSE_HOME=str(data), XDG_DATA_HOME=str(home / ".local/share"))
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


@pytest.fixture
def app(env, request, tmp_path: Path):
    if not os.environ.get("DISPLAY"):
        pytest.fail("no X display: run the E2E tests under Xvfb (the test command does)")
    port = _free_port()
    log = open(tmp_path / "tauri-driver.log", "w")
    driver = subprocess.Popen(
        ["tauri-driver", "--port", str(port), "--native-port", str(_free_port())],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    session = None
    try:
        _wait_port(port, driver)
        session = Session(f"http://127.0.0.1:{port}", str(_binary("gatehouse-app")))
        session.wait_for(lambda: session.execute("return !!document.querySelector('nav')"), what="the UI")
        yield App(session, SCREENSHOTS / request.node.name)
    finally:
        if session:
            session.close()
        driver.terminate()
        try:
            driver.wait(10)
        except subprocess.TimeoutExpired:
            driver.kill()
        log.close()
