"""The paper's experiments, runnable (He et al. 2016 §4.2; Veit et al. 2016).

- `degradation`: plain nets vs ResNets of several depths, error per epoch (He et al. Fig. 6).
- `responses`: std of each 3x3 layer's response (He et al. Fig. 7).
- `lesion`: delete blocks at test time (Veit et al. Fig. 3, 5a).
- `paths`: path-length distribution and gradient per path length (Veit et al. Fig. 6).
- `switches`: find blocks in a functional model; delete or route them.
- `experiments`: each experiment end to end, writing a folder (figures, CSVs, report.md).

```python
from keras_resnet import analysis
analysis.run_lesion(resnet="runs/resnet56", plain="runs/plain56", dataset="cifar10", out_dir="results/lesion")
```
"""

from .degradation import error_curves, final_errors, plot_degradation
from .experiments import load_data, run_degradation, run_layer_responses, run_lesion
from .lesion import lesion_random, lesion_single, plot_random, plot_single, summarize_random
from .paths import (
    effective_paths, path_counts, path_gradients, path_length_distribution, path_length_stats, plot_paths,
    summarize_gradients,
)
from .report import ExperimentFolder
from .responses import layer_responses, plot_responses, response_layers
from .sources import Trained, as_arrays, check_fit, family_names, images_for, load_model, obtain, top1_error
from .switches import (
    Block, ResidualSwitch, SkipSwitch, delete_blocks, find_blocks, instrument, residual_blocks, set_kept,
)

__all__ = [
    "Block", "ExperimentFolder", "ResidualSwitch", "SkipSwitch", "Trained", "as_arrays", "check_fit", "delete_blocks",
    "effective_paths", "error_curves", "family_names", "final_errors", "find_blocks", "images_for", "instrument",
    "layer_responses", "lesion_random", "lesion_single", "load_data", "load_model", "obtain", "path_counts",
    "path_gradients", "path_length_distribution", "path_length_stats", "plot_degradation", "plot_paths",
    "plot_random", "plot_responses", "plot_single", "residual_blocks", "response_layers", "run_degradation",
    "run_layer_responses", "run_lesion", "set_kept", "summarize_gradients", "summarize_random", "top1_error",
]
