"""keras_resnet.convert: PyTorch checkpoints -> our Keras models, checked against PyTorch's logits.

The torchvision-layout network below is written here, independently of the package's own reference
(keras_resnet/convert/reference.py), from torchvision's models/resnet.py: the converter must match it.
"""

import builtins
import subprocess
import sys

import numpy as np
import pytest

from conftest import CIFAR_SUBSET, SHARED

import keras_resnet.convert as krc
from keras_resnet.convert.layouts import Layout, expected_shapes

AKAMASTER = SHARED / "weights" / "akamaster"
AKAMASTER_FILES = ["resnet20-12fca82f.th", "resnet32-d509ac18.th", "resnet44-014dd654.th", "resnet56-4bfd9763.th"]


def random_state(layout, seed=0):
    """A state dict of `layout` with random values (no torch needed)."""
    rng = np.random.default_rng(seed)
    state = {}
    for key, shape in expected_shapes(layout).items():
        value = rng.normal(0, 0.1, shape).astype(np.float32)
        if key.endswith("running_var"):
            value = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        state[key] = value
    return state


AKA20 = Layout("akamaster", 20, "basic", (3, 3, 3), 10)


# --------------------------------------------------------------------------- akamaster's real checkpoints


@pytest.mark.parametrize("filename", AKAMASTER_FILES)
def test_akamaster_checkpoint_converts_exactly_and_scores_the_paper(filename):
    pytest.importorskip("torch")
    path = AKAMASTER / filename
    if not path.exists() or not CIFAR_SUBSET.exists():
        pytest.skip(f"needs {path} and {CIFAR_SUBSET} (../shared)")
    model = krc.convert(path, verbose=False)
    state = krc.read_checkpoint(path)
    layout = krc.detect_layout(state)
    assert (layout.kind, layout.depth, model.name) == ("akamaster", int(filename[6:8]), f"resnet{filename[6:8]}")
    with np.load(CIFAR_SUBSET) as data:
        x, y = data["x_test"], data["y_test"]
    check = krc.verify_conversion(model, state, layout, layout.preprocessing, images=x)
    assert check.max_abs_diff < 1e-4, check
    accuracy = float(np.mean(check.logits.argmax(1) == y))
    assert accuracy >= 0.91, f"{filename}: {accuracy:.2%} on the 1,017 real test images"
    # the raw-image model carries akamaster's preprocessing: ImageNet mean/std on [0, 1]
    np.testing.assert_allclose(model.get_layer("normalize").mean.numpy().ravel(), [0.485, 0.456, 0.406], rtol=1e-6)


# --------------------------------------------------------------------------- torchvision layout, written here


