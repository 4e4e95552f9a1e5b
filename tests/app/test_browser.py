"""The demo in a real browser: headless Chromium (Debian's `chromium`) driven by Python playwright.

Uploads an image, reads the top label the page shows, checks it against a direct prediction, and
saves a screenshot to build/screenshots/demo.png (or $DEMO_SCREENSHOT). Skips cleanly when
chromium or playwright is absent.
"""

import os
import pathlib

import numpy as np
import pytest
from PIL import Image

from _browser import NEEDS_CHROMIUM, ROOT, browser_page, served_demo

SCREENSHOT = pathlib.Path(os.environ.get("DEMO_SCREENSHOT", ROOT / "build" / "screenshots" / "demo.png"))

pytestmark = [pytest.mark.timeout(300), NEEDS_CHROMIUM]
sync_api = pytest.importorskip("playwright.sync_api", reason="Python playwright not installed")
page_url = pytest.fixture(scope="module")(served_demo)


def _upload_image(ga, entry, tmp_path):
    """A shipped example for the model when there is one, else a random photo-sized image."""
    examples = ga.examples_for(entry)
    if examples:
        return examples[0]
    rng = np.random.default_rng(7)
    path = tmp_path / "upload.png"
    Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(path)
    return path


def test_upload_shows_top_label_and_screenshot(page_url, tmp_path):
    ga, demo, url = page_url
    entry = demo.models[demo.default_model]  # the model the page opens with (the most accurate CIFAR-10 one)
    path = _upload_image(ga, entry, tmp_path)
    probs, *_ = ga.predict(entry, path, "Keras")
    expected = max(probs, key=probs.get)

    with browser_page(sync_api, url) as (page, errors):
        page.locator("#model input").wait_for(timeout=60_000)
        opened = page.locator("#model input").input_value()
        page.locator("#image input[type=file]").set_input_files(str(path))
        top = page.locator("#label [data-testid=label-output-value]")
        top.wait_for(timeout=60_000)
        page.wait_for_function(
            "() => { const t = document.querySelector('#timing'); return t && t.innerText.includes('ms'); }",
            timeout=60_000)
        shown = top.inner_text().strip()
        timing = page.locator("#timing").inner_text()
        card = page.locator("#card").inner_text()
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        intro = page.locator("#intro").inner_text()
        clicked = _select_another_model_and_click_its_example(ga, demo, page, entry)
    from keras_resnet.app import provenance

    assert opened == provenance.picker_label(entry)          # the menu says what the model is
    assert all(name in intro for name in demo.models) and "built and trained from scratch" not in intro
    assert shown == expected
    assert "Inference:" in timing and "(Keras" in timing
    assert "Parameters" in card and entry.card["class_names"][0] in card
    assert not errors, errors
    assert SCREENSHOT.stat().st_size > 10_000
    if clicked:
        name, shown, expected, timing, verdict, visible = clicked
        assert shown == expected, name
        assert visible == [True, False]       # only the selected model's gallery is shown
        assert verdict in timing, (verdict, timing)


def _select_another_model_and_click_its_example(ga, demo, page, first):
    """Clear, pick a model whose examples are another dataset's in the menu, click its first example: the
    page shows that model's gallery only, classifies the image and says whether it is right.

    Returns (model, top label shown, expected, timing text, expected verdict, [its gallery visible, the first
    model's gallery visible]), or None when no listed model has examples of another dataset.
    """
    from keras_resnet.app import gallery, provenance

    here = gallery.examples_dir(first)
    others = [n for n, e in demo.models.items() if gallery.examples_dir(e) not in (None, here)]
    if not others:
        return None
    name = others[-1]
    entry = demo.models[name]
    path = ga.examples_for(entry)[0]
    probs, *_ = ga.predict(entry, path, "Keras")
    expected = max(probs, key=probs.get)
    verdict = gallery.verdict(gallery.manifest(path.parent)[path.name], expected)
    page.locator("#clear").click()
    top = page.locator("#label [data-testid=label-output-value]")
    top.wait_for(state="detached", timeout=30_000)
    page.locator("#model input").click()
    page.get_by_role("option", name=provenance.picker_label(entry), exact=True).click()
    mine = page.locator(f"#examples-{gallery.examples_dir(entry).name}")
    mine.wait_for(state="visible", timeout=30_000)
    visible = [mine.is_visible(), here is not None and page.locator(f"#examples-{here.name}").is_visible()]
    mine.locator("button.thumbnail-item").first.click()
    top.wait_for(timeout=60_000)
    page.wait_for_function(
        "(v) => (document.querySelector('#timing')?.innerText || '').includes(v)", arg=verdict, timeout=60_000)
    return name, top.inner_text().strip(), expected, page.locator("#timing").inner_text(), verdict, visible
