"""The docs pages and the admin in a real browser, offline.

Headless Chromium (Debian's `chromium` and `chromium-driver`; .ci/run installs
them) loads /v1/docs/, /v1/redoc/ and the admin from gunicorn with DEBUG off,
with every host name but 127.0.0.1 unresolvable. Each page must render, log
no console error (a blocked request, a CSP violation, a script error) and
request nothing from another host."""
import json
import shutil
from urllib.parse import urlsplit

import pytest

from tests.factories import UserFactory
from tests.processes import gunicorn

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.django_db(transaction=True)]

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver (.ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,900",
                 # the network is 127.0.0.1: any other host name fails to resolve
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def visit(driver, url, ready_css):
    """Loads the page, waits for `ready_css` to show, and returns (console
    errors, URLs the page requested)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser"), driver.get_log("performance")  # forget the previous page's
    driver.get(url)
    WebDriverWait(driver, 60).until(expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ready_css)))
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    requested = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.add(message["params"]["request"]["url"])
    return errors, requested


def foreign(urls):
    return sorted(u for u in urls if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                  and urlsplit(u).hostname != "127.0.0.1")


def test_docs_and_admin_work_offline(browser, tmp_path):
    from selenium.webdriver.common.by import By

    admin = UserFactory(is_staff=True, is_superuser=True)
    admin.set_password("browser-test-password")
    admin.save()
    with gunicorn(workers=2, env={"DEBUG": "false"}) as (base, _process):
        pages = {}
        pages["swagger"] = visit(browser, f"{base}/v1/docs/", ".swagger-ui .opblock")
        assert "CRM API" in browser.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title").text
        pages["redoc"] = visit(browser, f"{base}/v1/redoc/", "#redoc-container h1")
        assert "CRM API" in browser.find_element(By.CSS_SELECTOR, "#redoc-container h1").text
        font = browser.execute_script("return getComputedStyle(document.querySelector('#redoc-container h1')).fontFamily")
        assert "Montserrat" not in font
        browser.save_screenshot(str(tmp_path / "redoc.png"))
        pages["admin login"] = visit(browser, f"{base}/admin/login/", "#id_username")
        browser.find_element(By.ID, "id_username").send_keys(admin.username)
        browser.find_element(By.ID, "id_password").send_keys("browser-test-password")
        browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
        pages["admin"] = visit(browser, f"{base}/admin/", "#content-main")
        # a form with the admin's widgets and scripts (autocomplete, calendar)
        pages["admin form"] = visit(browser, f"{base}/admin/crm/apitoken/add/", "#apitoken_form")
        favicon = browser.execute_script(
            "return fetch('/favicon.ico').then(r => r.status + ' ' + r.headers.get('content-type'))"
        )

    for page, (errors, requested) in pages.items():
        assert not errors, f"{page}: console errors {errors}"
        assert requested, f"{page}: no requests seen"
        assert not foreign(requested), f"{page} asked other hosts: {foreign(requested)}"
    assert favicon.startswith("200 image/")
