"""An experiment's folder: figures (PNG), tables (CSV), and `report.md` with the command that made it.

Nothing already written is lost: an existing report is refused unless
`overwrite=True`, and every file is written to a temporary name and renamed
into place, so an interrupted experiment never leaves half a file.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import pathlib
import shlex
import sys
from typing import TYPE_CHECKING, Any

from ..io import atomic_write, save_figure
from ..io import new_figure as new_matplotlib_figure

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType


# The experiments' figures: small PNGs for docs, light grid. Applied with matplotlib.rc_context while a
# figure is drawn and saved (`styled`, ExperimentFolder.figure); matplotlib's global rcParams stay untouched.
STYLE: dict[RcKeyType, Any] = {"figure.dpi": 100, "savefig.dpi": 100, "font.size": 9, "axes.grid": True,
                               "grid.alpha": 0.3}


def styled(plot):
    """Decorator: run a plotting function under STYLE (font sizes and grids are fixed when artists are made)."""
    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(STYLE):
            return plot(*args, **kwargs)
    return wrapper


def default_command():
    """The command line that started this process, as a shell string."""
    prog = pathlib.Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return " ".join([prog if prog != "__main__.py" else "keras-resnet"] + [shlex.quote(a) for a in sys.argv[1:]])


class ExperimentFolder:
    """The output folder of one experiment.

    folder = ExperimentFolder("results/lesion", overwrite=False)
    folder.csv("single.csv", rows)               # rows: list of dicts
    folder.figure("single.png", fig)
    folder.report("Lesion study", command, ["## Single blocks", table_md, ...])
    """

    def __init__(self, out_dir, overwrite=False):
        self.dir = pathlib.Path(out_dir)
        if self.dir.exists() and not self.dir.is_dir():
            raise NotADirectoryError(f"output folder {self.dir} exists and is not a directory.")
        if (self.dir / "report.md").exists() and not overwrite:
            raise FileExistsError(
                f"{self.dir} already holds an experiment (report.md); choose another folder or pass "
                "overwrite=True (--overwrite) to replace its results (trained runs are kept)."
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        self.files = []

    def path(self, name):
        return self.dir / name

    def csv(self, name, rows, columns=None):
        """Write `rows` (dicts) to `name`; returns the path."""
        columns = columns or list(dict.fromkeys(k for r in rows for k in r))
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(row.get(k)) for k in columns})
        atomic_write(self.path(name), buf.getvalue())
        self.files.append(name)
        return self.path(name)

    def figure(self, name, fig):
        """Save a matplotlib figure as PNG (in STYLE: tick labels are made while it is drawn); returns the path."""
        import matplotlib

        with matplotlib.rc_context(STYLE):
            save_figure(fig, self.path(name), bbox_inches="tight")
        self.files.append(name)
        return self.path(name)

    def report(self, title, command, sections):
        """Write report.md: title, the command, the sections (Markdown strings) and the file list."""
        created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines = [f"# {title}", "", "Made by:", "", "```", command or default_command(), "```", "",
                 f"Created {created}.", ""]
        for section in sections:
            lines += [section.rstrip(), ""]
        figures = [f for f in self.files if f.endswith(".png")]
        for f in figures:
            lines += [f"![{f}]({f})", ""]
        lines += ["Files: " + ", ".join(f"`{f}`" for f in self.files), ""]
        atomic_write(self.path("report.md"), "\n".join(lines))
        return self.path("report.md")


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return value


def markdown_table(rows, columns, formats=None):
    """A Markdown table of `rows` (dicts) with `columns`; `formats` maps a column to a format spec."""
    formats = formats or {}

    def cell(row, c):
        v = row.get(c, "")
        if isinstance(v, float) and v != v:
            return "-"
        if isinstance(v, float) and c in formats:
            return format(v, formats[c])
        return str(_fmt(v))

    head = "| " + " | ".join(columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    return "\n".join([head, rule] + ["| " + " | ".join(cell(r, c) for c in columns) + " |" for r in rows])


def new_figure(ncols=1, nrows=1, width=5.0, height=3.6, **kw):
    """A figure (`matplotlib.figure.Figure`, not tracked by pyplot) with a grid of axes, sized per panel;
    returns (fig, axes) like `pyplot.subplots(..., squeeze=False)`."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        fig = new_matplotlib_figure(figsize=(width * ncols, height * nrows), dpi=STYLE["figure.dpi"])
        return fig, fig.subplots(nrows, ncols, squeeze=False, **kw)
