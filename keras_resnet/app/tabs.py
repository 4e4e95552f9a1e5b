"""The tools under the classifier: "Where it looks" (Grad-CAM), "Switch blocks off" (lesion), "Compare models".

`add_tabs(models, image, model)` is called inside ui.build_demo's Blocks, after the classifier, and reuses its
image input and model menu. The logic lives in explain.py, lesion.py and compare.py; this module is only the
page and its events. API endpoints (gradio_client), beside /predict:

    /explain(image, model, rank)               -> (overlay image, which class was explained)
    /lesion(image, model, deleted)             -> (intact top-5, top-5 with blocks switched off, summary)
    /lesion_random(image, model, k, seed)      -> (the same three, the blocks drawn)
    /compare(image, backend)                   -> table: one row per listed model

The open tab follows the image and the model menu (it recomputes when they change); the others wait
until they are opened.

Each tab is built by one function that returns its components by name (ExplainTab, LesionTab, CompareTab);
the handlers are module-level functions, given the models (and the heat map's cache folder) with
functools.partial; the page's handlers return {component: value}, so every output is named.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr

from . import compare as comparing
from . import explain as explaining
from . import lesion as lesioning
from .._compat import gradio_cache_dir
from .classify import ModelLoadError, predict
from .folders import BACKENDS, ModelEntry

MAX_STAGES = 4          # CIFAR nets have 3 stages (conv2-conv4), ImageNet nets 4 (conv2-conv5)
RANKS = [("1 (predicted)", 1), ("2", 2), ("3", 3), ("4", 4), ("5", 5)]
PRIVATE: dict[str, Any] = dict(api_visibility="private")   # the page's own events: not API endpoints

Models = Mapping[str, ModelEntry]
Updates = dict[Any, Any]   # {component: new value or gr.update(...)}: the outputs left out keep theirs (gr.skip)

EXPLAIN_INTRO = """\
**Where the network looks** — Grad-CAM (Selvaraju et al., ICCV 2017): the gradient of the chosen class's score
with respect to the last stage's feature maps weights those maps; their weighted sum (negative parts cut) is the
heat map, red where the image most raises that class. Always computed with the folder's `model.keras`: TFLite
has no gradients, so the backend switch above does not apply here."""
LESION_INTRO = """\
**Switch blocks off** — the lesion study of Veit, Wilber and Belongie (NIPS 2016): untick a residual block to
delete it at test time (its residual branch removed, its shortcut kept; ↓ marks the downsampling blocks, where
the shortcut also halves the size and doubles the channels). A residual network is an ensemble of paths, so most
single deletions barely change a trained model; a plain net has a single path."""
COMPARE_INTRO = """\
**Compare models** — the same image through every model in the menu: top-1 class, its probability, and the
latency of that one call on a warm model (loading and tracing are not counted)."""


def user_error(message: str, title: str = "Error") -> gr.Error:
    """A gr.Error for what the user gave (no image, an unreadable file, a bad value): shown on the page, and no
    traceback in the server's log (Gradio's print_exception=False)."""
    return gr.Error(message, title=title, print_exception=False)


@contextlib.contextmanager
def readable(title: str) -> Iterator[None]:
    """The app's errors as gr.Error with a title (a message, not a stack trace); only a model that does not load
    (the server's problem, not the user's) is also logged."""
    try:
        yield
    except ModelLoadError as e:
        raise gr.Error(str(e), title="Model error") from None
    except (ValueError, FileNotFoundError) as e:
        raise user_error(str(e), title=title) from None


def _shown(call: Callable[..., Any], *args: Any) -> tuple[Any, str | None]:
    """Run an API function for the page itself: an error becomes the tab's message instead of a pop-up."""
    try:
        return call(*args), None
    except gr.Error as e:
        return None, f"⚠ {e.message}"


def bind(fn: Callable[..., Any], *context: Any) -> functools.partial[Any]:
    """`fn` with its first arguments bound (functools.partial), keeping fn's name and docstring: Gradio names an
    event and describes an API endpoint after them, and reads the parameters left (the API's) from the partial."""
    bound = functools.partial(fn, *context)
    bound.__name__ = fn.__name__      # type: ignore[attr-defined]
    bound.__doc__ = fn.__doc__
    return bound


