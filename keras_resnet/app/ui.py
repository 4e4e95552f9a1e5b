"""The page: model menu, image input, top-5 classes, timings, the model card and the example gallery.

The header, the menu's labels and the card say what each model is (provenance.py: trained here, or converted
from whose checkpoint under which licence, and which images its accuracy was measured on); the gallery shows
real test images of the selected model's dataset and, for one of them, whether the prediction is right
(gallery.py).

He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.
Every model folder in `saved_models/` (model.keras, optional model.tflite,
model_card.json, README.md) becomes an entry of the model menu. Models take raw
0-255 pixels (the training set's mean/std normalisation lives inside them), so
the app only converts and resizes the image.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import gradio as gr

from .._compat import gradio_cache_dir, set_component_preprocess
from .classify import model_input_file, predict
from .folders import BACKENDS, ModelEntry, default_model, discover_models, preset_models
from .gallery import EXAMPLES_DIR, examples_dir, examples_for, manifest, sample_label, truth, verdict
from .provenance import CONVERTED, TRAINED_HERE, Origin, intro_markdown, origin, picker_label
from .tabs import Models, add_tabs, bind, entry_for, readable, user_error

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_MODELS_DIR = ROOT / "saved_models"

TITLE = "Deep Residual Learning — image classifier"
CSS = """
.gradio-container {max-width: 1280px !important; margin: auto;}
#model-input img {image-rendering: pixelated;}
#timing {font-size: 0.95em;}
#card table {width: 100%; font-size: 0.92em;}
#card pre, #card pre code {white-space: pre-wrap; word-break: break-word;}
#image img {width: 100%; height: 100%; object-fit: contain;}
#card th {white-space: nowrap; text-align: left; vertical-align: top; width: 1%; padding-right: 1em;}
#skipped {border-left: 4px solid #f59e0b; padding-left: 12px;}
#explain-image img {width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated;}
.examples img {image-rendering: pixelated;}
#origin {border-left: 4px solid #6366f1; padding-left: 12px;}
"""
THEME = gr.themes.Soft(primary_hue="indigo", secondary_hue="sky")


def _num(n, unit=""):
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {suffix}{unit}"
    return f"{n:,}{unit and ' ' + unit}"


def card_markdown(entry: ModelEntry) -> str:
    """The model card: architecture, where it comes from (trained here: the command and data; converted: source,
    licence), what it was trained on and, apart, what it was evaluated on; size, cost, files."""
    c, o = entry.card, origin(entry)
    rows = [*_architecture_rows(c), *_origin_rows(o), *_evaluation_rows(c, o), *_size_rows(entry)]
    table = "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"
    return "\n\n".join([f"### Model card: {escape(str(c.get('name', entry.name)))}", table, *_card_notes(entry, o)])


Rows = list[tuple[str, str]]   # (heading, HTML) of the card's table


def _architecture_rows(card: dict) -> Rows:
    model = card.get("model") or {}
    kwargs = ", ".join(f"{k}={v}" for k, v in (model.get("kwargs") or {}).items())
    return [("Architecture", f"<code>{escape(str(model.get('name', '?')))}</code>" + (f" ({escape(kwargs)})" if kwargs else ""))]


def _origin_rows(o: Origin) -> Rows:
    """Converted (from whose checkpoint, licence) or trained here; what it was trained on."""
    if o.kind != CONVERTED:
        return [("Origin", "<b>Trained here</b>, from scratch, with <code>keras-resnet train</code> (command below)"
                 if o.kind == TRAINED_HERE else "not recorded (no source and no <code>keras-resnet train</code> command in the card)"),
                ("Trained on", o.trained_on)]
    repo = escape(o.source)
    return [("Origin", f"<b>Converted</b>, not trained here: PyTorch checkpoint from <a href=\"{repo}\">{repo}</a>"
                       + (f" ({o.source_detail})" if o.source_detail else "") + ", converted to Keras by this project"),
            ("Licence", o.licence or "not recorded"),
            ("Trained on", o.trained_on + (f"<br>by {o.trained_by}" if o.trained_by else ""))]


def _evaluation_rows(card: dict, o: Origin) -> Rows:
    """What it was evaluated on, its test accuracy measured here, and what the source reported."""
    rows = [("Evaluated on", o.evaluated_on or "not recorded")]
    if o.accuracy is not None:
        top5 = (card.get("metrics") or {}).get("test_top5_accuracy")
        rows.append(("Test accuracy", f"<b>{100 * o.accuracy:.2f} %</b> top-1"
                     + (f" · {100 * top5:.2f} % top-5" if isinstance(top5, (int, float)) else "") + ", measured here"))
    else:
        rows.append(("Test accuracy", "not measured"))
    if o.reported:
        rows.append(("Reported by the source", o.reported))
    return rows


def _size_rows(entry: ModelEntry) -> Rows:
    """Parameters, multiply-adds, the input, the files and the classes."""
    c = entry.card
    h, w, ch = entry.input_shape
    rows = []
    params = c.get("params") or {}
    if params:
        rows.append(("Parameters", f"{params.get('total', 0):,} ({params.get('trainable', 0):,} trainable)"))
    if c.get("macs"):
        rows.append(("Multiply-adds", f"{_num(c['macs'])} per image"))
    rows.append(("Input", f"{h} × {w} × {ch} ({'RGB' if ch == 3 else 'grayscale'}), raw 0–255 pixels"))
    sizes = [f"{b}: <code>{entry.file(b).name}</code> {_num(entry.file(b).stat().st_size, 'B')}" for b in entry.backends]
    rows.append(("Files", "<br>".join(sizes) + (" (packaged in keras_resnet/presets)" if entry.preset else "")))
    rows.append(("Classes", escape(", ".join(entry.class_names))))
    return rows


def _card_notes(entry: ModelEntry, o: Origin) -> list[str]:
    """Under the table: a preset's or a caveat's line, the command that made it, when and with which versions."""
    c, p, parts = entry.card, entry.preset, []
    if p:
        parts.append(f"**A packaged preset** (`keras_resnet.{escape(p['model'])}(weights=\"{escape(p['weights'])}\")`); "
                     f"{escape(p['optimistic'])}.")
    elif o.kind == CONVERTED and (c.get("training") or {}).get("selection"):
        parts.append(f"**Caveat:** {escape(str(c['training']['selection']))}.")
    if o.command:
        verb = "Built with" if p else "Converted with" if o.kind == CONVERTED else "Trained with"
        parts.append(f"**{verb}**\n```{'python' if p else 'bash'}\n{o.command}\n```")
    versions = ", ".join(f"{k} {v}" for k, v in (c.get("versions") or {}).items())
    if c.get("created") or versions:
        parts.append(f"<sub>Created {escape(str(c.get('created', '?')))} · {escape(versions)}</sub>")
    return parts


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

    Wraps the instance's preprocess (PIL opens the file's header there, and refuses decompression bombs
    itself); the message is the one keras_resnet.deploy.load_image gives for the same file, with the name
    the user uploaded. A gr.Image subclass would do the same, but Gradio writes a .pyi stub next to the
    source of every Component subclass.
    """
    decode = image.preprocess

    def preprocess(payload):
        from ..deploy.images import pixel_budget

        try:
            with pixel_budget():   # Gradio opens the upload with PIL, which decodes an ICO's embedded image there
                return decode(payload)
        except Exception as e:  # PIL's UnidentifiedImageError, DecompressionBombError, OSError, ...
            name = getattr(payload, "orig_name", None) or "this file"
            path = getattr(payload, "path", None)
            message = (f"Could not read {name} as an image ({type(e).__name__}). "
                       "Give a PNG, JPEG, WebP, BMP, GIF or TIFF image.")
            if path:
                from ..deploy.images import load_image

                try:
                    load_image(path)
                except (ValueError, FileNotFoundError) as why:
                    message = str(why).replace(str(path), name)
            raise user_error(message, title="Not an image") from None  # a user error, not the server's

    return set_component_preprocess(image, preprocess)


