"""A cold `sijfasp check` does only what a check needs: cases are read with libyaml when PyYAML
has it, to the same data and the same messages as the pure-Python reading."""

from __future__ import annotations

import argparse
import dataclasses
import json
import marshal
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import support
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sijfasp.cases import reader as case_reader
from sijfasp.cases.reader import CaseMapping, Yaml11Scalar, read_case_text
from sijfasp.cli import main as cli
from sijfasp.core import dataclass_code
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.core.limits import DEFAULT_LIMITS, Limits
from sijfasp.solve import solver

HOSTILE_CASES = support.REPO_ROOT / "tests" / "hostile" / "cases"
SETTINGS = settings(
    max_examples=support.examples(300),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow],
)

needs_libyaml = pytest.mark.skipif(
    case_reader._LIBYAML_LOADER is None, reason="PyYAML is built without libyaml here"
)


def _shape(value: Any) -> Any:
    """The data as read, every type and detail spelled out: a mapping's duplicates with their
    lines, a YAML 1.1 value's reading, a Decimal's exact digits."""
    if isinstance(value, CaseMapping):
        return (
            "mapping",
            [(_shape(k), _shape(v)) for k, v in value.items()],
            [(_shape(k), line) for k, line in value.duplicates],
        )
    if isinstance(value, list):
        return ("list", [_shape(item) for item in value])
    if isinstance(value, Yaml11Scalar):
        return ("yaml11", str(value), value.reading)
    if isinstance(value, Decimal):
        return ("decimal", repr(value))
    assert value is None or type(value) in (str, bool), (type(value), value)
    return (type(value).__name__, value)


