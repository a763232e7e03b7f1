"""The package is layered (sources → detect → decide → act, commands on top): no import circle
anywhere (the CLI plugin once imported the CLI that imported it back)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import hubguard
from hubguard.model import hash_secret

PACKAGE = Path(hubguard.__file__).parent


def import_graph() -> dict[str, set[str]]:
    """module → the hubguard modules it imports, at the top or inside a function."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts).removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            graph[name] |= {target for target in targets if target in modules and target != name}
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    return seen


def test_no_import_circle_anywhere_in_the_package():
    graph = import_graph()
    circles = [module for module in graph if module in reachable(graph, module)]
    assert circles == []


def test_no_module_is_over_400_lines():
    """Large modules held several concerns each; the limit keeps one concern per module."""
    long = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}


def test_a_small_scan_that_finds_tokens_starts_light(tmp_path, fake_token):
    """Start-up is most of a small scan (a pre-commit hook, a one-layer image): one that finds a
    GitHub and a Slack token still never imports detect-secrets (a fifth of a second: no plugin
    is in play by default), the .dockerignore matchers (pathspec) or the worker pool's modules
    (a few MB of layers are scanned inline)."""
    from examples.save_archive import layer_tar
    from tests.images import write_docker_archive

    tokens = [fake_token("ghp_{alnum:36}"), fake_token("xoxb-{digit:12}-{digit:13}-{alnum:24}")]
    layer = layer_tar({"app/.env": "".join(f"TOKEN_{i}={t}\n" for i, t in enumerate(tokens)).encode()})
    archive = write_docker_archive(tmp_path / "image.tar", [layer])
    heavy = ("detect_secrets", "pathspec", "multiprocessing", "concurrent.futures")
    program = (
        "import sys\n"
        "from hubguard.cli import main\n"
        f"code = main(['scan', 'docker-archive:{archive}', '--cache-dir', '{tmp_path / 'cache'}',"
        f" '--format', 'json', '--output', '{tmp_path / 'report.json'}'])\n"
        f"print(code, sorted(name for name in {heavy!r} if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "1 []"
    report = json.loads((tmp_path / "report.json").read_text())
    assert {finding["hashed_secret"] for finding in report["findings"]} == set(map(hash_secret, tokens))