def _galleries(models, image, shown=None):
    """One gr.Gallery per examples folder used by a listed model (thumbnails captioned with the true class); only
    the selected model's is visible (`shown` first; `select_model` switches); clicking a thumbnail puts that image
    in `image`. Returns {folder: (gallery, paths)}."""
    galleries = {}
    for entry in models.values():
        d = examples_dir(entry)
        if d is None or d in galleries:
            continue
        paths, info = examples_for(entry), manifest(d)
        if not paths:
            continue
        g = gr.Gallery([(str(p), sample_label(p, info.get(p.name))) for p in paths], label=_gallery_label(d, info),
                       columns=5, height="auto", object_fit="contain", allow_preview=False, interactive=False,
                       buttons=[], elem_id=f"examples-{d.name}", elem_classes=["examples"], visible=d == shown)

        def pick(evt: gr.SelectData, paths=paths):
            return str(paths[evt.index]) if evt.index is not None and 0 <= evt.index < len(paths) else gr.skip()

        g.select(pick, None, [image], api_visibility="private")
        galleries[d] = (g, paths)
    return galleries


def _gallery_label(folder, info):
    real = sum(1 for i in info.values() if not i.get("drawing"))
    return (f"Examples: {real} real test images of {folder.name}, one per class, captioned with the true class"
            + (" (and one drawing)" if len(info) > real else "") + " — click one")


