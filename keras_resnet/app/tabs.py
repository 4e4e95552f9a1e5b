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
"""

from __future__ import annotations

import contextlib
from typing import Any

import gradio as gr

from . import compare as comparing
from . import explain as explaining
from . import lesion as lesioning
from .._compat import gradio_cache_dir
from .classify import ModelLoadError, predict
from .folders import BACKENDS

MAX_STAGES = 4          # CIFAR nets have 3 stages (conv2-conv4), ImageNet nets 4 (conv2-conv5)
RANKS = [("1 (predicted)", 1), ("2", 2), ("3", 3), ("4", 4), ("5", 5)]

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


def user_error(message, title="Error"):
    """A gr.Error for what the user gave (no image, an unreadable file, a bad value): shown on the page, and no
    traceback in the server's log (Gradio's print_exception=False)."""
    return gr.Error(message, title=title, print_exception=False)


@contextlib.contextmanager
def _readable(title):
    """The app's errors as gr.Error with a title (a message, not a stack trace); only a model that does not load
    (the server's problem, not the user's) is also logged."""
    try:
        yield
    except ModelLoadError as e:
        raise gr.Error(str(e), title="Model error") from None
    except (ValueError, FileNotFoundError) as e:
        raise user_error(str(e), title=title) from None


def _shown(call, *args):
    """Run an API function for the page itself: an error becomes the tab's message instead of a pop-up."""
    try:
        return call(*args), None
    except gr.Error as e:
        return None, f"⚠ {e.message}"