def torchvision_resnet(depth, classes=1000):
    """torchvision's ResNet (v1.5 bottleneck: the stride on conv2), as in torchvision/models/resnet.py."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Basic(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * 4)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return self.relu(out + identity)

    block, layers = {18: (Basic, [2, 2, 2, 2]), 34: (Basic, [3, 4, 6, 3]), 50: (Bottleneck, [3, 4, 6, 3]),
                     101: (Bottleneck, [3, 4, 23, 3]), 152: (Bottleneck, [3, 8, 36, 3])}[depth]

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.inplanes = 64
            self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(64, layers[0])
            self.layer2 = self._make_layer(128, layers[1], stride=2)
            self.layer3 = self._make_layer(256, layers[2], stride=2)
            self.layer4 = self._make_layer(512, layers[3], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512 * block.expansion, classes)

        def _make_layer(self, planes, blocks, stride=1):
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                                           nn.BatchNorm2d(planes * block.expansion))
            out = [block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * block.expansion
            out += [block(self.inplanes, planes) for _ in range(1, blocks)]
            return nn.Sequential(*out)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    torch.manual_seed(depth)
    net = ResNet()
    with torch.no_grad():   # random BN statistics and affine parameters, logits of a useful scale
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.3, 0.8)
                m.bias.uniform_(-0.3, 0.3)
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
        net.fc.weight.mul_(20)
    return net.eval()


def torch_logits(net, images):
    torch = pytest.importorskip("torch")
    x = krc.preprocess_numpy(images, krc.Layout("torchvision", 18, "basic", (2, 2, 2, 2), 1).preprocessing)
    with torch.no_grad():
        return net(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))).numpy()


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_torchvision_layout_converts_and_matches_at_two_sizes(depth, tmp_path):
    torch = pytest.importorskip("torch")
    net = torchvision_resnet(depth, classes=7)
    path = tmp_path / f"tv{depth}.pth"
    # a training script's file: the state dict under "model", keys with DataParallel's "module." prefix
    torch.save({"model": {f"module.{k}": v for k, v in net.state_dict().items()}, "epoch": 3}, path)
    # the package's own PyTorch reference checks the conversion too (at 224); for the deep nets, only this test's
    model = krc.convert(path, input_shape=(None, None, 3), verify=depth < 50, verbose=False)
    assert model.name == f"resnet{depth}{'_v1_5' if depth >= 50 else ''}" and model.output_shape == (None, 7)
    sizes = (224, 97) if depth <= 50 else (64, 97)   # 97: the stem's feature maps are odd (49, then 25)
    for size in sizes:
        x = np.random.default_rng(size).integers(0, 256, (2, size, size, 3)).astype(np.float32)
        theirs = torch_logits(net, x)
        ours = krc.keras_logits(model, x)
        assert np.std(theirs) > 0.1, "degenerate test network"
        scale = max(1.0, float(np.abs(theirs).max()))
        assert np.abs(ours - theirs).max() <= 1e-4 * scale, (size, np.abs(ours - theirs).max(), scale)


def test_safetensors_converts_like_the_torch_file(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    net = torchvision_resnet(18, classes=5)
    safetensors_torch.save_file({k: v.contiguous() for k, v in net.state_dict().items()}, tmp_path / "r18.safetensors")
    torch.save(net.state_dict(), tmp_path / "r18.pt")
    a = krc.convert(tmp_path / "r18.safetensors", input_shape=(64, 64, 3), verbose=False)
    b = krc.convert(tmp_path / "r18.pt", input_shape=(64, 64, 3), verbose=False)
    for la, lb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(la.numpy(), lb.numpy())


def _hide_torch(monkeypatch):
    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"No module named {name!r} (hidden by the test)")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    for mod in [m for m in sys.modules if m == "torch" or m.startswith("torch.")]:
        monkeypatch.delitem(sys.modules, mod)


def test_safetensors_needs_no_torch_and_pth_names_the_extra(tmp_path, monkeypatch, capsys):
    st = pytest.importorskip("safetensors.numpy")
    st.save_file(random_state(AKA20), tmp_path / "r20.safetensors")
    (tmp_path / "r20.pth").write_bytes(b"not read")
    _hide_torch(monkeypatch)
    model = krc.convert(tmp_path / "r20.safetensors", output=tmp_path / "r20.keras")
    assert model.name == "resnet20" and (tmp_path / "r20.keras").is_file()
    assert "not verified: PyTorch is not installed" in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"needs PyTorch.*pip install 'keras-resnet-paper\[convert\]'"):
        krc.convert(tmp_path / "r20.pth")


# --------------------------------------------------------------------------- option A channel mapping, bad inputs


def test_option_a_permutation_is_exact_without_real_weights(tmp_path):
    """Random akamaster weights: the zero channels akamaster puts on both sides are mapped exactly."""
    pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.numpy")
    state = random_state(Layout("akamaster", 14, "basic", (2, 2, 2), 10), seed=3)
    st.save_file(state, tmp_path / "r14.safetensors")
    layout = krc.detect_layout(state)
    model = krc.convert(tmp_path / "r14.safetensors", verbose=False)   # verifies inside too (raises on mismatch)
    x = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3)).astype(np.float32)
    check = krc.verify_conversion(model, state, layout, layout.preprocessing, images=x)
    assert check.passed and np.std(check.reference) > 0.1, check


def test_bad_checkpoints_are_one_clear_error(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    (tmp_path / "corrupt.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ValueError, match="Cannot read .*corrupt.safetensors"):
        krc.convert(tmp_path / "corrupt.safetensors", verbose=False)
    with pytest.raises(FileNotFoundError, match="not found"):
        krc.convert(tmp_path / "missing.pth", verbose=False)
    with pytest.raises(ValueError, match=r"Unknown checkpoint type 'x.ckpt'.*\.pth.*\.safetensors"):
        krc.convert(tmp_path / "x.ckpt", verbose=False)

    state = random_state(AKA20)
    st.save_file({k.replace("layer", "stage"): v for k, v in state.items()}, tmp_path / "renamed.safetensors")
    with pytest.raises(ValueError, match="Unknown checkpoint layout .*Known layouts: akamaster.*torchvision"):
        krc.convert(tmp_path / "renamed.safetensors", verbose=False)

    broken = dict(state)
    del broken["layer2.1.bn1.running_var"]
    broken["layer2.1.extra.weight"] = np.zeros(3, np.float32)
    broken["linear.bias"] = np.zeros(11, np.float32)
    st.save_file(broken, tmp_path / "broken.safetensors")
    with pytest.raises(ValueError) as e:
        krc.convert(tmp_path / "broken.safetensors", verbose=False)
    message = str(e.value)
    for part in ("missing keys: layer2.1.bn1.running_var", "unexpected keys: layer2.1.extra.weight",
                 "shape mismatches: linear.bias (11,) (expected (10,))"):
        assert part in message

    st.save_file(state, tmp_path / "r20.safetensors")
    with pytest.raises(ValueError, match=r"blocks per stage 3/3/3 in the checkpoint, 9/9/9 in resnet56"):
        krc.convert(tmp_path / "r20.safetensors", model="resnet56", verbose=False)
    with pytest.raises(ValueError, match="is an ImageNet ResNet"):
        krc.convert(tmp_path / "r20.safetensors", model="resnet50", verbose=False)
    with pytest.raises(ValueError, match="model must name a ResNet"):
        krc.convert(tmp_path / "r20.safetensors", model="plain20", verbose=False)


def test_output_is_never_overwritten_silently(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    st.save_file(random_state(AKA20), tmp_path / "r20.safetensors")
    out = tmp_path / "out.keras"
    out.write_text("precious")
    with pytest.raises(FileExistsError, match="overwrite"):
        krc.convert(tmp_path / "r20.safetensors", output=out, verify=False, verbose=False)
    assert out.read_text() == "precious"
    with pytest.raises(ValueError, match="must end in .keras"):
        krc.convert(tmp_path / "r20.safetensors", output=tmp_path / "out.h5", verify=False, verbose=False)
    krc.convert(tmp_path / "r20.safetensors", output=out, overwrite=True, verify=False, verbose=False)
    import keras

    assert keras.saving.load_model(out).name == "resnet20"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.keras", "r20.safetensors"]   # no temporary left


def test_cli_convert(tmp_path, capsys):
    from keras_resnet.cli import main

    st = pytest.importorskip("safetensors.numpy")
    st.save_file(random_state(AKA20), tmp_path / "r20.safetensors")
    args = ["convert", str(tmp_path / "r20.safetensors"), "-o", str(tmp_path / "r20.keras")]
    assert main(args + ["--no-verify"]) == 0
    assert "akamaster CIFAR ResNet-20" in capsys.readouterr().out and (tmp_path / "r20.keras").is_file()
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("keras-resnet convert: error: Output") and "--overwrite" in err[0]
