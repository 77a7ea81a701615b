"""``model.pretrained: imagenet``: torchvision's file fetched once into the torch hub cache, hash checked, offline
message — all without a network (a local ``file://`` URL stands in for download.pytorch.org)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from integral_pose.config.io import config_from_dict
from integral_pose.config.schema import ConfigError
from integral_pose.models import weights
from integral_pose.models.resnet import resnet18


def _publish(folder: Path, state: dict[str, torch.Tensor]) -> str:
    """Write ``state`` as torchvision does and return its published name ``resnet18-<sha256[:8]>.pth``."""
    tmp = folder / "resnet18.pth"
    torch.save(state, tmp)
    name = f"resnet18-{hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]}.pth"
    tmp.rename(folder / name)
    return name


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, dict[str, torch.Tensor]]:
    """A torch hub cache folder, a 'server' folder published as file:// and the published ResNet-18 state."""
    cache, server = tmp_path / "hub", tmp_path / "server"
    server.mkdir()
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(cache))
    state = {k: torch.randn(v.shape) if v.is_floating_point() else v for k, v in resnet18().state_dict().items()}
    state["fc.weight"], state["fc.bias"] = torch.randn(1000, 512), torch.randn(1000)
    name = _publish(server, state)
    monkeypatch.setitem(weights.IMAGENET_FILES, "resnet18", name)
    monkeypatch.setattr(weights, "IMAGENET_URL", server.as_uri() + "/")
    return cache, server, state


def test_imagenet_is_fetched_once_into_the_hub_cache_and_loaded(hub) -> None:
    cache, server, state = hub
    model = resnet18()
    info = weights.load_imagenet(model, "imagenet")
    cached = cache / "checkpoints" / weights.IMAGENET_FILES["resnet18"]
    assert Path(info["path"]) == cached and cached.is_file() and info["dropped"] == ["fc.bias", "fc.weight"]
    torch.testing.assert_close(model.state_dict()["layer4.1.conv2.weight"], state["layer4.1.conv2.weight"])
    for f in server.iterdir():  # no network from now on: the cached file is used
        f.unlink()
    assert weights.fetch_imagenet("resnet18", progress=False) == cached
    assert sorted(p.name for p in cached.parent.iterdir()) == [cached.name]  # no partial files left


def test_a_corrupted_download_fails_its_hash_and_is_not_kept(hub) -> None:
    cache, server, _ = hub
    published = server / weights.IMAGENET_FILES["resnet18"]
    published.write_bytes(published.read_bytes()[:-10] + b"corrupted!")
    with pytest.raises(ValueError, match="fails its sha256 check"):
        weights.fetch_imagenet("resnet18", progress=False)
    assert not (cache / "checkpoints").exists() or not any((cache / "checkpoints").iterdir())


@pytest.mark.usefixtures("hub")
def test_a_corrupted_cached_file_is_named() -> None:
    cached = weights.fetch_imagenet("resnet18", progress=False)
    cached.write_bytes(b"\x80" + cached.read_bytes()[1:-1])
    with pytest.raises(ValueError, match=r"fails its sha256 check.*delete it"):
        weights.fetch_imagenet("resnet18", progress=False)


def test_offline_is_one_line_naming_the_file_and_where_to_place_it(hub, monkeypatch) -> None:
    cache, server, _ = hub
    monkeypatch.setattr(weights, "IMAGENET_URL", (server / "offline").as_uri() + "/")
    with pytest.raises(FileNotFoundError) as err:
        weights.load_imagenet(resnet18(), "imagenet")
    text = str(err.value)
    name = weights.IMAGENET_FILES["resnet18"]
    assert "\n" not in text and name in text and str(cache / "checkpoints" / name) in text


def test_published_names_and_config_checks() -> None:
    assert weights.IMAGENET_FILES["resnet50"] == "resnet50-0676ba61.pth"
    assert weights.IMAGENET_FILES["resnet152"] == "resnet152-394f9c45.pth"
    assert (
        weights.imagenet_cache_path("resnet50") == Path(torch.hub.get_dir()) / "checkpoints" / "resnet50-0676ba61.pth"
    )
    assert config_from_dict({"model": {"pretrained": "imagenet"}}).model.pretrained == "imagenet"
    with pytest.raises(ConfigError, match="full-width"):
        config_from_dict({"model": {"pretrained": "imagenet", "backbone_width": 0.25}})
    with pytest.raises(ValueError, match="full-width"):
        weights.load_imagenet(resnet18(width=0.25), "imagenet")