PRESETS_NOTE = """\
**No model folder found — these are the packaged presets** (“(preset)” in the menu): ResNet-20/32/44/56 with
the CIFAR-10 weights shipped inside `keras_resnet` (`keras_resnet.ResNet56(weights="cifar10")`). Add your own
models with `--models-dir` (a run directory of `keras-resnet train`, or a folder of them)."""


def listed_models(dirs: Sequence[str | pathlib.Path], presets: bool = True) -> tuple[dict[str, ModelEntry], list, str]:
    """The models of every valid model folder in `dirs`, the folders skipped (with why), and the note shown when
    the packaged presets stand in for them (`presets=True` and no valid folder; else FileNotFoundError)."""
    models, skipped = discover_models(dirs)
    note = ""
    if not models and presets:
        models, note = preset_models(), PRESETS_NOTE
    if not models:
        where = ", ".join(str(d) for d in dirs)
        why = "; ".join(f"{f}: {r}" for f, r in skipped) or "no sub-folders"
        raise FileNotFoundError(
            f"no valid model folder in {where} ({why}). A model folder holds model.keras and model_card.json "
            "(as written by `keras-resnet train`); pass one with --models-dir.")
    return models, skipped, note


def classify(models: Models, cache_dir: str, image: Any, name: str, backend: str) -> tuple[dict, str, str]:
    """/predict: the top-5 classes, the timings and what the model sees (PNG)."""
    entry = entry_for(models, image, name)
    with readable("Cannot classify this image"):
        label, prep_s, infer_s, load_s, x = predict(entry, image, backend)
    timing = (f"**Inference: {1000 * infer_s:.1f} ms** ({backend}, batch of 1) · "
              f"image conversion {1000 * prep_s:.1f} ms")
    if load_s:
        timing += f" · model loaded on first use in {load_s:.2f} s"
    known = truth(image, entry)    # one of this model's example test images: say if it is right
    if known:
        timing = f"**{verdict(known, max(label, key=label.get))}**\n\n" + timing
    return label, timing, model_input_file(x, cache_dir)   # never rewritten while served


def classify_if_image(models: Models, cache_dir: str, image: Any, name: str, backend: str) -> tuple:
    return classify(models, cache_dir, image, name, backend) if image is not None else (gr.skip(),) * 3


@dataclass(frozen=True)
class Classifier:
    """The top of the page: model menu, backend, image (with Clear and Classify), the examples of each dataset
    ({folder: (gallery, paths)}), the top-5, the timings, what the model sees, and the model card."""

    model: gr.Dropdown
    backend: gr.Radio
    image: gr.Image
    clear: gr.ClearButton
    run: gr.Button
    galleries: dict[pathlib.Path, tuple[gr.Gallery, list[pathlib.Path]]]
    label: gr.Label
    timing: gr.Markdown
    seen: gr.Image
    card: gr.Markdown


