"""The search space of `keras-resnet tune`: the paper's design space as keras-tuner hyperparameters.

The paper (He et al. 2016) varies depth (§4.2, Table 6: ResNet-20/32/44/56/110
for n = 3/5/7/9/18; Table 1: ResNet-18/34/50/101/152), the shortcut option
(§3.3, Table 3: A zero-padding identity, B projections where the shape
changes, C projections everywhere) and residual against plain nets (Fig. 6,
Table 2). Version (v1, or v2 pre-activation), a width multiplier, the
learning rate and the weight decay complete the space.

When `plain` is True the net has no shortcuts, so `shortcut` lives in a
keras-tuner conditional scope (`hp.conditional_scope("plain", [False])`): a
plain trial records no shortcut and the oracle never runs "plain with A" and
"plain with B" as two different trials.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .. import registry

if TYPE_CHECKING:
    import keras_tuner


FAMILIES = registry.SEARCH_FAMILIES
HYPERPARAMETERS = ("depth", "plain", "shortcut", "version", "width", "lr", "weight_decay")
CONTINUOUS = ("lr", "weight_decay")
VERSIONS = registry.FAMILY_VERSIONS


def _shortcuts(family: str) -> list[str]:
    """The shortcut options, the family's default first (the first value a search tries)."""
    default = registry.DEFAULT_SHORTCUTS[family]
    return [default] + [s for s in registry.SHORTCUTS if s != default]


# The default space of each family: every spec is {"fixed": v}, {"choice": [...]} or
# {"range": [lo, hi], "sampling": "log"|"linear"}; "default" is the first value tried.
DEFAULT_SPACES: dict[str, dict[str, dict[str, Any]]] = {
    "cifar": {
        "depth": {"choice": [d for d in registry.CIFAR_DEPTHS if d <= 110]},  # n = 3, 5, 7, 9, 18 (Table 6)
        "plain": {"choice": [False, True]},                 # Fig. 6
        "shortcut": {"choice": _shortcuts("cifar")},        # §3.3: A, B, C
        "version": {"choice": list(VERSIONS["cifar"])},
        "width": {"choice": [1.0, 0.5, 2.0]},
        "lr": {"range": [0.01, 0.2], "sampling": "log", "default": 0.1},
        "weight_decay": {"range": [1e-5, 1e-3], "sampling": "log", "default": 1e-4},
    },
    "imagenet": {
        "depth": {"choice": list(registry.IMAGENET_DEPTHS)},  # Table 1: 18, 34, 50, 101, 152
        "plain": {"choice": [False, True]},
        "shortcut": {"choice": _shortcuts("imagenet")},     # B, A, C
        "version": {"choice": list(VERSIONS["imagenet"])},
        "width": {"choice": [1.0, 0.5]},
        "lr": {"range": [0.01, 0.2], "sampling": "log", "default": 0.1},
        "weight_decay": {"range": [1e-5, 1e-3], "sampling": "log", "default": 1e-4},
    },
}

_TRUE, _FALSE = ("true", "1", "yes", "y", "t"), ("false", "0", "no", "n", "f")


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name} takes true or false, got {value!r}.")


def coerce(family: str, name: str, value: Any) -> bool | str | int | float:
    """One value of hyperparameter `name`, converted from text if needed and checked."""
    if name == "plain":
        return _bool(name, value)
    if name in ("shortcut", "version"):
        text = str(value).strip()
        text = text.upper() if name == "shortcut" else text.lower()
        allowed = registry.SHORTCUTS if name == "shortcut" else VERSIONS[family]
        if text not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)} for the {family} family, got {value!r}.")
        return text
    if name == "depth":
        return registry.parse_depth(value, family)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}.") from None
    if name in ("width", "lr") and not number > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}.")
    if name == "weight_decay" and not number >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {value!r}.")
    return number


def _check_name(name: str, where: str) -> None:
    if name not in HYPERPARAMETERS:
        raise ValueError(
            f"Unknown hyperparameter {name!r} in {where}. Allowed: {', '.join(HYPERPARAMETERS)}."
        )


def parse_assignments(items: Iterable[str] | None, *, kind: str) -> dict[str, Any]:
    """CLI text to a dict: 'shortcut=A' (fix), 'depth=20,56' (choice), 'lr=0.01:0.2' (range)."""
    out: dict[str, Any] = {}
    for item in items or ():
        name, sep, text = str(item).partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise ValueError(f"--{kind} takes NAME=VALUE, got {item!r}. Names: {', '.join(HYPERPARAMETERS)}.")
        _check_name(name, f"--{kind}")
        if name in out:
            raise ValueError(f"--{kind} {name} given twice ({item!r}).")
        if kind == "fix":
            if not text.strip():
                raise ValueError(f"--fix {name}= needs a value.")
            out[name] = text.strip()
        elif kind == "choice":
            values = [v.strip() for v in text.split(",") if v.strip()]
            if not values:
                raise ValueError(f"--choice {name}= is empty: give one or more comma-separated values.")
            out[name] = values
        else:
            lo, sep2, hi = text.partition(":")
            if not sep2 or not lo.strip() or not hi.strip():
                raise ValueError(f"--range takes NAME=LOW:HIGH, got {item!r}.")
            out[name] = (lo.strip(), hi.strip())
    return out


