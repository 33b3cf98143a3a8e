"""Response templates: a folder of ``<Operation>.xml`` files, each the response element of one operation
with placeholders, answered by the generic producer instead of the minimal answer. Any other file (in the folder
or below it) is one a template may include; an ``.xml`` file directly in the folder not named after an operation
must be one that a template includes by that name, else it is refused as a misspelt template name.

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
schema. A problem is a ConfigError naming the file, the line and what is wrong: for a problem in the rendered
answer, the line of the template (and of the included file) that wrote that line of the answer (``Origins``).
"""

from __future__ import annotations

import functools
import json
import re
import traceback
from collections.abc import Callable
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


Chain = tuple[tuple[str, int], ...]  # (template name, line) from the template down to the included file writing


def _chain(generator: Any) -> Chain:
    """Where a rendering generator is at, as (template name, line) from the outer template inwards: Jinja runs an
    include (and a block, an extended template) as a generator inside the template's, reached by ``yield from``
    or held in the template's local ``gen`` while its events are passed on."""
    out: list[tuple[str, int]] = []
    current = generator
    for _ in range(64):
        frame = getattr(current, "gi_frame", None)
        if frame is None:
            break
        template = frame.f_globals.get("__jinja_template__")
        if template is not None:
            out.append((template.name or "?", template.get_corresponding_lineno(frame.f_lineno)))
        inner = current.gi_yieldfrom
        if inner is None and template is not None and "gen" in frame.f_code.co_varnames:
            held = frame.f_locals.get("gen")
            inner = held if getattr(held, "gi_frame", None) is not None else None
        if inner is None:
            break
        current = inner
    return tuple(out)


@dataclass
class Origins:
    """Where each piece of a rendered answer came from: the template's line, or an included file's."""

    pieces: list[tuple[int, int, Chain]] = field(default_factory=list)  # (start, end) in the text, and its chain
    text: str = ""

    def of_line(self, line: int | None, source_of: Callable[[str], str | None]) -> list[Chain]:
        """The chains of the pieces that wrote something (not only white space) on a line of the rendered text,
        each at the line of its file that wrote it. Jinja says the line a piece starts at; a piece of the file's
        own text that runs over several lines (found in ``source_of(name)`` from that line on) is followed to
        the line in it; what a ``{{ ... }}`` printed stays at the expression's line, whatever line breaks it
        printed."""
        if not line or line < 1:
            return []
        starts = [0, *(m.end() for m in re.finditer("\n", self.text))]
        if line > len(starts):
            return []
        low = starts[line - 1]
        high = starts[line] if line < len(starts) else len(self.text)
        found: list[Chain] = []
        for start, end, chain in self.pieces:
            part = self.text[max(start, low):min(end, high)]
            if not chain or not part.strip():
                continue
            offset = max(start, low) - start + len(part) - len(part.lstrip())
            chain = _followed(chain, self.text[start:end], offset, source_of)
            if chain not in found:
                found.append(chain)
        return found