def _libyaml(text: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    assert case_reader._LIBYAML_LOADER is not None
    return case_reader._load_yaml(case_reader._LIBYAML_LOADER, text, "case.yaml", limits)


def _python(text: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    return case_reader._load_yaml(case_reader._CaseYamlLoader, text, "case.yaml", limits)


def _outcome(text: str, name: str = "case.yaml", limits: Limits = DEFAULT_LIMITS) -> Any:
    """What reading `text` gives: its data, or the messages of its refusal."""
    try:
        return ("read", _shape(read_case_text(text, name, limits)))
    except SijfaspError as error:
        return ("refused", error.diagnostics)


def _outcome_without_libyaml(monkeypatch, text: str, **rest: Any) -> Any:
    with monkeypatch.context() as patch:
        patch.setattr(case_reader, "_LIBYAML_LOADER", None)
        return _outcome(text, **rest)


GOOD = [
    "id: a\nfindings: {vas_score: 7, odi_score: 4.50}\n",
    "id: a\nfindings:\n  pain_radiating: true\n  other: false\n  blank:\n  tilde: ~\n",
    "request: {service: x}\nrequest: {service: y}\n",  # a duplicate, with its line
    "a: 1\nb:\n  c: 2\n  c: 3\n  d: [1, 2, {e: 3}]\n",
    "yes: on\nhex: 0x10\nsexagesimal: 1:30\nexp: 1.0e1\ninf: .inf\nnan: .NaN\nunder: 1_0\n",
    "octal: 0o17\nlead: 010\nletters: [y, Y, n, N, off, No]\n",
    "quoted: 'yes'\ndouble: \"0x10\"\nplain: text with:colon, and # not a comment\n",
    "block: |\n  two\n  lines\nfolded: >\n  one\n  line\n",
    'escapes: "tab\\tnew\\nline \\u00e9 \\x41"\nunicode: é ü 中文 🙂\n',
    "empty: {}\nnone: []\nnested: [[[]]]\n",
    "? complex key\n: value\n",
    "key: ! 12\n",  # the non-specific tag: the value as text
    "--- \nid: a\n...\n",
    "%YAML 1.1\n---\nid: a\n",
    "- 1\n- -2.5\n- 0\n- -0\n- 1.\n- .5\n",
    "a: 1\r\nb: 2\r\n",
    "a: 'it''s'\nb: \"q\\\"uote\"\n",
    "# comment only\n",
    "",
    "just text",
    "a:\n  - b: 1\n    c: 2\n  - b: 3\n",
    "a: b\u2028c: d\n",
    "a: x\x85b: y\n",
    "long: " + "x" * 3000 + "\n",
]
BAD = [
    "a: [1, 2\n",
    "a: b: c\n",
    "a: &x 1\nb: *x\n",
    "a: &x 1\n",
    "b: *x\n",
    "a: !!float 1\n",
    "a: !custom 1\n",
    "!!map {a: 1}\n",
    "a: 1\n---\nb: 2\n",
    "a:\n\t- 1\n",
    "a: \x01\n",
    "a: \x7f\n",
    "a: '\ud800'\n",
    'a: "\\q"\n',
    "%YAML 2.0\n---\na: 1\n",
    "%TAG ! tag:example.com,2000:\n---\na: !x 1\n",
    "{a: 1}}\n",
    "[" * 500,  # nested too deeply
    "? [a]\n: 1\n",
    "{[a]: 1}\n",
    "a: '\n",
    "- a\nb: c\n",
    # Texts libyaml reads otherwise than the pure-Python reader (case_reader._LIBYAML_DIFFERS).
    "0\t\n",
    "{a?b: 1}\n",
    "- [x?, 1]\n",
    "|#comment\n  text\n",
    ">-#   3\n",
]
# Read by both, but libyaml reads them to other data.
DIFFERENT = ["!\n", "#1\n\ufeffe: 1\n"]


def _example_texts() -> list[tuple[str, str]]:
    paths = [*support.example_paths(), *sorted(HOSTILE_CASES.glob("*.yaml"))]
    return [(p.name, p.read_text(encoding="utf-8")) for p in paths]


@needs_libyaml
@pytest.mark.parametrize("text", GOOD)
def test_libyaml_reads_as_the_pure_python_reader(text):
    assert _shape(_libyaml(text)) == _shape(_python(text))


@needs_libyaml
def test_libyaml_reads_every_example_as_the_pure_python_reader():
    read = 0
    for name, text in _example_texts():
        try:
            expected = _shape(_python(text))
        except SijfaspError:
            continue  # refused by the reference: the reading below falls back to it
        assert _shape(_libyaml(text)) == expected, name
        read += 1
    assert read >= len(support.example_paths())


@pytest.mark.parametrize("text", DIFFERENT + BAD[-5:])
def test_texts_libyaml_reads_otherwise_go_to_the_pure_python_reader(text, monkeypatch):
    assert not case_reader._for_libyaml(text)
    called = []
    real = case_reader._read_yaml_python

    def python(*args: Any) -> Any:
        called.append(args[0])
        return real(*args)

    monkeypatch.setattr(case_reader, "_read_yaml_python", python)
    assert _outcome(text) == _outcome_without_libyaml(monkeypatch, text)
    assert called and called[0] == text


@pytest.mark.parametrize("text", GOOD + BAD + DIFFERENT)
def test_read_case_text_is_the_same_with_and_without_libyaml(text, monkeypatch):
    assert _outcome(text) == _outcome_without_libyaml(monkeypatch, text)


@pytest.mark.parametrize("name", [n for n, _ in _example_texts()])
def test_every_example_reads_the_same_with_and_without_libyaml(name, monkeypatch):
    text = dict(_example_texts())[name]
    assert _outcome(text, name) == _outcome_without_libyaml(monkeypatch, text, name=name)


@pytest.mark.parametrize(
    "text, says, where",
    [
        ("a: &x 1\nb: *x\n", "anchors and aliases", (1, 4)),
        ("a: 1\nb: !!float 2\n", "the YAML tag !!float", (2, 4)),
        ("a: [1, 2\n", "not valid YAML: expected ',' or ']'", "at line 2, column 1"),
        ("a: b: c\n", "mapping values are not allowed here", "at line 1, column 5"),
        ("0\t\n", "found character '\\t' that cannot start any token", "at line 1"),
        ("a: \x01\n", "unacceptable character #x0001", None),
    ],
)
def test_refusals_keep_their_pure_python_wording(text, says, where):
    with pytest.raises(SijfaspError) as raised:
        read_case_text(text, "case.yaml")
    (diagnostic,) = raised.value.diagnostics
    assert says in diagnostic.message
    if isinstance(where, tuple):
        assert diagnostic.span is not None
        assert (diagnostic.span.line, diagnostic.span.column) == where
    elif where is not None:
        assert where in diagnostic.message


@pytest.mark.slow  # an integration run of a second or so; the full tier runs it
def test_the_value_limit_holds_on_both_readings(monkeypatch):
    limits = Limits(max_records=1)  # 10,030 values at most
    text = "records:\n" + "".join(f"  - {{a: {i}}}\n" for i in range(5000))
    outcome = _outcome(text, limits=limits)
    assert outcome[0] == "refused"
    assert "the case holds more than 10,030 values" in outcome[1][0].message
    assert outcome == _outcome_without_libyaml(monkeypatch, text, limits=limits)


@needs_libyaml
def test_a_plain_case_is_read_by_libyaml_alone(monkeypatch):
    def refuse(*_: object) -> Any:
        raise AssertionError("read by the pure-Python reader")

    monkeypatch.setattr(case_reader, "_read_yaml_python", refuse)
    data = read_case_text(support.APPROVABLE_PATH.read_text(encoding="utf-8"), "a.yaml")
    assert data["id"] == "approvable"


def test_without_libyaml_the_pure_python_reader_reads_the_case():
    # PyYAML without its C extension, as a build without libyaml has it.
    code = (
        "import sys; sys.modules['yaml._yaml'] = None\n"
        "import yaml; from sijfasp.cases import reader as case_reader\n"
        "assert not yaml.__with_libyaml__ and case_reader._LIBYAML_LOADER is None\n"
        f"data = case_reader.read_case_file({str(support.APPROVABLE_PATH)!r})\n"
        "print(data['id'], data['findings']['vas_score'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=support.REPO_ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["approvable", "7"]


# ------------------------------------------------------------------ generated texts
YAML_PIECES = list(":-[]{},#&*!|>'\"\n \t%?@`\\~.0123456789eEaxyYnNo\r\x85\u2028\u2029\ufeffé")


def _dumped(data: Any, style: str | None, flow: bool | None) -> str:
    return yaml.safe_dump(data, default_style=style, default_flow_style=flow, allow_unicode=True)


def _texts_only(data: Any) -> Any:
    """Numbers, booleans and nulls dumped in a quoting style carry a tag: texts instead."""
    if isinstance(data, dict):
        return {k: _texts_only(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_texts_only(v) for v in data]
    return data if isinstance(data, str) else str(data)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.text(st.sampled_from(YAML_PIECES), max_size=12),
    st.sampled_from(["yes", "off", "0x10", "1:30", "1_0", ".inf", "010", "y", "~", "null"]),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(st.sampled_from(YAML_PIECES), max_size=6), inner, max_size=4),
    ),
    max_leaves=12,
)
dumped = st.one_of(
    st.builds(_dumped, documents, st.none(), st.sampled_from([None, True])),
    st.builds(
        _dumped,
        documents.map(_texts_only),
        st.sampled_from(["'", '"', "|", ">"]),
        st.sampled_from([None, True]),
    ),
)


@st.composite
def mutated(draw, text: str) -> str:
    pieces = list(text)
    for _ in range(draw(st.integers(1, 4))):
        if not pieces:
            break
        i = draw(st.integers(0, len(pieces) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "insert"]))
        if op == "delete":
            del pieces[i]
        elif op == "duplicate":
            pieces.insert(i, pieces[i])
        else:
            pieces.insert(i, draw(st.sampled_from(YAML_PIECES)))
    return "".join(pieces)