class SearchSpace:
    """The hyperparameters of a search: the family's default space with some fixed or restricted.

        SearchSpace("cifar", fix={"shortcut": "A"}, choice={"depth": [20, 56]},
                    ranges={"lr": (0.05, 0.2)})

    Args:
        family: "cifar" (ResNet-20 ... 110, 32x32 inputs) or "imagenet" (ResNet-18 ... 152).
        fix: name -> value: a keras-tuner `Fixed` hyperparameter.
        choice: name -> values: a `Choice` among them (one value is the same as fix).
        ranges: name -> (low, high) for lr / weight_decay: a log-uniform `Float`.
    """

    def __init__(self, family: str = "cifar", *, fix: Mapping[str, Any] | None = None,
                 choice: Mapping[str, Any] | None = None, ranges: Mapping[str, Any] | None = None) -> None:
        if family not in FAMILIES:
            raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}.")
        self.family = family
        self.params: dict[str, dict[str, Any]] = copy.deepcopy(DEFAULT_SPACES[family])
        fix, choice, ranges = dict(fix or {}), dict(choice or {}), dict(ranges or {})
        for where, given in (("fix", fix), ("choice", choice), ("ranges", ranges)):
            for name in given:
                _check_name(name, where)
        for name in HYPERPARAMETERS:
            used = [w for w, d in (("fix", fix), ("choice", choice), ("ranges", ranges)) if name in d]
            if len(used) > 1:
                raise ValueError(f"{name} is given in both {used[0]} and {used[1]}; give it once.")
        for name, value in fix.items():
            self.params[name] = {"fixed": coerce(family, name, value)}
        for name, values in choice.items():
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                values = [values]
            values = [coerce(family, name, v) for v in values]
            if not values:
                raise ValueError(f"The choice of {name} is empty: give one or more values.")
            unique = list(dict.fromkeys(values))
            self.params[name] = {"fixed": unique[0]} if len(unique) == 1 else {"choice": unique}
        for name, bounds in ranges.items():
            if name not in CONTINUOUS:
                raise ValueError(f"Only {', '.join(CONTINUOUS)} take a range; {name} is categorical: use choice.")
            try:
                lo, hi = (float(coerce(family, name, b)) for b in bounds)   # lr, weight_decay: floats already
            except TypeError:
                raise ValueError(f"The range of {name} must be (low, high), got {bounds!r}.") from None
            if not 0 < lo < hi:
                raise ValueError(f"The range of {name} must satisfy 0 < low < high (log scale), got {bounds!r}.")
            self.params[name] = {"range": [lo, hi], "sampling": "log"}

    def declare(self, hp: keras_tuner.HyperParameters) -> dict[str, Any]:
        """Declare the space on `hp` and return this trial's values (shortcut None for plain nets)."""
        values: dict[str, Any] = {}
        for name in HYPERPARAMETERS:
            spec = self.params[name]
            if name == "shortcut":
                plain = self.params["plain"]
                if plain.get("fixed") is True:
                    values[name] = None
                    continue
                if "choice" in plain:
                    with hp.conditional_scope("plain", [False]):
                        values[name] = self._declare(hp, name, spec)
                    continue
            values[name] = self._declare(hp, name, spec)
        return values

    @staticmethod
    def _declare(hp: keras_tuner.HyperParameters, name: str, spec: Mapping[str, Any]) -> Any:
        if "fixed" in spec:
            return hp.Fixed(name, spec["fixed"])
        if "choice" in spec:
            if name == "plain":
                return hp.Boolean(name, default=spec["choice"][0])
            return hp.Choice(name, spec["choice"], default=spec.get("default", spec["choice"][0]))
        lo, hi = spec["range"]
        default = spec.get("default")
        default = default if default is not None and lo <= default <= hi else None
        return hp.Float(name, lo, hi, sampling=spec.get("sampling", "log"), default=default)

    def model(self, values: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """(model name, builder kwargs) of one trial: e.g. ("resnet56", {"shortcut": "B"}) or ("plain20", {})."""
        name = registry.model_name(self.family, int(values["depth"]), plain=bool(values["plain"]))
        kwargs: dict[str, Any] = {}
        if not values["plain"] and values.get("shortcut"):
            kwargs["shortcut"] = values["shortcut"]
        if values["version"] != "v1":
            kwargs["version"] = values["version"]
        if float(values["width"]) != 1:
            kwargs["width"] = float(values["width"])
        return name, kwargs

    def size(self) -> int:
        """How many distinct architectures (categorical combinations) the space holds."""
        counts = {n: 1 if "fixed" in s else len(s["choice"]) if "choice" in s else 1
                  for n, s in self.params.items() if n not in CONTINUOUS}
        plain = self.params["plain"]
        plain_values = [plain["fixed"]] if "fixed" in plain else plain["choice"]
        rest = counts["depth"] * counts["version"] * counts["width"]
        return rest * sum(1 if p else counts["shortcut"] for p in plain_values)

    def to_config(self) -> dict[str, Any]:
        return {"family": self.family, "params": copy.deepcopy(self.params)}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SearchSpace:
        space = cls(config["family"])
        space.params = copy.deepcopy(config["params"])
        return space

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, SearchSpace) and self.to_config() == other.to_config()

    def describe(self) -> str:
        """One line per hyperparameter, for logs and the CLI."""
        lines = []
        for name in HYPERPARAMETERS:
            spec = self.params[name]
            if "fixed" in spec:
                text = f"fixed {spec['fixed']}"
            elif "choice" in spec:
                text = "one of " + ", ".join(map(str, spec["choice"]))
            else:
                text = f"{spec.get('sampling', 'log')} range [{spec['range'][0]:g}, {spec['range'][1]:g}]"
            if name == "shortcut":
                text += " (only when plain is False)"
            lines.append(f"{name:13s} {text}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"SearchSpace({self.family!r}, params={self.params!r})"
