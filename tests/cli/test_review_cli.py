"""`comentor review` as a real process on the demo journal (issue 10, point 1): one
self-contained HTML file, Markdown that keeps its structure, and one-line refusals."""

from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt

from tests.model.test_review import assert_self_contained

from .helpers import refused, run, snapshot


def _new_files(folder: Path, before: set[Path]) -> list[Path]:
    return sorted(set(folder.iterdir()) - before)


def test_review_writes_one_self_contained_html_file(demo_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    proc = run(demo_path, "review", "-o", str(out / "r.html"))
    assert proc.stdout.startswith(f"wrote {out / 'r.html'}")
    assert _new_files(out, set()) == [out / "r.html"]  # one file, nothing beside it
    page = (out / "r.html").read_text(encoding="utf-8")
    parsed = assert_self_contained(page)
    shown = "".join(parsed.text)
    assert "Review: Maya Okafor & Jonas Berg" in shown
    for part in ("Where we started, where we are", "Goals and their progress",
                 "The story, version by version", "Wins per quarter", "Commitments", "Asks",
                 "Check-ins held against planned", "Time balance"):
        assert part in shown
    assert page.count("<svg") >= 4  # a chart per partner's goals, wins, the strip
    assert "UX researcher, independent for two years" in shown  # Maya's baseline


def test_review_as_markdown_and_on_stdout(demo_path: Path, tmp_path: Path) -> None:
    run(demo_path, "review", "-o", str(tmp_path / "r.md"))
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    tokens = MarkdownIt("commonmark").parse(text)
    kinds = [t.type for t in tokens] + [c.type for t in tokens for c in t.children or []]
    assert not [k for k in kinds if "html" in k]
    assert [t.content for n, t in enumerate(tokens) if n and tokens[n - 1].tag == "h2"
            and tokens[n - 1].type == "heading_open"][:2] == [
        "Where we started, where we are", "Goals and their progress"]
    shown = run(demo_path, "review").stdout
    assert shown.startswith("# Review: Maya Okafor & Jonas Berg\n")
    assert run(demo_path, "review", "--since", "1y").stdout.startswith(
        "# Year in review: Maya Okafor & Jonas Berg\n")
    assert run(demo_path, "review", "--since=-6m").stdout.startswith("# Review: ")


def test_a_bad_file_name_is_refused_before_anything_is_read(demo_path: Path,
                                                           tmp_path: Path) -> None:
    before = snapshot(demo_path)
    folder = set(tmp_path.iterdir())
    proc = run(demo_path, "review", "-o", str(tmp_path / "r.txt"), ok=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and ".md" in lines[0] and ".html" in lines[0]
    assert set(tmp_path.iterdir()) == folder and snapshot(demo_path) == before


def test_a_since_in_the_future_is_refused_in_one_line(demo_path: Path) -> None:
    refused(run(demo_path, "review", "--since", "+1y", ok=False), "after today")
    refused(run(demo_path, "review", "--since", "someday", ok=False), "bad date")


def test_the_review_never_overwrites_the_journal(demo_path: Path) -> None:
    before = snapshot(demo_path)
    target = demo_path.with_suffix(".html")
    target.symlink_to(demo_path)
    refused(run(demo_path, "review", "-o", str(target), ok=False), "file of your journal")
    assert snapshot(demo_path) == before
