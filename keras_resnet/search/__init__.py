"""Search depth, shortcut option, plain/residual, version, width, lr and weight decay with keras-tuner.

```python
from keras_resnet.search import SearchSpace, search
result = search(SearchSpace("cifar", fix={"shortcut": "A"}, choice={"depth": [20, 56]}),
                dataset="cifar10", directory="runs/tune-cifar10", tuner="bayesian", max_trials=12, epochs=10)
```

- `space.py`: the paper's design space as keras-tuner hyperparameters (SearchSpace)
- `hypermodel.py`: the zoo as a keras-tuner HyperModel, and the tuners that record each trial
- `runner.py`: search(): run or resume a search, objective and directory checks
- `report.py`: results.csv / results.md, the accuracy-against-MACs Pareto plot, the best trial as best/
"""

from .hypermodel import TUNERS, ResNetHyperModel, make_tuner
from .runner import SearchResult, resolve_objective, search
from .space import DEFAULT_SPACES, FAMILIES, HYPERPARAMETERS, SearchSpace, parse_assignments

__all__ = [
    "DEFAULT_SPACES", "FAMILIES", "HYPERPARAMETERS", "TUNERS", "ResNetHyperModel", "SearchResult", "SearchSpace",
    "make_tuner", "parse_assignments", "resolve_objective", "search",
]
