"""Put this folder on PYTHONPATH to run Python as if TensorFlow were not installed.

The backend tests (tests/backends) run the package on Keras's JAX and PyTorch backends in processes started
with it: `import tensorflow` (or tensorflow_datasets, tf_keras) raises ModuleNotFoundError as for a package
that is not installed, so `tensorflow` never appears in sys.modules. `importlib.util.find_spec` answers with
a spec that has no origin (PyTorch's dynamo asks it for many package names at import and only records
where they live).
"""

import importlib.abc
import importlib.machinery
import sys

BLOCKED = ("tensorflow", "tensorflow_datasets", "tf_keras")


class _Absent(importlib.abc.Loader):
    def create_module(self, spec):
        raise ModuleNotFoundError(f"No module named {spec.name!r} (TensorFlow is blocked in this test environment)",
                                  name=spec.name)

    def exec_module(self, module):   # never reached
        raise ModuleNotFoundError(module.__name__)


class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            return importlib.machinery.ModuleSpec(name, _Absent(), origin=None)
        return None


sys.meta_path.insert(0, NoTensorFlow())
