"""Regenerate docs/screenshots/inbox.png and message.png with a real headless Chromium.

Starts the platform on a throw-away journal, sends realistic demo messages through /vp over HTTP
(as a consumer would), opens the inbox preview and one message, and saves what the browser shows.

    python docs/make_screenshots.py [--out docs/screenshots]

Needs the Debian packages chromium and chromium-driver (or any Chromium with a matching
chromedriver on PATH) and ``pip install selenium``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path
from xml.sax.saxutils import escape

from mockplatform import Application, Config, ns
from mockplatform.domains.inbox1177.names import ADD_MESSAGE_NS, PATIENTPORTAL_CORE
from mockplatform.server import start_in_thread

HERE = Path(__file__).resolve().parent
CITIZEN = "191212121212"
JOURNAL_SYSTEM = "SE2321000016-7XQA"
REGISTER = "SE2321000016-8KVR"

VARDCENTRALEN = {
    "unitId": "SE2321000016-A1B2", "unitName": "Vårdcentralen Exempelby", "unitAddress": "Storgatan 12",
    "unitPostalCode": "123 45", "unitPostalCity": "Exempelby", "unitTelephone": "010-123 45 67",
}
HUDMOTTAGNINGEN = {
    "unitId": "SE2321000016-C3D4", "unitName": "Hudmottagningen Exempelstad", "unitAddress": "Lasarettsvägen 3",
    "unitPostalCode": "234 56", "unitPostalCity": "Exempelstad", "unitTelephone": "010-765 43 21",
}

KALLELSE = """<article>
  <info><title>Välkommen på återbesök</title></info>
  <para>Hej! Du är välkommen på ett återbesök hos din läkare för att följa upp din behandling.</para>
  <variablelist>
    <title>Din tid</title>
    <varlistentry><term>Datum</term><listitem>Tisdag 14 maj klockan 09.30</listitem></varlistentry>
    <varlistentry><term>Plats</term><listitem>Vårdcentralen Exempelby, Storgatan 12, plan 2</listitem></varlistentry>
    <varlistentry><term>Ta med</term><listitem>Legitimation och dina aktuella läkemedel</listitem></varlistentry>
  </variablelist>
  <section>
    <title>Om du inte kan komma</title>
    <para>Avboka senast 24 timmar före besöket, annars debiteras en avgift. Läs mer om
      <ulink url="https://www.1177.se/avgifter">avgifter i vården</ulink>.</para>
  </section>
  <bibliography>Meddelandet går inte att svara på.</bibliography>
</article>"""

PROVSVAR = """Hej!

Dina provsvar från besöket den 2 maj är klara och ser bra ut.
Du behöver inte göra något mer.

Vänliga hälsningar
Hudmottagningen Exempelstad"""

ENKAT = """<article>
  <para>Hur mår du efter din operation? Svara på några frågor, det tar ungefär fem minuter.</para>
  <para>Dina svar hjälper oss att förbättra vården.</para>
