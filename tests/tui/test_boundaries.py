"""The interfaces reach the journal only through comentor.model's verbs and queries.

A grep over tui/ (by syntax tree, so comments do not count): no SQL in a string, no
`.put(` call, no `.rows(`/`._rows(`/`.conn` use, no import of an underscore module of the
model, no error told apart by its message text. Business rules and SQL live in the model;
the screens and commands present them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

TUI = Path(__file__).resolve().parents[2] / "tui"

SQL = re.compile(r"\b(SELECT\s|INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|WHERE\s)")
RAW_ACCESS = {"put", "rows", "_rows", "_count", "conn"}


def checked_files() -> list[Path]:
    out = []
    for path in sorted(TUI.rglob("*.py")):
        out.append(path)
    return out


def problems(path: Path, root: Path = TUI) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if SQL.search(node.value):
                found.append(f"{where}: SQL in a string")
        elif isinstance(node, ast.Attribute) and node.attr in RAW_ACCESS:
            found.append(f"{where}: .{node.attr} (use a verb or query of comentor.model)")
        elif isinstance(node, ast.Compare) and _matches_message(node):
            found.append(f"{where}: an error told apart by its message text")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = [a.name for a in node.names]
            if re.match(r"comentor\.model\._", module) or (
                    module == "comentor.model" and any(n.startswith("_") for n in names)):
                found.append(f"{where}: imports an internal module of the model")
    return found


def _matches_message(node: ast.Compare) -> bool:
    """`"..." in str(exc)`: telling errors apart by text (use their type and fields)."""
    if not any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
        return False
    return any(isinstance(side, ast.Call) and isinstance(side.func, ast.Name)
               and side.func.id == "str" and side.args and isinstance(side.args[0], ast.Name)
               for side in node.comparators)


def test_the_interfaces_hold_no_sql_and_no_raw_journal_access() -> None:
    files = checked_files()
    assert len(files) >= 50, "the check must cover every module of the interfaces"
    found = [p for path in files for p in problems(path)]
    assert found == [], "\n".join(found)


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from comentor.model import _entities\n"
        "def f(j):\n"
        "    j.put('goals', None, text='x')\n"
        "    j.rows('goals', \"status = 'open'\")\n"
        "    try:\n"
        "        return j.conn.execute('SELECT 1 FROM ops WHERE 1')\n"
        "    except Exception as exc:\n"
        "        return 'locked' in str(exc)\n"
    )
    text = "\n".join(problems(sample, root=tmp_path))
    for what in ("internal module", ".put", ".rows", ".conn", "SQL", "message text"):
        assert what in text


SYNC = TUI.parent / "sync"
MODEL = TUI.parent / "model"


def test_no_layer_tells_errors_apart_by_their_text() -> None:
    """Not the interfaces, not sync, not the model: types and fields decide, never wording."""
    found = []
    for root in (TUI, SYNC, MODEL):
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            found += [f"{path.relative_to(root.parent)}:{node.lineno}" for node in ast.walk(tree)
                      if isinstance(node, ast.Compare) and _matches_message(node)]
    assert found == [], "errors told apart by their message text:\n" + "\n".join(found)


def test_sync_never_writes_the_journal_itself() -> None:
    """Sync applies a peer's operations through the replication port; it never calls the
    journal's write path (`put`, `write`, `delete`) or touches its connection."""
    found = []
    for path in sorted(SYNC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr in {"conn", "_rows", "_count"}
                    and _is_journal(node.value)):
                found.append(f"{path.relative_to(SYNC)}:{node.lineno}: .{node.attr}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in {"put", "write", "delete", "undelete"}
                    and _is_journal(node.func.value)):
                found.append(f"{path.relative_to(SYNC)}:{node.lineno}: .{node.func.attr}(")
    assert found == [], "\n".join(found)


def _is_journal(expr: ast.expr) -> bool:
    """`j`, `journal`, `self.j`, `self.journal`, `self._journal`: the names sync gives one."""
    names = {"j", "journal", "_journal"}
    return ((isinstance(expr, ast.Name) and expr.id in names)
            or (isinstance(expr, ast.Attribute) and expr.attr in names))