def _followed(chain: Chain, piece: str, offset: int, source_of: Callable[[str], str | None]) -> Chain:
    """``chain`` with its innermost line moved to the line ``offset`` of ``piece`` stands on in its file, when the
    piece is that file's own text (see ``Origins.of_line``)."""
    name, line = chain[-1]
    source = source_of(name)
    if source is None or not piece:
        return chain
    begin = 0
    for _ in range(line - 1):
        begin = source.find("\n", begin) + 1
        if begin == 0:
            return chain
    at = source.find(piece, begin)
    if at < 0:
        return chain
    return (*chain[:-1], (name, line + source.count("\n", begin, at) + piece.count("\n", 0, offset)))


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

    def release(self, template: str, counted: dict[str, int]) -> None:
        """Give back the counter values a rendering took whose answer was not sent (name -> the value taken)."""


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
    origins: Origins = field(default_factory=Origins)

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

    def render(self, request: RequestView, state: State, call: _Call | None = None) -> tuple[str, _Call]:
        """The template's text for ``request`` (where each piece of it came from in ``call.origins``);
        RenderProblem naming the line when it fails."""
        import jinja2

        call = call or _Call(self.path.name, state)
        origins = call.origins
        try:
            pieces = self.jinja.generate(request=request, citizen=request.citizen(), now=call.now,
                                         counter=call.counter, store=call.store, recall=call.recall)
            written: list[str] = []
            at = 0
            for piece in pieces:
                written.append(piece)
                origins.pieces.append((at, at + len(piece), _chain(pieces)))
                at += len(piece)
        except Exception as exc:  # the template's own code failed, whatever way: say where
            message = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)
            what = "" if isinstance(exc, _ApiError) else f"{type(exc).__name__}: "
            raise RenderProblem(self.path, self._line(exc), f"{self._inside(exc)}{what}{message}") from None
        origins.text = "".join(written)
        return origins.text, call

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
        effects of its store() and counter() calls; RenderProblem when it is not a valid answer (then the counter
        values it took are given back: only an answer sent moves a counter)."""
        call = _Call(self.path.name, state)
        try:
            text, _ = self.render(request, state, call)
            element = self.check(text, loaded, call.origins)
        except RenderProblem:
            state.release(self.path.name, call.counted)
            raise
        return Rendered(element, call.effects())

    def _source(self, name: str) -> str | None:
        """The text of the template or of a file it includes, by its name in the folder (None: not readable)."""
        environment = self.jinja.environment
        try:
            return environment.loader.get_source(environment, name)[0] if environment.loader else None
        except Exception:  # noqa: BLE001 - only to place a problem already found: without it, the line Jinja gives
            return None

    def _problem(self, rendered_line: int | None, message: str, origins: Origins | None) -> RenderProblem:
        """A problem found in the rendered text at ``rendered_line``, said at the template's line that wrote that
        line of the answer, and at the included files' lines that wrote part of it."""
        chains = origins.of_line(rendered_line, self._source) if origins is not None else []
        own = self.jinja.name
        lines = [chain[0][1] for chain in chains if chain[0][0] == own]
        if not lines:
            return RenderProblem(self.path, rendered_line, message if rendered_line is None else
                                 f"line {rendered_line} of the rendered answer: {message}")
        included = list(dict.fromkeys(chain[-1] for chain in chains if len(chain) > 1))
        inside = ("in the included " + " and ".join(f"{name}, line {line}" for name, line in included) + ": "
                  if included else "")
        return RenderProblem(self.path, lines[0], f"{inside}{message}")

    def check(self, text: str, loaded: LoadedContract, origins: Origins | None = None) -> etree._Element:
        if not text.strip():
            raise RenderProblem(self.path, None, f"the template renders nothing: it must render the response "
                                f"element {self.interaction.response_element} (in namespace "
                                f"'{self.interaction.responder_namespace}')")
        try:
            element = parse(text.encode("utf-8"))
        except etree.XMLSyntaxError as exc:
            message = re.sub(r",? line \d+, column \d+$", "", str(exc.msg or exc))
            raise self._problem(exc.lineno, f"not well-formed XML once rendered: {message}", origins) from None
        except UnsafeXMLError as exc:
            raise RenderProblem(self.path, None, str(exc)) from None
        if element.tag != self.response_tag:
            shown = element.tag.replace("{", "").replace("}", " ") if isinstance(element.tag, str) else "?"
            raise self._problem(element.sourceline,
                                f"the root element is {local_name(element) or shown} in namespace "
                                f"'{etree.QName(element).namespace or ''}'; the answer to "
                                f"{self.interaction.name} is {self.interaction.response_element} in namespace "
                                f"'{self.interaction.responder_namespace}'", origins)
        findings = loaded.validator.findings(element)
        if findings:
            first = findings[0]
            said = "; ".join(f"{f.path or '?'}: {f.message_en}" + (f" (fix: {f.hint})" if f.hint else "")
                             for f in findings)
            raise self._problem(first.line, f"the rendered answer is not valid against "
                                f"{self.interaction.responder_file}: {said}", origins)
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

    env = SandboxedEnvironment(loader=jinja2.FileSystemLoader(str(folder)), undefined=jinja2.StrictUndefined,
                               autoescape=True, extensions=["jinja2.ext.do"], keep_trailing_newline=True,
                               auto_reload=False)
    env.code_generator_class = _placed_generator()
    return env


@functools.cache
def _placed_generator() -> type:
    """Jinja's code generator, leaving every ``{{ ... }}`` to run time (Jinja folds a constant one into the text
    around it): the template's own text then reaches the answer as the file has it, and each printed value as a
    piece of its own at its line, so that a problem in the answer is placed in the file (``Origins``)."""
    from jinja2 import nodes
    from jinja2.compiler import CodeGenerator

    class PlacedCodeGenerator(CodeGenerator):
        def _output_child_to_const(self, node: Any, frame: Any, finalize: Any) -> str:
            if not isinstance(node, nodes.TemplateData):
                raise nodes.Impossible()
            return super()._output_child_to_const(node, frame, finalize)

    return PlacedCodeGenerator


