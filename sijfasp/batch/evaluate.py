"""One case of a batch, wherever it runs: what a worker is sent (`Config`, `Item`) and what it
sends back (`Outcome`: the case's output line), the line itself (`evaluate_item`: what
`check --format json` prints, or an error line naming the case's source and fields), the case's
time limit, and the usage error every part of the batch raises (`usage`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api import Options, evaluate_case, evaluate_cases
from ..cases.case import Case
from ..cases.reader import read_case_text, read_json_case_text
from ..cases.vocabulary import case_under
from ..core.diagnostics import Diagnostic, SijfaspError
from ..core.limits import Limits, raise_hint, too_complex
from ..policies import versions
from ..policies.loaded import LoadedPolicy
from ..policies.loading import bundled_policy_versions, load_policy, policy_versions, set_policies
from ..policies.policy_set import PolicySet
from ..results import render
from ..results.results import CaseResult, PolicySetInfo
from ..solve.solver import OutOfTime


def usage(message: str, where: str = "batch") -> SijfaspError:
    return SijfaspError([Diagnostic("import", message, file=where)])


@dataclass(frozen=True)
class Config:
    """What every worker needs to evaluate a case: sent once per task, small and picklable."""

    policy_ids: tuple[str, ...]  # ID@VERSION of each version, in the order of the output
    policy_files: tuple[str, ...]  # empty: the policy set
    limits: Limits
    enumerate: int
    as_of: dt.date | None = None  # --as-of: the date versions are chosen on
    pinned: tuple[str, ...] = ()  # ids --policy ID@VERSION fixes to one version
    # The policy set's folder and origin (policy_set.Origin); unused with policy_files.
    policy_set: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class Item:
    """One case of the input, as text; `problem` when it could not even be read."""

    index: int
    source: str  # where it is: "cases.jsonl:12" or "cases/a.yaml"
    text: str | None
    is_json: bool
    problem: str | None = None
    # The case's key in the resume record, with `source`: the SHA-256 of its bytes as read
    # (of the problem, when it could not be read).
    digest: str = ""


@dataclass(frozen=True)
class Outcome:
    index: int
    line: str  # one JSON object and a newline
    # (policy, determination) per policy; None for an error line.
    determinations: tuple[tuple[str, str], ...] | None
    source: str = ""  # the item's, for the resume record
    digest: str = ""


_LOADED: dict[tuple[tuple[str, ...], tuple[str, ...], tuple[str, str]], list[LoadedPolicy]] = {}


def _policies(config: Config) -> list[LoadedPolicy]:
    """The policies, loaded once per process (a worker keeps them for every case)."""
    key = (config.policy_ids, config.policy_files, config.policy_set)
    if key not in _LOADED:
        if config.policy_files:
            loaded = list(policy_versions(load_policy(Path(p)) for p in config.policy_files))
        elif config.policy_set[0]:
            loaded = list(set_policies(PolicySet(Path(config.policy_set[0]), config.policy_set[1])))
        else:
            loaded = list(bundled_policy_versions())
        by_ref = {versions.reference(p): p for p in loaded}
        _LOADED[key] = [by_ref[i] for i in config.policy_ids]
    return _LOADED[key]


def evaluate_item(
    config: Config, item: Item, read: Outcome | tuple[Any, Case, list[LoadedPolicy]] | None = None
) -> Outcome:
    """The output line of one case: what `check --format json` prints, or an error line.
    `read`: the item as `_read` gave it already (a case judged again on its own)."""
    read = _read(config, item) if read is None else read
    if isinstance(read, Outcome):
        return read
    raw_id, case, chosen = read
    options = Options(enumerate=config.enumerate)
    limit = config.limits.time_limit
    return _judged(
        config,
        item,
        raw_id,
        lambda: _within_time(
            limit,
            item,
            lambda: evaluate_case(chosen, case, options, config.as_of, config.pinned, limit),
        ),
    )


# A chunk's cases are judged together (their determinations from one grounding per policy,
# api.evaluate_cases) up to this many records each; a longer chart is judged on its own. So are
# all cases under a time limit shorter than TOGETHER_LIMIT seconds: the chunk's grounding
# cannot be stopped, and the limit is each case's.
TOGETHER_RECORDS = 200
TOGETHER_LIMIT = 5.0


def evaluate_items(config: Config, items: list[Item]) -> list[Outcome]:
    """The output lines of several cases, each what `evaluate_item` gives it. The cases read
    and checked without error are judged together (api.evaluate_cases); should that fail (a
    case past its time limit, say), each is judged again on its own, for its own line. The
    process is ended only past the whole chunk's time (`_within_time`)."""
    read = [_read(config, item) for item in items]
    together = [
        i
        for i, r in enumerate(read)
        if not isinstance(r, Outcome) and len(r[1].records) <= TOGETHER_RECORDS
    ]
    results: dict[int, CaseResult] = {}
    limit = config.limits.time_limit
    if len(together) > 1 and (not limit or limit >= TOGETHER_LIMIT):
        options = Options(enumerate=config.enumerate)
        cases = [(r[1], r[2]) for i in together if not isinstance(r := read[i], Outcome)]
        first, last = items[together[0]], items[together[-1]]
        chunk = dataclasses.replace(first, source=f"{first.source} to {last.source}")
        try:
            found = _within_time(
                limit * len(cases),
                chunk,
                lambda: evaluate_cases(cases, options, config.as_of, config.pinned, limit),
            )
            results = dict(zip(together, found, strict=True))
        except (SijfaspError, MemoryError, RecursionError, OutOfTime):
            results = {}
    outcomes = []
    for i, (item, r) in enumerate(zip(items, read, strict=True)):
        if isinstance(r, Outcome):
            outcomes.append(r)
        elif i in results:
            outcomes.append(_judged(config, item, r[0], functools.partial(results.__getitem__, i)))
        else:  # alone: a long chart, or its chunk failed (read once, judged again)
            outcomes.append(evaluate_item(config, item, r))
    return outcomes


