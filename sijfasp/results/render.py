"""Results as text (80 columns), JSON, or Markdown: the output formats by name, for the command
line, the service and the FHIR adapter.

Each format is a module of its own: `render_text` (check, explain, missing, the policy set and
the list of policies), `render_markdown` (a reviewer's summary), `render_letter` (the letter to
a provider's office) and `render_json`, over `render_words` (what every format says the same
way) and `render_needs` (missing documentation in words). This module only names their entry
points, so a caller needs one import whatever the format.

Wording rule: the tool finds criteria met or not met; it never says a request is denied, since a
physician reviewer makes that decision.
"""

from __future__ import annotations

from .render_json import JSON_SCHEMA, case_json, json_case, json_cases, json_policies, result_json
from .render_letter import DEFAULT_REPLY_DAYS, markdown_missing
from .render_markdown import markdown_explain, markdown_set_line
from .render_needs import needs_text
from .render_text import (
    MAX_SETS_SHOWN,
    text_check,
    text_explain,
    text_missing,
    text_policies,
    text_set_line,
)
from .render_words import reasons_words

__all__ = [
    "DEFAULT_REPLY_DAYS",
    "JSON_SCHEMA",
    "MAX_SETS_SHOWN",
    "case_json",
    "json_case",
    "json_cases",
    "json_policies",
    "markdown_explain",
    "markdown_missing",
    "markdown_set_line",
    "needs_text",
    "reasons_words",
    "result_json",
    "text_check",
    "text_explain",
    "text_missing",
    "text_policies",
    "text_set_line",
]
