"""Load on the Gradio demo: many concurrent `gradio_client` clients, mixed images, both backends.

Starts `keras-resnet demo` on 127.0.0.1 in a subprocess, warms it up (every model x backend x image once,
concurrently), records the server's resident memory, then sends --requests predictions from --clients
concurrent clients (each downloads its output image, as a browser does) and reports requests/s, latency
percentiles, failures, the server's RSS after warm-up and at the end, and anything the server logged as an
error. With --check every answer is compared with a direct prediction of the same image (a separately
loaded model: same top-1, top-5 probabilities within 1e-4).

    .venv/bin/python benchmarks/demo_load.py                                  # saved_models/, 200 requests, 8 clients
    .venv/bin/python benchmarks/demo_load.py --models-dir DIR --requests 500 --clients 16 --check --json out.json

tests/app/test_load.py runs the same code (`serve`, `warm_up`, `run_load`, `expected`) on tiny fixture models.
"""

import argparse
import concurrent.futures as cf
import contextlib
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "keras_resnet" / "app" / "examples"
SERVER_ERRORS = ("Traceback", "LocalProtocolError", "Exception in ASGI application", "Content-Length")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    """Resident set size of process `pid` in MiB (/proc/<pid>/status VmRSS)."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@contextlib.contextmanager
def serve(models_dirs, port=None, extra_args=(), startup_s=180):
    """`keras-resnet demo` on 127.0.0.1 in a subprocess: yields (process, url, log path); stopped afterwards."""
    from gradio_client import Client

    port = port or free_port()
    log = pathlib.Path(tempfile.mkstemp(prefix="demo-load-", suffix=".log")[1])
    args = [sys.executable, "-m", "keras_resnet.cli", "demo", "--no-saved-models", "--port", str(port), *extra_args]
    for d in models_dirs:
        args += ["--models-dir", str(d)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "GRADIO_ANALYTICS_ENABLED": "False"}
    with open(log, "w") as out:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + startup_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the demo exited with status {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                Client(url, verbose=False)
                break
            except Exception:  # noqa: BLE001  not up yet
                if time.time() > deadline:
                    raise RuntimeError(f"the demo did not answer within {startup_s} s:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield proc, url, log
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def server_errors(log):
    """Lines of the server's log that report an error while serving (empty when none)."""
    return [line for line in pathlib.Path(log).read_text().splitlines() if any(e in line for e in SERVER_ERRORS)]


def run_load(url, jobs, clients):
    """Send `jobs` [(image path, model name, backend), ...] from `clients` concurrent clients.

    Returns [(job index, seconds, result or None, error text or None)] in job order. Every client is its own
    gradio_client.Client (own connection pool), used by one thread; each downloads the output image.
    """
    from gradio_client import Client, handle_file

    local = threading.local()
    pool = []

    def client():
        if not hasattr(local, "client"):
            local.client = Client(url, verbose=False)
            pool.append(local.client)
        return local.client

    def one(i):
        image, model, backend = jobs[i]
        t = time.perf_counter()
        try:
            label, timing, seen = client().predict(handle_file(str(image)), model, backend, api_name="/predict")
            return i, time.perf_counter() - t, (label, timing, seen), None
        except Exception as e:  # noqa: BLE001  reported, counted as a failure
            return i, time.perf_counter() - t, None, f"{type(e).__name__}: {str(e)[:300]}"

    with cf.ThreadPoolExecutor(clients) as ex:
        for _ in ex.map(lambda _: client(), range(clients)):   # one client per thread, before the clock starts
            pass
        results = list(ex.map(one, range(len(jobs))))
    return results


def warm_up(url, models, images, clients):
    """Every (model, backend) on every image once, concurrently: caches, traces and memory arenas fill up."""
    jobs = [(img, m, b) for m, backends in models.items() for b in backends for img in images[m]]
    failed = [(jobs[i], err) for i, _, _, err in run_load(url, jobs, clients) if err]
    if failed:
        raise RuntimeError(f"warm-up failed: {failed[:3]}")
    return len(jobs)


def mixed_jobs(models, images, n, seed=0):
    """`n` requests cycling through models, both backends and their images (seeded order, repeats included)."""
    import numpy as np

    pairs = [(m, b) for m, backends in models.items() for b in backends]
    rng = np.random.default_rng(seed)
    jobs = []
    for i in range(n):
        m, b = pairs[i % len(pairs)]
        jobs.append((images[m][int(rng.integers(len(images[m])))], m, b))
    return jobs


