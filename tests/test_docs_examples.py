"""Every example in README.md and docs/ runs, and prints what its page shows.

The pages are Markdown; their fenced blocks are the examples:

- ```python: run, the blocks of a page in order in one Python process (one namespace, as a reader would
  type them). A ```text block right after it (only blank lines or a marker between) is what it prints;
  an exception ends the block and prints `Type: message`, as doctest does.
- ```console: `$ command` lines run in bash, each followed by what it prints (stdout and stderr). A
  command ending in `\\` continues on the next line; `echo $?` sees the previous command's status.
- ```bash / ```sh / ```shell / ```pycon: examples too, never run here: they must carry a reason.

Markers (HTML comments, invisible on GitHub and on the site) right before a fence:

- `<!-- not-run: REASON -->`: the block is not run; every such block is a skipped test item here with its
  reason, so `pytest -ra` counts and prints them (none is skipped silently).
- `<!-- output: machine-dependent -->`: the output is compared with every number in it a wildcard (timings,
  speeds); the words, names and layout must still match.

In a shown output, `...` stands for any text (as doctest's ELLIPSIS); runs of spaces count as one;
anything else, numbers included, must match to the digit shown.

Examples run in a scratch directory that looks like the checkout: every top-level entry of the
repository is linked into it (read them; write only to new paths such as `runs/`), and `../shared`
is the project's shared data when it exists, so the paths on the pages work as written. A page that
needs something absent (`<!-- requires: PATH -->` anywhere on it) is skipped with that reason.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KERAS_RESNET_SHARED", ROOT.parent / "shared"))   # as tests/conftest.py
RUN_LANGS = {"python", "console"}
EXAMPLE_LANGS = RUN_LANGS | {"bash", "sh", "shell", "pycon"}
OUTPUT_LANGS = {"text"}
PAGE_TIMEOUT = 240   # seconds for all the examples of one page

FENCE = re.compile(r"^(?P<indent> *)(?P<ticks>`{3,})(?P<info>[^`]*)$")
MARKER = re.compile(r"^\s*<!--\s*(?P<key>not-run|output|requires)\s*:\s*(?P<value>.*?)\s*-->\s*$")
NUMBER = r"[-+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
ELLIPSIS = "..."


@dataclasses.dataclass
class Block:
    page: str            # path relative to the repository
    line: int            # 1-based line of the opening fence
    lang: str
    code: str
    expected: str | None = None          # the shown output (python: the ```text block after it)
    machine_dependent: bool = False
    not_run: str | None = None           # the reason, when marked not-run

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    """README.md and every Markdown page under docs/ but the reports commands wrote next to their figures."""
    docs = sorted(p for p in (ROOT / "docs").rglob("*.md") if "figures" not in p.relative_to(ROOT / "docs").parts)
    return [ROOT / "README.md", *docs]


def parse(path: Path) -> tuple[list[Block], list[str]]:
    """The page's fenced blocks (with their markers) and what it `requires`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    blocks: list[Block] = []
    requires: list[str] = []
    markers: dict[str, str] = {}
    last_python: Block | None = None     # a python block still waiting for its output block
    i = 0
    while i < len(lines):
        line = lines[i]
        marker = MARKER.match(line)
        if marker:
            if marker["key"] == "requires":
                requires.append(marker["value"])
            else:
                markers[marker["key"]] = marker["value"]
            i += 1
            continue
        fence = FENCE.match(line)
        if not fence:
            if line.strip():
                markers.clear()
                last_python = None
            i += 1
            continue
        indent, ticks, lang = len(fence["indent"]), fence["ticks"], fence["info"].strip().split(" ")[0]
        body, j = [], i + 1
        while j < len(lines) and not re.match(rf"^ {{0,{indent + 3}}}{ticks}\s*$", lines[j]):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        if j == len(lines):
            raise AssertionError(f"{rel}:{i + 1}: a ``` fence that is never closed")
        text = "\n".join(body) + "\n"
        machine = markers.get("output") == "machine-dependent"
        if markers.get("output") not in (None, "machine-dependent"):
            raise AssertionError(f"{rel}:{i + 1}: unknown output marker {markers['output']!r} (allowed: machine-dependent)")
        if lang in OUTPUT_LANGS and last_python is not None and last_python.expected is None:
            last_python.expected, last_python.machine_dependent = text, machine or last_python.machine_dependent
            last_python = None
        elif lang in EXAMPLE_LANGS:
            block = Block(rel, i + 1, lang, text, machine_dependent=machine, not_run=markers.get("not-run"))
            if lang == "console" and block.not_run is None:
                block.expected = ""      # the outputs are inside; checked command by command
            blocks.append(block)
            last_python = block if lang == "python" and block.not_run is None else None
        else:
            last_python = None
        markers.clear()
        i = j + 1
    return blocks, requires