def _read(config: Config, item: Item) -> Outcome | tuple[Any, Case, list[LoadedPolicy]]:
    """The case of an item and the policies that judge it, with its raw id; or its error line."""
    if item.problem is not None:
        return _error(item, None, [{"message": item.problem}])
    try:
        if item.is_json:
            data = read_json_case_text(item.text or "", item.source)
        else:
            data = read_case_text(item.text or "", item.source, config.limits)
    except SijfaspError as error:
        return _error(item, None, _diagnostics(error))
    raw_id = data.get("id") if isinstance(data, dict) else None
    surrogate = _surrogate_at(data) if _MAY_HOLD_SURROGATE.search(item.text or "") else None
    if surrogate is not None:
        shown_id = raw_id if surrogate != "id" else None
        return _error(item, shown_id, [{"message": LONE_SURROGATE, "field": surrogate}])
    try:
        policies = _policies(config)
        if isinstance(data, dict) and ("resourceType" in data or "hookInstance" in data):
            from ..fhir import commands as fhir_commands  # a FHIR case (docs/fhir.md)

            case, chosen, _ = fhir_commands.read_case(
                data, policies, item.source, config.limits, None, notify=False
            )
        else:
            case, chosen = case_under(data, policies, item.source, config.limits)
    except SijfaspError as error:
        return _error(item, raw_id, _diagnostics(error))
    except (MemoryError, RecursionError):
        return _error(item, raw_id, [{"message": _TOO_COMPLEX_MEMORY}])
    return raw_id, case, chosen


