"""Writing files so that a reader never sees half of one: write a temporary sibling, then rename; and reading
what a person may hand over within limits: JSON (model cards, run configs) within a size and a nesting
limit, images within a pixel budget (`pixel_budget`, `check_image_file`).

Every file this package writes (run directories, reports, tables, JSON, figures) goes through here, so a
process killed mid-write leaves the previous file intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import shutil
import threading
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ._typing import StrPath


# The JSON this package reads back (model_card.json, config.json) is a few KB and nests 4 levels deep.
MAX_JSON_BYTES = 1 << 20
MAX_JSON_DEPTH = 64
_JSON_TOKEN = re.compile(r'\\.|["\[\]{}]')    # an escape, a quote, a bracket


def json_depth(text: str, stop: int | None = None) -> int:
    """The deepest nesting of [ and { in JSON `text` (brackets inside strings not counted): one linear scan,
    ended early once the depth passes `stop`."""
    depth = top = 0
    in_string = False
    for m in _JSON_TOKEN.finditer(text):
        t = m.group()
        if t == '"':
            in_string = not in_string
        elif in_string or len(t) > 1:
            continue
        elif t in "[{":
            depth += 1
            if depth > top:
                top = depth
                if stop is not None and top > stop:
                    break
        else:
            depth -= 1
    return top


def read_json(path: StrPath, what: str = "JSON file", *, max_bytes: int = MAX_JSON_BYTES,
              max_depth: int = MAX_JSON_DEPTH, where: str | None = None) -> Any:
    """The JSON value in `path`, read within limits: at most `max_bytes` bytes and `max_depth` levels of nesting
    (checked on the raw text before parsing, so a file of 100,000 `[` is no RecursionError).

    FileNotFoundError when there is no such file; otherwise one ValueError naming the file (`where`, default
    its path) and the `what` it should be, for a file too large, nested too deep, not UTF-8 or not JSON.
    """
    path = pathlib.Path(path)
    where = where or str(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what}: {path} does not exist" if not path.exists() else
                                f"{what} {path} is not a file")
    with open(path, "rb") as f:
        raw = f.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ValueError(f"{where} is larger than {max_bytes:,} bytes, the limit for a {what}; not read")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{where} is not valid JSON (not UTF-8 text); expected a {what}") from None
    depth = json_depth(text, stop=max_depth)
    if depth > max_depth:
        raise ValueError(f"{where} nests deeper than {max_depth} levels, the limit for a {what}; not parsed")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where} is not valid JSON ({e}); expected a {what}") from None
    except RecursionError:   # not reached after the depth check; kept so no traceback can escape
        raise ValueError(f"{where} nests too deep to parse; expected a {what}") from None


# The largest image decoded: 50 megapixels (e.g. 8660 x 5773), ~150 MB as RGB, ~200 MB as RGBA while converting.
# Larger than any camera photo people usually share (12-48 MP) and far below what a decompression bomb claims.
# PIL's own guard (Image.MAX_IMAGE_PIXELS, ~89 MP warning, ~179 MP error) is looser and only warns in between.
MAX_IMAGE_PIXELS = 50_000_000
_BUDGET_LOCK = threading.RLock()


@contextlib.contextmanager
def pixel_budget(max_pixels: int | None = None) -> Iterator[None]:
    """While the block runs, Pillow decodes no image of more than `max_pixels` (default MAX_IMAGE_PIXELS).

    Sets `PIL.Image.MAX_IMAGE_PIXELS` to the limit and makes its DecompressionBombWarning an error (Pillow
    warns above the limit and raises only above twice it), restoring both afterwards. Pillow checks that
    value wherever it allocates: in `Image.open` (also for the image an ICO / ICNS embeds, decoded there),
    for GIF frames larger than the screen, for TIFF tiles. Holds a lock for the block: decodes are one at a
    time (the demo's threads), which also keeps two large images from being decoded at once.
    """
    from PIL import Image

    limit = MAX_IMAGE_PIXELS if max_pixels is None else int(max_pixels)
    with _BUDGET_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = limit
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def check_image_file(path: StrPath, max_pixels: int | None = None) -> None:
    """ValueError naming `path` when decoding the image in it would make more than `max_pixels` pixels (default
    MAX_IMAGE_PIXELS), every frame of an animated GIF counted (TensorFlow's decode_image decodes them all).

    Reads the header with Pillow under `pixel_budget`: nothing is decoded. A file Pillow cannot parse passes
    (the decoder that reads it next says what is wrong with it); a file Pillow refuses as too large does not.
    """
    from PIL import Image

    limit = MAX_IMAGE_PIXELS if max_pixels is None else int(max_pixels)
    with pixel_budget(limit):
        try:
            with Image.open(path) as img:
                w, h = img.size
                frames = int(getattr(img, "n_frames", 1)) if img.format == "GIF" else 1
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            found = re.search(r"\((\d+) pixels\)", str(e))
            held = f"an image of {int(found.group(1)):,} pixels" if found else "an image larger than the limit"
            raise ValueError(f"image {path} holds {held}, more than the limit of {limit:,} pixels "
                             "(keras_resnet.io.MAX_IMAGE_PIXELS); not decoded") from None
        except Exception:  # noqa: BLE001  not an image Pillow reads: left to the decoder's own error
            return
    if w * h * frames > limit:
        what = f"{frames:,} frames of {w}x{h}" if frames > 1 else f"{w}x{h}"
        raise ValueError(f"image {path} is {what} = {w * h * frames:,} pixels, more than the limit of {limit:,} "
                         "(keras_resnet.io.MAX_IMAGE_PIXELS); not decoded")


def _temporary(path: pathlib.Path) -> pathlib.Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write(path: StrPath, data: str | bytes) -> None:
    """Write `data` (str or bytes) to `path` atomically."""
    path = pathlib.Path(path)
    tmp = _temporary(path)
    tmp.write_bytes(data if isinstance(data, bytes) else data.encode())
    os.replace(tmp, path)


@contextlib.contextmanager
def atomic_path(path: StrPath) -> Iterator[pathlib.Path]:
    """A temporary sibling of `path` to write (keeping the suffix: `model.save` needs `.keras`), renamed onto
    `path` when the block ends without an error and removed otherwise (a file, or a folder not there yet).

        with atomic_path(run_dir / "model.keras") as tmp:
            model.save(tmp)
    """
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def write_json(path: StrPath, obj: Any) -> None:
    """Write `obj` as indented JSON atomically (numpy arrays, tuples, sets and paths as lists / strings)."""
    atomic_write(path, json.dumps(obj, indent=2, default=jsonable) + "\n")


def jsonable(o: Any) -> Any:
    """`json.dumps` default: numpy values and arrays, tuples, sets and paths as JSON values."""
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, (set, tuple)):
        return list(o)
    if isinstance(o, pathlib.Path):
        return str(o)
    return str(o)


def new_figure(**figure_kwargs: Any) -> Figure:
    """A matplotlib `Figure` that pyplot does not track: no backend switch, no global figure list, nothing
    to close. Draw with `fig.subplots(...)`; write it with `save_figure`."""
    from matplotlib.figure import Figure

    return Figure(**figure_kwargs)


def save_figure(fig: Figure, path: StrPath, **savefig_kwargs: Any) -> None:
    """Save a matplotlib figure as PNG atomically (Agg, whatever pyplot's backend is)."""
    path = pathlib.Path(path)
    tmp = _temporary(path)
    try:
        fig.savefig(tmp, format="png", **savefig_kwargs)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