def _example_texts_only() -> list[str]:
    return [text for _, text in _example_texts()]


texts = st.one_of(
    st.text(st.sampled_from(YAML_PIECES), max_size=40),
    dumped,
    dumped.flatmap(mutated),
    st.sampled_from(GOOD + BAD).flatmap(mutated),
    st.sampled_from(_example_texts_only()).flatmap(mutated),
)


@pytest.mark.slow
@needs_libyaml
@SETTINGS
@given(texts)
def test_what_libyaml_reads_the_pure_python_reader_reads_alike(text):
    if not case_reader._for_libyaml(text):
        return  # never given to libyaml
    try:
        found = _shape(_libyaml(text))
    except Exception:
        return  # read again by the pure-Python reader, which decides
    assert found == _shape(_python(text))


@pytest.mark.slow
@SETTINGS
@given(texts)
def test_generated_texts_read_the_same_with_and_without_libyaml(text):
    expected = None
    saved = case_reader._LIBYAML_LOADER
    try:
        case_reader._LIBYAML_LOADER = None
        expected = _outcome(text)
    finally:
        case_reader._LIBYAML_LOADER = saved
    assert _outcome(text) == expected


@needs_libyaml
def test_dumped_documents_reach_libyaml():
    # The generated texts above are not all refused: dumped documents are read, in every style.
    for style in (None, "'", '"', "|", ">"):
        data = {"a": [1, "yes", {"b": None}], "c": "x: y", "d": "two\nlines"}
        text = _dumped(data if style is None else _texts_only(data), style, None)
        assert case_reader._for_libyaml(text)
        assert _shape(_libyaml(text)) == _shape(_python(text)), text


