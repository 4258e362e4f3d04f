"""Read a case file's bytes into raw data (mappings, lists, texts, Decimals, booleans, None).

Reading is bounded and literal, so that what `cases/case.py` validates is exactly what was written:
- only a regular file or standard input is read, and at most the size limit;
- UTF-8, with or without a byte-order mark (in YAML and JSON alike);
- numbers are read from their text as Decimal, never through a float (4.9999999999999999 stays
  itself and is refused for its decimals, not rounded to 5);
- YAML is read by YAML 1.2 rules: `true`/`false` are the booleans and plain decimals the numbers.
  A plain value that YAML 1.1 would convert (`yes`, `on`, `0x10`, `1:30`, `1_0`, `.inf`) is kept
  as a `Yaml11Scalar`, which the validator refuses with what was meant;
- a key written twice in one mapping is kept on the mapping (`CaseMapping.duplicates`) and
  refused by the validator with its field path;
- YAML anchors, aliases and explicit tags are refused: a case has no need of them, and aliases
  multiply a small file into an unbounded one.

YAML is parsed by libyaml when PyYAML has it (several times faster), composed by the same rules
as above; a text libyaml does not read, or may read otherwise, is read by PyYAML's pure-Python
parser, which words every refusal. Both give the same data and the same messages
(tests/test_cold_start.py).
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from ..core.diagnostics import Diagnostic, SijfaspError, file_kind
from ..core.limits import DEFAULT_LIMITS, Limits, raise_hint
from ..core.source import Span
from ..core.textsafe import for_diagnostic, terminal

STDIN = "-"
STDIN_NAME = "<stdin>"
BOM = "\ufeff"


class CaseMapping(dict):
    """A mapping as read, with the keys that were written more than once (key, line or None)."""

    duplicates: list[tuple[Any, int | None]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.duplicates = []


class Yaml11Scalar(str):
    """A plain YAML value that YAML 1.1 reads as something else than text: `yes`, `0x10`."""

    reading: str  # what a YAML 1.1 reader would take it for, e.g. "true", "16"


def _fail(name: str, message: str, span: Span | None = None) -> SijfaspError:
    return SijfaspError([Diagnostic("case", message, span, file=name)])


# ------------------------------------------------------------------ bytes
def display_name(path: Path | str) -> str:
    return STDIN_NAME if str(path) == STDIN else str(path)


def read_case_bytes(path: Path | str, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The bytes of a regular file or of standard input (`-`), at most the size limit."""
    name = display_name(path)
    limit = limits.max_file_bytes
    if str(path) == STDIN:
        data = sys.stdin.buffer.read(limit + 1)
    else:
        try:
            info = os.stat(path)  # follows symbolic links: what counts is what is read
            if not stat.S_ISREG(info.st_mode):
                raise _fail(
                    terminal(name),
                    f"cannot read the case: {file_kind(info.st_mode)}, not a regular file",
                )
            with open(path, "rb") as file:
                data = file.read(limit + 1)
        except OSError as error:
            reason = error.strerror or str(error)
            raise _fail(terminal(name), f"cannot read the case: {reason}") from None
    if len(data) > limit:
        raise _fail(
            terminal(name),
            f"the case is larger than the limit of {limit:,} bytes; {raise_hint('max_file_bytes')}",
        )
    return data


