"""The Gradio demo: classify any image with the residual networks this project trained.

He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.
Every model folder in `saved_models/` (model.keras, optional model.tflite,
model_card.json, README.md) becomes an entry of the model menu. Models take raw
0-255 pixels (the training set's mean/std normalisation lives inside them), so
the app only converts and resizes the image.

    python apps/gradio_app.py [--models-dir DIR] [--server-name 127.0.0.1] [--port 7860] [--share]
    keras-resnet demo ...        (the same)
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import threading
import time
import zipfile

import gradio as gr

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_MODELS_DIR = ROOT / "saved_models"
EXAMPLES_DIR = pathlib.Path(__file__).resolve().parent / "examples"
BACKENDS = ("Keras", "TFLite")
FILES = {"Keras": "model.keras", "TFLite": "model.tflite"}

TITLE = "Deep Residual Learning — image classifier"
INTRO = """\
# Deep Residual Learning — try the networks
The residual networks of **He, Zhang, Ren and Sun, “Deep Residual Learning for Image Recognition”, CVPR 2016**
([arXiv:1512.03385](https://arxiv.org/abs/1512.03385)), built and trained from scratch by this project with
`keras-resnet train`. Give it any picture — upload, paste or use the webcam: it is converted and resized to the
model's input, and the top-5 classes come back with their probabilities. Switch between the Keras model and its
TFLite export to compare speed.
"""
CSS = """
.gradio-container {max-width: 1280px !important; margin: auto;}
#model-input img {image-rendering: pixelated;}
#timing {font-size: 0.95em;}
#card table {width: 100%; font-size: 0.92em;}
#card pre, #card pre code {white-space: pre-wrap; word-break: break-word;}
#image img {width: 100%; height: 100%; object-fit: contain;}
#card th {white-space: nowrap; text-align: left; vertical-align: top; width: 1%; padding-right: 1em;}
#skipped {border-left: 4px solid #f59e0b; padding-left: 12px;}
"""
THEME = gr.themes.Soft(primary_hue="indigo", secondary_hue="sky")


# --------------------------------------------------------------------------- model folders


@dataclasses.dataclass
class ModelEntry:
    """One valid model folder: its card and which backends it has."""

    name: str
    folder: pathlib.Path
    card: dict
    backends: tuple

    @property
    def class_names(self):
        return list(self.card["class_names"])

    @property
    def input_shape(self):
        return tuple(self.card["input_shape"])


def _check_keras_file(path):
    if not path.is_file():
        raise ValueError("no model.keras")
    if not zipfile.is_zipfile(path):
        raise ValueError("model.keras is corrupt (not a Keras zip archive)")
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        if not {"config.json", "model.weights.h5"} <= names:
            raise ValueError("model.keras is corrupt (config.json or model.weights.h5 missing inside)")
        if z.testzip() is not None:
            raise ValueError("model.keras is corrupt (a CRC check failed)")


def _tflite_ok(path):
    """A TFLite flatbuffer carries the file identifier 'TFL3' at bytes 4-8."""
    with open(path, "rb") as f:
        return f.read(8)[4:8] == b"TFL3"


def read_model_folder(folder):
    """A ModelEntry for `folder`, plus a note on a broken TFLite file; ValueError says why it is unusable."""
    folder = pathlib.Path(folder)
    card_path = folder / "model_card.json"
    if not card_path.is_file():
        raise ValueError("no model_card.json")
    try:
        card = json.loads(card_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"model_card.json is not valid JSON ({e})") from None
    if not isinstance(card, dict):
        raise ValueError("model_card.json is not a JSON object")
    missing = [k for k in ("class_names", "input_shape") if not card.get(k)]
    if missing:
        raise ValueError(f"model_card.json lacks {', '.join(missing)}")
    shape = card["input_shape"]
    if len(shape) != 3 or shape[-1] not in (1, 3):
        raise ValueError(f"model_card.json input_shape must be [H, W, 1 or 3], got {shape}")
    _check_keras_file(folder / "model.keras")
    backends, note = ("Keras",), None
    if (folder / "model.tflite").is_file():
        if _tflite_ok(folder / "model.tflite"):
            backends = BACKENDS
        else:
            note = "model.tflite is corrupt (no TFLite file identifier): TFLite backend disabled"
    return ModelEntry(folder.name, folder, card, backends), note


def discover_models(dirs):
    """Every valid model folder under `dirs` -> (dict name -> ModelEntry, [(folder, reason), ...] skipped).

    A directory that itself holds a model_card.json or model.keras (a training run directory) counts as
    one model folder; otherwise each of its sub-folders is a candidate.
    """
    models, skipped = {}, []
    for d in dirs:
        d = pathlib.Path(d)
        if not d.is_dir():
            skipped.append((str(d), "directory does not exist"))
            continue
        is_model = (d / "model_card.json").exists() or (d / "model.keras").exists()
        folders = [d] if is_model else sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not folders:
            skipped.append((str(d), "no model folders inside"))
        for folder in folders:
            try:
                entry, note = read_model_folder(folder)
            except (ValueError, OSError) as e:
                skipped.append((str(folder), str(e)))
                continue
            if note:
                skipped.append((str(folder), note))
            name = entry.name
            if name in models:
                name = entry.name = f"{folder.name} ({folder.parent.name})"
            models[name] = entry
    return models, skipped


# --------------------------------------------------------------------------- predictions
# Image conversion and the per-backend predictors live in keras_resnet.inference (one place for them).


class _Locked:
    """A predictor called by one request at a time (LiteRT interpreters are not thread-safe)."""

    def __init__(self, predictor):
        self.predictor, self.lock = predictor, threading.Lock()

    def predict(self, x):
        with self.lock:
            return self.predictor.predict(x)


_PREDICTORS = {}
_LOAD_LOCK = threading.Lock()


class ModelLoadError(RuntimeError):
    """A model file that passed the folder checks but does not load."""


def _enlarge(x, side=128):
    """The model's input (uint8 H, W, C), enlarged with nearest-neighbour so its pixels stay visible."""
    from PIL import Image

    im = Image.fromarray(x[..., 0] if x.shape[-1] == 1 else x)
    k = max(1, side // max(im.size))
    return im.resize((im.width * k, im.height * k), Image.Resampling.NEAREST)


def get_predictor(entry, backend):
    """The cached predictor of `entry` for `backend`, loaded on first use; and the seconds loading took (0 if cached)."""
    import numpy as np

    from keras_resnet.inference import KerasPredictor, TFLitePredictor

    key = (str(entry.folder), backend)
    with _LOAD_LOCK:
        if key in _PREDICTORS:
            return _PREDICTORS[key], 0.0
        t = time.perf_counter()
        path = entry.folder / FILES[backend]
        try:
            predictor = KerasPredictor(path) if backend == "Keras" else _Locked(TFLitePredictor(path))
        except Exception as e:  # noqa: BLE001  (inference raises ValueError with the reason)
            raise ModelLoadError(f"{entry.name}: {FILES[backend]} does not load ({e})") from None
        predictor.predict(np.zeros((1, *entry.input_shape), np.uint8))  # trace / allocate once, off the clock
        _PREDICTORS[key] = predictor
        return predictor, time.perf_counter() - t


def prepare_image(image, input_shape):
    """Any image -> uint8 (H, W, C) for the model (keras_resnet.inference.load_image)."""
    from keras_resnet.inference import load_image

    return load_image(image, tuple(input_shape))


def predict(entry, image, backend="Keras"):
    """Classify one image: ({class: probability}, convert seconds, inference seconds, load seconds, model input)."""
    import numpy as np

    if backend not in entry.backends:
        raise ValueError(f"{entry.name} has no {backend} backend; it has {', '.join(entry.backends)}")
    t0 = time.perf_counter()
    x = prepare_image(image, entry.input_shape)
    t1 = time.perf_counter()
    predictor, load_s = get_predictor(entry, backend)
    t2 = time.perf_counter()
    p = np.asarray(predictor.predict(x[None]), np.float64)[0]
    t3 = time.perf_counter()
    if not np.isfinite(p).all():
        raise ValueError(f"{entry.name} ({backend}) returned NaN or infinite scores: a broken model file?")
    names = entry.class_names
    if len(p) != len(names):
        raise ValueError(f"{entry.name} outputs {len(p)} scores but its card names {len(names)} classes")
    return {n: float(v) for n, v in zip(names, p)}, t1 - t0, t3 - t2, load_s, x


# --------------------------------------------------------------------------- the page


def _num(n, unit=""):
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {suffix}{unit}"
    return f"{n:,}{unit and ' ' + unit}"


def card_markdown(entry):
    """The model card: architecture, data (and how much of it), test accuracy, size, cost, the command."""
    from html import escape

    c = entry.card
    model, data, metrics = c.get("model") or {}, c.get("dataset") or {}, c.get("metrics") or {}
    kwargs = ", ".join(f"{k}={v}" for k, v in (model.get("kwargs") or {}).items())
    h, w, ch = entry.input_shape
    splits = [f"{data[k]:,} {label}" for k, label in
              (("num_train", "train"), ("num_validation", "validation"), ("num_test", "test")) if data.get(k)]
    rows = [("Architecture", f"<code>{escape(str(model.get('name', '?')))}</code>" + (f" ({escape(kwargs)})" if kwargs else "")),
            ("Dataset", f"<b>{escape(str(data.get('name', 'not recorded')))}</b>" + (f"<br>{' · '.join(splits)} images" if splits else ""))]
    top1, top5 = metrics.get("test_top1_accuracy"), metrics.get("test_top5_accuracy")
    if top1 is not None:
        n = metrics.get("test_examples") or data.get("num_test")
        acc = f"<b>{100 * top1:.2f} %</b> top-1" + (f" · {100 * top5:.2f} % top-5" if top5 is not None else "")
        rows.append(("Test accuracy", acc + (f"<br>on {n:,} held-out test images" if n else "")))
    else:
        rows.append(("Test accuracy", "not measured"))
    params = c.get("params") or {}
    if params:
        rows.append(("Parameters", f"{params.get('total', 0):,} ({params.get('trainable', 0):,} trainable)"))
    if c.get("macs"):
        rows.append(("Multiply-adds", f"{_num(c['macs'])} per image"))
    rows.append(("Input", f"{h} × {w} × {ch} ({'RGB' if ch == 3 else 'grayscale'}), raw 0–255 pixels"))
    sizes = [f"{b}: <code>{FILES[b]}</code> {_num((entry.folder / FILES[b]).stat().st_size, 'B')}" for b in entry.backends]
    rows.append(("Files", "<br>".join(sizes)))
    rows.append(("Classes", escape(", ".join(entry.class_names))))
    table = "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"
    parts = [f"### Model card: {escape(str(c.get('name', entry.name)))}", table]
    if c.get("command"):
        parts.append(f"**Trained with**\n```bash\n{c['command']}\n```")
    versions = ", ".join(f"{k} {v}" for k, v in (c.get("versions") or {}).items())
    if c.get("created") or versions:
        parts.append(f"<sub>Created {escape(str(c.get('created', '?')))} · {escape(versions)}</sub>")
    return "\n\n".join(parts)


def skipped_markdown(skipped):
    if not skipped:
        return ""
    lines = [f"- `{_short(folder)}`: {reason}" for folder, reason in skipped]
    return f"**⚠ Skipped {len(skipped)} model folder(s) or file(s):**\n" + "\n".join(lines)


def _short(path):
    """A path relative to the current directory when it is under it."""
    try:
        return str(pathlib.Path(path).resolve().relative_to(pathlib.Path.cwd()))
    except ValueError:
        return str(path)


def readable_upload_errors(image):
    """Make an undecodable upload to `image` (a gr.Image) a readable message (gr.Error), not a stack trace.

    Wraps the instance's preprocess (PIL opens the file there); a gr.Image subclass would do the same,
    but Gradio writes a .pyi stub next to the source of every Component subclass.
    """
    decode = image.preprocess

    def preprocess(payload):
        try:
            return decode(payload)
        except Exception as e:  # PIL's UnidentifiedImageError, OSError, ...
            name = getattr(payload, "orig_name", None) or "this file"
            raise gr.Error(f"Could not read {name} as an image ({type(e).__name__}). "
                           "Give a PNG, JPEG, WebP, BMP, GIF or TIFF image.", title="Not an image") from None

    image.preprocess = preprocess
    return image


def _examples_dir(entry):
    """apps/examples/<folder> for a model: its folder name or dataset name is <folder> or starts with '<folder>-'."""
    if not EXAMPLES_DIR.is_dir():
        return None
    keys = [entry.name, str((entry.card.get("dataset") or {}).get("name", ""))]
    keys = [k.lower().replace("_", "-") for k in keys if k]
    for d in sorted(p for p in EXAMPLES_DIR.iterdir() if p.is_dir()):
        if any(k == d.name or k.startswith(d.name + "-") for k in keys):
            return d
    return None


def examples_for(entry):
    """The example images shipped for a model (apps/examples/<dataset>/*.png|jpg)."""
    d = _examples_dir(entry)
    return sorted(p for p in d.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg")) if d else []


def _example_sets(models, image, model):
    """Example thumbnails for each model that has some; clicking one also selects that model."""
    for i, (name, entry) in enumerate(models.items()):
        paths = examples_for(entry)
        if paths:
            ex = gr.Examples([[str(p)] for p in paths], inputs=[image], label=f"Examples for {name} (click one)",
                             examples_per_page=12, elem_id=f"examples-{i}")
            ex.dataset.click(lambda n=name: n, None, model, api_visibility="private")


def build_demo(dirs=(DEFAULT_MODELS_DIR,)):
    """The Gradio Blocks app over every valid model folder in `dirs`; FileNotFoundError when there is none."""
    models, skipped = discover_models(dirs)
    if not models:
        where = ", ".join(str(d) for d in dirs)
        why = "; ".join(f"{f}: {r}" for f, r in skipped) or "no sub-folders"
        raise FileNotFoundError(
            f"no valid model folder in {where} ({why}). A model folder holds model.keras and model_card.json "
            "(as written by `keras-resnet train`); pass one with --models-dir.")
    first = next(iter(models.values()))

    def classify(image, name, backend):
        if image is None:
            raise gr.Error("Upload, paste or capture an image first.", title="No image")
        if name not in models:
            raise gr.Error(f"Unknown model {name!r}; choose one of {', '.join(models)}.")
        try:
            label, prep_s, infer_s, load_s, x = predict(models[name], image, backend)
        except ModelLoadError as e:
            raise gr.Error(str(e), title="Model error") from None
        except (ValueError, FileNotFoundError) as e:
            raise gr.Error(str(e), title="Cannot classify this image") from None
        timing = (f"**Inference: {1000 * infer_s:.1f} ms** ({backend}, batch of 1) · "
                  f"image conversion {1000 * prep_s:.1f} ms")
        if load_s:
            timing += f" · model loaded on first use in {load_s:.2f} s"
        return label, timing, _enlarge(x)

    def classify_if_image(image, name, backend):
        return classify(image, name, backend) if image is not None else (gr.skip(),) * 3

    def select_model(name):
        entry = models[name]
        has_tflite = "TFLite" in entry.backends
        return (gr.update(value="Keras", interactive=has_tflite,
                          info=None if has_tflite else "no model.tflite in this folder"),
                card_markdown(entry))

    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(INTRO)
        gr.Markdown(skipped_markdown(skipped), visible=bool(skipped), elem_id="skipped")
        with gr.Row(equal_height=False):
            with gr.Column(scale=5):
                with gr.Row():
                    model = gr.Dropdown(list(models), value=first.name, label="Model", scale=3, elem_id="model")
                    backend = gr.Radio(list(BACKENDS), value="Keras", label="Backend", scale=2,
                                       interactive="TFLite" in first.backends)
                image = readable_upload_errors(gr.Image(
                    sources=["upload", "clipboard", "webcam"], type="filepath", image_mode=None,
                    label="Your image", height=300, elem_id="image"))
                with gr.Row():
                    clear = gr.ClearButton(value="Clear", elem_id="clear")
                    run = gr.Button("Classify", variant="primary", elem_id="classify")
                _example_sets(models, image, model)
            with gr.Column(scale=4):
                label = gr.Label(num_top_classes=5, label="Top-5 classes", elem_id="label")
                timing = gr.Markdown(elem_id="timing")
                seen = gr.Image(label="What the model sees (converted and resized)", interactive=False, height=160,
                                elem_id="model-input", buttons=[], format="png")
            with gr.Column(scale=5):
                card = gr.Markdown(card_markdown(first), elem_id="card")
        inputs, outputs = [image, model, backend], [label, timing, seen]
        clear.add([image, *outputs])
        run.click(classify, inputs, outputs, api_name="predict")
        image.change(classify_if_image, inputs, outputs, api_visibility="private", trigger_mode="always_last")
        model.change(select_model, [model], [backend, card], api_visibility="private").then(
            classify_if_image, inputs, outputs, api_visibility="private")
        backend.input(classify_if_image, inputs, outputs, api_visibility="private")
    demo.queue(default_concurrency_limit=4, max_size=64)
    demo.models, demo.skipped = models, skipped
    return demo


def launch(demo, server_name="127.0.0.1", port=None, share=False, **kw):
    """Start the app (theme and CSS are launch() arguments in Gradio 6); returns (app, url, share_url)."""
    return demo.launch(server_name=server_name, server_port=port, share=share, theme=THEME, css=CSS,
                       footer_links=["api", "gradio"], **kw)


def main(argv=None):
    from keras_resnet.cli import main as cli_main

    return cli_main(["demo", *(argv if argv is not None else __import__("sys").argv[1:])])


if __name__ == "__main__":
    raise SystemExit(main())
