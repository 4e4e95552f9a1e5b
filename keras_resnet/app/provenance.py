"""What each model of the demo is: trained here (the command, the data) or converted (source, licence, and the
images its accuracy was measured on). Read from the model card (model_card.json) or the preset's presets.json
entry; nothing here is a number of its own.

`origin(entry)` -> Origin; `picker_label(entry)` is the model menu's label; `intro_markdown(models)` the page's
header, which says which listed models are which.
"""

from __future__ import annotations

import dataclasses
from html import escape

CONVERTED, TRAINED_HERE, UNKNOWN = "converted", "trained here", "origin not recorded"


@dataclasses.dataclass
class Origin:
    """Where a model's weights come from, as its card says."""

    kind: str                       # CONVERTED, TRAINED_HERE or UNKNOWN
    trained_on: str = ""            # the training data, in words (HTML-escaped)
    trained_by: str = ""            # who trained it (converted models)
    evaluated_on: str = ""          # the images its accuracy was measured on (HTML-escaped)
    accuracy: float | None = None   # top-1 on `evaluated_on`
    source: str = ""                # converted: the source repository (URL)
    source_detail: str = ""         # converted: commit and file
    licence: str = ""               # converted: the weights' licence
    command: str = ""               # how it was made (keras-resnet train / convert / build)
    reported: str = ""              # converted: what the source itself reports, on which images
    data: str = ""                  # trained here: 'cifar10-subset, 5,085 training images' (plain text)


def _repo_name(url):
    """'https://github.com/akamaster/pytorch_resnet_cifar10' -> 'akamaster/pytorch_resnet_cifar10'."""
    return url.split("github.com/", 1)[-1].rstrip("/") if "github.com/" in url else url


def _accuracy(metrics):
    top1 = (metrics or {}).get("test_top1_accuracy")
    return float(top1) if isinstance(top1, (int, float)) and not isinstance(top1, bool) else None


def _evaluated_on(card):
    """'1,017 test images of cifar10-subset', with the card's note on which images where it has one."""
    data, metrics = card.get("dataset") or {}, card.get("metrics") or {}
    n = metrics.get("test_examples") or data.get("num_test")
    name = data.get("name")
    if not n:
        return ""
    text = f"{n:,} held-out test images" + (f" of {name}" if name else "")
    note = str(data.get("note", ""))
    said = [part.strip() for part in note.split(";") if part.strip().startswith("tested here on")]
    if said:
        text += f": {said[0].removeprefix('tested here on').strip()}"
    return escape(text)


def origin(entry) -> Origin:
    """The Origin of a demo entry (app.folders.ModelEntry): a packaged preset, a converted checkpoint (the card's
    `provenance`), a model trained by `keras-resnet train` (the card's `training.command`), else UNKNOWN."""
    card, p = entry.card, entry.preset
    if p:
        measured, source = p.get("measured") or {}, p.get("source") or {}
        n = measured.get("test_examples")
        on = str(measured.get("on", "")).removesuffix(", measured by keras_resnet")
        return Origin(
            CONVERTED, trained_on=escape(str(p.get("dataset", ""))), trained_by=escape(str(p.get("trained_by", ""))),
            evaluated_on=escape(f"{n:,} test images: {on}" if n else on), accuracy=_accuracy(measured),
            source=str(source.get("repository", "")),
            source_detail=escape(f"commit {source.get('commit', '?')}, {source.get('file', '?')}"),
            licence=escape(str(p.get("licence", ""))), command=str(card.get("command", "")),
            reported=escape(f"{p['reported_test_error_percent']:.2f} % error on {p.get('reported_on', '?')}")
            if isinstance(p.get("reported_test_error_percent"), (int, float)) else "")
    prov, training, metrics = card.get("provenance") or {}, card.get("training") or {}, card.get("metrics") or {}
    if prov.get("converted_from"):
        url, _, rest = str(prov["converted_from"]).partition(" ")
        reported = metrics.get("reported_test_error_full_test_set")
        return Origin(
            CONVERTED, trained_on=escape(str(training.get("dataset", "not recorded"))),
            trained_by=escape(str(training.get("by", ""))), evaluated_on=_evaluated_on(card),
            accuracy=_accuracy(metrics), source=url,
            source_detail=escape(rest.replace("(", "").replace(")", ",").strip()),
            licence=escape(str(prov.get("licence", "not recorded"))), command=str(card.get("command", "")),
            reported=escape(f"{100 * reported:.2f} % error, by {metrics.get('reported_by', 'the source')}")
            if isinstance(reported, (int, float)) else "")
    data = card.get("dataset") or {}
    splits = [f"{data[k]:,} {label}" for k, label in (("num_train", "training"), ("num_validation", "validation"))
              if data.get(k)]
    trained_on = f"<b>{escape(str(data.get('name', 'not recorded')))}</b>" + (
        f": {' · '.join(splits)} images" if splits else "")
    command = str(training.get("command") or card.get("command") or "")
    kind = TRAINED_HERE if command.startswith("keras-resnet train") else UNKNOWN
    plain = str(data.get("name", "data not recorded")) + (f", {splits[0]} images" if splits else "")
    return Origin(kind, trained_on=trained_on, evaluated_on=_evaluated_on(card), accuracy=_accuracy(metrics),
                  command=command, data=plain)


