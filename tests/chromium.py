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


WAIT_S = 15


def blank(browser, keep_cookies: bool = True):
    """The browser with one window and a blank page, whatever the previous test left (and no cookies, unless
    ``keep_cookies``): a function-scoped fixture's body over the module's browser."""
    for handle in browser.window_handles[1:]:
        browser.switch_to.window(handle)
        browser.close()
    browser.switch_to.window(browser.window_handles[0])
    browser.get("about:blank")
    if not keep_cookies:
        browser.delete_all_cookies()
    return browser


def wait(driver, condition):
    """What ``condition(driver)`` gives once it is true, polled for up to WAIT_S."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S, poll_frequency=0.1).until(condition)


def by_css(driver, selector: str) -> list:
    return driver.find_elements("css selector", selector)