# ------------------------------------------------------------------ the command line
def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


@pytest.mark.parametrize("command", sorted(cli._HANDLERS))
def test_a_command_parser_is_that_command_of_the_full_parser(command, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    full, only = cli._parser(None), cli._parser(command)
    assert list(_subparsers(only)) == [command]
    assert _subparsers(only)[command].format_help() == _subparsers(full)[command].format_help()
    assert _subparsers(only)[command].prog == _subparsers(full)[command].prog
    assert sorted(_subparsers(full)) == sorted(cli._HANDLERS)
    assert full.format_usage() == only.format_usage()  # what a top-level error shows


@pytest.mark.parametrize(
    "argv, command",
    [
        (["check", "a.yaml"], "check"),
        (["--policies", "dir", "explain", "a.yaml"], "explain"),
        (["--policies=dir", "missing"], "missing"),
        (["--pol", "check", "explain"], None),  # an abbreviation: its value is not known
        (["-h", "check"], None),
        (["--policies"], None),
        ([], None),
    ],
)
def test_only_a_plain_command_line_gets_a_parser_of_one_command(argv, command):
    assert cli._plain_command(argv) == command


# ------------------------------------------------------------------ the data classes' code
# In a fresh process: import the command line, then print how many data class methods were
# compiled, whether the collector runs, and every sijfasp data class's methods as compiled.
IMPORT_CLI = r"""
import builtins, dataclasses, gc, json, sys
compiled = 0
real_compile = builtins.compile
def counting(source, *rest, **named):
    global compiled
    compiled += isinstance(source, str) and "__create_fn__" in source
    return real_compile(source, *rest, **named)
builtins.compile = counting
import sijfasp.cli.main
builtins.compile = real_compile

def code(function):
    c = function.__code__
    return [c.co_code.hex(), repr(c.co_consts), c.co_names, c.co_varnames, c.co_freevars,
            c.co_qualname, repr(function.__annotations__), repr(function.__defaults__),
            repr(function.__kwdefaults__), function.__module__]

methods = {}
for name, module in sorted(sys.modules.items()):
    if name.startswith("sijfasp"):
        for value in vars(module).values():
            if dataclasses.is_dataclass(value) and value.__module__ == name:
                for method in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__",
                               "__delattr__"):
                    found = vars(value).get(method)
                    if found is not None and hasattr(found, "__code__"):
                        methods[f"{name}.{value.__qualname__}.{method}"] = code(
                            getattr(found, "__wrapped__", found))
print(json.dumps({"compiled": compiled, "collecting": gc.isenabled(),
                  "frozen": gc.get_freeze_count(),
                  "patched": "exec" in vars(dataclasses), "methods": methods}))
"""


def _import_cli(cache: Path | None) -> dict[str, Any]:
    environment = {**os.environ}
    environment.pop("SIJFASP_NO_CACHE", None)
    if cache is None:
        environment["SIJFASP_NO_CACHE"] = "1"
    else:
        environment["SIJFASP_CACHE_DIR"] = str(cache)
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_CLI],
        capture_output=True,
        text=True,
        env=environment,
        cwd=support.REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("dataclass-code-*.marshal"))


