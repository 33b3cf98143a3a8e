"""The platform's own fault texts, pinned to the reference word for word."""

from __future__ import annotations

import pytest

from mockplatform.faults import VP_CODES

# As ntjp.md gives them, copied here by hand: the table in faults.py must not drift from them (a consumer
# may match on these strings, and a reviewer compares them with the real platform's).
SPEC_TEXTS = {
    "VP001": ("SOAP-ENV:Client",
              "Rivta-version saknas i anrop eller stöds ej av tjänsteplattformen."),
    "VP002": ("SOAP-ENV:Client",
              "Fel i klientcertifikat. Saknas, är av felaktig typ, eller är felaktigt utformad."),
    "VP003": ("SOAP-ENV:Client",
              "Logisk adressat (ReceiverId) saknas i RivHeadern i inkommande meddelande."),
    "VP004": ("SOAP-ENV:Client",
              "Det finns inget vägval i tjänsteadresseringskatalogen som matchar anropets logiska adressat "
              "(ReceiverId) och tjänstekontrakt. Kontrollera uppgifterna i anropet och vid behov, beställ "
              "konfigurering i aktuell tjänsteplattform."),
    "VP005": ("SOAP-ENV:Client",
              "Tjänsteproducenten stödjer inte anropets angivna rivta-version. Kontrollera uppgifterna."),
    "VP006": ("SOAP-ENV:Server",
              "Internt fel i tjänsteplattformen. Det finns fler än en tjänsteproducent definierad i "
              "tjänsteadresseringskatalogen som matchar logisk adressat (ReceiverId), tjänstekontrakt och "
              "dagens datum. Tyder på felkonfiguration. Rapportera felet till tjänsteplattformsförvaltningen."),
    "VP007": ("SOAP-ENV:Server",
              "Tjänstekonsumenten saknar behörighet att anropa den logiska adressaten via detta "
              "tjänstekontrakt. Kontrollera uppgifterna och vid behov, tillse att det beställs konfiguration i "
              "aktuell tjänsteplattform."),
    "VP008": ("SOAP-ENV:Server",
              "Internt fel i tjänsteplattformen. Ingen kontakt med tjänsteadresseringskatalogen. Informera "
              "tjänsteplattformsförvaltningen."),
    "VP009": ("SOAP-ENV:Server",
              "Fel vid kontakt med tjänsteproducenten."),
    "VP010": ("SOAP-ENV:Server",
              "Internt fel i tjänsteplattformen. URL saknas för tjänsteproducenten i tjänsteplattformens "
              "tjänsteadresseringskatalog."),
    "VP011": ("SOAP-ENV:Client",
              "Anrop har gjorts utanför TLS vilket ej är tillåtet. Tjänstekonsumenten ska alltid använda TLS "
              "för säker kommunikation."),
    "VP012": ("SOAP-ENV:Server",
              "Internt fel i tjänsteplattformen. Nödvändiga resurser saknas för att VP skall fungera."),
    "VP013": ("SOAP-ENV:Client",
              "Enligt tjänsteplattformens konfiguration saknar tjänstekonsumenten rätt att använda headern "
              "x-rivta-original-serviceconsumer-hsaid. Kontakta tjänsteplattformsförvaltningen."),
    "VP014": ("SOAP-ENV:Server",
              "Anropsförmedlingen för den logiska adressaten har givit upphov till rundgång mellan "
              "tjänsteplattformar. Rapportera felet till tjänsteplattformsförvaltningen."),
    "VP015": ("SOAP-ENV:Client",
              "Anrop ej korrekt utformat och kan därför inte behandlas."),
}


@pytest.mark.parametrize("code", sorted(SPEC_TEXTS))
def test_vp_fault_texts_are_the_real_platforms_word_for_word(code):
    faultcode, text = SPEC_TEXTS[code]
    assert VP_CODES[code].faultcode.value == faultcode
    assert VP_CODES[code].text == text


def test_every_code_of_the_platform_is_pinned():
    assert set(VP_CODES) == set(SPEC_TEXTS)