# --------------------------------------------------------------------------- API functions (also used by the page)


def entry_for(models: Models, image: Any, name: str) -> ModelEntry:
    """The model folder named `name`, once there is an image; a user error otherwise."""
    if image is None:
        raise user_error("Upload, paste or capture an image first.", title="No image")
    if name not in models:
        raise user_error(f"Unknown model {name!r}; choose one of {', '.join(models)}.", title="Unknown model")
    return models[name]


def explain(models: Models, cache_dir: str, image: Any, model: str, rank: Any = 1) -> tuple[str, str]:
    """/explain: Grad-CAM of the image for the class ranked `rank` (1 = predicted): the overlay (PNG) and which
    class was explained."""
    entry = entry_for(models, image, model)
    with readable("Cannot explain this image"):
        r = explaining.explain(entry, image, rank)
    return explaining.png_file(r["overlay"], cache_dir, "gradcam"), explaining.describe(entry, r)


def lesion(models: Models, image: Any, model: str, deleted: Any = "") -> tuple[dict, dict, str]:
    """/lesion: the intact top-5, the top-5 with the `deleted` blocks (names, comma separated) switched off, and
    a summary."""
    entry = entry_for(models, image, model)
    with readable("Cannot switch these blocks off"):
        r = lesioning.run(entry, image, deleted)
    return r["intact"], r["lesioned"], lesioning.describe(entry, r)


def lesion_random(models: Models, image: Any, model: str, k: Any = 3, seed: Any = 0) -> tuple[dict, dict, str, str]:
    """/lesion_random: as /lesion with `k` blocks drawn at random (numpy, seeded by `seed`), and the blocks drawn."""
    entry = entry_for(models, image, model)
    with readable("Cannot switch these blocks off"):
        chosen = lesioning.lesion_for(entry)[0].random(k, seed)
        r = lesioning.run(entry, image, chosen)
    return r["intact"], r["lesioned"], lesioning.describe(entry, r), ", ".join(chosen)


def compare(models: Models, image: Any, backend: str = "Keras") -> list[list]:
    """/compare: the image through every listed model on `backend` (Keras where a folder has no TFLite file): a row
    each (compare.HEADERS)."""
    if image is None:
        raise user_error("Upload, paste or capture an image first.", title="No image")
    with readable("Cannot compare on this image"):
        return comparing.compare(models, image, backend)


# --------------------------------------------------------------------------- the tabs: layout


@dataclass(frozen=True)
class ExplainTab:
    """ "Where it looks": the class rank to explain, the button, which class was explained, the heat map."""

    tab: gr.Tab
    rank: gr.Radio
    run: gr.Button
    explained: gr.Markdown
    heat: gr.Image


@dataclass(frozen=True)
class LesionTab:
    """ "Switch blocks off": a toggle group per stage slot, the k-random controls, the blocks switched off (as
    text) and the two top-5s with a summary. `built_for`: the model the toggles were built for."""

    tab: gr.Tab
    groups: list[gr.CheckboxGroup]
    k: gr.Number
    seed: gr.Number
    random: gr.Button
    all_on: gr.Button
    deleted: gr.Textbox
    intact: gr.Label
    lesioned: gr.Label
    summary: gr.Markdown
    built_for: gr.State

    @property
    def results(self) -> list[gr.Label | gr.Markdown]:
        return [self.intact, self.lesioned, self.summary]


@dataclass(frozen=True)
class CompareTab:
    """ "Compare models": the backend, the button, the table and where an error is shown."""

    tab: gr.Tab
    backend: gr.Radio
    run: gr.Button
    table: gr.Dataframe
    error: gr.Markdown


@dataclass(frozen=True)
class Tools:
    """The three tabs, and which one is open (a gr.State holding "explain", "lesion" or "compare")."""

    active: gr.State
    explain: ExplainTab
    lesion: LesionTab
    compare: CompareTab


