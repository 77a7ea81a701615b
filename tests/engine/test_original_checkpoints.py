"""Original-system checkpoints everywhere: ``--recipe`` in predict/eval/export, ``ipr convert``, built-in recipes.

The checkpoints are built here in the original layout (``tests/support/original_layout.py``) at reduced width, which
keeps every key name and the block structure of the released files (ResNet-50 and ResNet-152, DataParallel
``module.`` keys, no BatchNorm counters, legacy serialisation) while staying fast on a CPU.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import original_layout as OL
import pytest
import torch
from challenge_layout import write_challenge_val

from integral_pose.cli.main import main
from integral_pose.config.io import load_config
from integral_pose.data.codec import codec_from_config
from integral_pose.engine.checkpoint import load_checkpoint
from integral_pose.engine.original import checkpoint_kind, convert_original_checkpoint, load_pose_checkpoint
from integral_pose.export.onnx import load_pose_model
from integral_pose.inference import PoseEstimator
from integral_pose.models.zoo import ORIGINAL_RECIPES, recipe_config

REPO = Path(__file__).resolve().parents[2]
PHOTO = REPO / "src" / "integral_pose" / "assets" / "images" / "grace_hopper.jpg"


# (recipe, block counts, width, deconv filters, depth bins, input (H, W))
FAMILIES = {
    "h36m-r50-256": (OL.R50, 0.25, 32, 64, (256, 256)),
    "challenge-r152-288x384": (OL.R152, 0.125, 16, 72, (384, 288)),
}


@pytest.fixture(scope="module")
def original_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, torch.nn.Module]]:
    """One original-format file per released family: (path, the original network it was saved from)."""
    torch.set_num_threads(1)
    base = tmp_path_factory.mktemp("original")
    out = {}
    for name, (layers, width, filters, depth, _) in FAMILIES.items():
        net = OL.integral_net(layers, width, filters, 18, depth)
        out[name] = (OL.save_original(net, base / f"{name}.pth.tar", legacy=True), net)
    return out


@pytest.mark.parametrize("name", list(ORIGINAL_RECIPES))
def test_builtin_recipe_is_the_configs_recipe(name: str) -> None:
    builtin, full = recipe_config(name), load_config(REPO / ORIGINAL_RECIPES[name].recipe_file)
    assert codec_from_config(builtin) == codec_from_config(full)
    assert builtin.model == dataclasses.replace(full.model, pretrained=None)
    assert (builtin.eval, builtin.data.test) == (full.eval, full.data.test)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_original_checkpoint_with_recipe_gives_the_original_logits(original_files, name: str) -> None:
    path, net = original_files[name]
    assert checkpoint_kind(path) == "original"
    model, ckpt = load_pose_checkpoint(path, name)
    h, w = FAMILIES[name][4]
    x = torch.randn(1, 3, h, w)
    with torch.no_grad():
        torch.testing.assert_close(model(x), net(x), rtol=0, atol=0)
    codec = ckpt["codec"]
    assert (codec["patch_width"], codec["patch_height"]) == (w, h)
    assert codec["depth_bins"] == FAMILIES[name][3] == codec["heatmap_width"]
    assert codec["depth_norm"] == ("box" if name.startswith("challenge") else "rect3d")
    assert ckpt["extra"] == {"converted_from": path.name, "original_epoch": 140, "recipe": name}
    _, contract = load_pose_model(path, recipe=name)  # the export/inference contract comes from the recipe
    assert contract.patch_size == (w, h) and contract.codec.depth_norm == codec["depth_norm"]


@pytest.mark.parametrize("name", list(FAMILIES))
def test_predict_cli_with_recipe_equals_python_api_and_convert(original_files, tmp_path: Path, name: str) -> None:
    path, _ = original_files[name]
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"format": "xywh", "boxes": [[60, 20, 400, 560]]}))
    base = ["predict", "--source", str(PHOTO), "--boxes", str(boxes), "--no-progress"]
    assert main([*base, "--checkpoint", str(path), "--recipe", name, "--save-json", str(tmp_path / "a")]) == 0
    cli = json.loads((tmp_path / "a" / "grace_hopper.json").read_text())

    api = PoseEstimator.from_checkpoint(path, recipe=name)(str(PHOTO), boxes=[[60, 20, 400, 560]]).to_dict()
    for key in ("keypoints_2d", "keypoints_3d", "keypoints_3d_rel", "scores"):  # the JSON's 3 decimals
        assert cli[key] == api[key], key
    assert np.isfinite(np.asarray(cli["keypoints_3d"], float)).all()

    converted = tmp_path / "converted.pt"
    assert main(["convert", "--checkpoint", str(path), "--recipe", name, "--out", str(converted)]) == 0
    assert load_checkpoint(converted)["codec"]["patch_width"] == FAMILIES[name][4][1]
    assert main([*base, "--checkpoint", str(converted), "--save-json", str(tmp_path / "b")]) == 0  # no --recipe
    again = json.loads((tmp_path / "b" / "grace_hopper.json").read_text())
    assert again["keypoints_2d"] == cli["keypoints_2d"] and again["keypoints_3d"] == cli["keypoints_3d"]


def test_recipe_file_works_like_the_name(original_files) -> None:
    path, _ = original_files["challenge-r152-288x384"]
    _, by_name = load_pose_checkpoint(path, "challenge-r152-288x384")
    _, by_file = load_pose_checkpoint(path, REPO / "configs/challenge/r152_288x384_int72_l1_mch_e300.yaml")
    assert by_name["codec"] == by_file["codec"]


def test_wrong_or_missing_recipe_is_one_line_before_any_model(original_files, tmp_path: Path, capsys) -> None:
    path, _ = original_files["challenge-r152-288x384"]
    base = ["predict", "--source", str(PHOTO), "--detector", "full", "--checkpoint", str(path)]
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "original-system checkpoint" in err and "challenge-r152-288x384" in err and len(err.splitlines()) == 1
    assert main([*base, "--recipe", "h36m-r50-256"]) == 2
    err = capsys.readouterr().err
    assert "backbone 'resnet152' (recipe: 'resnet50')" in err and "recipes that fit it: challenge-r152-288x384" in err
    assert main([*base, "--recipe", "no-such-recipe"]) == 2
    assert "neither a built-in recipe" in capsys.readouterr().err


@pytest.mark.parametrize("verb", ["predict", "eval", "export"])
def test_text_file_as_checkpoint_is_one_short_line(tmp_path: Path, capsys, verb: str) -> None:
    text = tmp_path / "notes.pth.tar"
    text.write_text("these are my notes, not a model\n")
    extra = ["--source", str(PHOTO)] if verb == "predict" else []
    assert main([verb, "--checkpoint", str(text), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(text) in err and "not a PyTorch checkpoint" in err
    assert "weights_only" not in err and "original-system checkpoint (.pth.tar)" in err


def test_convert_refuses_our_checkpoint_and_its_own_input(original_files, tiny_checkpoint: Path, tmp_path) -> None:
    path, _ = original_files["h36m-r50-256"]
    with pytest.raises(ValueError, match="already an integral-pose checkpoint"):
        convert_original_checkpoint(tiny_checkpoint, "h36m-r50-256", tmp_path / "x.pt")
    with pytest.raises(ValueError, match="the original checkpoint itself"):
        convert_original_checkpoint(path, "h36m-r50-256", path)
    with pytest.raises(ValueError, match="carries its own recipe"):
        load_pose_checkpoint(tiny_checkpoint, "h36m-r50-256")
    assert not (tmp_path / "x.pt").exists()


def test_eval_cli_scores_an_original_challenge_checkpoint_on_challenge_records(
    original_files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = original_files["challenge-r152-288x384"]
    records = write_challenge_val(tmp_path / "challenge", n=2)
    test = f"data.test=[{{kind: h36m_challenge, records: '{records}', box: tight, depth_norm: box}}]"
    out = tmp_path / "eval"
    code = main(["eval", "--checkpoint", str(path), "--recipe", "challenge-r152-288x384", test, "--out", str(out),
                 "--device", "cpu", "--no-report", "--no-progress"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    res = json.loads((out / "eval.json").read_text())
    assert res["num_samples"] == 2 and res["protocol"] == "h36m_challenge"
    assert all(np.isfinite(res[k]) and res[k] > 0 for k in ("mpjpe", "align_mpjpe", "pa_mpjpe"))
    assert "bone length 4502.881" in captured.out


def test_export_cli_of_an_original_checkpoint_runs_like_the_torch_model(original_files, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    path, _ = original_files["h36m-r50-256"]
    onnx_file = tmp_path / "r50.onnx"
    args = ["export", "--checkpoint", str(path), "--recipe", "h36m-r50-256", "--out", str(onnx_file), "--no-progress"]
    assert main(args) == 0
    box = [[60, 20, 400, 560]]
    torch_res = PoseEstimator.from_checkpoint(path, recipe="h36m-r50-256", detector="full")(str(PHOTO), boxes=box)
    onnx_res = PoseEstimator.from_checkpoint(onnx_file, backend="onnx", detector="full")(str(PHOTO), boxes=box)
    np.testing.assert_allclose(onnx_res.keypoints_2d, torch_res.keypoints_2d, atol=1e-2)
    np.testing.assert_allclose(onnx_res.keypoints_3d_rel, torch_res.keypoints_3d_rel, atol=0.5)
