"""Response templates: a folder of ``<Operation>.xml`` files, each the response element of one operation
with placeholders, answered by the generic producer instead of the minimal answer.

The language is Jinja2 in its sandbox (no access to Python internals), with undefined names an error and
every ``{{ ... }}`` escaped for XML. A template sees:

- ``request.text("name")``: the text of the request's first element with that local name ("" if none);
  ``request.all("name")``: the texts of all of them; ``request.logical_address``, ``request.consumer``;
- ``citizen``: the request's first personnummer-like value (12 characters, ``[0-9]{8}[0-9pPtTfF][0-9]{3}``),
  or "";
- ``now("%Y%m%d%H%M%S")``: Swedish local time in a strftime format (that one is the default);
- ``counter("name")``: 1, 2, 3, ... per template and name, kept in the journal's database;
- ``store("bucket", key, value)`` (``{% do store(...) %}``): remember ``value`` (text, numbers, true/false,
  lists and mappings of them) under ``key``, written with the exchange; ``recall("bucket", key)``: what
  was stored there (by any template), or none.

Every template is checked when it is loaded: compiled, rendered against a made-up minimal request of its
operation (first with nothing stored, then, if it recalls, with what the folder's other templates store),
and what it renders must be the operation's response element, well-formed and valid against the contract's
schema. A problem is a ConfigError naming the file, the line and what is wrong.
"""

from __future__ import annotations

import json
import re
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from ...errors import ConfigError, UnreadableFile
from ...localtime import zone
from ...xmlsafe import UnsafeXMLError, local_name, parse, text_value
from .store import StoreCounters, StoreValues
from .synthesis import SynthesisError, minimal_element

if TYPE_CHECKING:
    import jinja2

    from ...contracts import ContractRegistry, Interaction
    from ...contracts.registry import LoadedContract
    from ...journal import Effect

__all__ = ["RenderProblem", "ResponseTemplate", "Templates", "load_templates"]

SUFFIX = ".xml"
_CITIZEN = re.compile(r"[0-9]{8}[0-9pPtTfF][0-9]{3}")
_MAX_STORED = 64 * 1024  # characters of JSON one store() may keep


