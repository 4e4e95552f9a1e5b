"""The demo under load: 200 requests from 8 concurrent gradio_client clients, mixed images, both backends.

`keras-resnet demo` runs in a subprocess on 127.0.0.1 (its own memory, its own log) over the tiny fixture
models of _demo_models.py; the driver is benchmarks/demo_load.py (the same code the benchmark runs).
Every answer must equal a direct prediction of the same image, every output image must arrive whole
(the issue's "Too little data for declared Content-Length" came from an output image rewritten while
it was served), the server must still be up, must have logged no error, and its resident memory must not
grow by more than 20 % after warm-up.
"""

import importlib.util
import pathlib

import numpy as np
import pytest
from PIL import Image

from _demo_models import fixture_models_dir

ROOT = pathlib.Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

REQUESTS, CLIENTS = 200, 8


def _driver():
    spec = importlib.util.spec_from_file_location("demo_load", ROOT / "benchmarks" / "demo_load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _images(folder, rng):
    """A small pool (repeats make identical requests run at the same time): examples, odd modes, random sizes."""
    examples = sorted((ROOT / "keras_resnet" / "app" / "examples").rglob("*.png"))[:6]
    pool = list(examples)
    for i, (size, mode) in enumerate([((20, 24), "RGB"), ((300, 200), "RGBA"), ((17, 31), "L"),
                                      ((64, 64), "P"), ((1, 1), "RGB"), ((640, 480), "RGB")]):
        arr = rng.integers(0, 256, (size[1], size[0], 4), dtype=np.uint8)
        img = Image.fromarray(arr, "RGBA").convert(mode)
        path = folder / f"random-{i}.{'jpg' if mode == 'RGB' and i == 5 else 'png'}"
        img.save(path)
        pool.append(path)
    return pool


def test_200_concurrent_requests_match_direct_predictions_and_memory_holds(tmp_path):
    load = _driver()
    root = fixture_models_dir()
    folders = {"tiny-color": root / "tiny-color", "tiny-gray": root / "tiny-gray"}
    models = {name: ("Keras", "TFLite") for name in folders}
    pool = _images(tmp_path, np.random.default_rng(11))
    images = {name: pool for name in folders}
    jobs = load.mixed_jobs(models, images, REQUESTS, seed=11)
    with load.serve([root], extra_args=["--max-file-size", "1mb"]) as (proc, url, log):
        load.warm_up(url, models, images, CLIENTS)
        rss_warm = load.rss_mb(proc.pid)
        import time

        t = time.perf_counter()
        results = load.run_load(url, jobs, CLIENTS)
        stats = load.summary(results, time.perf_counter() - t)
        rss_end = load.rss_mb(proc.pid)
        _check_upload_limit(url, tmp_path)
        up = proc.poll() is None
        errors = load.server_errors(log)
    print(f"\ndemo load: {stats['requests']} requests, {CLIENTS} clients: {stats['requests_per_s']} req/s, "
          f"p50 {stats['p50_ms']} ms, p95 {stats['p95_ms']} ms; server RSS {rss_warm:.0f} MiB after warm-up, "
          f"{rss_end:.0f} MiB at the end")
    assert stats["failed"] == 0, stats["errors"]
    assert up, "the server died under load"
    assert not errors, errors[:5]
    assert rss_end <= 1.2 * rss_warm, (rss_warm, rss_end)

    ref = load.Expected(folders)
    wrong = []
    for i, _, (label, _, seen), _ in results:
        image, model, backend = jobs[i]
        probs, names = ref.probabilities(image, model, backend)
        why = load.mismatch(label, probs, names)
        if why:
            wrong.append(f"{image.name} {model} {backend}: {why}")
        with Image.open(seen["path"] if isinstance(seen, dict) else seen) as im:   # the output arrived whole
            im.load()
    assert not wrong, wrong[:5]


def _check_upload_limit(url, tmp_path):
    """--max-file-size 1mb: a 2 MB upload is refused with a clear message, by the client and by the server."""
    import httpx
    from gradio_client import Client, handle_file

    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)).save(big)
    assert big.stat().st_size > 2 ** 21
    with pytest.raises(ValueError, match=r"exceeds the maximum file size of 1048576 bytes"):
        Client(url, verbose=False).predict(handle_file(str(big)), "tiny-color", "Keras", api_name="/predict")
    # a client that does not check (curl, a script): the server refuses the upload itself, HTTP 413
    with open(big, "rb") as f:
        r = httpx.post(url.rstrip("/") + "/gradio_api/upload", files={"files": ("big.png", f, "image/png")}, timeout=60)
    assert r.status_code == 413 and "maximum allowed size of 1048576 bytes" in r.text, (r.status_code, r.text)


def test_demo_upload_limit_defaults_to_10_mb_and_is_a_flag():
    from keras_resnet.cli import parser

    assert parser().parse_args(["demo"]).max_file_size == 10 * 2 ** 20
    assert parser().parse_args(["demo", "--max-file-size", "512kb"]).max_file_size == 512 * 1024
    assert parser().parse_args(["demo", "--max-file-size", "2048"]).max_file_size == 2048
    with pytest.raises(SystemExit):
        parser().parse_args(["demo", "--max-file-size", "ten"])
