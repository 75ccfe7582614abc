"""The model's messages are for people, not for one interface: none names a command-line
flag or command (the CLI and the app word the remedy from the error's fields)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

MODEL = Path(__file__).resolve().parents[2] / "model"
FLAG = re.compile(r"(^|\s|`)--[a-z]|`comentor [a-z]")


def raised_texts(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            for arg in ast.walk(node.exc):
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    out.append((node.lineno, arg.value))
    return out


def test_no_model_message_names_a_flag() -> None:
    found = [f"{path.name}:{line}: {text}" for path in sorted(MODEL.glob("*.py"))
             for line, text in raised_texts(path) if FLAG.search(text)]
    assert found == [], "\n".join(found)
