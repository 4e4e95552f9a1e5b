"""Make saved_models/resnet{20,32,44,56}-cifar10 from akamaster's CIFAR-10 checkpoints (../shared/weights/akamaster).

    python saved_models/make_akamaster_models.py            # model.keras, model_card.json
    keras-resnet export saved_models/resnet20-cifar10 --format tflite tflite-int8 --representative-data DATA --eval-data DATA  # each folder
    python saved_models/make_akamaster_models.py --readme   # README.md, from the card and parity.json

For each network: `keras-resnet convert` (logits checked against PyTorch), the test accuracy measured
here on the 1,017 real test images of ../shared/data/cifar10-subset, and the card (provenance, licence,
how the source trained it) and README. Existing folders are refused unless --overwrite.
"""

import argparse
import datetime
import hashlib
import json
import pathlib
import subprocess
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
AKAMASTER = SHARED / "weights" / "akamaster"
SUBSET = SHARED / "data" / "cifar10-subset" / "cifar10_subset.npz"
SOURCES = {20: ("resnet20-12fca82f.th", 8.27), 32: ("resnet32-d509ac18.th", 7.37),
           44: ("resnet44-014dd654.th", 6.90), 56: ("resnet56-4bfd9763.th", 6.61)}
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
LICENCE = (AKAMASTER / "LICENSE").read_text().strip() if (AKAMASTER / "LICENSE").exists() else ""
TRAINING = {
    "by": "Yerlan Idelbayev (akamaster), with trainer.py of github.com/akamaster/pytorch_resnet_cifar10 (PyTorch)",
    "dataset": "the full CIFAR-10 training set (50,000 images, no validation split)",
    "optimizer": "SGD, momentum 0.9, weight decay 1e-4",
    "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0001, "batch_size": 128, "epochs": 200,
    "schedule": "lr divided by 10 at epochs 100 and 150",
    "augment": "4-pixel zero pad + random 32x32 crop + horizontal flip",
    "inputs": "RGB in [0, 1] normalised with ImageNet's mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225)",
    "selection": "the saved epoch is the one with the best accuracy on the CIFAR-10 test set (best_prec1), so "
                 "test accuracy measured on these weights is slightly optimistic",
}


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def make(depth, overwrite):
    import torch

    import keras_resnet as kr
    from keras_resnet.convert import detect_layout, read_checkpoint, verify_conversion
    from keras_resnet.deploy import load_keras_model

    filename, error = SOURCES[depth]
    src = AKAMASTER / filename
    folder = ROOT / "saved_models" / f"resnet{depth}-cifar10"
    if folder.exists() and not overwrite:
        raise FileExistsError(f"{folder} exists; pass --overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    command = f"keras-resnet convert ../shared/weights/akamaster/{filename} -o saved_models/{folder.name}/model.keras"
    subprocess.run([sys.executable, "-m", "keras_resnet.cli", "convert", str(src), "-o", str(folder / "model.keras"),
                    "--overwrite"], check=True)
    model = load_keras_model(folder)
    with np.load(SUBSET) as d:
        x, y = d["x_test"], d["y_test"]
    state = read_checkpoint(src)
    layout = detect_layout(state)
    check = verify_conversion(model, state, layout, layout.preprocessing, images=x)
    probs = model.predict(x, batch_size=256, verbose=0)
    top1 = float(np.mean(probs.argmax(1) == y))
    top5 = float(np.mean([yi in np.argsort(-p)[:5] for p, yi in zip(probs, y)]))
    best = float(torch.load(src, map_location="cpu", weights_only=True)["best_prec1"])
    prof = kr.profile(model)
    card = {
        "name": folder.name,
        "model": {"name": f"resnet{depth}", "kwargs": {}},
        "dataset": {"name": "cifar10-subset",
                    "spec": {"source": str(SUBSET), "data_dir": None, "validation_split": None, "image_size": None,
                             "seed": 0},
                    "num_train": 50000, "num_validation": 0, "num_test": 1017,
                    "note": "trained (by the source) on the full CIFAR-10 training set; tested here on the first "
                            "1,017 images of the official test batch (../shared/data/cifar10-subset)"},
        "class_names": CLASSES,
        "input_shape": [32, 32, 3],
        "preprocessing": layout.preprocessing,
        "params": {"trainable": prof["trainable_params"], "total": prof["total_params"]},
        "macs": prof["macs"],
        "metrics": {"test_top1_accuracy": top1, "test_top5_accuracy": top5, "test_top1_error": 1 - top1,
                    "test_top5_error": 1 - top5, "test_examples": int(len(y)),
                    "reported_test_error_full_test_set": error / 100,
                    "reported_by": "the source's README (full 10,000-image CIFAR-10 test set)"},
        "training": dict(TRAINING, best_prec1=best),
        "command": command,
        "provenance": {
            "converted_from": f"https://github.com/akamaster/pytorch_resnet_cifar10 (commit d5489e8) {filename}",
            "source_sha256": sha256(src),
            "licence": "BSD-2-Clause", "licence_notice": LICENCE,
            "conversion": f"keras_resnet.convert, akamaster layout (option A channels permuted exactly); max |Δlogit| "
                          f"against PyTorch on the 1,017 test images {check.max_abs_diff:.2e}",
            "max_abs_logit_diff": check.max_abs_diff,
            "preset": f"keras_resnet.ResNet{depth}(weights=\"cifar10\") holds the same weights",
        },
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": {"keras_resnet": kr.__version__, "tensorflow": __import__("tensorflow").__version__,
                     "keras": __import__("keras").__version__, "torch": torch.__version__},
    }
    (folder / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"{folder.name}: top-1 {top1:.2%} top-5 {top5:.2%} on {len(y)} images, max |Δlogit| {check.max_abs_diff:.2e}")
    return card