def _judged(config: Config, item: Item, raw_id: Any, work: Callable[[], CaseResult]) -> Outcome:
    """The line of a case judged by `work`: its result, or the error that stopped it."""
    limit = config.limits.time_limit
    try:
        result = work()
    except SijfaspError as error:
        return _error(item, raw_id, _diagnostics(error))
    except (MemoryError, RecursionError):
        return _error(item, raw_id, [{"message": _TOO_COMPLEX_MEMORY}])
    except OutOfTime:
        return _error(item, raw_id, [{"message": _too_complex_time(limit)}])
    if config.policy_files:
        result = dataclasses.replace(result, policy_set=PolicySetInfo(None, "--policy-file"))
    elif config.policy_set[0]:
        result = dataclasses.replace(result, policy_set=PolicySetInfo(*config.policy_set))
    # The same object as `check --format json`, on one line.
    return Outcome(
        item.index,
        _json_line(render.case_json(result)),
        tuple((r.policy, r.determination.value) for r in result.results),
        item.source,
        item.digest,
    )


LONE_SURROGATE = (
    "a lone surrogate escape (\\ud800 to \\udfff) stands for no character: the text cannot be read"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
# UTF-8 text holds no surrogate: only an escape (JSON \uD800, YAML \uD800 or \U0000D800) can
# make one, so the case is walked only when its text has such an escape.
_MAY_HOLD_SURROGATE = re.compile(r"\\(?:u|U0000)[dD][89a-fA-F]")


def _surrogate_at(data: Any, where: str = "") -> str | None:
    """The field path of the first key or text holding a lone surrogate (a JSON escape such as
    "\\ud800" reads as one; no UTF-8 text can hold it), shown with the surrogate escaped."""
    stack = [(where, data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return _escaped(path) or "(the case)"
        elif isinstance(value, dict):
            for key, inner in reversed(list(value.items())):
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and _SURROGATE.search(key):
                    return _escaped(name)
                stack.append((name, inner))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", inner) for i, inner in reversed(list(enumerate(value))))
    return None


def _escaped(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _json_line(data: Any) -> str:
    """One JSON object on one line; a text no UTF-8 can hold (a file name of undecodable
    bytes, read as surrogates) is written as JSON escapes, which read back as the same text."""
    line = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return line + "\n"


_TOO_COMPLEX_MEMORY = (
    f"the case is too complex to finish within the memory limit; no determination was made "
    f"({raise_hint('memory_limit')})"
)


def _diagnostics(error: SijfaspError) -> list[dict[str, Any]]:
    found = []
    for d in error.diagnostics:
        entry: dict[str, Any] = {"message": d.message}
        if d.field_path is not None:
            entry["field"] = d.field_path
        if d.span is not None:
            entry["at"] = f"{d.span.line}:{d.span.column}"
        if d.hint:
            entry["hint"] = d.hint
        found.append(entry)
    return found


def _error(item: Item, raw_id: Any, errors: list[dict[str, Any]]) -> Outcome:
    case_id = raw_id if isinstance(raw_id, str) and not _SURROGATE.search(raw_id) else None
    data = {"case": case_id, "source": item.source, "errors": errors}
    return Outcome(item.index, _json_line(data), None, item.source, item.digest)


def _too_complex_time(seconds: float) -> str:
    return f"{too_complex('case', seconds)}; no determination was made ({raise_hint('time_limit')})"


# How long past the time limit a case may still be grounding before its process is ended.
GROUNDING_GRACE = 2.0


def _within_time(seconds: float, item: Item, work: Callable[[], Any]) -> Any:
    """Run one case under the time limit. Solving stops at the limit (`OutOfTime`: an error
    line, and the batch goes on). clingo cannot be stopped from Python while it grounds, so a
    case still grounding well past the limit ends its process (exit 2), naming the case; the
    lines written so far stay, and --resume with a higher limit goes on from that case."""
    if not seconds:
        return work()
    backstop = seconds * GROUNDING_GRACE + 1
    timer = threading.Timer(backstop, _out_of_time, (seconds, item.source))
    timer.daemon = True
    timer.start()
    try:
        return work()
    finally:
        timer.cancel()


def _out_of_time(seconds: float, source: str) -> None:
    message = (
        f"sijfasp: {too_complex(f'case {source}', seconds)}; the batch stops here "
        f"({raise_hint('time_limit')}, then --resume)\n"
    )
    with contextlib.suppress(OSError):
        os.write(2, message.encode("utf-8", "replace"))
    os._exit(2)
