"""The size conventions, measured rather than trusted to review: no module of monclub over 350
lines, no class over 250 (a class that grows past it holds more than one concern; split it into
collaborators, as the shard owner is)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "monclub"
MODULE_LINES = 350
CLASS_LINES = 250


def test_no_module_over_350_lines_nor_class_over_250():
    oversized = []
    for module in sorted(PACKAGE.rglob("*.py")):
        source = module.read_text()
        name = str(module.relative_to(PACKAGE.parent))
        if len(source.splitlines()) > MODULE_LINES:
            oversized.append(f"{name}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > CLASS_LINES:
                oversized.append(f"{name}: class {node.name} {node.end_lineno - node.lineno + 1} lines")
    assert not oversized, oversized
