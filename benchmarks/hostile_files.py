"""The crafted inputs of issue 22 through the real command: exit status, the one stderr line, peak memory.

Each case is made here (with the test corpus, tests/robustness/_corpus.py, and the tiny model folders of
tests/app/_demo_models.py) and run as `python -m keras_resnet.cli ...` in its own process; peak RSS is that process's
peak, measured as the fuzz test measures it (tests/robustness/_measure.py: a small intermediate parent, since
Linux hands a forked child its parent's peak RSS).
`predict` on a normal image is the baseline the bombs are compared with. The demo's side
(a folder with a crafted card is skipped, with the reason) is `app.discover_models` in a child process too.
tests/robustness/test_fuzz.py asserts all of this; this script prints it as a table:

    .venv/bin/python benchmarks/hostile_files.py [--out /tmp/hostile]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import pickle
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "robustness"), str(ROOT / "tests" / "app")]

import _corpus as C  # noqa: E402
import numpy as np  # noqa: E402
from _demo_models import fixture_models_dir  # noqa: E402
from _measure import peak_rss, stderr_lines  # noqa: E402


def _with_card(model: pathlib.Path, folder: pathlib.Path, data: bytes) -> pathlib.Path:
    shutil.copytree(model, folder)
    (folder / "model_card.json").write_bytes(data)
    return folder


def cases(out: pathlib.Path) -> list[tuple[str, list[str]]]:
    """(what, arguments after `python`) for every case, its files written under `out`."""
    model = fixture_models_dir() / "tiny-color"
    card = json.loads((model / "model_card.json").read_text())
    cli = ["-m", "keras_resnet.cli"]
    normal = out / "normal.png"
    C._rgb(np.random.default_rng(0), 64, 48).save(normal)
    (out / "lying.ico").write_bytes(C.lying_ico(C.big_png()))
    (out / "64mp.png").write_bytes(C.big_png(8000, 8000))
    cifar = out / "cifar"
    cifar.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (cifar / name).write_bytes(C.amplifying_cifar_batch())
    (cifar / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"a", b"b"]}))
    tree = out / "tree"
    for cls in ("a", "b"):
        (tree / cls).mkdir(parents=True)
        for i in range(2):
            C._rgb(np.random.default_rng(i), 8, 8).save(tree / cls / f"{i}.png")
    (tree / "b" / "huge.png").write_bytes(C.big_png())
    hostile = {c.name: c.data for c in C.hostile_cards(card)}
    nested = _with_card(model, out / "nested-card", hostile["nested"])
    top1 = _with_card(model, out / "top1-abc", hostile["top1-abc"])
    shape = _with_card(model, out / "shape-60000", hostile["shape-60000"])
    ssl = _with_card(model, out / "dataset-path", json.dumps(
        {**card, "dataset": {"name": "x", "spec": {"source": "../../etc/ssl"}}}).encode())
    demo_dirs = [str(_with_card(model, out / f"demo-{k}", hostile[k]))
                 for k in ("macs-x", "params-list", "versions-list", "kwargs-list")]
    train = ["train", "resnet8", "--width", "0.25", "--epochs", "1", "--batch-size", "4", "--quiet"]
    rows = [
        ("predict, a normal 64x48 PNG (baseline)", [*cli, "predict", str(model), str(normal)]),
        ("predict, ICO saying 16x16 holding a 12000x12000 PNG", [*cli, "predict", str(model), str(out / "lying.ico")]),
        ("predict, a 64 MP PNG", [*cli, "predict", str(model), str(out / "64mp.png")]),
        ("train, six CIFAR batches whose _reconstruct asks for 1.54 GB",
         [*cli, *train, "--dataset", str(cifar), "--run-dir", str(out / "run-cifar")]),
        ("train, a folder tree holding a 12000x12000 PNG",
         [*cli, *train, "--dataset", str(tree), "--run-dir", str(out / "run-tree")]),
        ("predict, model_card.json of 100,000 nested [", [*cli, "predict", str(nested), str(normal)]),
        ('predict, test_top1_accuracy "abc"', [*cli, "predict", str(top1), str(normal)]),
        ("predict, input_shape [60000, 60000, 3]", [*cli, "predict", str(shape), str(normal)]),
        ("export, a card whose dataset is ../../etc/ssl", [*cli, "export", str(ssl), "--format", "tflite-fp16"]),
        ("demo discovery, cards with macs 'x' / params, versions, model.kwargs lists",
         ["-c", "import sys; from keras_resnet import app; found, skipped = app.discover_models(sys.argv[1:]); "
                "print(len(found), 'listed', file=sys.stderr); [print(why, file=sys.stderr) for _, why in skipped]",
          *demo_dirs]),
    ]
    try:
        import torch

        scripted = torch.jit.script(torch.nn.Linear(2, 2))
        torch.jit.save(scripted, str(out / "scripted.pt"))
        rows.append(("convert, a TorchScript archive", [*cli, "convert", str(out / "scripted.pt"), "-o",
                                                        str(out / "never.keras")]))
    except ImportError:
        print("torch not installed: the TorchScript case is left out (pip install -e '.[convert]')", file=sys.stderr)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="/tmp/hostile-files")
    a = p.parse_args()
    out = pathlib.Path(a.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rows = cases(out)
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print("| case | exit | stderr | peak RSS |\n|---|---:|---|---:|")
    for what, args in rows:
        rc, stderr, mb = peak_rss(args, cwd=out)
        shown = " / ".join(ln.replace(str(out) + "/", "") for ln in stderr_lines(stderr)) or "(nothing)"
        print(f"| {what} | {rc} | {shown} | {mb:,.0f} MB |", flush=True)
    left = sorted(p.name for p in out.iterdir() if p.name.startswith(("run-", "never")))
    print(f"\nwritten by the failing commands: {left or 'nothing'}")


if __name__ == "__main__":
    main()
