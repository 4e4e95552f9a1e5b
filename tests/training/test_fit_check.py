"""training.fit.check_fit: the one "does this model fit this data" check (train, evaluate, export, experiments)."""

import numpy as np
import pytest

from keras_resnet.training.fit import check_fit


def test_fitting_data_passes():
    check_fit((32, 32, 3), 10, (32, 32, 3), class_names=[str(i) for i in range(10)], labels=np.arange(10))
    check_fit((None, None, 1), 4, (28, 28, 1), labels=[0, 3, 3])           # None: any size
    check_fit((32, 32, 3), 10, None, labels=np.array([], int))            # nothing to compare
    check_fit(None, None, (8, 8, 3))


@pytest.mark.parametrize("input_shape, image_shape", [
    ((32, 32, 3), (16, 16, 3)),
    ((32, 32, 3), (32, 32, 1)),        # channels
    ((None, None, 3), (32, 32, 1)),
    ((32, 32, 3), (32, 32)),           # rank
])
def test_images_of_another_shape(input_shape, image_shape):
    with pytest.raises(ValueError) as e:
        check_fit(input_shape, 10, image_shape, model="model 'resnet20'", data="dataset 'tiny'")
    message = str(e.value)
    assert message.startswith("dataset 'tiny' does not fit model 'resnet20': the model takes ")
    assert f"which does not match the data's {tuple(image_shape)} images" in message
    assert "use data of that shape or a model built for it" in message


def test_class_count_and_labels():
    with pytest.raises(ValueError, match=r"the data does not fit the model: the model has 10 outputs \(classes=10\) "
                                         r"but the data has 3 classes \(cat, dog, frog\); leave classes out"):
        check_fit(None, 10, class_names=["cat", "dog", "frog"], fix="leave classes out")
    with pytest.raises(ValueError, match=r"its labels run from 0 to 9 but the model has 4 outputs \(labels must be 0\.\.3\)"):
        check_fit((8, 8, 3), 4, (8, 8, 3), labels=np.array([0, 1, 9]))
    with pytest.raises(ValueError, match="labels run from -1 to 1"):
        check_fit(None, 4, labels=[-1, 1])


def test_the_callers_use_it(rng):
    """train (build_model), the experiments (analysis.check_fit) and export refuse misfits with its message."""
    import keras_resnet
    from keras_resnet import analysis, data, training
    from keras_resnet.deploy.export import _check_images

    tiny = data.from_arrays(rng.integers(0, 256, (8, 8, 8, 3), dtype=np.uint8), np.arange(8) % 2,
                            rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8), np.arange(4) % 2, name="tiny")
    config = training.TrainConfig(model="resnet8", model_kwargs={"input_shape": (16, 16, 3)})
    with pytest.raises(ValueError, match=r"dataset 'tiny' does not fit model 'resnet8': .* does not match the data"):
        training.build_model(config, tiny)
    config = training.TrainConfig(model="resnet8", model_kwargs={"classes": 5})
    with pytest.raises(ValueError, match=r"does not fit model 'resnet8': the model has 5 outputs \(classes=5\)"):
        training.build_model(config, tiny)
    model = keras_resnet.build("resnet8", width=0.25, input_shape=(8, 8, 3), classes=2)
    with pytest.raises(ValueError, match=r"the dataset does not fit model 'resnet8'.*\(8, 8, 1\)"):
        analysis.check_fit(model, np.zeros((2, 8, 8, 1)), np.zeros(2, int))
    with pytest.raises(ValueError, match=r"the representative data does not fit the model"):
        _check_images(np.zeros((2, 4, 4, 3)), (8, 8, 3), "representative")