@pytest.mark.slow
def test_data_classes_are_compiled_once_and_made_alike(tmp_path):
    cache = tmp_path / "cache"
    fresh = _import_cli(None)
    first = _import_cli(cache)
    (entry,) = _entries(cache)
    second = _import_cli(cache)
    assert first["compiled"] > 300  # a hundred-odd classes, afresh
    assert second["compiled"] == 0  # every one from the cache
    assert len(fresh["methods"]) > 300
    assert fresh["methods"] == first["methods"] == second["methods"]
    for run in (fresh, first, second):
        assert run["collecting"] and not run["patched"]
        assert run["frozen"] == 0  # importing the module leaves the collector as it was
    assert _entries(cache) == [entry]


def test_the_command_freezes_what_it_loaded_and_an_import_does_not():
    probe = (
        "import gc, sys\n"
        "import sijfasp.cli.main as cli\n"
        "imported = gc.get_freeze_count()\n"
        "cli.main = lambda: print(imported, gc.get_freeze_count()) or 0\n"
        "cli.entry()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=support.REPO_ROOT
    )
    assert done.returncode == 0, done.stderr
    imported, at_main = map(int, done.stdout.split())
    assert imported == 0
    assert at_main > 10_000  # the modules' objects, out of the collector's way


@pytest.fixture(scope="module")
def fresh_methods() -> dict[str, Any]:
    return _import_cli(None)["methods"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage",
    [
        b"not a cache entry",
        dataclass_code.FORMAT + b"\x00garbage",
        dataclass_code.FORMAT + marshal.dumps({"def f(): pass": "not code"}),
        dataclass_code.FORMAT + marshal.dumps([1, 2, 3]),
        b"",
    ],
)
def test_a_damaged_entry_is_compiled_afresh_and_replaced(tmp_path, damage, fresh_methods):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    entry = cache / dataclass_code.entry_name()
    entry.write_bytes(damage)
    entry.chmod(0o600)
    again = _import_cli(cache)
    assert again["compiled"] > 300 and again["methods"] == fresh_methods
    assert _entries(cache) == [entry]
    assert entry.read_bytes().startswith(dataclass_code.FORMAT)
    assert len(dataclass_code._read(entry)) == again["compiled"]  # each text once


@pytest.mark.slow
def test_an_entry_damaged_anywhere_is_never_unmarshalled(tmp_path, fresh_methods):
    """Flipped bits in the code (which marshal would load and Python might crash running) or in
    its digest: the entry is a miss, compiled afresh, and the classes are the same."""
    cache = tmp_path / "cache"
    _import_cli(cache)
    (entry,) = _entries(cache)
    good = entry.read_bytes()
    start = len(dataclass_code.FORMAT)
    for offset in (start, start + dataclass_code.DIGEST_SIZE + 7, len(good) // 2, len(good) - 1):
        damaged = bytearray(good)
        damaged[offset] ^= 0x10
        entry.write_bytes(bytes(damaged))
        assert dataclass_code._read(entry) == {}, offset
        again = _import_cli(cache)
        assert again["compiled"] > 300 and again["methods"] == fresh_methods
        assert len(dataclass_code._read(entry)) == again["compiled"]  # written anew, whole


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "getuid"), reason="no file owners here")
def test_an_entry_others_may_write_is_not_read(tmp_path):
    cache = tmp_path / "cache"
    _import_cli(cache)
    (entry,) = _entries(cache)
    assert dataclass_code._read(entry)
    entry.chmod(0o666)
    assert dataclass_code._read(entry) == {}
    assert _import_cli(cache)["compiled"] > 300


