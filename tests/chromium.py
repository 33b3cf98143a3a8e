"""The browser tests' one headless Chromium: where it is, why it cannot run here, and how it is started."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")


def why_no_browser() -> str | None:
    """Why the browser tests cannot run on this machine, or None when they can."""
    if importlib.util.find_spec("selenium") is None:
        return "browser tests: selenium is not installed (pip install selenium)"
    if not CHROMIUM:
        return "browser tests: no Chromium on PATH (Debian: apt-get install chromium chromium-driver)"
    if not CHROMEDRIVER:
        return "browser tests: no chromedriver on PATH (Debian: apt-get install chromium chromium-driver)"
    return None


def headless_chromium() -> Iterator:
    """A headless Chromium through the system's chromedriver (nothing is downloaded), quit afterwards: the
    body of a module-scoped fixture."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1200,1000", "--lang=sv-SE"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