def picker_label(entry) -> str:
    """The model menu's label: name · what it is · its accuracy (the menu's value stays the name)."""
    o = origin(entry)
    what = {CONVERTED: f"converted from {_repo_name(o.source).split('/')[0] or 'a checkpoint'}"
                       + (f" ({o.licence})" if o.licence else ""),
            TRAINED_HERE: "trained here"}.get(o.kind, UNKNOWN)
    acc = f" · {100 * o.accuracy:.2f} % top-1" if o.accuracy is not None else ""
    return f"{entry.name} — {what}{acc}"


def intro_markdown(models) -> str:
    """The header: the paper, then which listed models were converted (from where, under which licence, tested on
    what) and which were trained here (with which command), read from their cards."""
    origins = {name: origin(e) for name, e in models.items()}
    lines = ["# Deep Residual Learning — try the networks",
             "The residual networks of **He, Zhang, Ren and Sun, “Deep Residual Learning for Image Recognition”, "
             "CVPR 2016** ([arXiv:1512.03385](https://arxiv.org/abs/1512.03385)), in Keras 3. The models listed "
             "here are of two kinds (the menu and each model card say which):"]
    converted = [n for n, o in origins.items() if o.kind == CONVERTED]
    if converted:
        sources = sorted({(o.source, o.licence, o.trained_by, o.trained_on)
                          for o in origins.values() if o.kind == CONVERTED})
        whence = "; ".join(f"[{_repo_name(s)}]({s}) ({lic or 'licence not recorded'})"
                           + (f", trained by {by.split(', with ')[0]}" if by else "") + (f" on {on}" if on else "")
                           for s, lic, by, on in sources)
        evaluated = sorted({o.evaluated_on for o in origins.values() if o.kind == CONVERTED and o.evaluated_on})
        lines.append(f"- **Converted, not trained here** ({', '.join(converted)}): PyTorch checkpoints from {whence}, "
                     "converted to Keras by this project (`keras-resnet convert`)"
                     + (f"; their accuracy was measured here on {' / '.join(evaluated)}." if evaluated else "."))
    here = [n for n, o in origins.items() if o.kind == TRAINED_HERE]
    if here:
        which = ", ".join(f"{n} (on {escape(origins[n].data)})" for n in here)
        lines.append(f"- **Trained here**: {which}; trained from scratch by this project with `keras-resnet train` "
                     "(the command is in the model card).")
    unknown = [n for n, o in origins.items() if o.kind == UNKNOWN]
    if unknown:
        lines.append(f"- **Origin not recorded** ({', '.join(unknown)}): the model card names no source and no "
                     "`keras-resnet train` command.")
    lines.append("\nGive it any picture — upload, paste, use the webcam or click one of the selected model's test "
                 "images below: it is converted and resized to the model's input, and the top-5 classes come back "
                 "with their probabilities. Switch between the Keras model and its TFLite export to compare speed.")
    return "\n".join(lines)
