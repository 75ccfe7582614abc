"""Placeholder until the app lands: the TUI work replaces this module."""

from __future__ import annotations

from pathlib import Path


def run_app(path: Path) -> int:
    import argparse

    from .commands import cmd_status

    return cmd_status(argparse.Namespace(journal=str(path), json=False))
