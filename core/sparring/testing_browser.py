"""Checking an HTML report in headless Chromium, for the core's and the plugins' tests.

Import the pieces a test needs; the ``browser`` fixture works once imported into a test
module (pytest finds fixtures in the module's namespace)::

    from sparring.testing_browser import Page, assert_report_loads, browser  # noqa: F401

    def test_my_report_in_chromium(browser, tmp_path):
        state = assert_report_loads(browser, run / "report.html", tmp_path / "report-mine.png")

Chromium (Debian's ``chromium`` package, or ``SPARRING_CHROMIUM``) is driven over the
DevTools protocol on a pipe (``--remote-debugging-pipe``): no port, no client library.
Without it the fixture skips, or fails when ``SPARRING_REQUIRE_BROWSER`` is set.
``SPARRING_SCREENSHOT_DIR`` keeps every screenshot for a person to look at.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest


class Page(HTMLParser):
    """The tags of a page (name, attributes) in order, and its text."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag: str) -> list[dict]:
        return [attrs for t, attrs in self.tags if t == tag]


def chromium_path() -> str | None:
    for name in (os.environ.get("SPARRING_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe).

    Chromium reads commands on its fd 3 and answers on fd 4, NUL-terminated JSON: no
    port is opened and no client library is needed.
    """

    def __init__(self, executable, profile: Path):
        to_chrome_r, self._out = os.pipe()
        self._in, from_chrome_w = os.pipe()
        # Park the child's ends on high numbers so dup2 onto 3 and 4 cannot clobber one another.
        high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD_CLOEXEC, 100)
        high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD_CLOEXEC, 100)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        args = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--mute-audio", f"--user-data-dir={profile}",
                "--remote-debugging-pipe", "about:blank"]
        self.stderr = open(profile / "chromium.log", "wb")
        self.proc = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=lambda: (os.dup2(high_r, 3), os.dup2(high_w, 4)),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr)
        os.close(high_r)
        os.close(high_w)
        self._buffer = b""
        self._id = 0
        self.events: list[dict] = []

    def send(self, method, params=None, session=None, timeout=60):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            for reply in self._receive(deadline):
                if reply.get("id") == self._id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply["result"]
                self.events.append(reply)

    def wait_for(self, method, timeout=60):
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.extend(self._receive(deadline))

    def _receive(self, deadline):
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            if select.select([self._in], [], [], left)[0]:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"chromium exited; see {self.stderr.name}")
                self._buffer += chunk
        *messages, self._buffer = self._buffer.split(b"\0")
        return [json.loads(m) for m in messages]

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        finally:
            os.close(self._out)
            os.close(self._in)
            self.stderr.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One headless Chromium per test module; skips without one (fails if required)."""
    executable = chromium_path()
    if executable is None:
        reason = "headless Chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("SPARRING_REQUIRE_BROWSER"):
            pytest.fail(reason + " and SPARRING_REQUIRE_BROWSER is set")
        pytest.skip(reason)
    chrome = Chromium(executable, tmp_path_factory.mktemp("chromium-profile"))
    yield chrome
    chrome.close()


LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")
PAGE_STATE = """JSON.stringify({
  images: Array.from(document.images).map(i => ({src: i.src.slice(0, 80), complete: i.complete, width: i.naturalWidth})),
  audio: Array.from(document.querySelectorAll('audio')).map(a => ({error: a.error && a.error.code, state: a.readyState, duration: a.duration})),
  height: document.documentElement.scrollHeight})"""


def open_in_browser(browser, report: Path, screenshot: Path) -> dict:
    """Load ``report``, wait for audio metadata, save a full-page screenshot; return what
    the page holds (images, audio, height), its console errors and the URLs it requested."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(f"{domain}.enable", session=session)
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=session)
    browser.events.clear()
    browser.send("Page.navigate", {"url": Path(report).resolve().as_uri()}, session=session)
    browser.wait_for("Page.loadEventFired")
    deadline = time.monotonic() + 20
    while True:  # audio metadata loads after the load event
        state = json.loads(browser.send("Runtime.evaluate", {"expression": PAGE_STATE, "returnByValue": True},
                                        session=session)["result"]["value"])
        if all(a["state"] >= 1 or a["error"] for a in state["audio"]) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session)
    Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
    if os.environ.get("SPARRING_SCREENSHOT_DIR"):  # keep it for a person to look at (CI artifacts)
        keep = Path(os.environ["SPARRING_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, keep / Path(screenshot).name)
    browser.send("Target.closeTarget", {"targetId": target})
    events = [e for e in browser.events if e.get("sessionId") == session]
    state["errors"] = [json.dumps(e["params"])[:300] for e in events
                       if e["method"] == "Runtime.exceptionThrown"
                       or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
                       or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
    state["requests"] = [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]
    return state


def assert_loads_cleanly(state, n_images, n_audio=0):
    """No console error, no request leaving the machine, every image decoded, every
    audio player loaded its metadata, and as many of each as expected."""
    assert state["errors"] == []
    leaving = [u for u in state["requests"] if not u.startswith(LOCAL_SCHEMES)]
    assert leaving == [], "requests leaving the machine"
    assert len(state["images"]) == n_images
    assert [i for i in state["images"] if not (i["complete"] and i["width"] > 0)] == []
    assert len(state["audio"]) == n_audio
    assert all(a["error"] is None and a["state"] >= 1 and a["duration"] > 0 for a in state["audio"]), state["audio"]


def assert_report_loads(browser, report: Path, screenshot: Path) -> dict:
    """:func:`open_in_browser` then :func:`assert_loads_cleanly`, expecting every
    ``<img>`` and ``<audio>`` the HTML holds; returns the page state."""
    page = Page(Path(report).read_text(encoding="utf-8"))
    state = open_in_browser(browser, report, screenshot)
    assert_loads_cleanly(state, n_images=len(page.all("img")), n_audio=len(page.all("audio")))
    assert Path(screenshot).stat().st_size > 0
    return state
