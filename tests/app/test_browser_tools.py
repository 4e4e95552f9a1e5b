"""The demo's tools in a real browser (headless Debian chromium + Python playwright), like test_browser.py.

Uploads an image; the open "Where it looks" tab shows the Grad-CAM overlay at the image's size; "Switch blocks
off" shows the model's blocks as toggles, and unticking one reruns the prediction with that block deleted (the
page's result is read and checked against a direct computation); "Compare models" shows one row per model.
Screenshots of the three views go to build/screenshots/{explain,lesion,compare}.png (or $DEMO_SCREENSHOT_DIR).
Skips cleanly when chromium or playwright is absent.
"""

import os
import pathlib

import numpy as np
import pytest
from PIL import Image

from _browser import NEEDS_CHROMIUM, ROOT, browser_page, served_demo

SHOTS = pathlib.Path(os.environ.get("DEMO_SCREENSHOT_DIR", ROOT / "build" / "screenshots"))

pytestmark = [pytest.mark.timeout(600), NEEDS_CHROMIUM]
sync_api = pytest.importorskip("playwright.sync_api", reason="Python playwright not installed")
app = pytest.fixture(scope="module")(served_demo)


def _wait_text(page, selector, text, timeout=60_000):
    page.wait_for_function(
        f"() => (document.querySelector({selector!r})?.innerText || '').includes({text!r})", timeout=timeout)


def test_explain_toggle_a_block_and_compare_in_the_browser(app, tmp_path):
    from keras_resnet.app import lesion as lesioning

    ga, demo, url = app
    entry = demo.models[demo.default_model]   # the model the page opens with (the most accurate CIFAR-10 one)
    examples = ga.examples_for(entry)
    path = examples[0] if examples else tmp_path / "upload.png"
    if not examples:
        Image.fromarray(np.random.default_rng(7).integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(path)
    width, height = Image.open(path).size
    SHOTS.mkdir(parents=True, exist_ok=True)

    with browser_page(sync_api, url) as (page, errors):
        page.locator("#image input[type=file]").set_input_files(str(path))

        # Where it looks: the open tab follows the upload
        _wait_text(page, "#explain-text", "Explained:")
        overlay = page.locator("#explain-image img")
        overlay.wait_for(timeout=60_000)
        page.wait_for_function("() => document.querySelector('#explain-image img')?.naturalWidth > 0")
        natural = overlay.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        explained = page.locator("#explain-text").inner_text()
        rank_labels = page.locator("#explain-rank label").all_inner_texts()
        page.locator("#tools").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "explain.png"), full_page=True)

        # Switch blocks off: toggles per stage, untick the first block of the second stage (downsampling)
        page.locator("#tools button[role=tab]", has_text="Switch blocks off").click()
        _wait_text(page, "#lesion-summary", "the network is intact")
        stages = [page.locator(f"#lesion-stage-{i}").inner_text() for i in range(3)]
        intact_top = page.locator("#lesion-lesioned [data-testid=label-output-value]").inner_text().strip()
        page.locator("#lesion-stage-1 label").first.click()
        _wait_text(page, "#lesion-summary", "Switched off 1 of")
        summary = page.locator("#lesion-summary").inner_text()
        deleted = page.locator("#lesion-deleted textarea, #lesion-deleted input").first.input_value()
        lesioned_top = page.locator("#lesion-lesioned [data-testid=label-output-value]").inner_text().strip()
        page.screenshot(path=str(SHOTS / "lesion.png"), full_page=True)

        # Compare models: one row per model
        page.locator("#tools button[role=tab]", has_text="Compare models").click()
        last = list(demo.models)[-1]
        _wait_text(page, "#compare-table", last)
        table = page.locator("#compare-table").inner_text()
        page.screenshot(path=str(SHOTS / "compare.png"), full_page=True)

    probs, *_ = ga.predict(entry, path, "Keras")
    predicted = max(probs, key=probs.get)
    assert natural == [width, height]
    assert f"Explained: {predicted} (top-1," in explained   # (a "processing" line may precede it while it reruns)
    assert rank_labels[0].startswith(f"1. {predicted}")
    first_block_stage3 = lesioning.lesion_for(entry)[0].stages["conv3"][0].name
    assert any("conv2" in s for s in stages) and "↓" in stages[1]
    assert deleted == first_block_stage3
    assert "Switched off 1 of" in summary and first_block_stage3 in summary
    assert intact_top == predicted
    r = lesioning.run(entry, path, [first_block_stage3])
    assert lesioned_top == max(r["lesioned"], key=r["lesioned"].get)
    assert all(name in table for name in demo.models)
    assert not errors, errors
    for name in ("explain", "lesion", "compare"):
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000
