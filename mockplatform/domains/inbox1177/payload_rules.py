"""Request rules on the content of a patientportal 1.x request: what the contract description (TKB)
and 1177's connection requirements ask of the fields, beyond what the schema can say."""

from __future__ import annotations

from collections.abc import Iterator

from ...personnummer import birth_date, letter_form, problems
from ...rules import Hit
from ...rules.base import xml_path
from ...rules.rivta import address_header
from . import docbook
from .view import InboxContext as RuleContext
from .view import InboxView as RequestView


def _listed(values: object) -> str:
    return ", ".join(str(v) for v in values) or "(none)"


def logical_address(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """The LogicalAddress header names the inbox producer system: this domain is system-addressed. What any RIVTA
    request's header must be (there, not a stack's To, in the registry namespace, no whitespace around it: the
    platform trims nothing) is ``rivta.address_header``'s; then the value must be the inbox's."""
    env = view.envelope
    if env is None:
        return
    want = ctx.inbox_logical_address
    if (yield from address_header(env, want)):
        return
    have = (env.logical_address or "").strip()
    if have.lower() == want.lower():
        return
    element = env.address_element
    path, line = xml_path(element), element.sourceline
    if not have:
        yield Hit("The logical address is empty", "Den logiska adressen är tom", path=path, line=line,
                  hint=f"send the inbox producer's address {want}",
                  hint_sv=f"skicka adressen till inkorgens producent, {want}")
        return
    units = {u.lower() for u in ctx.units} | ({view.unit_id.strip().lower()} if view.unit_id else set())
    if have.lower() in units:
        yield Hit(f"The logical address '{have}' is a care unit's HSA-id. This domain is system-addressed: the "
                  f"logical address is the inbox producer system ({want}); the unit goes in the body, in "
                  "message/organisationUnit/unitId",
                  f"Den logiska adressen '{have}' är en vårdenhets HSA-id. Domänen är systemadresserad: logisk "
                  f"adress är inkorgens producentsystem ({want}); enheten anges i meddelandet, i "
                  "message/organisationUnit/unitId",
                  path=path, line=line, hint=f"send {want} as LogicalAddress and keep {have} in unitId",
                  hint_sv=f"skicka {want} som LogicalAddress och behåll {have} i unitId")
        return
    yield Hit(f"The logical address '{have}' is not the 1177 inbox producer's address ({want})",
              f"Den logiska adressen '{have}' är inte adressen till 1177:s inkorg ({want})",
              path=path, line=line, hint=f"send {want} as LogicalAddress",
              hint_sv=f"skicka {want} som LogicalAddress")


def source_system(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """1177 requires sourceSystem, and it must be the system-id 1177 issued to the consumer."""
    if view.operation is None:
        return  # no request to read it in (the envelope's rule says why)
    issued = ctx.issued_system_ids(view)
    path, line = view.where("sourceSystem")
    have = (view.source_system or "").strip()
    one_of = f" (one of: {_listed(issued)})" if issued else ""
    if not have:
        where, where_sv = view.placement("sourceSystem") or ("after message (and notify) in the request's namespace",
                                                             "efter message (och notify) i anropets namnrymd")
        yield Hit(f"sourceSystem is missing; 1177 requires the system-id it issued to you{one_of}",
                  f"sourceSystem saknas; 1177 kräver det system-id som 1177 har tilldelat er{one_of}",
                  path=path, line=line,
                  hint=f"add <sourceSystem>{issued[0] if issued else 'your system-id'}</sourceSystem> {where}",
                  hint_sv=f"lägg till <sourceSystem>{issued[0] if issued else 'ert system-id'}</sourceSystem> "
                  f"{where_sv}")
        return
    if not issued or have in issued:
        return
    case = [s for s in issued if s.lower() == have.lower()]
    hint = f"write it exactly as issued: {case[0]}" if case else f"use the system-id 1177 issued to you{one_of}"
    one_of_sv = f" (ett av: {_listed(issued)})"
    hint_sv = (f"skriv det exakt som det tilldelades: {case[0]}" if case
               else f"använd det system-id som 1177 har tilldelat er{one_of_sv}")
    yield Hit(f"sourceSystem '{have}' is not a system-id 1177 issued to this consumer{one_of}",
              f"sourceSystem '{have}' är inte ett system-id som 1177 har tilldelat den här tjänstekonsumenten{one_of}",
              path=path, line=line, hint=hint, hint_sv=hint_sv)


def message_description(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """1177 requires a heading: without it the inbox list says "Meddelande" and the message view is blank."""
    if not view.has("message"):
        return  # the schema names the missing message
    if (view.message_description or "").strip():
        return
    path, line = view.where("message/messageDescription")
    what = "missing" if view.message_description is None else "blank"
    where, where_sv = view.placement("messageDescription") or ("after messageThreadId in the core namespace",
                                                               "efter messageThreadId i core-namnrymden")
    yield Hit(f"messageDescription is {what}; 1177 requires it (the inbox list then shows 'Meddelande' and the "
              "message has no heading)",
              f"messageDescription {'saknas' if what == 'missing' else 'är tom'}; 1177 kräver den (inkorgens "
              "lista visar då 'Meddelande' och meddelandet saknar rubrik)",
              path=path, line=line,
              hint=f"add a short heading, e.g. <messageDescription>Kallelse till mottagningen</messageDescription>, "
              f"{where}",
              hint_sv="lägg till en kort rubrik, t.ex. <messageDescription>Kallelse till mottagningen"
              f"</messageDescription>, {where_sv}")


def unit_connected(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """The sending unit must be a unit (mottagning) connected to 1177's e-services."""
    have = (view.unit_id or "").strip()
    if not have:
        return  # missing unitId: the schema says so
    unit = ctx.units.get(have.lower())
    if unit is not None and unit.connected:
        return
    path, line = view.where("message/organisationUnit/unitId")
    connected = _listed(f"{u.unit_id} ({u.name})" if u.name else u.unit_id for u in ctx.units.values() if u.connected)
    if unit is None:
        yield Hit(f"unitId '{have}' is not a unit connected to 1177's e-services",
                  f"unitId '{have}' är inte en enhet som är ansluten till 1177:s e-tjänster",
                  path=path, line=line, hint=f"use a connected unit: {connected}",
                  hint_sv=f"använd en ansluten enhet: {connected}")
    else:
        name = f" ({unit.name})" if unit.name else ""
        yield Hit(f"unitId '{have}'{name} is known but not connected to 1177's e-services",
                  f"unitId '{have}'{name} finns men är inte ansluten till 1177:s e-tjänster",
                  path=path, line=line, hint=f"connect the unit to 1177 first, or use a connected unit: {connected}",
                  hint_sv=f"anslut först enheten till 1177, eller använd en ansluten enhet: {connected}")


def notify_needs_source(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """notify=true only works (and is only billed) with sourceSystem set."""
    if view.notify and not (view.source_system or "").strip():
        path, line = view.where("notify")
        where, where_sv = view.placement("sourceSystem") or ("after <notify>", "efter <notify>")
        yield Hit("notify is true but sourceSystem is missing; the contract requires sourceSystem whenever notify "
                  "is set, or no notification can be sent",
                  "notify är true men sourceSystem saknas; kontraktet kräver sourceSystem när notify anges, annars "
                  "kan ingen avisering skickas",
                  path=path, line=line, hint=f"add <sourceSystem> with your system-id {where}",
                  hint_sv=f"lägg till <sourceSystem> med ert system-id {where_sv}")


def subject_of_care_id(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """The citizen must be a real personnummer or samordningsnummer: a real date and the right check digit."""
    if view.subject_of_care_id is None:
        return  # missing: the schema says so
    have = view.subject_of_care_id.strip()
    if letter_form(have) is not None:
        return  # a reservnummer, as the contract allows: PP-SUBJECT-OF-CARE-ID-RESERVNUMMER warns
    found = problems(have)
    if not found:
        return
    path, line = view.where("subjectOfCareId")
    why = "; ".join(found)
    yield Hit(f"subjectOfCareId '{have}' is not a valid personnummer or samordningsnummer: {why}",
              f"subjectOfCareId '{have}' är inte ett giltigt personnummer eller samordningsnummer: {why}",
              path=path, line=line,
              hint="send the citizen's 12-digit number YYYYMMDDNNNC without hyphen, e.g. 191212121212 "
              "(samordningsnummer: day + 60)",
              hint_sv="skicka invånarens tolvsiffriga nummer ÅÅÅÅMMDDNNNK utan bindestreck, t.ex. 191212121212 "
              "(samordningsnummer: dag + 60)")


def subject_of_care_id_reservnummer(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """SubjectOfCareIdType allows a letter T, F or P in the ninth position: a reservnummer, a local temporary id
    (see ``personnummer``). The contract allows it; no 1177 user has one, so nobody can get the message."""
    if view.subject_of_care_id is None:
        return
    have = view.subject_of_care_id.strip()
    letter = letter_form(have)
    if letter is None:
        return
    path, line = view.where("subjectOfCareId")
    date_en = date_sv = ""
    if birth_date(have) is None:
        date_en, date_sv = " (and its date part is not a real date)", " (och dess datumdel är inget riktigt datum)"
    yield Hit(f"subjectOfCareId '{have}' is a reservnummer (the letter {letter} in the ninth position){date_en}: "
              "the contract's pattern allows it, but it is a local temporary id, not a personnummer or "
              "samordningsnummer. No 1177 user has one: IsActiveUser answers status=false and a message gets "
              "resultCode=ERROR",
              f"subjectOfCareId '{have}' är ett reservnummer (bokstaven {letter} på nionde plats){date_sv}: "
              "kontraktets mönster tillåter det, men det är ett lokalt tillfälligt id, inte ett personnummer eller "
              "samordningsnummer. Ingen användare av 1177 har ett: IsActiveUser svarar status=false och ett "
              "meddelande får resultCode=ERROR",
              path=path, line=line,
              hint="send the citizen's personnummer or samordningsnummer (12 digits); a patient known only by a "
              "reservnummer cannot be reached through the 1177 inbox",
              hint_sv="skicka invånarens personnummer eller samordningsnummer (12 siffror); en patient som bara har "
              "ett reservnummer kan inte nås via inkorgen på 1177")


def docbook_subset(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """DocBook in messageText must be entity-encoded, well-formed and inside the inbox's subset."""
    element = view.elements.get("message/messageText")
    if element is None:
        return
    path, line = view.where("message/messageText")
    if any(isinstance(child.tag, str) for child in element):
        yield Hit("messageText holds XML elements; DocBook must be sent as text inside messageText "
                  "(entity-encoded, &lt;article&gt;..., or in a CDATA section)",
                  "messageText innehåller XML-element; DocBook ska skickas som text i messageText "
                  "(entitetskodad, &lt;article&gt;..., eller i en CDATA-sektion)",
                  path=path, line=line, hint="escape the DocBook markup or wrap it in <![CDATA[ ... ]]>",
                  hint_sv="koda DocBook-markeringen med entiteter eller lägg den i <![CDATA[ ... ]]>")
        return
    text = view.message_text or ""
    if not docbook.is_docbook(text):
        return
    for problem in view.docbook()[0]:  # docbook.check(text), the parse shared with the SSO case
        where = f"{problem.path} " if problem.path else ""
        at = f"line {problem.line} of the text" if problem.line else "the text"
        at_sv = f"rad {problem.line} i texten" if problem.line else "texten"
        yield Hit(f"DocBook in messageText, {where}({at}): {problem.message_en}",
                  f"DocBook i messageText, {where}({at_sv}): {problem.message_sv}",
                  path=path, line=line + problem.line - 1 if line and problem.line else line,
                  hint=f"use only the elements of the 1177 subset ({view.DOCBOOK_ELEMENTS[0]}) where the subset "
                  "allows them",
                  hint_sv=f"använd bara elementen i 1177:s delmängd ({view.DOCBOOK_ELEMENTS[1]}) och bara där "
                  "delmängden tillåter dem")


def sso_needs_docbook(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """1177: a message with an SSO link must have its messageText in DocBook."""
    text = view.message_text
    if text is None or docbook.is_docbook(text):
        return
    mark = next((said for found, said in view.LINK_MARKS if found in text), None)
    if view.has_sso_link:
        why_en, why_sv = "the message has an ssoLink", "meddelandet har en ssoLink"
    elif mark is not None:
        why_en, why_sv = f"the text contains a {mark}", f"texten innehåller en {mark}"
    else:
        return
    path, line = view.where("message/messageText")
    yield Hit(f"{why_en}, but messageText is plain text; 1177 requires DocBook for a message with an SSO link",
              f"{why_sv}, men messageText är vanlig text; 1177 kräver DocBook för ett meddelande med SSO-länk",
              path=path, line=line,
              hint="write the text as DocBook, <article><para>...</para></article>, entity-encoded "
              "(&lt;article&gt;...) or in CDATA",
              hint_sv="skriv texten som DocBook, <article><para>...</para></article>, entitetskodad "
              "(&lt;article&gt;...) eller i CDATA")


def sso_system_registered(view: RequestView, ctx: RuleContext) -> Iterator[Hit]:
    """The portal builds the SSO link from the base URL it has configured for ssoLink/systemId."""
    have = (view.sso_system_id or "").strip()
    if not have or have in ctx.systems:
        return
    path, line = view.where("message/ssoLink/systemId")
    case = [s for s in ctx.systems if s.lower() == have.lower()]
    hint = (f"write it exactly as registered: {case[0]}" if case
            else f"use a system-id registered for SSO at 1177: {_listed(ctx.systems)}")
    hint_sv = (f"skriv det exakt som det är registrerat: {case[0]}" if case
               else f"använd ett system-id som är registrerat för SSO hos 1177: {_listed(ctx.systems)}")
    yield Hit(f"ssoLink/systemId '{have}' is not a system registered for SSO links at 1177; the portal has no base "
              "URL for it and cannot build the link",
              f"ssoLink/systemId '{have}' är inget system som är registrerat för SSO-länkar hos 1177; portalen har "
              "ingen bas-URL för det och kan inte bygga länken",
              path=path, line=line, hint=hint, hint_sv=hint_sv)