def decode(data: bytes, name: str) -> str:
    """UTF-8 text; a leading byte-order mark is dropped, in YAML and JSON alike."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _fail(
            terminal(name),
            f"cannot read the case: not UTF-8 text (byte {error.start + 1} cannot be decoded)",
        ) from None
    return text[1:] if text.startswith(BOM) else text


def is_json(text: str, name: str) -> bool:
    """JSON by its file name; standard input is JSON when it starts with `{` or `[`."""
    if name == STDIN_NAME:
        return text.lstrip()[:1] in ("{", "[")
    return name.endswith(".json")


# ------------------------------------------------------------------ JSON
def _json_object(pairs: list[tuple[str, Any]]) -> CaseMapping:
    mapping = CaseMapping()
    for key, value in pairs:
        if key in mapping:
            mapping.duplicates.append((key, None))
            continue  # the first one is kept; the validator refuses the mapping anyway
        mapping[key] = value
    return mapping


def _json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number in JSON")


def _read_json(text: str, name: str) -> Any:
    try:
        return json.loads(
            text,
            object_pairs_hook=_json_object,
            parse_float=Decimal,
            parse_int=Decimal,
            parse_constant=_json_constant,
        )
    except json.JSONDecodeError as error:
        raise _fail(
            name, f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None


# ------------------------------------------------------------------ YAML
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_DECIMAL = "tag:sijfasp,2026:decimal"
_YAML11 = "tag:sijfasp,2026:yaml11"
_CORE_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_YAML11_KINDS = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:null",
}
# YAML 1.1 booleans PyYAML leaves as text but other readers convert.
_YAML11_LETTERS = {"y": "true", "Y": "true", "n": "false", "N": "false"}


def _span(name: str, mark: Any) -> Span | None:
    if mark is None:
        return None
    return Span(name, mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2)


# How deep a case's YAML may nest: a case needs about six levels (records, a kind's list, a
# record, a list field). A fixed bound, not Python's stack, decides, so that both readers below
# refuse the same texts at the same place, however deep the caller's stack already is.
MAX_NESTING = 64


class _CaseRules:
    """YAML 1.2-like plain values, no anchors, aliases or tags, duplicate keys recorded: the
    composition of a case, over PyYAML's pure-Python parser or libyaml's events alike."""

    case_name = "<case>"
    max_values = DEFAULT_LIMITS.max_values
    max_records = DEFAULT_LIMITS.max_records
    values = 0
    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[attr-defined]
        if self.depth >= MAX_NESTING:
            raise _fail(
                self.case_name,
                f"nested more than {MAX_NESTING} levels deep; a case needs a few",
                _span(self.case_name, event.start_mark),
            )
        self.values += 1
        if self.values > self.max_values:
            raise _fail(
                self.case_name,
                f"the case holds more than {self.max_values:,} values, more than "
                f"{self.max_records:,} records can need; {raise_hint('max_records')}",
                _span(self.case_name, event.start_mark),
            )
        where = _span(self.case_name, event.start_mark)
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _fail(
                self.case_name,
                "YAML anchors and aliases (& and *) are not read in a case: write each value out",
                where,
            )
        tag = getattr(event, "tag", None)
        if tag is not None and not (isinstance(event, yaml.ScalarEvent) and tag == "!"):
            raise _fail(
                self.case_name,
                f"the YAML tag {for_diagnostic(tag.replace('tag:yaml.org,2002:', '!!'))} is not read in a case: write the value alone "
                "(quote a text)",
                where,
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self.depth -= 1

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode or not implicit[0]:
            return super().resolve(kind, value, implicit)  # type: ignore[misc]
        if value in ("true", "false"):
            return _BOOL
        if value in ("", "~", "null"):
            return _NULL
        if _CORE_NUMBER.fullmatch(value):
            return _DECIMAL
        yaml11 = super().resolve(kind, value, implicit)  # type: ignore[misc]
        if value in _YAML11_LETTERS or yaml11 in _YAML11_KINDS:
            return _YAML11
        return _STR


class _CaseYamlLoader(_CaseRules, yaml.SafeLoader):
    """A case over PyYAML's pure-Python reader, scanner and parser: the reference reading,
    and the one every error message comes from."""


def _construct_mapping(loader: _CaseYamlLoader, node: yaml.MappingNode) -> CaseMapping:
    mapping = CaseMapping()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (dict, list)):
            raise _fail(
                loader.case_name,
                "a key is a mapping or a list; keys in a case are names",
                _span(loader.case_name, key_node.start_mark),
            )
        value = loader.construct_object(value_node, deep=True)
        if key in mapping:
            mapping.duplicates.append((key, key_node.start_mark.line + 1))
            continue
        mapping[key] = value
    return mapping


def _construct_yaml11(loader: _CaseYamlLoader, node: yaml.ScalarNode) -> Yaml11Scalar:
    text = str(node.value)
    scalar = Yaml11Scalar(text)
    reading = _YAML11_LETTERS.get(text)
    if reading is None and len(text) <= 40:
        try:
            value = yaml.safe_load(text)
            reading = (
                "null"
                if value is None
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
            )
        except (yaml.YAMLError, ValueError, OverflowError):
            reading = None
    scalar.reading = reading or "something else than text"
    return scalar


_CaseYamlLoader.add_constructor(_MAP, _construct_mapping)


def _construct_sequence(loader: _CaseYamlLoader, node: yaml.SequenceNode) -> list[Any]:
    return loader.construct_sequence(node, deep=True)


_CaseYamlLoader.add_constructor(_SEQ, _construct_sequence)
_CaseYamlLoader.add_constructor(_DECIMAL, lambda loader, node: Decimal(node.value))
_CaseYamlLoader.add_constructor(_YAML11, _construct_yaml11)


def _libyaml_loader() -> type | None:
    """The same composition over libyaml's parser (PyYAML's C extension), several times faster
    than the pure-Python one; None when PyYAML was built without it."""
    if not getattr(yaml, "__with_libyaml__", False):
        return None
    from yaml._yaml import CParser
    from yaml.composer import Composer
    from yaml.constructor import SafeConstructor
    from yaml.resolver import Resolver

    class _CaseLibyamlLoader(_CaseRules, Composer, CParser, SafeConstructor, Resolver):
        # Composer before CParser: the nodes are composed here, from libyaml's events.
        yaml_constructors = _CaseYamlLoader.yaml_constructors

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    return _CaseLibyamlLoader


_LIBYAML_LOADER = _libyaml_loader()
# What PyYAML's pure-Python reader refuses before parsing (yaml.reader.Reader.NON_PRINTABLE).
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE


# Where libyaml (0.2.5, 0.2.6) reads otherwise than PyYAML's own scanner (it accepts a tab after a
# value, `?` inside a plain value in brackets and a comment right after `|` or `>`, drops a
# byte-order mark inside the text, and reads a lone `!` as an empty text, not null): such
# texts go to the pure-Python reader.
_LIBYAML_DIFFERS = re.compile("[\t?!\ufeff]|[|>][-+0-9]*#")


def _for_libyaml(text: str) -> bool:
    """Whether libyaml may read the text to the same data as the pure-Python reader."""
    return _LIBYAML_DIFFERS.search(text) is None and _NON_PRINTABLE.search(text) is None


def _load_yaml(loader_class: Any, text: str, name: str, limits: Limits) -> Any:
    loader = None
    try:
        loader = loader_class(text)  # the pure-Python reader checks the characters here already
        loader.case_name = name
        loader.max_values = limits.max_values
        loader.max_records = limits.max_records
        return loader.get_single_data()
    finally:
        if loader is not None:
            loader.dispose()


def _read_yaml(text: str, name: str, limits: Limits) -> Any:
    """The case's data, read with libyaml when PyYAML has it. libyaml only ever gives a
    result: any text it does not read to the end, for whatever reason (a syntax error, a
    refused anchor or tag, a limit), and any text `_for_libyaml` keeps from it, is read
    by the pure-Python parser, which accepts or refuses it and words every message, with its
    line and column, as it always has."""
    if _LIBYAML_LOADER is not None and _for_libyaml(text):
        try:
            return _load_yaml(_LIBYAML_LOADER, text, name, limits)
        except Exception:  # refused or not: the reading below decides, and says why
            pass
    return _read_yaml_python(text, name, limits)


def _read_yaml_python(text: str, name: str, limits: Limits) -> Any:
    try:
        return _load_yaml(_CaseYamlLoader, text, name, limits)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).split("\n")[0]
        raise _fail(name, f"not valid YAML: {for_diagnostic(problem, 200)}{where}") from None


# ------------------------------------------------------------------ text
def read_case_text(text: str, path: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse YAML or JSON text into raw data; raise SijfaspError with the position on failure."""
    name = terminal(path)
    if text.startswith(BOM):
        text = text[1:]
    try:
        if is_json(text, path):
            return _read_json(text, name)
        return _read_yaml(text, name, limits)
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise _fail(name, f"cannot be read: {for_diagnostic(reason, 200)}") from None