def summary(results, wall_s):
    import numpy as np

    lat = np.array([s for _, s, _, _ in results]) * 1000
    failed = [e for *_, e in results if e]
    return {"requests": len(results), "failed": len(failed), "wall_s": round(wall_s, 2),
            "requests_per_s": round(len(results) / wall_s, 2), "p50_ms": round(float(np.percentile(lat, 50)), 1),
            "p95_ms": round(float(np.percentile(lat, 95)), 1), "max_ms": round(float(lat.max()), 1),
            "errors": failed[:5]}


class Expected:
    """Direct predictions (a separately opened predictor per model file) of the images the load sends."""

    FILES = {"Keras": "model.keras", "TFLite": "model.tflite"}

    def __init__(self, folders):
        self.folders, self._predictors, self._cache = folders, {}, {}

    def probabilities(self, image, model, backend):
        from keras_resnet.deploy import load_image, open_predictor

        key = (str(image), model, backend)
        if key not in self._cache:
            if (model, backend) not in self._predictors:
                self._predictors[model, backend] = open_predictor(self.folders[model] / self.FILES[backend])
            p = self._predictors[model, backend]
            self._cache[key] = (p.predict(load_image(image, p.input_shape)[None])[0], p.class_names)
        return self._cache[key]


def mismatch(label, probs, names, atol=1e-4):
    """None when the app's answer (a gr.Label value) equals the direct prediction; else what differs."""
    got = {c["label"]: c["confidence"] for c in label["confidences"]}
    for name, p in got.items():
        if abs(p - float(probs[names.index(name)])) > atol:
            return f"{name}: app {p:.6f}, direct {float(probs[names.index(name)]):.6f}"
    if float(probs[names.index(label["label"])]) < float(probs.max()) - atol:
        return f"top-1 {label['label']!r}, direct {names[int(probs.argmax())]!r}"
    rest = [float(p) for n, p in zip(names, probs) if n not in got]
    if rest and min(got.values()) < max(rest) - atol:
        return "top-5 differs"
    return None


def model_folders(models_dirs):
    """{name: folder} of the valid model folders, named as the demo names them (no TensorFlow needed)."""
    from keras_resnet.app import discover_models

    models, _ = discover_models(models_dirs)
    return models


def default_images():
    return sorted(p for p in EXAMPLES.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models-dir", action="append", default=None, help="model folders to serve (default saved_models/)")
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--images", nargs="*", help="image files to send (default: the demo's example images)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--check", action="store_true", help="compare every answer with a direct prediction")
    p.add_argument("--json", help="write the numbers to this file")
    args = p.parse_args(argv)

    dirs = [pathlib.Path(d) for d in (args.models_dir or [ROOT / "saved_models"])]
    entries = model_folders(dirs)
    if not entries:
        sys.exit(f"demo_load: no valid model folder in {', '.join(map(str, dirs))}")
    pool = [pathlib.Path(i) for i in args.images] if args.images else default_images()
    models = {name: e.backends for name, e in entries.items()}
    images = {name: pool for name in entries}
    jobs = mixed_jobs(models, images, args.requests, args.seed)
    with serve(dirs) as (proc, url, log):
        t = time.perf_counter()
        n_warm = warm_up(url, models, images, args.clients)
        warm_s = time.perf_counter() - t
        rss_warm = rss_mb(proc.pid)
        t = time.perf_counter()
        results = run_load(url, jobs, args.clients)
        out = summary(results, time.perf_counter() - t)
        out.update(rss_warm_mb=round(rss_warm, 1), rss_end_mb=round(rss_mb(proc.pid), 1),
                   server_up=proc.poll() is None, server_errors=server_errors(log)[:5],
                   warm_up=f"{n_warm} requests in {warm_s:.1f} s", clients=args.clients,
                   models=sorted(models), images=len(pool), cpus=os.cpu_count(), load_avg=os.getloadavg())
    if args.check:
        ref = Expected({n: e.folder for n, e in entries.items()})
        wrong = []
        for i, _, res, err in results:
            if not err:
                probs, names = ref.probabilities(*jobs[i])
                why = mismatch(res[0], probs, names)
                if why:
                    wrong.append(f"{jobs[i]}: {why}")
        out["mismatches"] = len(wrong)
        out["mismatch_examples"] = wrong[:5]
    print(json.dumps(out, indent=2, default=str))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(out, indent=2, default=str) + "\n")
    bad = out["failed"] or out["server_errors"] or not out["server_up"] or out.get("mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
