"""`keras-resnet list` / `summary`: output and one-line errors with exit status 2."""

import subprocess
import sys

import pytest

from keras_resnet.cli import main


def test_list_prints_every_named_model(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("resnet20", "resnet1202", "resnet152", "plain56", "toy_skip"):
        assert f"\n{name} " in out


def test_summary_prints_the_paper_count(capsys):
    assert main(["summary", "resnet20"]) == 0
    out = capsys.readouterr().out
    assert "269,722" in out and "40,551,040" in out


def test_summary_with_options(capsys):
    assert main(["summary", "resnet56", "--shortcut", "B", "--classes", "100"]) == 0
    out = capsys.readouterr().out
    assert f"{853_018 + 2_752 + 64 * 90 + 90:,}" in out


@pytest.mark.parametrize(
    "argv,match",
    [
        (["summary", "resnet21"], "Unknown model name 'resnet21'"),
        (["summary", "resnet20", "--input-shape", "2,2,3"], "too small"),
        (["summary", "plain20", "--zero-init-residual"], "needs residual shortcuts"),
        (["summary", "resnet20", "--classes", "0"], "classes must be an integer >= 1"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_console_script_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "keras_resnet.cli", "summary", "resnet7"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "keras-resnet summary: error: Unknown model name 'resnet7'" in proc.stderr
