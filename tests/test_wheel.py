"""The built wheel works outside the checkout: `pip install --no-deps --target DIR` of it (no network) imports the
package, the app and the CLI from DIR, carries the package data, and `keras-resnet demo` started there (no
saved_models/) serves the packaged presets and classifies an example image through gradio_client.

The wheel is built with the environment's setuptools (`pip wheel --no-deps --no-build-isolation --no-index`, the
`dev` extra has them) from a copy of the sources (pyproject.toml, README.md, LICENSE, keras_resnet/) in a temporary
folder: an in-tree build would write build/ and *.egg-info into the checkout, and a stale build/lib would end
up in the wheel. Every subprocess runs with cwd outside the checkout and PYTHONPATH=DIR, and checks that the
modules come from DIR (not from the editable install of the checkout).
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

from conftest import free_ports

ROOT = pathlib.Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

DATA = ["presets/*.weights.h5", "presets/presets.json", "presets/LICENSE-*", "presets/README.md",
        "app/examples/README.md", "app/examples/*/*.png", "app/examples/*/*.jpg", "app/examples/*/examples.json", "py.typed"]


def _pip(*args, cwd):
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    r = subprocess.run([sys.executable, "-m", "pip", *args], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=180)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(DIR the wheel was installed into with --target, a working directory outside the checkout, env)."""
    base = tmp_path_factory.mktemp("wheel")
    src, dist, target, work = base / "src", base / "dist", base / "site", base / "work"
    src.mkdir(), work.mkdir()
    for file in [ROOT / "pyproject.toml", ROOT / "README.md", *ROOT.glob("LICENSE*")]:
        shutil.copy(file, src / file.name)
    shutil.copytree(ROOT / "keras_resnet", src / "keras_resnet", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist), str(src), cwd=base)
    wheels = list(dist.glob("keras_resnet_paper-*.whl"))
    assert len(wheels) == 1, wheels
    _pip("install", "--no-deps", "--no-index", "--target", str(target), str(wheels[0]), cwd=base)
    env = dict(os.environ, PYTHONPATH=str(target), GRADIO_ANALYTICS_ENABLED="False", PYTHONDONTWRITEBYTECODE="1",
               PYTHONUNBUFFERED="1")   # the demo log is read while it runs: no block buffering
    return target, work, env


def test_wheel_installs_the_package_its_data_and_the_cli(installed):
    target, work, env = installed
    code = ("import json, keras_resnet, keras_resnet.app, keras_resnet.cli; "
            "print(json.dumps({m.__name__: m.__file__ for m in (keras_resnet, keras_resnet.app, keras_resnet.cli)}))")
    r = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    files = json.loads(r.stdout.strip().splitlines()[-1])
    for module, file in files.items():
        assert pathlib.Path(file).resolve().is_relative_to(target.resolve()), (module, file)
    for pattern in DATA:   # every data file of the checkout's package is in the installed one
        wanted = sorted(p.relative_to(ROOT / "keras_resnet") for p in (ROOT / "keras_resnet").glob(pattern))
        got = sorted(p.relative_to(target / "keras_resnet") for p in (target / "keras_resnet").glob(pattern))
        assert got == wanted, pattern
    assert len(list((target / "keras_resnet" / "presets").glob("*.weights.h5"))) == 4
    assert not (target / "saved_models").exists() and not (target / "tests").exists()
    licences = {p.name for p in target.glob("keras_resnet_paper-*.dist-info/licenses/**/*") if p.is_file()}
    assert {p.name for p in ROOT.glob("LICENSE*")} | {"LICENSE-akamaster"} <= licences, licences

    for command in ([sys.executable, "-m", "keras_resnet.cli", "--help"],
                    [str(target / "bin" / "keras-resnet"), "demo", "--help"]):
        r = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (command, r.stderr[-3000:])
        assert "usage: keras-resnet" in r.stdout and "demo" in r.stdout, r.stdout


def test_demo_from_the_wheel_serves_the_presets(installed):
    import httpx
    from gradio_client import Client, handle_file

    target, _, env = installed
    port, url = free_ports()[0], None
    log = target.parent / "demo.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(target / "bin" / "keras-resnet"), "demo", "--port", str(port)], cwd=target,
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while url is None and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200:
                    url = f"http://127.0.0.1:{port}/"
            except httpx.HTTPError:
                time.sleep(0.5)
        assert url, "the demo did not answer on / within 180 s:\n" + log.read_text()[-3000:]
        printed = log.read_text()
        assert "directory does not exist" in printed and "listing the presets packaged" in printed, printed
        assert "opens on resnet44-cifar10 (preset)" in printed, printed
        config = httpx.get(url + "config", timeout=30).text
        assert "resnet20-cifar10 (preset)" in config and "packaged presets" in config

        classes = json.loads((target / "keras_resnet" / "presets" / "presets.json").read_text())["presets"][0]
        image = target / "keras_resnet" / "app" / "examples" / "cifar10" / "ship-drawn-rgba.png"
        label, timing, _ = Client(url, verbose=False).predict(handle_file(str(image)), "resnet44-cifar10 (preset)",
                                                              "Keras", api_name="/predict")
        assert label["label"] in classes["class_names"] and "Inference:" in timing, label
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