def explain_tab() -> ExplainTab:
    with gr.Tab("Where it looks", id="explain", elem_id="tab-explain") as tab:
        gr.Markdown(EXPLAIN_INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2):
                rank = gr.Radio(RANKS, value=1, label="Explain the class ranked", elem_id="explain-rank")
                run = gr.Button("Explain", variant="primary", elem_id="explain-run")
                explained = gr.Markdown(label="explained", elem_id="explain-text")
            with gr.Column(scale=3):
                heat = gr.Image(label="Grad-CAM heat map",
                                interactive=False, height=320, format="png", buttons=["download"],
                                elem_id="explain-image")
    return ExplainTab(tab, rank, run, explained, heat)


def lesion_tab(built_for: gr.State) -> LesionTab:
    with gr.Tab("Switch blocks off", id="lesion", elem_id="tab-lesion") as tab:
        gr.Markdown(LESION_INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                groups = [gr.CheckboxGroup(label=f"stage {i + 2}", visible=False, elem_id=f"lesion-stage-{i}",
                                           elem_classes=["lesion-stage"]) for i in range(MAX_STAGES)]
                with gr.Row(equal_height=False):
                    k = gr.Number(3, precision=0, minimum=0, label="k blocks", min_width=90, scale=1,
                                  elem_id="lesion-k")
                    seed = gr.Number(0, precision=0, label="seed", min_width=90, scale=1, elem_id="lesion-seed")
                    with gr.Column(scale=2, min_width=160):
                        random = gr.Button("Delete k random blocks", size="sm", elem_id="lesion-random")
                        all_on = gr.Button("All blocks on", size="sm", elem_id="lesion-reset")
                deleted = gr.Textbox(label="Switched off", placeholder="none (type block names, e.g. conv3_block2, "
                                     "and press Enter)", elem_id="lesion-deleted", submit_btn="Apply")
            with gr.Column(scale=4):
                with gr.Row():
                    intact = gr.Label(num_top_classes=5, label="Intact: top-5", elem_id="lesion-intact")
                    lesioned = gr.Label(num_top_classes=5, label="Switched off: top-5", elem_id="lesion-lesioned")
                summary = gr.Markdown(label="summary", elem_id="lesion-summary")
    return LesionTab(tab, groups, k, seed, random, all_on, deleted, intact, lesioned, summary, built_for)


def compare_tab() -> CompareTab:
    with gr.Tab("Compare models", id="compare", elem_id="tab-compare") as tab:
        gr.Markdown(COMPARE_INTRO)
        with gr.Row():
            backend = gr.Radio(list(BACKENDS), value="Keras", label="Backend (Keras where a folder has no "
                               "TFLite file)", scale=3)
            run = gr.Button("Compare all models", variant="primary", scale=1, elem_id="compare-run")
        table = gr.Dataframe(headers=comparing.HEADERS, interactive=False, wrap=True, elem_id="compare-table",
                             label="models",
                             datatype=["str", "str", "str", "number", "number", "str", "str"])
        error = gr.Markdown()
    return CompareTab(tab, backend, run, table, error)


# --------------------------------------------------------------------------- the page's handlers


def rank_choices(models: Models, image: Any, name: str) -> dict:
    """The rank radio labelled with the model's top-5 for this image, reset to the predicted class."""
    try:
        probs, *_ = predict(models[name], image, "Keras")
    except Exception:  # noqa: BLE001  (the explain call right after shows the reason)
        return gr.update(choices=RANKS, value=1)
    top = sorted(probs, key=probs.get, reverse=True)[:5]
    pct = lambda p: f"{p:.0%}" if p >= 0.005 else "<1%"   # noqa: E731
    return gr.update(choices=[(f"{i + 1}. {c} ({pct(probs[c])})", i + 1) for i, c in enumerate(top)], value=1)


def explain_page(models: Models, cache_dir: str, image: Any, name: str, rank: Any) -> tuple[Any, Any]:
    """/explain for the page: (overlay, text), or (None, the error)."""
    out, error = _shown(explain, models, cache_dir, image, name, rank)
    return out if out else (None, error)


def lesion_page(models: Models, image: Any, name: str, deleted: Any) -> tuple[Any, Any, Any]:
    """/lesion for the page: (intact, lesioned, summary), or (None, None, a hint or the error)."""
    if image is None:
        return None, None, "Give an image above to see what switching blocks off does."
    out, error = _shown(lesion, models, image, name, deleted)
    return out if out else (None, None, error)


def compare_page(models: Models, image: Any, backend: str) -> tuple[Any, str | None]:
    """/compare for the page: (table, ""), or (None, the error)."""
    if image is None:
        return None, ""
    out, error = _shown(compare, models, image, backend)
    return (out, "") if out is not None else (None, error)


def _stages(les: lesioning.Lesion) -> list[str]:
    return list(les.stages)[:MAX_STAGES]


def toggles(models: Models, t: LesionTab, name: str) -> tuple[Updates, str | None]:
    """The stage groups for model `name` (its blocks as toggles, all on; the unused slots hidden), and an error
    message or None."""
    hidden = {g: gr.update(visible=False, choices=[], value=[]) for g in t.groups}   # Gradio pops "value": one each
    try:
        with readable("Cannot switch blocks off in this model"):
            les = lesioning.lesion_for(models[name])[0]
    except gr.Error as e:
        return hidden, f"⚠ {e.message}"
    updates = hidden
    for group, stage in zip(t.groups, _stages(les)):
        names = [b.name for b in les.stages[stage]]
        updates[group] = gr.update(choices=[(les.label(n), n) for n in names], value=names, visible=True,
                                   label=les.stage_label(stage))
    return updates, None


def ticked_to_deleted(models: Models, name: str, *ticked: list[str] | None) -> Any:
    """The deleted-blocks text from the toggles: every block that can be switched off and is unticked."""
    try:
        les = lesioning.lesion_for(models[name])[0]
    except (ValueError, ModelLoadError, KeyError):   # no blocks / no model: the summary already says why
        return gr.skip()
    on = {n for group in ticked for n in (group or [])}
    return ", ".join(n for n in les.deletable if n not in on)


def deleted_to_ticked(models: Models, t: LesionTab, name: str, deleted: Any) -> Updates:
    """The toggles from the deleted-blocks text (blocks that cannot be switched off stay ticked)."""
    try:
        les = lesioning.lesion_for(models[name])[0]
    except (ValueError, ModelLoadError, KeyError):
        return gr.skip()
    off = set(lesioning.parse_blocks(deleted))
    return {group: gr.update(value=[b.name for b in les.stages[stage] if b.name not in off])
            for group, stage in zip(t.groups, _stages(les))}


def nothing_deleted() -> str:
    return ""


def opened(tab_id: str) -> str:
    return tab_id


def lesion_refresh(models: Models, t: LesionTab, image: Any, name: str, built_for: str | None,
                   deleted: Any) -> Updates:
    """The lesion tab after a new image or model: new toggles (all on) for a new model, then a rerun."""
    if built_for == name:
        return dict(zip(t.results, lesion_page(models, image, name, deleted)))
    updates, error = toggles(models, t, name)
    result = (None, None, error) if error else lesion_page(models, image, name, "")
    return {**dict(zip(t.results, result)), **updates, t.deleted: "", t.built_for: name}


def cleared(tools: Tools) -> Updates:
    """Every tab's results emptied (the image was cleared)."""
    e, les, c = tools.explain, tools.lesion, tools.compare
    return {e.heat: None, e.explained: "", e.rank: gr.update(choices=RANKS, value=1),
            les.intact: None, les.lesioned: None, les.summary: "", c.table: None, c.error: ""}


def on_change(models: Models, cache_dir: str, tools: Tools, tab: str, image: Any, name: str,
              built_for: str | None, deleted: Any, backend: str) -> Updates:
    """After a new image or model: the open tab recomputed (`tab`); a cleared image clears every tab."""
    updates = cleared(tools) if image is None else {}
    if name not in models:
        return updates or gr.skip()
    e, c = tools.explain, tools.compare
    if tab == "explain" and image is not None:
        heat, explained = explain_page(models, cache_dir, image, name, 1)
        updates.update({e.heat: heat, e.explained: explained, e.rank: rank_choices(models, image, name)})
    elif tab == "lesion":
        updates.update(lesion_refresh(models, tools.lesion, image, name, built_for, deleted))
    elif tab == "compare" and image is not None:
        updates.update(zip((c.table, c.error), compare_page(models, image, backend)))
    return updates or gr.skip()


# --------------------------------------------------------------------------- the events


def wire_explain(models: Models, cache_dir: str, t: ExplainTab, image: gr.Image, model: gr.Dropdown) -> None:
    t.run.click(bind(explain, models, cache_dir), [image, model, t.rank], [t.heat, t.explained], api_name="explain")
    t.rank.input(bind(explain_page, models, cache_dir), [image, model, t.rank], [t.heat, t.explained], **PRIVATE)


def wire_lesion(models: Models, t: LesionTab, image: gr.Image, model: gr.Dropdown) -> None:
    """The toggles and the text box of deleted names stay in step; a change to either reruns the lesion."""
    to_ticked = (bind(deleted_to_ticked, models, t), [model, t.deleted], t.groups)
    page = (bind(lesion_page, models), [image, model, t.deleted], t.results)
    t.deleted.submit(bind(lesion, models), [image, model, t.deleted], t.results, api_name="lesion").then(
        *to_ticked, **PRIVATE)
    t.random.click(bind(lesion_random, models), [image, model, t.k, t.seed], [*t.results, t.deleted],
                   api_name="lesion_random").then(*to_ticked, **PRIVATE)
    for group in t.groups:
        group.input(bind(ticked_to_deleted, models), [model, *t.groups], t.deleted, **PRIVATE).then(
            *to_ticked, **PRIVATE).then(*page, **PRIVATE)
    t.all_on.click(nothing_deleted, None, t.deleted, **PRIVATE).then(*to_ticked, **PRIVATE).then(*page, **PRIVATE)


def wire_compare(models: Models, t: CompareTab, image: gr.Image) -> None:
    t.run.click(bind(compare, models), [image, t.backend], t.table, api_name="compare")
    t.backend.input(bind(compare_page, models), [image, t.backend], [t.table, t.error], **PRIVATE)


def wire_follow(models: Models, cache_dir: str, tools: Tools, image: gr.Image, model: gr.Dropdown) -> None:
    """The open tab follows the image and the model menu, and recomputes when it is opened."""
    e, les, c = tools.explain, tools.lesion, tools.compare
    inputs = [tools.active, image, model, les.built_for, les.deleted, c.backend]
    outputs = [e.heat, e.explained, e.rank, *les.results, *les.groups, les.deleted, les.built_for, c.table, c.error]
    follow = bind(on_change, models, cache_dir, tools)
    for trigger in (image.change, model.change):
        trigger(follow, inputs, outputs, trigger_mode="always_last", **PRIVATE)
    for tab, tab_id in ((e.tab, "explain"), (les.tab, "lesion"), (c.tab, "compare")):
        tab.select(bind(opened, tab_id), None, tools.active, **PRIVATE).then(follow, inputs, outputs, **PRIVATE)


def add_tabs(models: Models, image: gr.Image, model: gr.Dropdown) -> Tools:
    """The three tools as tabs (inside the current Blocks), wired to `image` (gr.Image) and `model` (gr.Dropdown)."""
    active = gr.State("explain")          # the open tab: only it follows the image and the model menu
    built_for = gr.State(None)            # the model the block toggles were built for
    with gr.Tabs(elem_id="tools"):
        tools = Tools(active, explain_tab(), lesion_tab(built_for), compare_tab())
    cache_dir = gradio_cache_dir(tools.explain.heat)
    wire_explain(models, cache_dir, tools.explain, image, model)
    wire_lesion(models, tools.lesion, image, model)
    wire_compare(models, tools.compare, image)
    wire_follow(models, cache_dir, tools, image, model)
    return tools
