"""YAML recipes, dotted overrides, saving, the shipped configs and ``ipr config show|check``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from integral_pose.cli.main import main
from integral_pose.config import Config, ConfigError, ConfigTypeError, config_to_dict, load_config, save_config
from integral_pose.config.io import apply_overrides, config_from_dict, config_with_overrides, parse_override
from integral_pose.data.records import PoseRecords, RecordsHeader, save_records

REPO = Path(__file__).resolve().parents[2]
RECIPES = sorted((REPO / "configs").rglob("*.yaml"))


def _write(tmp_path: Path, text: str, name: str = "recipe.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_load_yaml_with_overrides(tmp_path: Path) -> None:
    p = _write(tmp_path, "model:\n  backbone: resnet18\n  depth_bins: 16\noptim:\n  lr: 1e-3\ndata:\n  train:\n"
                         "    - {kind: mpii, records: m.npz}\n    - {kind: h36m, records: h.npz}\n")  # fmt: skip
    cfg = load_config(p, ["optim.lr=1e-4", "model.backbone=resnet152", "data.train.1.ratio=2",
                          "train.amp=bf16", "eval.bone_length_rescale=null", "optim.milestones=[5, 8]"])  # fmt: skip
    assert cfg.name == "recipe"
    assert cfg.optim.lr == pytest.approx(1e-4) and cfg.model.backbone == "resnet152" and cfg.model.depth_bins == 16
    assert cfg.data.train[1].ratio == 2.0 and cfg.data.train[0].ratio == 1.0
    assert cfg.train.amp == "bf16" and cfg.optim.milestones == (5, 8)
    assert load_config(None).model == Config().model


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    p = _write(tmp_path, "model:\n  backbone: resnet18\n  depth_bins: [1, 2\noptim:\n  lr: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert "recipe.yaml:" in str(info.value) and "YAML syntax error" in str(info.value)
    line = int(str(info.value).split("recipe.yaml:")[1].split(":")[0])
    assert line in (3, 4)
    tab = _write(tmp_path, "model:\n\tbackbone: resnet18\n", "tab.yaml")
    with pytest.raises(ConfigError, match=r"tab.yaml:2:"):
        load_config(tab)


def test_unknown_key_and_wrong_type_in_file(tmp_path: Path) -> None:
    p = _write(tmp_path, "optim:\n  milestone: [1, 2]\n")
    with pytest.raises(ConfigError, match=r"optim.milestone: unknown key \(did you mean 'milestones'\?\).*recipe.yaml"):
        load_config(p)
    p2 = _write(tmp_path, "train:\n  batch_size: sixteen\n", "b.yaml")
    with pytest.raises(ConfigTypeError, match=r"train.batch_size: expected int, got str 'sixteen'"):
        load_config(p2)
    with pytest.raises(ConfigTypeError, match=r"top level"):
        load_config(_write(tmp_path, "- 1\n- 2\n", "list.yaml"))
    with pytest.raises(FileNotFoundError, match=r"absent.yaml"):
        load_config(tmp_path / "absent.yaml")


def test_override_errors() -> None:
    with pytest.raises(ConfigError, match=r"KEY=VALUE"):
        parse_override("optim.lr")
    with pytest.raises(ConfigError, match=r"empty segment"):
        parse_override("optim..lr=1")
    with pytest.raises(ConfigError, match=r"data.train\[3\].*list index < 1"):
        apply_overrides({"data": {"train": [{"kind": "mpii", "records": "a"}]}}, ["data.train.3.ratio=2"])
    with pytest.raises(ConfigError, match=r"cannot set a key inside"):
        apply_overrides({"optim": {"lr": 1.0}}, ["optim.lr.x=2"])
    with pytest.raises(ConfigError, match=r"model.backbon: unknown key \(did you mean 'backbone'\?\)"):
        load_config(None, ["model.backbon=resnet18"])


def test_save_config_round_trip(tmp_path: Path) -> None:
    cfg = load_config(None, ["model.backbone=resnet34", "data.train=[{kind: coco, records: c.npz, box: tight}]"])
    path = save_config(cfg, tmp_path / "run" / "config.yaml")
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.yaml"]
    assert load_config(path).model == cfg.model
    assert config_from_dict(yaml.safe_load(path.read_text())) == cfg


@pytest.mark.parametrize("path", RECIPES, ids=[str(p.relative_to(REPO / "configs")) for p in RECIPES])
def test_shipped_recipes_are_valid(path: Path) -> None:
    cfg = load_config(path)
    assert config_from_dict(config_to_dict(cfg)) == cfg


def test_recipes_match_the_original_systems() -> None:
    paper = load_config(REPO / "configs/h36m/r50_256_int64_l1_mh_e300.yaml")
    assert (paper.model.backbone, paper.model.depth_bins, paper.heatmap_size) == ("resnet50", 64, (64, 64))
    assert (paper.optim.lr, paper.optim.milestones, paper.train.epochs, paper.train.batch_size) == (
        1e-3, (270, 290), 300, 128)  # fmt: skip
    assert [s.kind for s in paper.data.train] == ["mpii", "h36m"]
    direct = load_config(REPO / "configs/h36m/r50_256_dir_l1_mh_e140.yaml")
    assert direct.model.arch == "direct" and direct.optim.milestones == (90, 120) and direct.train.epochs == 140
    chall = load_config(REPO / "configs/challenge/r152_288x384_int72_l1_mch_e300.yaml")
    assert (chall.model.backbone, chall.model.depth_bins, chall.heatmap_size) == ("resnet152", 72, (96, 72))
    assert [s.kind for s in chall.data.train] == ["mpii", "coco", "h36m_challenge"]
    assert (chall.optim.lr, chall.train.batch_size, chall.eval.bone_length_rescale) == (1e-4, 48, 4502.881)


def test_cli_show_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = str(REPO / "configs/h36m/r50_256_int64_l1_mh_e300.yaml")
    assert main(["config", "show", recipe, "optim.lr=2e-4"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["optim"]["lr"] == 2e-4 and shown["model"]["depth_bins"] == 64
    assert main(["config", "check", recipe, "--no-files"]) == 0
    assert "OK (integral resnet50, patch 256×256 px (W×H), heat map 64×64×64 bins (W×H×D)" in capsys.readouterr().out
    assert main(["config", "check", recipe, "model.backbone=resnet51", "--no-files"]) == 2
    err = capsys.readouterr().err
    assert "model.backbone" in err and "resnet50" in err and "resnet152" in err
    assert main(["config", "check", recipe]) == 2  # its data and weights are not on this machine
    err = capsys.readouterr().err
    assert "model.pretrained: file not found" in err and "data.test[0].records: file not found" in err


def _records(folder: Path) -> Path:
    (folder / "images").mkdir(parents=True)
    header = RecordsHeader(dataset="synthmocap", split="train", joint_set="h36m18", root="images")
    records = PoseRecords.create(header, image_path=["a.png"], image_size=[[64, 64]], box=[[0, 0, 64, 64]],
                                 joints_2d=np.zeros((1, 18, 2)), joints_3d_cam=np.zeros((1, 18, 3)))  # fmt: skip
    return save_records(records, folder / "t.npz")


def test_config_check_verifies_the_files_it_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = _records(tmp_path / "data")
    train = f"data.train=[{{kind: synthmocap, records: '{records}'}}]"
    assert main(["config", "check", "-", train]) == 0
    assert "files present" in capsys.readouterr().out
    # 'imagenet' and a shipped model's name are not files
    for value in ("imagenet", "synthmocap-small"):
        assert main(["config", "check", "-", train, f"model.pretrained={value}"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    weights = tmp_path / "resnet.pth"
    assert main(["config", "check", "-", train, f"model.pretrained={weights}"]) == 2
    assert f"model.pretrained: file not found: '{weights}'" in capsys.readouterr().err
    assert main(["config", "check", "-", train, f"model.pretrained={weights}", "--no-files"]) == 0
    capsys.readouterr()
    # an empty file is not a records file; a missing image folder is named
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    assert main(["config", "check", "-", f"data.val=[{{kind: synthmocap, records: '{empty}'}}]"]) == 2
    assert "data.val[0].records" in capsys.readouterr().err
    (records.parent / "images").rmdir()
    assert main(["config", "check", "-", train]) == 2
    err = capsys.readouterr().err
    assert "data.train[0].records: its image folder" in err and "does not exist" in err
    assert len(err.strip().splitlines()) == 1


def test_config_check_help_tells_what_it_checks(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["config", "check", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "every file it names exists and is readable" in text and "--no-files" in text


def test_bad_override_names_the_override_and_suggests_a_value(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("optim:\n  lr: 0.002\n")
    with pytest.raises(ConfigTypeError) as info:
        load_config(recipe, ["optim.lr=abc"])
    text = str(info.value)
    assert text == (
        "optim.lr: expected float (number), got str 'abc' (from the override 'optim.lr=abc'; e.g. optim.lr=0.002)"
    )
    assert "\n" not in text
    with pytest.raises(ConfigError, match=r"train\.epochs: expected int, got float 1\.5 \(from the override "
                                          r"'train\.epochs=1\.5'; e\.g\. train\.epochs=\d+\)"):  # fmt: skip
        load_config(recipe, ["train.epochs=1.5"])  # not in the file: the default is suggested
    with pytest.raises(ConfigError, match=r"optim\.lrr: unknown key \(did you mean 'lr'\?\).*from the override"):
        load_config(recipe, ["optim.lrr=1"])
    with pytest.raises(
        ConfigError, match=r"^optm: unknown key \(did you mean 'optim'\?\).*from the override 'optm\.lr=1'"
    ):
        load_config(recipe, ["optm.lr=1"])  # the misspelt section is the override's, not the recipe's
    with pytest.raises(ConfigError, match=r"^data\.tst: unknown key .*from the override 'data\.tst\.0\.records=x'"):
        load_config(recipe, ["data.tst.0.records=x"])
    stored = config_to_dict(Config())  # e.g. the config inside a checkpoint (``ipr eval`` without --config)
    with pytest.raises(ConfigError, match=r"^model\.depth_binz: .*from the override 'model\.depth_binz=8'"):
        config_with_overrides(stored, ["model.depth_binz=8"], "the config stored in last.pt")
    with pytest.raises(ConfigError, match=r"^optim\.lr: .* \(in the config stored in last\.pt\)$"):
        config_with_overrides({**stored, "optim": {"lr": -1}}, ["train.epochs=3"], "the config stored in last.pt")
    recipe.write_text("optim:\n  lr: abc\n")
    with pytest.raises(ConfigTypeError, match=r"optim\.lr: expected float .* \(in .*r\.yaml\)$"):
        load_config(recipe, ["train.epochs=3"])  # the error is the file's, not the override's


def test_check_summary_states_size_order(capsys: pytest.CaptureFixture[str]) -> None:
    """A non-square recipe: the user must be able to tell width from height in the summary."""
    recipe = Path(__file__).resolve().parents[2] / "configs" / "challenge" / "r152_288x384_int72_l1_mch_e300.yaml"
    assert main(["config", "check", str(recipe), "--no-files"]) == 0
    out = capsys.readouterr().out
    assert "patch 288×384 px (W×H), heat map 72×96×72 bins (W×H×D)" in out
