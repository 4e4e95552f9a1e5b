"""The Gradio demo: classify any image with the residual networks listed (trained here or converted).

```python
from keras_resnet import app
demo = app.build_demo([app.DEFAULT_MODELS_DIR])     # every valid model folder there
app.launch(demo, server_name="127.0.0.1")
```

```text
keras-resnet demo [--models-dir DIR] [--server-name 127.0.0.1] [--port 7860] [--share]
python apps/gradio_app.py ...                       (the same)
```

- `folders.py`: the model folders listed (saved_models/<name>/, run directories), checked before use; the packaged
  presets when there is none; the model the page opens on (the most accurate CIFAR-10 one)
- `classify.py`: classify one image: the cached predictor per backend, the timings
- `ui.py`: the page (Gradio Blocks), the model card, the example gallery; build_demo, launch
- `provenance.py`: what each model is: trained here (command, data) or converted (source, licence, evaluated on what)
- `gallery.py`: the selected model's example test images (examples/<dataset>/ + examples.json) and the verdict
- `examples/`: real test images per dataset, each with its true class (apps/examples/make_examples.py)
"""

from .folders import BACKENDS, FILES, ModelEntry, default_model, discover_models, preset_models, read_model_folder
from .classify import ModelLoadError, get_predictor, model_input_file, predict, prepare_image
from .ui import (
    CSS, DEFAULT_MAX_FILE_SIZE, DEFAULT_MODELS_DIR, EXAMPLES_DIR, THEME, TITLE, build_demo, card_markdown, close, examples_for, launch,
    readable_upload_errors, skipped_markdown,
)

__all__ = [
    "BACKENDS", "CSS", "DEFAULT_MAX_FILE_SIZE", "DEFAULT_MODELS_DIR", "EXAMPLES_DIR", "FILES", "THEME", "TITLE", "ModelEntry",
    "ModelLoadError", "build_demo", "card_markdown", "close", "default_model", "discover_models", "examples_for", "get_predictor", "launch", "model_input_file",
    "predict", "prepare_image", "preset_models", "read_model_folder", "readable_upload_errors", "skipped_markdown",
]