def read_json_case_text(text: str, name: str) -> Any:
    """Raw data of a case written as JSON whatever its name: one line of a JSON Lines file."""
    name = terminal(name)
    try:
        return _read_json(text[1:] if text.startswith(BOM) else text, name)
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise _fail(name, f"cannot be read: {for_diagnostic(reason, 200)}") from None


def written_at(
    path: Path, name: str, keys: list[str | int], value: bool = False
) -> tuple[Span, str] | None:
    """Where a field of a YAML file already read is written: the key at the end of `keys`
    (mapping keys and list indexes from the top), or with `value` what is written after it,
    with the file's text (to quote the line). None when the text cannot be read that way.
    For a message about a file that was read (a policy test file), not for reading one."""
    try:
        text = path.read_text(encoding="utf-8")
        node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeError, yaml.YAMLError):
        return None
    target = node
    for key in keys:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            pair = next((kv for kv in node.value if kv[0].value == key), None)
            if pair is None:
                return None
            target, node = pair
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            target = node = node.value[key]
        else:
            return None
    target = node if value else target
    if target is None:
        return None
    start, end = target.start_mark, target.end_mark
    return Span(name, start.line + 1, start.column + 1, end.line + 1, end.column + 1), text


def read_case_file(path: Path | str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Raw data of a case file, or of standard input when `path` is `-`."""
    name = display_name(path)
    return read_case_text(decode(read_case_bytes(path, limits), name), name, limits)
