"""Writing files so that a reader never sees half of one: write a temporary sibling, then rename.

Every file this package writes (run directories, reports, tables, JSON, figures) goes through here, so a
process killed mid-write leaves the previous file intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ._typing import StrPath



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
