"""How the robustness tests (and benchmarks/hostile_files.py) run a command and read what it cost.

`peak_rss` runs `python ARGS` under a small intermediate parent that reports getrusage(RUSAGE_CHILDREN): Linux
hands a forked child its parent's peak RSS, so a measuring process that holds TensorFlow (pytest here) would
otherwise see its own peak in every child. `stderr_lines` drops TensorFlow's C++ start-up lines.
"""

import os
import re
import subprocess
import sys

TF_NOISE = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages before absl|To enable the following instructions"
                      r"|.*rebuild TensorFlow with the appropriate compiler flags|INFO: Created TensorFlow Lite)")
_PARENT = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
           "sys.stderr.write(p.stderr); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
           "sys.exit(p.returncode)")


def stderr_lines(text):
    """stderr of a subprocess without TensorFlow's C++ start-up lines."""
    return [line for line in text.splitlines() if line.strip() and not TF_NOISE.match(line)]


def peak_rss(python_args, cwd, timeout=240):
    """`python PYTHON_ARGS` in a fresh process: (exit status, its whole stderr, its peak RSS in MB)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", _PARENT, sys.executable, *map(str, python_args)],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    return proc.returncode, proc.stderr, int(proc.stdout.split()[-1]) / 1024
