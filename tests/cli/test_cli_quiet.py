"""The command is fast where it can be and quiet always: `--help` and `list` import no TensorFlow; a real
command prints no TensorFlow / abseil / oneDNN / CUDA log line unless --verbose."""

import os
import pathlib
import subprocess
import sys
import time

from keras_resnet import _compat

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOG_STARTS = ("I0000", "W0000", "E0000", "WARNING: All log messages")


def _env(**extra):
    """This environment without the TF variables that tests/conftest.py sets: the command's own defaults."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "TF_ENABLE_ONEDNN"))}
    return {**base, **extra}


def _cli(*args, timeout=300):
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "keras_resnet.cli", *args], capture_output=True, text=True,
                       timeout=timeout, env=_env(), cwd=ROOT)
    return p, time.perf_counter() - t


def _log_lines(p):
    return [line for line in (p.stdout + p.stderr).splitlines()
            if line.startswith(LOG_STARTS) or _compat.is_hidden_log_line(line, 3)]


def _loaded():
    """True when the machine is too busy for a wall-clock assertion to mean anything."""
    return os.getloadavg()[0] > (os.cpu_count() or 1)


def test_building_the_parser_imports_no_tensorflow():
    code = ("import sys\n"
            "from keras_resnet.cli import main\n"
            "for argv in (['--help'], ['train', '--help'], ['tune', '--help'], ['experiment', 'lesion', '--help']):\n"
            "    try:\n"
            "        main(argv)\n"
            "    except SystemExit as e:\n"
            "        assert e.code == 0, (argv, e.code)\n"
            "main(['list'])\n"
            "heavy = [m for m in ('tensorflow', 'keras', 'numpy', 'gradio', 'keras_tuner', 'matplotlib') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=_env(), cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "resnet1202" in p.stdout and not _log_lines(p)


def test_help_and_list_answer_in_under_a_second():
    for args in (["--help"], ["list"]):
        p, seconds = _cli(*args)
        assert p.returncode == 0 and not _log_lines(p) and not p.stderr, p.stderr[-2000:]
        print(f"keras-resnet {' '.join(args)}: {seconds:.2f} s")   # shown with -s / in the report
        assert seconds < 1.0 or _loaded(), f"keras-resnet {' '.join(args)} took {seconds:.2f} s"


def test_a_real_command_prints_no_log_line_and_verbose_shows_them():
    p, _ = _cli("summary", "resnet8")
    assert p.returncode == 0, p.stderr[-3000:]
    assert "trainable params:" in p.stdout
    assert not _log_lines(p), _log_lines(p)
    assert not p.stderr, p.stderr[-2000:]

    v, _ = _cli("summary", "resnet8", "--verbose")
    assert v.returncode == 0 and v.stdout == p.stdout, v.stderr[-3000:]
    assert _log_lines(v), "--verbose should leave TensorFlow's start-up lines (oneDNN / CUDA) visible"


def test_the_users_own_log_level_wins():
    p = subprocess.run([sys.executable, "-m", "keras_resnet.cli", "summary", "resnet8"], capture_output=True,
                       text=True, timeout=300, env=_env(TF_CPP_MIN_LOG_LEVEL="0"), cwd=ROOT)
    assert p.returncode == 0 and _log_lines(p), p.stderr[-3000:]