def _interaction(path: Path, source: str, contracts: ContractRegistry) -> Interaction:
    """The loaded contract whose operation the file is named after (its namespace in the file settles which,
    when two loaded contracts share the name, as two major versions of a contract do)."""
    operation = path.name[:-len(SUFFIX)]
    named = [i for i in contracts.interactions if i.name == operation]
    if not named:
        raise ConfigError(_not_an_operation(path, contracts))
    if len(named) == 1:
        return named[0]
    meant = [i for i in named if re.search(rf"[\"']{re.escape(i.responder_namespace)}[\"']", source)]
    if len(meant) == 1:
        return meant[0]
    listed = ", ".join(f"{i.responder_namespace} ({i.version})" for i in named)
    raise ConfigError(f"{path}, line 1: '{operation}' is an operation of {len(named)} loaded contracts ({listed}); "
                      "write the responder namespace of the one meant as the response element's xmlns")


def _not_an_operation(path: Path, contracts: ContractRegistry) -> str:
    """Why a ``.xml`` file directly in the folder that no template includes is refused: the template of an
    operation no loaded contract has (a misspelt name, most likely), with the names it might have meant."""
    import difflib

    operation = path.name[:-len(SUFFIX)]
    names = sorted({i.name for i in contracts.interactions})
    near = [n for n in names if n.lower() == operation.lower()] or difflib.get_close_matches(operation, names, 1, 0.8)
    hint = f" (did you mean {near[0]}{SUFFIX}?)" if near else ""
    return (f"{path}: no loaded contract has an operation '{operation}'{hint}; a template is named <Operation>{SUFFIX} "
            f"after one of: {', '.join(names)}; any other file here must be one a template includes by this name (a "
            "file included by a name the template computes goes in a subfolder, or has another suffix than "
            f"{SUFFIX})")


def _included(env: jinja2.Environment, sources: list[str]) -> set[str]:
    """The names of the files the given templates include, import or extend, and those files in turn, as written
    in their tags (a name the template computes is not known here)."""
    import jinja2
    from jinja2 import meta

    seen: set[str] = set()
    todo = list(sources)
    while todo:
        try:
            names = meta.find_referenced_templates(env.parse(todo.pop()))
        except jinja2.TemplateSyntaxError:
            continue  # said when the file is compiled
        for name in names:
            if name is None or name in seen:
                continue
            seen.add(name)
            try:
                todo.append(env.loader.get_source(env, name)[0])
            except Exception:  # noqa: BLE001 - a missing or unreadable file: said when the template renders
                continue
    return seen


def _minimal_request(interaction: Interaction, loaded: LoadedContract, path: Path) -> etree._Element:
    try:
        return minimal_element(loaded.validator.xsd_schema(),
                               f"{{{interaction.responder_namespace}}}{interaction.request_element}")
    except SynthesisError as exc:
        raise ConfigError(f"{path}: no request can be made up to check the template against: {exc}") from None


def load_templates(folder: Path, contracts: ContractRegistry) -> Templates:
    """Every ``<Operation>.xml`` directly in ``folder`` (named after an operation of a loaded contract), each
    checked (see the module's docstring). Any other file, in the folder or below it, is one the templates may
    include; another ``.xml`` file directly in the folder must be one that a template includes by that name, else
    it is taken for a template whose name is misspelt. Raises UnreadableFile for a folder that is not there,
    ConfigError listing every template's problem."""
    import jinja2

    folder = Path(folder)
    if not folder.is_dir():
        raise UnreadableFile(f"{folder}: no such folder of response templates")
    env = _environment(folder)
    templates = Templates(folder)
    problems: list[str] = []
    checked: list[tuple[ResponseTemplate, LoadedContract, etree._Element]] = []
    operations = {i.name for i in contracts.interactions}
    others: list[Path] = []  # .xml files not named after an operation: each must be one a template includes
    sources: list[str] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(SUFFIX)):
        if path.name[:-len(SUFFIX)] not in operations:
            others.append(path)
            continue
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
        sources.append(source)
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
    if others:
        included = _included(env, sources)
        problems += [_not_an_operation(path, contracts) for path in others if path.name not in included]
    samples: dict[str, Any] = {}
    sources: dict[str, str] = {}
    recalling: list[tuple[ResponseTemplate, LoadedContract, etree._Element]] = []
    for template, loaded, request in checked:  # round 1: nothing stored
        try:
            text, call = template.render(RequestView(request), _CheckState())
            template.check(text, loaded, call.origins)
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
            text, again = template.render(RequestView(request), _CheckState(samples))
            template.check(text, loaded, again.origins)
        except RenderProblem as exc:
            what = ", ".join(f"'{b}' from {sources[b]}" for b in sorted(samples))
            problems.append(f"{exc} (checked with what the other templates store: {what})")
    if problems:
        raise ConfigError(f"response templates in {folder}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return templates

