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


def test_an_over_long_text_is_named_by_what_it_is(tmp_path: Path) -> None:
    """"the text of this note", not "notes.text": table and field names are nothing a person
    typed."""
    import pytest

    from comentor import model
    from comentor.model import Journal
    from comentor.model.errors import ValidationError

    j = Journal.create(tmp_path / "j.db", "Ada")
    try:
        for add, what, limit in (
                (lambda: model.add_note(j, "x" * 100_001), "the text of this note", "100,000"),
                (lambda: model.add_goal(j, "x" * 2_001), "the text of this goal", "2,000"),
                (lambda: model.add_commitment(j, "Call", follow_up="x" * 2_001),
                 "the follow up of this commitment", "2,000"),
                (lambda: model.add_note(j, "x" * 100_001, private=True), "the text", "100,000")):
            with pytest.raises(ValidationError) as err:
                add()
            said = str(err.value)
            assert said.startswith(f"{what} is longer than {limit} characters (")
            assert "." not in said.split(" is ")[0] and "\n" not in said
        assert not j._rows("notes") and not j._rows("goals") and not j._rows("commitments")
    finally:
        j.close()
