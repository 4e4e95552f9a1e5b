"""Compare models: one image through every listed model, a row each (top-1, confidence, latency).

Latency is the time of that one call on a warm model (the predictor /predict caches: loaded and traced once,
off the clock; a model loaded by this request says so in its row). A model that fails gets a row saying why;
the others still answer.
"""

from __future__ import annotations

from .classify import ModelLoadError, predict, prepare_image

HEADERS = ["model", "input", "top-1 class", "confidence", "latency ms", "backend", "note"]


def compare(models, image, backend="Keras"):
    """One row per model in `models` (dict name -> ModelEntry), in order: the columns of HEADERS.

    `backend` ("Keras" or "TFLite") is used where the folder has it, else Keras (the note says so).
    Image errors (not an image, missing file) raise ValueError / FileNotFoundError as /predict does.
    """
    prepare_image(image, (None, None, 3))   # an unreadable image is the request's error, not every model's
    rows = []
    for name, entry in models.items():
        use = backend if backend in entry.backends else "Keras"
        note = "" if use == backend else f"no {backend} file: Keras used"
        h, w, c = entry.input_shape
        size = f"{h}×{w}×{c}"
        try:
            probs, _, infer_s, load_s, _ = predict(entry, image, use)
        except (ModelLoadError, ValueError) as e:   # this model's problem (no file, NaN scores): its row says so
            rows.append([name, size, "—", None, None, use, f"error: {e}"])
            continue
        top = max(probs, key=probs.get)
        if load_s:
            note = "; ".join(filter(None, [note, f"loaded on first use in {load_s:.1f} s (not counted)"]))
        rows.append([name, size, top, round(probs[top], 4), round(1000 * infer_s, 2), use, note])
    return rows
