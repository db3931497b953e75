"""The workbench page in a real browser: headless Chromium (Debian's) driven by Selenium.

Chromium and its driver come from Debian (``chromium``, ``chromium-driver``),
installed by ``make test`` (Makefile ``browser``); missing is a skip locally and
a failure in CI (``CI=true``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Iterator

import pytest
from werkzeug.serving import make_server

from app.auth import mint_token
from app.settings import PROJECT_ROOT
from app.web import create_app

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCREENSHOT = PROJECT_ROOT / "reports" / "workbench" / "side-by-side.png"


@pytest.fixture
def browser() -> Iterator[object]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        message = "Debian's chromium and chromium-driver are needed (make browser)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def served(indexed_settings, encoder) -> Iterator[str]:
    app = create_app(indexed_settings.replace(workbench=True), encoder=encoder)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_two_configurations_side_by_side_with_explanations(browser, served, indexed_settings) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    token = mint_token(indexed_settings, subject="engineer", tenant="acme", principals=["user:bob"])
    browser.get(f"{served}/workbench")
    browser.find_element(By.ID, "query").send_keys("reset password")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.ID, "run").click()
    WebDriverWait(browser, 30).until(ready.presence_of_element_located((By.CSS_SELECTOR, "body[data-searched=true]")))
    columns = {side: browser.find_elements(By.CSS_SELECTOR, f"#results-{side} li") for side in ("a", "b")}
    assert columns["a"] and columns["b"]
    assert columns["a"][0].get_attribute("data-id") == "acme-1"
    first = columns["a"][0]
    legs = {row.get_attribute("data-leg") for row in first.find_elements(By.CSS_SELECTOR, "table.explain tr[data-leg]")}
    assert legs == {"lexical", "vector"} and "fused" in first.find_element(By.CSS_SELECTOR, "table.explain").text
    assert first.find_element(By.CSS_SELECTOR, ".title mark").text in ("Reset", "password")
    # Only what the token may read: acme-3 (group:sre) never shows for user:bob.
    shown = {li.get_attribute("data-id") for side in columns.values() for li in side}
    assert "acme-3" not in shown and not any(doc.startswith("globex") for doc in shown)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))
    assert browser.find_element(By.ID, "status").text == ""


def test_the_workbench_is_off_by_default(indexed_settings, encoder) -> None:
    client = create_app(indexed_settings, encoder=encoder).test_client()
    assert client.get("/workbench").status_code == 404
    on = create_app(indexed_settings.replace(workbench=True), encoder=encoder).test_client()
    page = on.get("/workbench")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert on.get("/workbench/workbench.js").status_code == 200 and on.get("/workbench/secrets.txt").status_code == 404
