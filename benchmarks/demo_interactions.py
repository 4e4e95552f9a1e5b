"""Latency of the demo's tools for a ResNet-56, once warm: /explain, /lesion, /lesion_random, /compare.

Launches the app in this process on 127.0.0.1 (a free port) and times each endpoint through gradio_client, the
whole round trip a page or a client sees (upload, queue, compute, the answer and, for /explain, the overlay
file), over --calls warm calls after two warm-up calls; prints the median and the 90th percentile per endpoint.

The model: saved_models/resnet56-cifar10 when it is there, else keras_resnet.ResNet56() untrained in a
temporary folder (same architecture, same cost). /compare runs every model of the app's folder(s): with
saved_models/ that is all shipped models, so its line says how many.

    .venv/bin/python benchmarks/demo_interactions.py [--calls 10] [--image PATH] [--json out.json]
"""

import argparse
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EXAMPLE = ROOT / "keras_resnet" / "app" / "examples" / "cifar10" / "airplane-drawn.png"


def resnet56_folder():
    """(models dir for the app, the ResNet-56 model's name in the menu)."""
    shipped = ROOT / "saved_models" / "resnet56-cifar10"
    if (shipped / "model_card.json").is_file() and (shipped / "model.keras").is_file():
        return ROOT / "saved_models", "resnet56-cifar10"
    import keras_resnet

    folder = pathlib.Path(tempfile.mkdtemp(prefix="resnet56-")) / "resnet56-untrained"
    folder.mkdir(parents=True)
    model = keras_resnet.ResNet56()
    model.save(folder / "model.keras")
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "model_card.json").write_text(json.dumps({
        "name": folder.name, "model": {"name": "resnet56", "kwargs": {}}, "class_names": names,
        "input_shape": [32, 32, 3]}))
    return folder.parent, folder.name


def timed(call, n):
    times = []
    for i in range(n + 2):
        t = time.perf_counter()
        call(i)
        if i >= 2:                      # two warm-up calls, off the clock
            times.append(1000 * (time.perf_counter() - t))
    return times


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=10)
    p.add_argument("--image", default=str(EXAMPLE))
    p.add_argument("--json", help="also write the numbers here")
    args = p.parse_args(argv)

    from gradio_client import Client, handle_file

    from keras_resnet import app

    models_dir, name = resnet56_folder()
    demo = app.build_demo([models_dir])
    _, url, _ = app.launch(demo, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(url, verbose=False)
        image = handle_file(args.image)
        blocks = ["conv2_block5", "conv3_block1, conv4_block4", "conv2_block1, conv3_block7, conv4_block9", ""]
        calls = {
            "predict": lambda i: client.predict(image, name, "Keras", api_name="/predict"),
            "explain": lambda i: client.predict(image, name, 1 + i % 3, api_name="/explain"),
            "lesion": lambda i: client.predict(image, name, blocks[i % len(blocks)], api_name="/lesion"),
            "lesion_random": lambda i: client.predict(image, name, 5, i, api_name="/lesion_random"),
            "compare": lambda i: client.predict(image, "Keras", api_name="/compare"),
        }
        results = {}
        for api, call in calls.items():
            times = timed(call, args.calls)
            results[api] = {"median_ms": statistics.median(times),
                            "p90_ms": sorted(times)[max(0, int(round(0.9 * len(times))) - 1)], "calls": len(times)}
        from keras_resnet.app import compare as comparing
        from keras_resnet.app import explain as explaining
        from keras_resnet.app import lesion as lesioning

        entry = demo.models[name]
        direct = {   # the same work called in-process, without HTTP, queue and file transfer
            "explain": lambda i: explaining.explain(entry, args.image, 1 + i % 3),
            "lesion": lambda i: lesioning.run(entry, args.image, blocks[i % len(blocks)]),
            "compare": lambda i: comparing.compare(demo.models, args.image, "Keras"),
        }
        compute = {api: statistics.median(timed(call, args.calls)) for api, call in direct.items()}
        print(f"demo interactions, {name}, {args.calls} warm calls each ({os.cpu_count()} CPUs); "
              "round trip through gradio_client, and the computation alone (in-process):")
        for api, r in results.items():
            extra = f"  ({len(demo.models)} models: {', '.join(demo.models)})" if api == "compare" else ""
            alone = f"   computation {compute[api]:6.1f} ms" if api in compute else ""
            print(f"  /{api:<14} median {r['median_ms']:7.1f} ms   p90 {r['p90_ms']:7.1f} ms{alone}{extra}")
            if api in compute:
                r["computation_median_ms"] = compute[api]
        if args.json:
            pathlib.Path(args.json).write_text(json.dumps({"model": name, "models": list(demo.models),
                                                           "results": results}, indent=1))
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