def readme(depth):
    folder = ROOT / "saved_models" / f"resnet{depth}-cifar10"
    card = json.loads((folder / "model_card.json").read_text())
    parity = json.loads((folder / "parity.json").read_text()) if (folder / "parity.json").exists() else {}
    m, prov, filename = card["metrics"], card["provenance"], SOURCES[depth][0]
    rows = []
    for fmt, row in (parity.get("formats") or {}).items():
        kept = (folder / pathlib.Path(row.get("path", "")).name).exists() if row.get("path") else False
        rows.append(f"| `{pathlib.Path(row.get('path', fmt)).name}` | {fmt} | {row.get('top1_agreement', 0):.2%} | "
                    f"{row.get('max_abs_diff', float('nan')):.1e} | {row.get('accuracy', float('nan')):.2%} | "
                    f"{'shipped' if kept else 'not shipped (missed its threshold)'} |")
    files = "`model.keras`, `model.tflite`" + (", `model_int8.tflite`" if (folder / "model_int8.tflite").exists() else "")
    text = f"""# {folder.name}

The paper's CIFAR ResNet-{depth} (He et al. 2016, §4.2, option A shortcuts) with **akamaster's CIFAR-10
weights**, converted from PyTorch by this project (`keras_resnet.convert`). Trained by Yerlan Idelbayev on
the full 50,000-image CIFAR-10 training set; the source reports **{SOURCES[depth][1]:.2f} % test error** on the
full 10,000-image test set.

| | |
|---|---|
| model | `resnet{depth}` (option A), the same weights as `keras_resnet.ResNet{depth}(weights="cifar10")` |
| test top-1 accuracy | **{100 * m['test_top1_accuracy']:.2f} %** on the 1,017 real test images of `../shared/data/cifar10-subset` (top-5 {100 * m['test_top5_accuracy']:.2f} %), measured by this project |
| reported by the source | {SOURCES[depth][1]:.2f} % error on the full CIFAR-10 test set |
| parameters | {card['params']['trainable']:,} trainable, {card['params']['total']:,} total |
| multiply-accumulates | {card['macs']:,} per image |
| input | raw 0-255 RGB images, 32 x 32 x 3 (rescaling to [0, 1] and ImageNet's mean/std, which the source trained with, are layers inside the model) |
| classes | {', '.join(card['class_names'])} |

**Caveat: slightly optimistic.** The source kept the epoch with the best accuracy on the CIFAR-10 *test*
set (`best_prec1` = {card['training']['best_prec1']:.2f} % in the checkpoint), so test accuracy measured on
these weights, here too, is slightly optimistic.

## Provenance

- Source: [akamaster/pytorch_resnet_cifar10](https://github.com/akamaster/pytorch_resnet_cifar10), commit
  d5489e8, file `{filename}` (sha256 `{prov['source_sha256']}`).
- Trained by Yerlan Idelbayev with that repository's `trainer.py`: {TRAINING['dataset']}; SGD lr 0.1, momentum
  0.9, weight decay 1e-4, batch 128, 200 epochs, lr ÷10 at epochs 100 and 150; 4-pixel pad + random crop +
  horizontal flip; {TRAINING['inputs']}.
- Converted with `{card['command']}`: the akamaster layout's zero channels (padded on both sides of the
  option-A shortcut) are mapped exactly onto ours (appended) by permuting each stage's channels; the
  logits match PyTorch's to {prov['max_abs_logit_diff']:.1e} (max |Δlogit| on the 1,017 test images).

## Export parity (TFLite vs this Keras model on the 1,017 test images)

| file | format | top-1 agreement | max abs diff | accuracy | |
|---|---|---|---|---|---|
{chr(10).join(rows)}

int8 is full-integer (uint8 in and out), calibrated on 200 images of the subset's training split. The
project's thresholds: float32 100 % top-1 agreement and max |Δp| < 1e-4; int8 ≥ 98 % agreement and
accuracy within 1 point of Keras. Made with `keras-resnet export saved_models/{folder.name} --format tflite tflite-int8 --representative-data ../shared/data/cifar10-subset/cifar10_subset.npz --eval-data ../shared/data/cifar10-subset/cifar10_subset.npz`.

Files: {files} (uint8 input, labels embedded and in `labels.txt`), `model_card.json`, `parity.json` / `parity.txt`.

```bash
keras-resnet predict saved_models/{folder.name}/model.tflite my_image.png
```

## Licence (BSD-2-Clause, the source's notice)

```
{LICENCE}
```
"""
    (folder / "README.md").write_text(text)
    print(f"wrote {folder / 'README.md'}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--depth", type=int, nargs="+", default=sorted(SOURCES), choices=sorted(SOURCES))
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--readme", action="store_true", help="only write README.md (after keras-resnet export)")
    args = p.parse_args()
    for d in args.depth:
        readme(d) if args.readme else make(d, args.overwrite)


if __name__ == "__main__":
    main()
