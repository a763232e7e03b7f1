"""The build context: what ``docker build`` would send, the secrets in it, and whether the
.dockerignore keeps the sensitive files out.

:mod:`~hubguard.context.scan` scans one context, :mod:`~hubguard.context.coverage` turns what
it sends into ignore lines (``--fix``) and lints the lines that match nothing, and
:mod:`~hubguard.context.staged` maps a commit's files to the contexts they land in (pre-commit).
"""

from __future__ import annotations

from hubguard.context.coverage import (
    CONTEXT_RULES,
    COVERAGE_RULE,
    MISSING_RULE,
    UNUSED_RULE,
    ContextCheck,
    exact_pattern,
    unused_patterns,
)
from hubguard.context.scan import ContextScanner, FixResult
from hubguard.context.staged import check_staged, is_dockerfile_name, staged_contexts

__all__ = [
    "CONTEXT_RULES",
    "COVERAGE_RULE",
    "MISSING_RULE",
    "UNUSED_RULE",
    "ContextCheck",
    "ContextScanner",
    "FixResult",
    "check_staged",
    "exact_pattern",
    "is_dockerfile_name",
    "staged_contexts",
    "unused_patterns",
]
