"""The suite runs with a stripped environment (`env -i HOME=$HOME PATH=$PATH`: no LANG, no TF_* variables), as
CI's may be; .ci/run runs `make test` that way. This test runs, in such an environment, the test that once
failed there (issue 23: an unseeded weight draw, not the locale) and checks Python's locale-dependent defaults."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _stripped_env():
    return {"HOME": os.environ.get("HOME", "/tmp"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def test_python_defaults_without_lang_are_utf8():
    code = "import locale, sys; print(sys.getfilesystemencoding(), locale.getpreferredencoding(False), 1.5)"
    r = subprocess.run([sys.executable, "-c", code], env=_stripped_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.lower().split() == ["utf-8", "utf-8", "1.5"], r.stdout   # PEP 538/540: C locale -> UTF-8


def test_the_fused_bn_training_step_passes_twice_with_no_lang():
    test = "tests/nets/test_models.py::test_models_use_fused_batch_norm_unless_asked_not_to"
    for _ in range(2):     # seeded: the same result every run
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test], cwd=ROOT,
                           env=_stripped_env(), capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