class RenderProblem(Exception):
    """A template that could not make a valid answer: where (file, line) and what."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        super().__init__(message)
        self.path, self.line, self.message = path, line, message

    def __str__(self) -> str:
        return f"{self.path}" + (f", line {self.line}" if self.line else "") + f": {self.message}"


class _ApiError(Exception):
    """A template used the API wrongly (a value store() cannot keep, a bad strftime format)."""


class RequestView:
    """The request as a template reads it. (Attributes starting with _ are closed to the sandbox.)"""

    def __init__(self, payload: etree._Element, logical_address: str = "", consumer: str = "") -> None:
        self._payload = payload
        self.logical_address = logical_address
        self.consumer = consumer

    def _elements(self, name: str):
        return (e for e in self._payload.iter() if isinstance(e.tag, str) and local_name(e) == name)

    def text(self, name: str) -> str:
        """The text of the first element with this local name ("" when there is none)."""
        return next((text_value(e) for e in self._elements(str(name))), "")

    def all(self, name: str) -> list[str]:
        """The texts of every element with this local name, in document order."""
        return [text_value(e) for e in self._elements(str(name))]

    def citizen(self) -> str:
        for element in self._payload.iter():
            if isinstance(element.tag, str) and not len(element):
                value = text_value(element).strip()
                if _CITIZEN.fullmatch(value):
                    return value
        return ""


class State:
    """What ``recall`` and ``counter`` read: the journal's (``store.ScenarioState``) or a check's own."""

    def recall(self, bucket: str, key: str) -> Any:
        raise NotImplementedError

    def next_count(self, template: str, name: str) -> int:
        raise NotImplementedError


class _CheckState(State):
    """The state a template is checked against at load: nothing stored (or, in the second round, what the
    other templates stored in a bucket, for any key), counters from 1."""

    def __init__(self, samples: dict[str, Any] | None = None) -> None:
        self.samples = samples or {}
        self.counts: dict[tuple[str, str], int] = {}

    def recall(self, bucket: str, key: str) -> Any:
        return self.samples.get(bucket)

    def next_count(self, template: str, name: str) -> int:
        self.counts[(template, name)] = self.counts.get((template, name), 0) + 1
        return self.counts[(template, name)]


@dataclass
class _Call:
    """One rendering: the API the template calls, and what it changed (effects once answered)."""

    template: str
    state: State
    stored: dict[tuple[str, str], str] = field(default_factory=dict)  # (bucket, key) -> JSON
    counted: dict[str, int] = field(default_factory=dict)
    recalled: bool = False

    def store(self, bucket: str, key: Any, value: Any) -> str:
        try:
            text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise _ApiError(f"store('{bucket}', ...): the value cannot be kept ({exc}); store text, numbers, "
                            "true/false, lists and mappings of them") from None
        if len(text) > _MAX_STORED:
            raise _ApiError(f"store('{bucket}', ...): the value is {len(text)} characters, at most {_MAX_STORED}")
        self.stored[(str(bucket), str(key))] = text
        return ""

    def recall(self, bucket: str, key: Any) -> Any:
        self.recalled = True
        own = self.stored.get((str(bucket), str(key)))
        return json.loads(own) if own is not None else self.state.recall(str(bucket), str(key))

    def counter(self, name: str = "") -> int:
        value = self.state.next_count(self.template, str(name))
        self.counted[str(name)] = value
        return value

    @staticmethod
    def now(format: str = "%Y%m%d%H%M%S") -> str:  # noqa: A002 - the name a template writer reads
        try:
            return datetime.now(zone()).strftime(str(format))
        except ValueError as exc:
            raise _ApiError(f"now('{format}'): {exc}") from None

    def effects(self) -> list[Effect]:
        out: list[Effect] = []
        if self.stored:
            out.append(StoreValues([(b, k, v) for (b, k), v in self.stored.items()]))
        if self.counted:
            out.append(StoreCounters([(self.template, n, v) for n, v in self.counted.items()]))
        return out


@dataclass
class Rendered:
    element: etree._Element
    effects: list[Effect]


@dataclass
class ResponseTemplate:
    path: Path
    interaction: Interaction
    jinja: jinja2.Template = field(repr=False)

    @property
    def response_tag(self) -> str:
        return f"{{{self.interaction.responder_namespace}}}{self.interaction.response_element}"

    def _line(self, exc: BaseException) -> int | None:
        """The template's line the exception was raised at (Jinja puts template lines in the traceback)."""
        line = getattr(exc, "lineno", None)
        for frame, number in traceback.walk_tb(exc.__traceback__):
            if frame.f_code.co_filename == self.jinja.filename:
                line = number
        return line

    def render(self, request: RequestView, state: State) -> tuple[str, _Call]:
        """The template's text for ``request``; RenderProblem naming the line when it fails."""
        import jinja2

        call = _Call(self.path.name, state)
        try:
            text = self.jinja.render(request=request, citizen=request.citizen(), now=call.now, counter=call.counter,
                                     store=call.store, recall=call.recall)
        except Exception as exc:  # the template's own code failed, whatever way: say where
            message = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)
            raise RenderProblem(self.path, self._line(exc),
                                f"{self._inside(exc)}{type(exc).__name__}: {message}") from None
        return text, call

    def _inside(self, exc: BaseException) -> str:
        """Where in a file the template includes it failed ("in the included parts/status.inc, line 1: "), or ""
        when it failed in the template itself: the line of the template is then that of its include."""
        import jinja2

        own = Path(self.jinja.filename or self.path)
        place: tuple[str, int | None] | None = None
        if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
            place = (exc.filename, exc.lineno)
        else:
            for frame, number in traceback.walk_tb(exc.__traceback__):
                if "__jinja_exception__" in frame.f_globals:  # a template's line (Jinja's rewritten traceback)
                    place = (frame.f_code.co_filename, number)
        if place is None or Path(place[0]) == own:
            return ""
        name = Path(place[0]).relative_to(own.parent).as_posix() if Path(place[0]).is_relative_to(own.parent) \
            else place[0]
        return f"in the included {name}" + (f", line {place[1]}" if place[1] else "") + ": "

    def answer(self, request: RequestView, state: State, loaded: LoadedContract) -> Rendered:
        """The rendered response element, checked (well-formed, the right element, schema-valid), and the
        effects of its store() and counter() calls; RenderProblem when it is not a valid answer."""
        text, call = self.render(request, state)
        element = self.check(text, loaded)
        return Rendered(element, call.effects())

    def check(self, text: str, loaded: LoadedContract) -> etree._Element:
        try:
            element = parse(text.encode("utf-8"))
        except etree.XMLSyntaxError as exc:
            message = re.sub(r",? line \d+, column \d+$", "", str(exc.msg or exc))
            raise RenderProblem(self.path, exc.lineno, f"not well-formed XML once rendered: {message}") from None
        except UnsafeXMLError as exc:
            raise RenderProblem(self.path, None, str(exc)) from None
        if element.tag != self.response_tag:
            shown = element.tag.replace("{", "").replace("}", " ") if isinstance(element.tag, str) else "?"
            raise RenderProblem(self.path, element.sourceline,
                                f"the root element is {local_name(element) or shown} in namespace "
                                f"'{etree.QName(element).namespace or ''}'; the answer to "
                                f"{self.interaction.name} is {self.interaction.response_element} in namespace "
                                f"'{self.interaction.responder_namespace}'")
        findings = loaded.validator.findings(element)
        if findings:
            first = findings[0]
            said = "; ".join(f"{f.path or '?'}: {f.message_en}" + (f" (fix: {f.hint})" if f.hint else "")
                             for f in findings)
            raise RenderProblem(self.path, first.line, f"the rendered answer is not valid against "
                                f"{self.interaction.responder_file}: {said}")
        return element


