"""Deploy a trained ResNet: export it (SavedModel, TFLite, ONNX), check parity, run any of its files.

```python
from keras_resnet.deploy import export, load_image, open_predictor
export("runs/resnet20-cifar10", formats=["savedmodel", "tflite"])
predictor = open_predictor("runs/resnet20-cifar10/model.tflite")
predictor.top_k([load_image("cat.png", predictor.input_shape)], k=5)
```

- `export.py`: SavedModel / TFLite (fp32, fp16, int8) / ONNX export, each checked for parity
- `parity.py`: parity of an exported file with its Keras original; parity.json / parity.txt
- `predictors.py`: one Predictor per backend, open_predictor, detect_backend, load_keras_model, model cards, labels
- `images.py`: load_image / load_images: any image -> the uint8 [H, W, C] array a model takes
"""

from .export import DEFAULT_FORMATS, FORMATS, export
from .images import load_image, load_images
from .parity import ParityError
from .predictors import (
    BACKENDS, KerasPredictor, OnnxPredictor, Predictor, SavedModelPredictor, TFLitePredictor, detect_backend,
    find_class_names, load_keras_model, open_predictor, read_model_card,
)

__all__ = [
    "BACKENDS", "DEFAULT_FORMATS", "FORMATS", "KerasPredictor", "OnnxPredictor", "ParityError", "Predictor",
    "SavedModelPredictor", "TFLitePredictor", "detect_backend", "export", "find_class_names", "load_image",
    "load_images", "load_keras_model", "open_predictor", "read_model_card",
]
