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

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = pathlib.Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SCREENSHOT = pathlib.Path(os.environ.get("DEMO_SCREENSHOT", ROOT / "build" / "screenshots" / "demo.png"))
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--headless", "--disable-gpu"]

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="Python playwright not installed")


@pytest.fixture(scope="module")
def page_url():
    """The app over saved_models/ when it has models, else over the tiny fixture models."""
    from _demo_models import fixture_models_dir
    from keras_resnet.cli.demo import load_app

    ga = load_app()
    shipped, _ = ga.discover_models([ROOT / "saved_models"])
    demo = ga.build_demo([ROOT / "saved_models"] if shipped else [fixture_models_dir()])
    _, url, _ = ga.launch(demo, prevent_thread_lock=True, quiet=True)
    try:
        yield ga, demo, url
    finally:
        demo.close()


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

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
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
            clicked = _click_example_of_another_model(ga, demo, page, entry)
        finally:
            browser.close()
    assert opened == demo.default_model
    assert shown == expected
    assert "Inference:" in timing and "(Keras" in timing
    assert "Parameters" in card and entry.card["class_names"][0] in card
    assert not errors, errors
    assert SCREENSHOT.stat().st_size > 10_000
    if clicked:
        (name, shown, expected) = clicked
        assert shown == expected, name


def _click_example_of_another_model(ga, demo, page, first):
    """Clear, click an example thumbnail of another model: the page switches model and classifies it.

    Returns (model, top label shown, top label expected), or None when no other model has examples.
    """
    names = list(demo.models)
    others = [(i, n) for i, n in enumerate(names) if n != first.name and ga.examples_for(demo.models[n])]
    if not others:
        return None
    i, name = others[-1]
    probs, *_ = ga.predict(demo.models[name], ga.examples_for(demo.models[name])[0], "Keras")
    expected = max(probs, key=probs.get)
    page.locator("#clear").click()
    top = page.locator("#label [data-testid=label-output-value]")
    top.wait_for(state="detached", timeout=30_000)
    page.locator(f"#examples-{i} .gallery-item").first.click()
    page.wait_for_function(f"() => document.querySelector('#model input')?.value === {name!r}", timeout=30_000)
    top.wait_for(timeout=60_000)
    try:  # a classify with the previous model may land first; the one with the new model follows
        page.wait_for_function(
            f"() => document.querySelector('#label [data-testid=label-output-value]')?.innerText.trim() === {expected!r}",
            timeout=30_000)
    except sync_api.TimeoutError:
        pass
    return name, top.inner_text().strip(), expected