def add_tabs(models, image, model):
    """The three tools as tabs (inside the current Blocks), wired to `image` (gr.Image) and `model` (gr.Dropdown)."""

    def entry_for(img, name):
        if img is None:
            raise user_error("Upload, paste or capture an image first.", title="No image")
        if name not in models:
            raise user_error(f"Unknown model {name!r}; choose one of {', '.join(models)}.", title="Unknown model")
        return models[name]

    # ------------------------------------------------------------------ API functions (also used by the page)

    def explain(image, model, rank=1):
        entry = entry_for(image, model)
        with _readable("Cannot explain this image"):
            r = explaining.explain(entry, image, rank)
        return explaining.png_file(r["overlay"], gradio_cache_dir(heat), "gradcam"), explaining.describe(entry, r)

    def lesion(image, model, deleted=""):
        entry = entry_for(image, model)
        with _readable("Cannot switch these blocks off"):
            r = lesioning.run(entry, image, deleted)
        return r["intact"], r["lesioned"], lesioning.describe(entry, r)

    def lesion_random(image, model, k=3, seed=0):
        entry = entry_for(image, model)
        with _readable("Cannot switch these blocks off"):
            chosen = lesioning.lesion_for(entry)[0].random(k, seed)
            r = lesioning.run(entry, image, chosen)
        return r["intact"], r["lesioned"], lesioning.describe(entry, r), ", ".join(chosen)

    def compare(image, backend="Keras"):
        if image is None:
            raise user_error("Upload, paste or capture an image first.", title="No image")
        with _readable("Cannot compare on this image"):
            return comparing.compare(models, image, backend)

    # ------------------------------------------------------------------ page helpers

    def rank_choices(img, name):
        """The rank radio labelled with the model's top-5 for this image, reset to the predicted class."""
        try:
            probs, *_ = predict(models[name], img, "Keras")
        except Exception:  # noqa: BLE001  (the explain call right after shows the reason)
            return gr.update(choices=RANKS, value=1)
        top = sorted(probs, key=probs.get, reverse=True)[:5]
        pct = lambda p: f"{p:.0%}" if p >= 0.005 else "<1%"   # noqa: E731
        return gr.update(choices=[(f"{i + 1}. {c} ({pct(probs[c])})", i + 1) for i, c in enumerate(top)], value=1)

    def explain_page(img, name, rank):
        out, error = _shown(explain, img, name, rank)
        return out if out else (None, error)

    def lesion_page(img, name, deleted):
        if img is None:
            return None, None, "Give an image above to see what switching blocks off does."
        out, error = _shown(lesion, img, name, deleted)
        return out if out else (None, None, error)

    def toggles(name):
        """One update per stage slot (the blocks of `name` as toggles, all on), and an error message or None."""
        try:
            with _readable("Cannot switch blocks off in this model"):
                les = lesioning.lesion_for(models[name])[0]
        except gr.Error as e:
            return [gr.update(visible=False, choices=[], value=[]) for _ in range(MAX_STAGES)], f"⚠ {e.message}"
        stages = list(les.stages)[:MAX_STAGES]
        updates = []
        for i in range(MAX_STAGES):
            if i < len(stages):
                names = [b.name for b in les.stages[stages[i]]]
                updates.append(gr.update(choices=[(les.label(n), n) for n in names], value=names, visible=True,
                                         label=les.stage_label(stages[i])))
            else:
                updates.append(gr.update(visible=False, choices=[], value=[]))
        return updates, None

    def ticked_to_deleted(name, *ticked):
        """The deleted-blocks text from the toggles: every block that can be switched off and is unticked."""
        try:
            les = lesioning.lesion_for(models[name])[0]
        except (ValueError, ModelLoadError, KeyError):   # no blocks / no model: the summary already says why
            return gr.skip()
        on = {n for group in ticked for n in (group or [])}
        return ", ".join(n for n in les.deletable if n not in on)

    def deleted_to_ticked(name, deleted):
        """The toggles from the deleted-blocks text (blocks that cannot be switched off stay ticked)."""
        try:
            les = lesioning.lesion_for(models[name])[0]
        except (ValueError, ModelLoadError, KeyError):
            return [gr.skip()] * MAX_STAGES
        off = set(lesioning.parse_blocks(deleted))
        stages = list(les.stages)[:MAX_STAGES]
        return [gr.update(value=[b.name for b in les.stages[s] if b.name not in off]) if i < len(stages)
                else gr.skip() for i, s in enumerate(stages + [None] * (MAX_STAGES - len(stages)))]

    def compare_page(img, use_backend):
        if img is None:
            return None, ""
        out, error = _shown(compare, img, use_backend)
        return (out, "") if out is not None else (None, error)

    # ------------------------------------------------------------------ layout

    active = gr.State("explain")          # the open tab: only it follows the image and the model menu
    toggles_for = gr.State(None)          # the model the block toggles were built for
    with gr.Tabs(elem_id="tools"):
        with gr.Tab("Where it looks", id="explain", elem_id="tab-explain") as explain_tab:
            gr.Markdown(EXPLAIN_INTRO)
            with gr.Row(equal_height=False):
                with gr.Column(scale=2):
                    rank = gr.Radio(RANKS, value=1, label="Explain the class ranked", elem_id="explain-rank")
                    explain_button = gr.Button("Explain", variant="primary", elem_id="explain-run")
                    explained = gr.Markdown(label="explained", elem_id="explain-text")
                with gr.Column(scale=3):
                    heat = gr.Image(label="Grad-CAM heat map",
                                    interactive=False, height=320, format="png", buttons=["download"],
                                    elem_id="explain-image")
        with gr.Tab("Switch blocks off", id="lesion", elem_id="tab-lesion") as lesion_tab:
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
                            random_button = gr.Button("Delete k random blocks", size="sm", elem_id="lesion-random")
                            all_on = gr.Button("All blocks on", size="sm", elem_id="lesion-reset")
                    deleted = gr.Textbox(label="Switched off", placeholder="none (type block names, e.g. conv3_block2, "
                                         "and press Enter)", elem_id="lesion-deleted", submit_btn="Apply")
                with gr.Column(scale=4):
                    with gr.Row():
                        intact = gr.Label(num_top_classes=5, label="Intact: top-5", elem_id="lesion-intact")
                        lesioned = gr.Label(num_top_classes=5, label="Switched off: top-5",
                                            elem_id="lesion-lesioned")
                    summary = gr.Markdown(label="summary", elem_id="lesion-summary")
        with gr.Tab("Compare models", id="compare", elem_id="tab-compare") as compare_tab:
            gr.Markdown(COMPARE_INTRO)
            with gr.Row():
                cmp_backend = gr.Radio(list(BACKENDS), value="Keras", label="Backend (Keras where a folder has no "
                                       "TFLite file)", scale=3)
                cmp_button = gr.Button("Compare all models", variant="primary", scale=1, elem_id="compare-run")
            table = gr.Dataframe(headers=comparing.HEADERS, interactive=False, wrap=True, elem_id="compare-table",
                                 label="models",
                                 datatype=["str", "str", "str", "number", "number", "str", "str"])
            cmp_error = gr.Markdown()

    # ------------------------------------------------------------------ events

    private: dict[str, Any] = dict(api_visibility="private")
    lesion_outputs = [intact, lesioned, summary]

    # explain
    explain_button.click(explain, [image, model, rank], [heat, explained], api_name="explain")
    rank.input(explain_page, [image, model, rank], [heat, explained], **private)

    # lesion: the toggles and the text box of deleted names stay in step
    deleted.submit(lesion, [image, model, deleted], lesion_outputs, api_name="lesion").then(
        deleted_to_ticked, [model, deleted], groups, **private)
    random_button.click(lesion_random, [image, model, k, seed], [*lesion_outputs, deleted],
                        api_name="lesion_random").then(deleted_to_ticked, [model, deleted], groups, **private)
    for group in groups:
        group.input(ticked_to_deleted, [model, *groups], deleted, **private).then(
            deleted_to_ticked, [model, deleted], groups, **private).then(
            lesion_page, [image, model, deleted], lesion_outputs, **private)
    all_on.click(lambda: "", None, deleted, **private).then(
        deleted_to_ticked, [model, deleted], groups, **private).then(
        lesion_page, [image, model, deleted], lesion_outputs, **private)

    # compare
    cmp_button.click(compare, [image, cmp_backend], table, api_name="compare")
    cmp_backend.input(compare_page, [image, cmp_backend], [table, cmp_error], **private)

    # the open tab follows the image and the model menu; a cleared image clears every tab
    def lesion_refresh(img, name, built_for, deleted_now):
        """[intact, lesioned, summary, *groups, deleted, toggles_for]: new toggles for a new model, then a rerun."""
        if built_for == name:
            return [*lesion_page(img, name, deleted_now), *[gr.skip()] * (MAX_STAGES + 2)]
        updates, error = toggles(name)
        result = (None, None, error) if error else lesion_page(img, name, "")
        return [*result, *updates, "", name]

    def on_change(tab, img, name, built_for, deleted_now, use_backend):
        keep = gr.skip()
        explain_out, compare_out = [keep] * 3, [keep] * 2
        lesion_out = [keep] * (3 + MAX_STAGES + 2)
        if img is None:
            explain_out, compare_out = [None, "", gr.update(choices=RANKS, value=1)], [None, ""]
            lesion_out[:3] = [None, None, ""]
        if name not in models:
            return [*explain_out, *lesion_out, *compare_out]
        if tab == "explain" and img is not None:
            explain_out = [*explain_page(img, name, 1), rank_choices(img, name)]
        elif tab == "lesion":
            lesion_out = lesion_refresh(img, name, built_for, deleted_now)
        elif tab == "compare" and img is not None:
            compare_out = list(compare_page(img, use_backend))
        return [*explain_out, *lesion_out, *compare_out]

    change_inputs = [active, image, model, toggles_for, deleted, cmp_backend]
    change_outputs = [heat, explained, rank, intact, lesioned, summary, *groups, deleted, toggles_for, table, cmp_error]
    for trigger in (image.change, model.change):
        trigger(on_change, change_inputs, change_outputs, trigger_mode="always_last", **private)
    for tab, tab_id in ((explain_tab, "explain"), (lesion_tab, "lesion"), (compare_tab, "compare")):
        tab.select(lambda t=tab_id: t, None, active, **private).then(
            on_change, change_inputs, change_outputs, **private)
    return dict(heat=heat, explained=explained, rank=rank, groups=groups, deleted=deleted, intact=intact,
                lesioned=lesioned, summary=summary, table=table, active=active)