@pytest.mark.slow
def test_entries_of_other_python_builds_beyond_the_last_few_go(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    for number in range(dataclass_code.MAX_ENTRIES + 3):
        old = cache / f"dataclass-code-other{number:02}.marshal"
        old.write_bytes(dataclass_code.FORMAT)
        os.utime(old, (number, number))
    _import_cli(cache)
    kept = _entries(cache)
    assert len(kept) == dataclass_code.MAX_ENTRIES
    assert cache / dataclass_code.entry_name() in kept
    assert cache / "dataclass-code-other00.marshal" not in kept  # the oldest went


def test_the_cache_leaves_exec_and_the_collector_as_they_were(tmp_path, monkeypatch):
    monkeypatch.setenv("SIJFASP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SIJFASP_NO_CACHE", raising=False)
    with dataclass_code.cached():
        assert "exec" in vars(dataclasses)

        @dataclasses.dataclass(frozen=True)
        class Point:
            x: int
            y: int = 0

    assert "exec" not in vars(dataclasses)
    assert Point(1) == Point(1, 0) and hash(Point(1)) == hash(Point(1, 0))
    assert repr(Point(2, 3)).endswith("Point(x=2, y=3)")
    with pytest.raises(dataclasses.FrozenInstanceError):
        Point(1).x = 2
    assert len(_entries(tmp_path / "cache")) == 1


# ------------------------------------------------------------------ one case, programs as text
@pytest.mark.slow
def test_programs_read_as_text_decide_as_programs_built_from_the_ast(monkeypatch):
    from sijfasp.api import evaluate_case
    from sijfasp.cases.reader import read_case_file
    from sijfasp.cases.vocabulary import case_under
    from sijfasp.policies.loading import bundled_policy_versions
    from sijfasp.results import render

    class Never(set):  # no program seen: every Control gets the program's text
        def __contains__(self, item: object) -> bool:
            return False

    class Always(set):  # every program seen: every Control is built from the AST
        def __contains__(self, item: object) -> bool:
            return True

    policies = list(bundled_policy_versions())
    outputs = {}
    for as_text in (True, False):
        monkeypatch.setattr(solver, "_SEEN_PROGRAMS", Never() if as_text else Always())
        outputs[as_text] = [
            render.json_cases([evaluate_case(chosen, case)])
            for case, chosen in (
                case_under(read_case_file(path), policies, path.name)
                for path in support.example_paths()
            )
        ]
    assert outputs[True] == outputs[False]
    assert len(outputs[True]) == len(support.example_paths()) >= 10


def _programs_parsed(monkeypatch, *cases: Path) -> list[str]:
    """The policy programs parsed to an AST during `sijfasp check CASES`, in a process that
    has built no Control yet."""
    from sijfasp.policies.loading import bundled_policy_versions

    monkeypatch.setattr(solver, "_SEEN_PROGRAMS", set())

    programs = {loaded.compiled.program for loaded in bundled_policy_versions()}
    parsed: list[str] = []
    real = solver._statements

    def recorded(program: str) -> Any:
        parsed.extend([program] if program in programs else [])
        return real(program)

    monkeypatch.setattr(solver, "_statements", recorded)
    assert cli.main(["check", *map(str, cases), "--format", "json"]) == 0
    return parsed


@pytest.mark.slow
def test_a_program_is_read_as_text_the_first_time_only(monkeypatch, capsys):
    assert _programs_parsed(monkeypatch, support.APPROVABLE_PATH) == []
    one = json.loads(capsys.readouterr().out)
    parsed = _programs_parsed(monkeypatch, support.APPROVABLE_PATH, support.APPROVABLE_PATH)
    assert len(parsed) == 2 == len(set(parsed))  # the second case's two policies: from the AST
    two = json.loads(capsys.readouterr().out)
    assert two == [one, one]


def _nested(levels: int) -> str:
    """A mapping `levels` deep with a value at the bottom: `levels` + 1 nodes on one path."""
    return "".join("  " * i + "k:\n" for i in range(levels)) + "  " * levels + "v\n"


@pytest.mark.parametrize("levels", [case_reader.MAX_NESTING, 326, 2000])
def test_nesting_past_the_limit_is_refused_alike_by_both_readers(levels, monkeypatch):
    """A fixed bound, not the interpreter's stack, decides: libyaml's composition, a few
    frames shallower, once read texts the pure-Python reader refused."""
    text = _nested(levels)
    with_libyaml = _outcome(text)
    assert with_libyaml == _outcome_without_libyaml(monkeypatch, text)
    kind, diagnostics = with_libyaml
    assert kind == "refused"
    assert f"nested more than {case_reader.MAX_NESTING} levels deep" in diagnostics[0].message
    assert diagnostics[0].span is not None and diagnostics[0].span.line == case_reader.MAX_NESTING


def test_nesting_up_to_the_limit_is_read(monkeypatch):
    text = _nested(case_reader.MAX_NESTING - 1)
    assert _outcome(text)[0] == "read"
    assert _outcome(text) == _outcome_without_libyaml(monkeypatch, text)
