"""What the browser tests share: Debian's chromium driven by Python playwright, and the demo they open.

The flags are the ones UPSTREAM.md found to work here (as root: --no-sandbox; no background traffic).
"""

import contextlib
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = pathlib.Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--headless", "--disable-gpu"]
NEEDS_CHROMIUM = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")


def served_demo():
    """(app module, demo, url): the app over saved_models/ when it has models, else over the tiny fixture models.

    A generator for a module-scoped fixture; the app is closed after its running events finish (no worker
    left inside TensorFlow at exit).
    """
    from _demo_models import fixture_models_dir
    from keras_resnet.cli.demo import load_app

    ga = load_app()
    shipped, _ = ga.discover_models([ROOT / "saved_models"])
    demo = ga.build_demo([ROOT / "saved_models"] if shipped else [fixture_models_dir()])
    _, url, _ = ga.launch(demo, prevent_thread_lock=True, quiet=True)
    try:
        yield ga, demo, url
    finally:
        ga.close(demo)


@contextlib.contextmanager
def browser_page(sync_api, url):
    """(page, errors): a 1400x1000 page of headless chromium opened on url; errors collects the page's JS errors."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
            yield page, errors
        finally:
            browser.close()