@dataclass
class Templates:
    """The templates of a folder, by contract (responder namespace, lower case)."""

    folder: Path | None = None
    by_contract: dict[str, ResponseTemplate] = field(default_factory=dict)

    def get(self, contract: str) -> ResponseTemplate | None:
        return self.by_contract.get(contract.lower())

    def __len__(self) -> int:
        return len(self.by_contract)

    def describe(self) -> list[dict[str, str]]:
        return [{"file": str(t.path), "operation": t.interaction.name, "version": t.interaction.version,
                 "contract": t.interaction.responder_namespace} for t in self.by_contract.values()]


def _environment(folder: Path) -> jinja2.Environment:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(loader=jinja2.FileSystemLoader(str(folder)), undefined=jinja2.StrictUndefined,
                                autoescape=True, extensions=["jinja2.ext.do"], keep_trailing_newline=True,
                                auto_reload=False)


def _interaction(path: Path, source: str, contracts: ContractRegistry) -> Interaction:
    """The loaded contract whose operation the file is named after (its namespace in the file settles which,
    when two loaded contracts share the name, as two major versions of a contract do)."""
    operation = path.name[:-len(SUFFIX)]
    named = [i for i in contracts.interactions if i.name == operation]
    if not named:
        near = [i.name for i in contracts.interactions if i.name.lower() == operation.lower()]
        known = ", ".join(sorted({i.name for i in contracts.interactions}))
        hint = f" (did you mean {near[0]}{SUFFIX}?)" if near else ""
        raise ConfigError(f"{path}: no loaded contract has an operation '{operation}'{hint}; a template is named "
                          f"<Operation>{SUFFIX} after one of: {known}")
    if len(named) == 1:
        return named[0]
    meant = [i for i in named if re.search(rf"[\"']{re.escape(i.responder_namespace)}[\"']", source)]
    if len(meant) == 1:
        return meant[0]
    listed = ", ".join(f"{i.responder_namespace} ({i.version})" for i in named)
    raise ConfigError(f"{path}, line 1: '{operation}' is an operation of {len(named)} loaded contracts ({listed}); "
                      "write the responder namespace of the one meant as the response element's xmlns")


def _minimal_request(interaction: Interaction, loaded: LoadedContract, path: Path) -> etree._Element:
    try:
        return minimal_element(loaded.validator.xsd_schema(),
                               f"{{{interaction.responder_namespace}}}{interaction.request_element}")
    except SynthesisError as exc:
        raise ConfigError(f"{path}: no request can be made up to check the template against: {exc}") from None


def load_templates(folder: Path, contracts: ContractRegistry) -> Templates:
    """Every ``<Operation>.xml`` directly in ``folder``, each checked (see the module's docstring). Raises
    UnreadableFile for a folder that is not there, ConfigError listing every template's problem."""
    import jinja2

    folder = Path(folder)
    if not folder.is_dir():
        raise UnreadableFile(f"{folder}: no such folder of response templates")
    env = _environment(folder)
    templates = Templates(folder)
    problems: list[str] = []
    checked: list[tuple[ResponseTemplate, LoadedContract, etree._Element]] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(SUFFIX)):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UnreadableFile(f"{path}: cannot be read: {exc.strerror or exc}") from None
        try:
            source = data.decode("utf-8")
        except UnicodeDecodeError as exc:  # readable, but not a template: a problem like any other (exit 2)
            line = data[:exc.start].count(b"\n") + 1
            problems.append(f"{path}, line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                            f"{exc.start}): save the file as UTF-8")
            continue
        try:
            interaction = _interaction(path, source, contracts)
            loaded = contracts.get(interaction.responder_namespace)
            assert loaded is not None
            try:
                compiled = env.get_template(path.name)
            except jinja2.TemplateSyntaxError as exc:
                raise ConfigError(f"{path}, line {exc.lineno}: template syntax: {exc.message}") from None
            template = ResponseTemplate(path, interaction, compiled)
            if templates.get(interaction.responder_namespace) is not None:
                raise ConfigError(f"{path}: a second template for {interaction.responder_namespace}")
            request = _minimal_request(interaction, loaded, path)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        templates.by_contract[interaction.responder_namespace.lower()] = template
        checked.append((template, loaded, request))
    samples: dict[str, Any] = {}
    sources: dict[str, str] = {}
    recalling: list[tuple[ResponseTemplate, LoadedContract, etree._Element]] = []
    for template, loaded, request in checked:  # round 1: nothing stored
        try:
            text, call = template.render(RequestView(request), _CheckState())
            template.check(text, loaded)
        except RenderProblem as exc:
            problems.append(f"{exc} (checked against a made-up minimal {template.interaction.request_element} "
                            "request, with nothing stored)")
            continue
        for (bucket, _), value in call.stored.items():
            samples[bucket], sources[bucket] = json.loads(value), template.path.name
        if call.recalled:
            recalling.append((template, loaded, request))
    for template, loaded, request in recalling:  # round 2: what the other templates store, for any key
        if not samples:
            break
        try:
            text, _ = template.render(RequestView(request), _CheckState(samples))
            template.check(text, loaded)
        except RenderProblem as exc:
            what = ", ".join(f"'{b}' from {sources[b]}" for b in sorted(samples))
            problems.append(f"{exc} (checked with what the other templates store: {what})")
    if problems:
        raise ConfigError(f"response templates in {folder}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return templates

