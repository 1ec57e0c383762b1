"""Open a saved HTML page in headless Chromium and report what a person would hit.

Used by tests that check our offline map pages really work when opened from
disk: no JavaScript errors, no failed or network requests, the expected
elements present, and a screenshot that is not blank. Uses Playwright's sync
API driving Debian's ``chromium`` package (Playwright's own browser download
needs internet, which CI does not have).

This is a helper module, not a test file. Tests use the ``chromium`` fixture
defined here, so they skip locally, or fail under ``CI=true``, when Chromium is
not installed. Import it into the test module (pytest then finds it)::

    from tests.browser import check_page, chromium  # noqa: F401  (fixture)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pytest

__all__ = ["PageCheck", "check_page", "chromium", "find_chromium", "require_chromium"]

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Chromium's own background traffic would show up as external requests.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Schemes a self-contained page may load from; anything else is the network.
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")


@dataclass
class PageCheck:
    """What happened when a page was opened.

    Attributes
    ----------
    url : str
        The file:// URL opened.
    console_errors : list of str
        ``console.error`` messages (and the browser's own error lines, such as
        failed resource loads).
    page_errors : list of str
        Uncaught JavaScript exceptions.
    failed_requests : list of str
        ``"URL (reason)"`` for every request that failed.
    external_requests : list of str
        Every request whose URL is not file:, data:, about: or blob:. These are
        aborted, so the check never touches the network.
    missing_selectors : list of str
        CSS selectors asked for that matched nothing in the DOM.
    screenshot : Path
        The PNG written.
    distinct_colours : int
        Number of distinct RGB colours in the screenshot.
    colour_stddev : float
        Mean over R, G, B of the pixel standard deviation.
    """

    url: str
    screenshot: Path
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    missing_selectors: list[str] = field(default_factory=list)
    distinct_colours: int = 0
    colour_stddev: float = 0.0
    min_colours: int = 8
    min_stddev: float = 5.0

    @property
    def blank(self) -> bool:
        """True if the screenshot looks empty (one flat colour or nearly so)."""
        return self.distinct_colours < self.min_colours or self.colour_stddev < self.min_stddev

    def problems(self) -> list[str]:
        """Every problem found, one readable line each; empty if the page is fine."""
        out = [f"console error: {m}" for m in self.console_errors]
        out += [f"page error: {m}" for m in self.page_errors]
        out += [f"failed request: {m}" for m in self.failed_requests]
        out += [f"external request: {m}" for m in self.external_requests]
        out += [f"missing element: {s}" for s in self.missing_selectors]
        if self.blank:
            out.append(
                f"blank screenshot {self.screenshot}: {self.distinct_colours} colours, "
                f"stddev {self.colour_stddev:.1f}"
            )
        return out

    @property
    def ok(self) -> bool:
        """True if :meth:`problems` is empty."""
        return not self.problems()


def find_chromium() -> str | None:
    """Path of the system Chromium, or None if it is not installed."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def require_chromium() -> str:
    """Return Chromium's path, or skip the calling test (fail it when ``CI`` is true).

    Locally a missing browser should not block other work, but in CI a
    silently skipped browser test would hide a broken page, so it fails there.
    """
    reason = None
    path = find_chromium()
    if path is None:
        reason = "Chromium not installed (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright not installed (pip install playwright)"
    if reason is None:
        return path  # type: ignore[return-value]
    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason}; browser tests must run in CI", pytrace=False)
    pytest.skip(reason)
    raise AssertionError("unreachable")  # pytest.skip raises


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the system Chromium; skips (or fails under ``CI=true``) if absent."""
    return require_chromium()


def check_page(
    path: Path,
    screenshot: Path,
    *,
    selectors: Sequence[str] = (),
    click: Sequence[str] = (),
    viewport: tuple[int, int] = (1200, 800),
    settle_ms: int = 500,
    timeout_ms: int = 30_000,
    chromium: str | None = None,
) -> PageCheck:
    """Open ``path`` in headless Chromium and record errors, requests and a screenshot.

    Parameters
    ----------
    path : Path
        The HTML file to open (as a file:// URL).
    screenshot : Path
        Where to write the PNG of the viewport.
    selectors : sequence of str
        CSS selectors that must each match at least one element (checked after
        the clicks, so a popup a click opens can be asked for).
    click : sequence of str
        CSS selectors to click, in order, after the page has settled (the
        first match of each), e.g. a marker whose popup should open.
    viewport : (int, int)
        Window width and height in CSS pixels.
    settle_ms : int
        Extra wait after load and fonts, for map animations and late errors.
    timeout_ms : int
        Limit for loading the page.
    chromium : str, optional
        Browser executable; default :func:`find_chromium`.

    Returns
    -------
    PageCheck
        Everything observed; see :meth:`PageCheck.problems`.
    """
    from playwright.sync_api import sync_playwright

    executable = chromium or find_chromium()
    if executable is None:
        raise FileNotFoundError("Chromium not found; apt-get install chromium")
    url = Path(path).absolute().as_uri()
    result = PageCheck(url=url, screenshot=Path(screenshot))

    def on_request(request) -> None:
        if not request.url.startswith(LOCAL_SCHEMES):
            result.external_requests.append(request.url)

    def on_console(message) -> None:
        if message.type == "error":
            loc = message.location or {}
            where = f" ({loc.get('url', '')}:{loc.get('lineNumber', '')})" if loc.get("url") else ""
            result.console_errors.append(message.text + where)

    # A fresh profile each time, so no cache or state carries between checks.
    with tempfile.TemporaryDirectory(prefix="pcn-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": viewport[0], "height": viewport[1]},
            service_workers="block",
        )
        try:
            # Abort anything bound for the network: the check must not depend
            # on (or leak to) the outside, and the request is recorded anyway.
            context.route(lambda u: not u.startswith(LOCAL_SCHEMES), lambda route: route.abort())
            context.on("request", on_request)
            context.on(
                "requestfailed",
                lambda r: result.failed_requests.append(f"{r.url} ({r.failure})"),
            )
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", on_console)
            page.on("pageerror", lambda exc: result.page_errors.append(str(exc)))

            page.goto(url, wait_until="load", timeout=timeout_ms)
            # Webfonts and late requests (e.g. marker images) come after "load".
            page.wait_for_load_state("networkidle", timeout=timeout_ms)
            page.evaluate("document.fonts.ready.then(() => true)")
            page.wait_for_timeout(settle_ms)

            for selector in click:
                if page.locator(selector).count() == 0:
                    result.missing_selectors.append(f"{selector} (to click)")
                    continue
                page.locator(selector).first.click(timeout=timeout_ms)
                page.wait_for_timeout(settle_ms)
            for selector in selectors:
                if page.locator(selector).count() == 0:
                    result.missing_selectors.append(selector)
            result.screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(result.screenshot))
        finally:
            context.close()

    result.distinct_colours, result.colour_stddev = _image_stats(result.screenshot)
    return result


def _image_stats(png: Path) -> tuple[int, float]:
    """Distinct colours and mean RGB standard deviation of an image."""
    from PIL import Image, ImageStat

    with Image.open(png) as img:
        rgb = img.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 24) or []
        stddev = sum(ImageStat.Stat(rgb).stddev) / 3
    return len(colours), stddev
