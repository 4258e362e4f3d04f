"""A policy as loaded: checked, compiled, with the source texts it was read from.

What the policy set, versions, the cache and every later stage pass around; a module of
its own so that the versions and the loading of policies need not import each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.source import SourceText

if TYPE_CHECKING:
    from ..language.compiler import CompiledPolicy
    from ..language.semantics import Policy


@dataclass(frozen=True)
class LoadedPolicy:
    policy: Policy
    compiled: CompiledPolicy
    sources: tuple[SourceText, ...]