# ---------------------------------------------------------------- comparing a shown output with a printed one

def _normalize(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)          # colours
    rows = [re.sub(r"\s+", " ", row).rstrip() for row in text.replace("\r\n", "\n").split("\n")]
    while rows and not rows[0]:
        rows.pop(0)
    while rows and not rows[-1]:
        rows.pop()
    return "\n".join(rows)


def pattern(expected: str, machine_dependent: bool = False) -> re.Pattern:
    """A regex for the shown output: `...` is any text; in a machine-dependent output so is every number."""
    parts = []
    for k, piece in enumerate(_normalize(expected).split(ELLIPSIS)):
        if k:
            parts.append(r".*?")
        if machine_dependent:
            chunks = re.split(f"({NUMBER})", piece)
            parts += [NUMBER if n % 2 else re.escape(c) for n, c in enumerate(chunks)]
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts), re.DOTALL)


def matches(expected: str, actual: str, machine_dependent: bool = False) -> bool:
    return pattern(expected, machine_dependent).fullmatch(_normalize(actual)) is not None


def _diff(expected: str, actual: str) -> str:
    return "\n".join(difflib.unified_diff(_normalize(expected).splitlines(), _normalize(actual).splitlines(),
                                          "shown on the page", "printed", lineterm=""))


# ---------------------------------------------------------------- running a page

def console_commands(code: str) -> list[tuple[str, str]]:
    """[(command, shown output)] of a console block."""
    commands: list[tuple[str, list[str]]] = []
    lines = code.splitlines()
    k = 0
    while k < len(lines):
        if lines[k].startswith("$ "):
            command = [lines[k][2:]]
            while command[-1].endswith("\\") and k + 1 < len(lines):
                k += 1
                command.append(lines[k])
            commands.append(("\n".join(command), []))
        elif commands:
            commands[-1][1].append(lines[k])
        elif lines[k].strip():
            raise AssertionError(f"console block: output before the first `$ ` command: {lines[k]!r}")
        k += 1
    return [(c, "\n".join(out)) for c, out in commands]


MARK = "@@docs-example-command@@"


def run_console(block: Block, cwd: Path, env: dict) -> list[str]:
    """Run the block's commands in one bash; return one failure message per command whose output differs."""
    commands = console_commands(block.code)
    assert commands, f"{block.where}: a console block without a `$ ` command"
    script = ["exec 2>&1", "__status=0"]
    for n, (command, _) in enumerate(commands):
        script += [f"printf '\\n{MARK}{n}\\n'", "(exit $__status)", command, "__status=$?"]
    result = subprocess.run(["bash", "-c", "\n".join(script)], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=PAGE_TIMEOUT)
    outputs = re.split(rf"\n{MARK}(\d+)\n", result.stdout)
    printed = {int(outputs[n]): outputs[n + 1] for n in range(1, len(outputs) - 1, 2)}
    failures = []
    for n, (command, shown) in enumerate(commands):
        got = printed.get(n)
        if got is None:
            failures.append(f"{block.where}: `$ {command}` did not run (the shell stopped before it)")
        elif not matches(shown, got, block.machine_dependent):
            failures.append(f"{block.where}: `$ {command}` printed something else:\n{_diff(shown, got)}")
    return failures


PYTHON_WORKER = textwrap.dedent(r"""
    import contextlib, io, json, sys, traceback
    real_out = sys.stdout
    namespace = {"__name__": "__main__"}
    for line in sys.stdin:
        job = json.loads(line)
        out = io.StringIO()
        error = None
        with contextlib.redirect_stdout(out):
            try:
                exec(compile(job["code"], job["where"], "exec"), namespace)
            except BaseException as e:
                print(f"{type(e).__name__}: {e}")
                error = traceback.format_exc()
        real_out.write(json.dumps({"out": out.getvalue(), "error": error}) + "\n")
        real_out.flush()
""")


class PythonSession:
    """One Python process for a page: its blocks run in order in one namespace."""

    def __init__(self, cwd: Path, env: dict):
        self.process = subprocess.Popen([sys.executable, "-c", PYTHON_WORKER], cwd=cwd, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def run(self, block: Block) -> tuple[str, str | None]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"code": block.code, "where": block.where}) + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        if not reply:
            raise AssertionError(f"{block.where}: the Python process died running this block")
        result = json.loads(reply)
        return result["out"], result["error"]

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def scratch_checkout(tmp: Path) -> Path:
    """tmp/main looks like the checkout (its top-level entries linked), tmp/shared is ../shared."""
    work = tmp / "main"
    work.mkdir()
    for entry in ROOT.iterdir():
        if not entry.name.startswith(".") and entry.name not in ("runs", "site", "build"):
            (work / entry.name).symlink_to(entry)
    if SHARED.is_dir():
        (tmp / "shared").symlink_to(SHARED)
    return work


