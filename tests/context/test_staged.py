"""Pre-commit mode: which build contexts a commit's files land in (hubguard/context/staged.py)."""

from __future__ import annotations

from pathlib import Path

from hubguard.context import (
    staged_contexts,
)
from tests.context.helpers import DOCKERFILE, write_tree


def test_staged_files_map_to_every_context_above_them(tmp_path: Path):
    write_tree(
        tmp_path,
        {
            "Dockerfile": DOCKERFILE,
            "svc/api/app.Dockerfile": DOCKERFILE,
            "svc/api/src/main.py": "",
        },
    )
    plan = staged_contexts(
        [str(tmp_path / "svc/api/src/main.py"), str(tmp_path / "svc/api/app.Dockerfile.dockerignore")],
        tmp_path,
    )
    by_place = {(str(c.directory.relative_to(tmp_path)), c.dockerfile): only for c, only in plan.items()}
    assert by_place == {
        (".", "Dockerfile"): {"svc/api/src/main.py", "svc/api/app.Dockerfile.dockerignore"},
        ("svc/api", "app.Dockerfile"): None,  # its ignore file changed: judge the whole context
    }
