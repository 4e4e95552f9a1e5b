"""Reading PyTorch checkpoints into a flat state dict of NumPy arrays.

Two file kinds:
    .th / .pth / .pt / .bin   torch.save files, read with `torch.load(weights_only=True)` (needs the
                              `convert` extra); a state dict, or a dict holding one under `state_dict`
                              or `model` (training scripts save `{"state_dict": ..., "epoch": ...}`).
    .safetensors              read with the `safetensors` package's NumPy loader: no torch needed.

Keys lose the `module.` prefix of `nn.DataParallel` / DDP, and BatchNorm's `num_batches_tracked`
counters are dropped (they do not affect inference).
"""

from __future__ import annotations

import pathlib
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .._typing import StrPath

TORCH_SUFFIXES = (".th", ".pth", ".pt", ".bin")
SAFETENSORS_SUFFIXES = (".safetensors",)
SUFFIXES = TORCH_SUFFIXES + SAFETENSORS_SUFFIXES
EXTRA = "pip install 'keras-resnet-paper[convert]'"
WRAPPERS = ("state_dict", "model")


def is_checkpoint(path: StrPath) -> bool:
    """Whether `path` has a suffix the converter reads (the file need not exist)."""
    return pathlib.Path(path).suffix.lower() in SUFFIXES


def read_checkpoint(path: StrPath) -> dict[str, np.ndarray]:
    """The state dict in `path` as `{key: float32 ndarray}` (PyTorch layouts: OIHW kernels, etc.).

    Raises FileNotFoundError for a missing file and ValueError for anything unreadable: an unknown
    suffix, a corrupt file, a file holding no tensors, or torch not installed for a torch file.
    """
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"Unknown checkpoint type {path.name!r}: the converter reads PyTorch files "
            f"({', '.join(TORCH_SUFFIXES)}) and {', '.join(SAFETENSORS_SUFFIXES)}."
        )
    if not path.exists():
        raise FileNotFoundError(f"Checkpoint not found: {path}")
    if not path.is_file():
        raise ValueError(f"Checkpoint {path} is not a file.")
    raw = _read_safetensors(path) if suffix in SAFETENSORS_SUFFIXES else _read_torch(path)
    return _clean(raw, path)


def _read_torch(path: pathlib.Path) -> dict[str, np.ndarray]:
    try:
        import torch
    except ImportError:
        raise ValueError(
            f"Reading {path.name} needs PyTorch, which is not installed: {EXTRA} (torch 2.13.0, CPU build). "
            f".safetensors checkpoints need no torch."
        ) from None
    try:
        with warnings.catch_warnings():   # torch warns on a TorchScript archive, then refuses it: one message, below
            warnings.filterwarnings("ignore", message=".*TorchScript archive", category=UserWarning)
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt zip/pickle, truncated file, objects other than tensors, TorchScript
        if "TorchScript" in str(e):
            raise ValueError(
                f"{path} is a TorchScript archive (a scripted or traced model), not a state dict; it is not loaded "
                f"(weights_only=True refuses it). Save the weights with torch.save(model.state_dict(), ...)."
            ) from None
        reason = _first_line(e)
        raise ValueError(
            f"Cannot read {path} as a PyTorch checkpoint ({type(e).__name__}: {reason[:300]}). "
            f"Expected a file written by torch.save holding a state dict (tensors only: it is loaded with "
            f"weights_only=True)."
        ) from None
    if isinstance(obj, dict):
        for key in WRAPPERS:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict):
        raise ValueError(
            f"{path} holds a {type(obj).__name__}, not a state dict: expected a dict of tensors, or a dict "
            f"holding one under {' or '.join(repr(k) for k in WRAPPERS)}."
        )
    out: dict[str, np.ndarray] = {}
    for key, value in obj.items():
        if isinstance(value, torch.Tensor):
            out[str(key)] = value.detach().cpu().to(torch.float32).numpy() if value.is_floating_point() \
                else value.detach().cpu().numpy()
    return out


def _first_line(e: BaseException) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _read_safetensors(path: pathlib.Path) -> dict[str, np.ndarray]:
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise ValueError(f"Reading {path.name} needs the safetensors package, which is not installed: {EXTRA}.") from None
    try:
        return load_file(str(path))
    except Exception as e:  # SafetensorError (bad header, truncated), unsupported dtype (bfloat16 in NumPy)
        raise ValueError(
            f"Cannot read {path} as a safetensors file ({type(e).__name__}: {str(e).strip()[:300]})."
        ) from None


def _clean(raw: Mapping[str, Any], path: pathlib.Path) -> dict[str, np.ndarray]:
    state = {}
    for key, value in raw.items():
        while key.startswith("module."):
            key = key[len("module."):]
        if key.endswith("num_batches_tracked"):
            continue
        value = np.asarray(value)
        if value.dtype.kind == "f" and value.dtype != np.float32:
            value = value.astype(np.float32)
        state[key] = value
    if not state:
        raise ValueError(f"{path} holds no weight tensors (read {len(raw)} entries).")
    return state
