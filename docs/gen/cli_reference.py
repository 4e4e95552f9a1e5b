"""MkDocs hook: the command-line reference page (cli.md), generated from `keras_resnet.cli.parser()`.

Every subcommand's `--help`, as argparse prints it at 100 columns, so the page can never drift from the
parser. Building the parser imports no TensorFlow (keras_resnet.cli's contract), so neither does the docs build.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
WIDTH = "100"


def _subcommands(parser: argparse.ArgumentParser, prefix: str):
    """(full command, parser) for every subcommand, depth first, in the order the parser lists them."""
    for action in parser._actions:   # argparse has no public way to list subparsers
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                command = f"{prefix} {name}"
                yield command, sub
                yield from _subcommands(sub, command)


def render() -> str:
    sys.path.insert(0, str(ROOT))
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH          # argparse wraps help to the terminal's width: fix it
    try:
        from keras_resnet.cli import parser

        top = parser()
        commands = list(_subcommands(top, "keras-resnet"))
        lines = [
            "# Command line: `keras-resnet`",
            "",
            "Generated at build time from `keras_resnet.cli.parser()` (`docs/gen/cli_reference.py`): each",
            "section is exactly what `keras-resnet COMMAND --help` prints. Bad input is one line on stderr",
            "(`keras-resnet COMMAND: error: ...`) and exit status 2.",
            "",
            " · ".join(f"[{c.split(' ', 1)[1]}](#{c.replace(' ', '-')})" for c, _ in commands),
            "",
            "## keras-resnet",
            "",
            "```text",
            top.format_help().rstrip(),
            "```",
            "",
        ]
        for command, sub in commands:
            lines += [f"## {command} {{#{command.replace(' ', '-')}}}", "", "```text", sub.format_help().rstrip(),
                      "```", ""]
        return "\n".join(lines)
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved


def on_files(files, config):
    files.append(File.generated(config, "cli.md", content=render()))
    return files
