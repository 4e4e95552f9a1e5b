"""Screenshots of the demo's first screen (issue 23): a converted model and a model trained here.

    python docs/figures/demo/screenshots.py      (headless Debian chromium + Python playwright; saved_models/)

demo-converted.png: the page as it opens (resnet44-cifar10, converted from akamaster's checkpoint), after
clicking its first example test image. demo-trained-here.png: resnet20-cifar10-subset (trained here) picked
in the menu, then its first example clicked. Viewport 1400 x 1000: what a visitor sees first.
"""

import pathlib
import sys

from playwright.sync_api import sync_playwright

ROOT = pathlib.Path(__file__).resolve().parents[3]
OUT = pathlib.Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def shoot(page, file):
    page.wait_for_function("() => (document.querySelector('#timing')?.innerText || '').includes('true:')",
                           timeout=60_000)
    page.wait_for_timeout(2500)     # let the page settle (a pending output is drawn dimmed)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(OUT / file))


def main(trained_here="resnet20-cifar10-subset"):
    from keras_resnet.app import build_demo, close, launch, provenance

    demo = build_demo([ROOT / "saved_models"])
    _, url, _ = launch(demo, prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url, wait_until="domcontentloaded", timeout=60_000)
                page.locator("#model input").wait_for(timeout=60_000)
                page.locator(".examples:visible button.thumbnail-item").first.click()
                shoot(page, "demo-converted.png")
                page.locator("#clear").click()
                page.locator("#model input").click()
                label = provenance.picker_label(demo.models[trained_here])
                page.get_by_role("option", name=label, exact=True).click()
                page.wait_for_function(f"() => document.querySelector('#model input')?.value === {label!r}")
                page.locator(".examples:visible button.thumbnail-item").first.click()
                shoot(page, "demo-trained-here.png")
            finally:
                browser.close()
    finally:
        close(demo)
    print("wrote", OUT / "demo-converted.png", OUT / "demo-trained-here.png")


if __name__ == "__main__":
    main(*sys.argv[1:])