</article>"""


def message(unit: dict[str, str], text: str, description: str | None, thread_id: str | None = None,
            sso: tuple[str, str, str, str] | None = None, source_system: str = JOURNAL_SYSTEM) -> bytes:
    """An AddMessageToPatientPortalInbox envelope as a consumer sends it (messageText entity-encoded)."""
    c = PATIENTPORTAL_CORE
    unit_xml = "".join(f"<c:{k}>{escape(v)}</c:{k}>" for k, v in unit.items())
    parts = [f"<c:organisationUnit>{unit_xml}</c:organisationUnit>"]
    if thread_id:
        parts.append(f"<c:messageThreadId>{escape(thread_id)}</c:messageThreadId>")
    if description is not None:
        parts.append(f"<c:messageDescription>{escape(description)}</c:messageDescription>")
    parts.append(f"<c:messageText>{escape(text)}</c:messageText>")
    if sso:
        system_id, link_text, query, link_type = sso
        parts.append(f"<c:ssoLink><c:systemId>{system_id}</c:systemId><c:text>{escape(link_text)}</c:text>"
                     f"<c:queryString>{escape(query)}</c:queryString><c:type>{link_type}</c:type></c:ssoLink>")
    payload = (f'<AddMessageToPatientPortalInbox xmlns="{ADD_MESSAGE_NS}" xmlns:c="{c}">'
               f"<subjectOfCareId>{CITIZEN}</subjectOfCareId><message>{''.join(parts)}</message>"
               f"<notify>true</notify><sourceSystem>{source_system}</sourceSystem></AddMessageToPatientPortalInbox>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{ns.SOAP11}"><soap:Header>'
            f'<LogicalAddress xmlns="{ns.REGISTRY}">SE5565594230-1177</LogicalAddress></soap:Header>'
            f"<soap:Body>{payload}</soap:Body></soap:Envelope>").encode()


def send(base: str, body: bytes, consumer: str = JOURNAL_SYSTEM) -> None:
    request = urllib.request.Request(base + "/vp", data=body, method="POST", headers={
        "Content-Type": "text/xml; charset=UTF-8", "x-vp-sender-id": consumer})
    with urllib.request.urlopen(request, timeout=30) as answer:
        if b"<resultCode>OK</resultCode>" not in answer.read():
            raise SystemExit("the platform did not store a demo message")


def demo(base: str) -> None:
    """The demo inbox: a read result, a thread, an unheaded message, a survey, and a fresh notice."""
    send(base, message(HUDMOTTAGNINGEN, PROVSVAR, "Dina provsvar är klara"))
    for text in ("Hej! Hur har det gått med krämen?", "Tack för ditt svar. Fortsätt två veckor till.",
                 "Påminnelse: boka ett uppföljande besök i juni."):
        send(base, message(HUDMOTTAGNINGEN, text, "Frågor om din behandling", thread_id="behandling-4711"))
    send(base, message(VARDCENTRALEN, "Ditt recept är förnyat och finns på apoteket.", None))
    send(base, message(VARDCENTRALEN, ENKAT, "Enkät efter din operation", source_system=REGISTER,
                       sso=(REGISTER, "Svara på enkäten", "enkat=prom-2024&id=8f3c", "NewTarget")), consumer=REGISTER)
    send(base, message(VARDCENTRALEN, KALLELSE, "Kallelse till återbesök",
                       sso=(JOURNAL_SYSTEM, "Boka om eller avboka din tid", "case=12345&action=rebook", "NewTarget")))


def browser(width: int = 1100, height: int = 900):
    """A headless Chromium driven through the system's chromedriver (selenium-manager never downloads)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path = shutil.which("chromedriver")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not driver_path or not chromium:
        raise SystemExit("needs chromium and chromedriver on PATH (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--force-device-scale-factor=1", "--lang=sv-SE"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "screenshots", help="where the PNGs go")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = Application(Config(journal=Path(tmp) / "journal.sqlite"))
        server = start_in_thread(app)
        driver = browser()
        try:
            demo(server.url)
            driver.get(f"{server.url}/ui/inbox?citizen={CITIZEN}")
            driver.find_element("css selector", ".case-link[href]")
            # Open the test results first, so the list shows read and unread cases side by side.
            results = driver.find_elements("xpath", "//a[.//span[@class='case-heading' and "
                                           "text()='Dina provsvar är klara']]")[0].get_attribute("href")
            driver.get(results)
            driver.get(f"{server.url}/ui/inbox?citizen={CITIZEN}")
            driver.save_screenshot(str(args.out / "inbox.png"))
            kallelse = driver.find_elements("xpath", "//a[.//span[@class='case-heading' and "
                                            "text()='Kallelse till återbesök']]")[0].get_attribute("href")
            driver.get(kallelse)
            driver.find_element("css selector", "#unit summary").click()  # show the unit's contact card
            driver.set_window_size(1100, 1250)
            driver.save_screenshot(str(args.out / "message.png"))
        finally:
            driver.quit()
            server.shutdown()
            server.server_close()
            app.close()
    print(f"wrote {args.out / 'inbox.png'} and {args.out / 'message.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
