"""`import keras_resnet` has no side effects (no environment variable, no matplotlib backend, no pyplot) and
is light; every public name is still there, loaded on first use."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _python(code, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "TF_ENABLE_ONEDNN", "MPLBACKEND"))}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env={**base, **env}, cwd=ROOT)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    return p


def test_import_sets_no_environment_variable_and_loads_nothing_heavy():
    p = _python(
        "import os, sys\n"
        "before = dict(os.environ)\n"
        "import keras_resnet\n"
        "changed = {k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)}\n"
        "assert not changed, changed\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'numpy', 'matplotlib', 'gradio', 'keras_tuner') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print('OK')"
    )
    assert p.stdout.strip() == "OK"


def test_drawing_keeps_the_matplotlib_backend_and_uses_no_pyplot_state(tmp_path):
    """Run history curves, a confusion matrix, the search's Pareto plot and an experiment figure: the backend
    the user chose (MPLBACKEND=svg here) is unchanged, and pyplot holds none of our figures."""
    p = _python(
        "import os, sys, matplotlib\n"
        f"out = {str(tmp_path)!r}\n"
        "import keras_resnet\n"
        "from keras_resnet.training.rundir import plot_confusion, plot_curves\n"
        "from keras_resnet.search.report import plot_pareto\n"
        "from keras_resnet.analysis import ExperimentFolder, plot_random\n"
        "plot_curves({'epoch': [0, 1], 'top1': [0.5, 0.6], 'val_top1': [0.4, 0.5]}, out + '/curves.png', 'run')\n"
        "plot_confusion([[3, 1], [0, 4]], ['a', 'b'], out + '/confusion.png', 'cm')\n"
        "plot_pareto([dict(macs=1e6, best_val_accuracy=0.5, plain=False, shortcut='A', pareto=True, model='r8', "
        "trial='0')], out + '/pareto.png')\n"
        "fig = plot_random({'resnet8': [dict(k=0, mean_error=0.1, min_error=0.1, max_error=0.1), dict(k=1, mean_error=0.2, min_error=0.1, max_error=0.3)]})\n"
        "ExperimentFolder(out + '/exp').figure('random.png', fig)\n"
        "if 'matplotlib.pyplot' in sys.modules:   # Keras imports it (keras/src/visualization); we never use it\n"
        "    import matplotlib.pyplot as plt\n"
        "    assert plt.get_fignums() == [], plt.get_fignums()   # no figure of ours in pyplot's global list\n"
        "print(matplotlib.get_backend(), matplotlib.rcParams['font.size'])",
        MPLBACKEND="svg", TF_CPP_MIN_LOG_LEVEL="3",
    )
    backend, font_size = p.stdout.split()[-2:]
    assert backend == "svg" and float(font_size) == 10.0    # rcParams untouched (the experiments' style is local)
    for name in ("curves.png", "confusion.png", "pareto.png", "exp/random.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_every_public_name_is_importable_from_the_package():
    p = _python(
        "import keras_resnet as kr\n"
        "from keras_resnet import (FusedBatchNormalization, PerformanceWarning, ResNet20, SubsamplingConv2D,\n"
        "    ZeroPadShortcut, build, configure_tensorflow, list_models, load_image, open_predictor, profile)\n"
        "missing = [n for n in kr.__all__ if getattr(kr, n, None) is None]\n"
        "assert not missing, missing\n"
        "assert set(kr.__all__) <= set(dir(kr))\n"
        "assert kr.nets.SubsamplingConv2D is SubsamplingConv2D and kr.registry.list_models is list_models\n"
        "print(profile(ResNet20())['trainable_params'])",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    assert p.stdout.split()[-1] == "269722"


def test_keras_loaded_first_finds_our_layers_by_name(tmp_path):
    """Keras finds registered classes only: with Keras loaded first, `import keras_resnet` registers them."""
    path = tmp_path / "m.keras"
    _python(f"import keras_resnet as kr\nkr.build('resnet8', width=0.25, shortcut='B').save({str(path)!r})",
            TF_CPP_MIN_LOG_LEVEL="3")
    p = _python(f"import keras, keras_resnet\nprint(keras.saving.load_model({str(path)!r}, safe_mode=True).name)",
                TF_CPP_MIN_LOG_LEVEL="3")
    assert p.stdout.split()[-1] == "resnet8"