def classifier(models: Models, first: ModelEntry) -> Classifier:
    """The classifier's row (inside the current Blocks), opening on model `first`."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            model = gr.Dropdown([(picker_label(e), n) for n, e in models.items()], value=first.name,
                                label="Model (what it is · its test accuracy)", elem_id="model")
            backend = gr.Radio(list(BACKENDS), value="Keras", label="Backend", interactive="TFLite" in first.backends)
            image = readable_upload_errors(gr.Image(
                sources=["upload", "clipboard", "webcam"], type="filepath", image_mode=None,
                label="Your image", height=300, elem_id="image"))
            with gr.Row():
                clear = gr.ClearButton(value="Clear", elem_id="clear")
                run = gr.Button("Classify", variant="primary", elem_id="classify")
            galleries = _galleries(models, image, shown=examples_dir(first))
        with gr.Column(scale=4):
            label = gr.Label(num_top_classes=5, label="Top-5 classes", elem_id="label")
            timing = gr.Markdown(elem_id="timing")
            seen = gr.Image(label="What the model sees (converted and resized)", interactive=False, height=160,
                            elem_id="model-input", buttons=[], format="png")
        with gr.Column(scale=5):
            card = gr.Markdown(card_markdown(first), elem_id="card")
    return Classifier(model, backend, image, clear, run, galleries, label, timing, seen, card)


def select_model(models: Models, c: Classifier, name: str) -> dict:
    """A model picked in the menu: its backends, its card and its dataset's examples."""
    entry = models[name]
    has_tflite = "TFLite" in entry.backends
    shown = examples_dir(entry)
    info = None if has_tflite else "packaged preset: Keras only" if entry.preset else "no model.tflite in this folder"
    return {c.backend: gr.update(value="Keras", interactive=has_tflite, info=info), c.card: card_markdown(entry),
            **{g: gr.update(visible=d == shown) for d, (g, _) in c.galleries.items()}}


def wire_classifier(models: Models, c: Classifier) -> None:
    """/predict on Classify; the page reclassifies on a new image, model or backend."""
    cache_dir = gradio_cache_dir(c.seen)
    again = bind(classify_if_image, models, cache_dir)
    inputs, outputs = [c.image, c.model, c.backend], [c.label, c.timing, c.seen]
    c.clear.add([c.image, *outputs])
    c.run.click(bind(classify, models, cache_dir), inputs, outputs, api_name="predict")
    c.image.change(again, inputs, outputs, api_visibility="private", trigger_mode="always_last")
    c.model.change(bind(select_model, models, c), [c.model], [c.backend, c.card, *(g for g, _ in c.galleries.values())],
                   api_visibility="private").then(again, inputs, outputs, api_visibility="private")
    c.backend.input(again, inputs, outputs, api_visibility="private")


def build_demo(dirs: Sequence[str | pathlib.Path] = (DEFAULT_MODELS_DIR,), presets: bool = True) -> gr.Blocks:
    """The Gradio Blocks app over every valid model folder in `dirs`, opening on `default_model`'s choice.

    With no valid model folder: the packaged presets (`presets=True`), else FileNotFoundError.
    """
    models, skipped, note = listed_models(dirs, presets)
    first = models[default_model(models)]
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(intro_markdown(models), elem_id="intro")
        gr.Markdown(note, visible=bool(note), elem_id="presets-note")
        gr.Markdown(skipped_markdown(skipped), visible=bool(skipped), elem_id="skipped")
        top = classifier(models, first)
        wire_classifier(models, top)
        add_tabs(models, top.image, top.model)   # Where it looks / Switch blocks off / Compare models (tabs.py)
    demo.queue(default_concurrency_limit=4, max_size=64)
    demo.models, demo.skipped, demo.default_model, demo.presets = models, skipped, first.name, bool(note)
    return demo


DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024   # bytes: uploads above this are refused by the server (HTTP 413)


def close(demo, timeout=60.0):
    """Close a launched demo once the events it is running or has queued are done (at most `timeout` seconds).

    `demo.close()` alone stops the server at once and leaves a running event's worker thread inside TensorFlow;
    an interpreter that exits then aborts ("terminate called ... FATAL: exception not rethrown", exit 134).
    Call this before the process ends (tests' fixtures, scripts).
    """
    import time

    from .._compat import gradio_busy

    deadline = time.monotonic() + timeout
    while gradio_busy(demo) and time.monotonic() < deadline:
        time.sleep(0.05)
    demo.close()


def launch(demo, server_name="127.0.0.1", port=None, share=False, max_file_size=DEFAULT_MAX_FILE_SIZE, **kw):
    """Start the app (theme and CSS are launch() arguments in Gradio 6); returns (app, url, share_url).

    Listens on 127.0.0.1 (this machine only) unless `server_name` says otherwise. `max_file_size`
    (bytes, or Gradio's "10mb" form; None: no limit) caps every upload.
    """
    return demo.launch(server_name=server_name, server_port=port, share=share, theme=THEME, css=CSS,
                       footer_links=["api", "gradio"], max_file_size=max_file_size, **kw)