def example_env() -> dict:
    # as in a user's fresh shell: none of the settings the test suite makes for itself (tests/conftest.py)
    unset = ("KERAS_BACKEND", "PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "100"             # argparse's help width
    env["PYTHONHASHSEED"] = "0"
    return env


def _all_blocks():
    for path in pages():
        blocks, requires = parse(path)
        yield path, blocks, requires


def _page_params():
    return [pytest.param(path, id=str(path.relative_to(ROOT))) for path, blocks, _ in _all_blocks()
            if any(b.not_run is None and b.lang in RUN_LANGS for b in blocks)]


def _not_run_params():
    return [pytest.param(b, id=b.where) for _, blocks, _ in _all_blocks() for b in blocks if b.not_run is not None]


@pytest.mark.parametrize("path", _page_params())
def test_page_examples_print_what_they_show(path, tmp_path):
    blocks, requires = parse(path)
    work, env = scratch_checkout(tmp_path), example_env()
    missing = [r for r in requires if not (work / r).exists()]
    if missing:
        pytest.skip(f"{path.relative_to(ROOT)}: its examples need {', '.join(missing)} (absent here)")
    session: PythonSession | None = None
    failures: list[str] = []
    try:
        for block in blocks:
            if block.not_run is not None:
                continue
            if block.lang == "console":
                failures += run_console(block, work, env)
            elif block.lang == "python":
                session = session or PythonSession(work, env)
                out, error = session.run(block)
                if block.expected is None:
                    if error:
                        failures.append(f"{block.where}: raised\n{error}")
                elif not matches(block.expected, out, block.machine_dependent):
                    failures.append(f"{block.where}: printed something else:\n{_diff(block.expected, out)}"
                                    + (f"\n{error}" if error else ""))
    finally:
        if session:
            session.close()
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("block", _not_run_params())
def test_example_not_run(block):
    """Each example marked not-run, with its reason: `pytest -ra` lists them."""
    assert block.not_run.strip(), f"{block.where}: a not-run marker needs a reason"
    pytest.skip(f"{block.where} ({block.lang}) not run: {block.not_run}")


def test_every_example_is_run_or_says_why():
    unexplained = [b.where for _, blocks, _ in _all_blocks() for b in blocks
                   if b.lang not in RUN_LANGS and b.not_run is None]
    assert not unexplained, (f"examples neither run (```python / ```console) nor marked "
                             f"`<!-- not-run: REASON -->`: {unexplained}")


def test_console_blocks_hold_commands():
    for _, blocks, _ in _all_blocks():
        for b in blocks:
            if b.lang == "console" and b.not_run is None:
                assert console_commands(b.code), f"{b.where}: a console block without a `$ ` command"


# ---------------------------------------------------------------- the comparison itself

def test_matching_rules():
    assert matches("top-1 92.72%\n", "top-1   92.72%  \n")
    assert not matches("top-1 92.72%", "top-1 92.73%")                     # to the digit shown
    assert not matches("top-1 92.7%", "top-1 92.72%")
    assert matches("error: ... exit", "error: a long message\nover lines exit")
    assert matches("630.6 images/s (1.18x)", "598.2 images/s (1.07x)", machine_dependent=True)
    assert not matches("630.6 images/s", "598.2 img/s", machine_dependent=True)   # words still count
    assert not matches("a\nb", "a\nb\nc")


def test_a_changed_output_fails(tmp_path):
    """A command or a Python block that prints other digits than its page shows is a failure, with the diff."""
    page = tmp_path / "page.md"
    page.write_text("```console\n$ echo 'ResNet-56: 92.72%'\nResNet-56: 92.71%\n$ false\n$ echo $?\n1\n```\n\n"
                    "```python\nprint(f'{0.92718:.2%}')\n```\n\n```text\n92.72%\n```\n", encoding="utf-8")
    (console, python), _ = parse(page)
    failures = run_console(console, tmp_path, example_env())
    assert len(failures) == 1 and "-ResNet-56: 92.71%" in failures[0] and "+ResNet-56: 92.72%" in failures[0]
    assert python.expected == "92.72%\n" and matches(python.expected, "92.72%\n")
    assert not matches(python.expected.replace("2%", "3%"), "92.72%\n")
