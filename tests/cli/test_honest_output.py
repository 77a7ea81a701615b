"""Honest, informative output (issue 15, item 4): protocol/records mismatch, cheap input checks before the model
loads, stage lines for eval and export, and the package's warnings as one line."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pytest
from tiny_data import make_tiny_split

from integral_pose.cli.main import main
from integral_pose.data.checks import check_records_inputs

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synth_records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four SynthMocap-labelled samples (records header dataset 'synthmocap')."""
    return make_tiny_split(tmp_path_factory.mktemp("synth"), "test", 4, seed=5, size=64)


def _test_data(records: Path) -> str:
    return f"data.test=[{{kind: synthmocap, records: '{records}'}}]"


def _one_line_error(capsys: pytest.CaptureFixture[str], code: int, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def _no_model_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the evaluation reaches the point of loading a model."""

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded before the input check")

    monkeypatch.setattr("integral_pose.engine.evaluator._load_models", boom)


# ------------------------------------------------------------------------------------------------ protocol
def test_eval_refuses_a_protocol_of_another_dataset(
    tiny_checkpoint: Path, synth_records: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_model_load(monkeypatch)
    code = main(["eval", "--checkpoint", str(tiny_checkpoint), _test_data(synth_records),
                 "--protocol", "h36m_p1", "--no-report", "--out", str(synth_records.parent / "out")])  # fmt: skip
    err = _one_line_error(capsys, code, "h36m_p1", "Human3.6M Protocol #1", "h36m records", "synthmocap records")
    assert "--protocol synthmocap" in err and str(synth_records) in err


def test_eval_replaces_a_configured_protocol_that_does_not_apply(
    tiny_checkpoint: Path, synth_records: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tiny checkpoint's config keeps the default eval.protocol (h36m_p1); its records are SynthMocap."""
    out = tmp_path / "eval"
    code = main(["eval", "--checkpoint", str(tiny_checkpoint), _test_data(synth_records),
                 "data.num_workers=0", "--no-report", "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "note: eval.protocol h36m_p1" in printed.err and "evaluating with synthmocap" in printed.err
    assert "Human3.6M" not in printed.out and printed.out.startswith("SynthMocap test")
    # stage lines and a progress bar on stderr while it works
    assert "ipr eval: loading 1 checkpoint(s)" in printed.err
    assert "eval: predict" in printed.err and "ipr eval: scoring" in printed.err


def test_eval_no_progress_is_quiet(
    tiny_checkpoint: Path, synth_records: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["eval", "--checkpoint", str(tiny_checkpoint), _test_data(synth_records),
                 "data.num_workers=0", "--protocol", "synthmocap", "--no-report", "--no-progress",
                 "--out", str(tmp_path / "eval")])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0 and printed.err == "", printed.err


# ------------------------------------------------------------------------------------------------ cheap checks
def test_eval_checks_records_and_images_before_the_model_loads(
    tiny_checkpoint: Path, synth_records: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    _no_model_load(monkeypatch)
    missing = tmp_path / "nope.npz"
    code = main(["eval", "--checkpoint", str(tiny_checkpoint), _test_data(missing),
                 "--out", str(tmp_path / "out")])  # fmt: skip
    _one_line_error(capsys, code, "data.test[0].records", "nope.npz", "not found")

    # a copy of the records whose first image is a text file
    folder = tmp_path / "broken"
    (folder / "images" / "test").mkdir(parents=True)
    for png in (synth_records.parent / "images" / "test").iterdir():
        (folder / "images" / "test" / png.name).write_bytes(png.read_bytes())
    (folder / "images" / "test" / "test_0000.png").write_text("not a picture\n")
    records = folder / "test.npz"
    records.write_bytes(synth_records.read_bytes())
    code = main(["eval", "--checkpoint", str(tiny_checkpoint), _test_data(records),
                 "--out", str(tmp_path / "out")])  # fmt: skip
    _one_line_error(capsys, code, "data.test[0].records: first image", "test_0000.png", "not a decodable image")


def test_check_records_inputs_reports_the_dataset(synth_records: Path) -> None:
    from integral_pose.config.io import config_from_dict

    cfg = config_from_dict({"data": {"test": [{"kind": "synthmocap", "records": str(synth_records)}]}})
    (info,) = check_records_inputs(cfg, "test")
    assert info.header.dataset == "synthmocap" and info.where == "data.test[0].records"


@pytest.mark.parametrize("verb", ["predict", "eval", "export"])
def test_missing_checkpoint_is_named_at_once(
    verb: str, tmp_path: Path, assets_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [verb, "--checkpoint", str(tmp_path / "missing.pt")]
    if verb == "predict":
        argv += ["--source", str(assets_dir / "images" / "camera.png")]
    start = time.perf_counter()
    code = main(argv)
    assert time.perf_counter() - start < 1.0
    _one_line_error(capsys, code, "--checkpoint", "missing.pt", "not found")


def test_text_file_named_jpg_fails_before_the_model_loads(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded before the input check")

    monkeypatch.setattr("integral_pose.inference.estimator.PoseEstimator.from_checkpoint", boom)
    fake = tmp_path / "holiday.jpg"
    fake.write_text("these are my holiday notes, not a photo\n")
    start = time.perf_counter()
    code = main(["predict", "--checkpoint", str(tiny_checkpoint), "--source", str(fake)])
    assert time.perf_counter() - start < 1.0
    _one_line_error(capsys, code, "--source", "holiday.jpg", "not a decodable image")

    folder = tmp_path / "album"
    folder.mkdir()
    (folder / "a.jpg").write_text("text\n")
    (folder / "b.png").write_bytes(b"")
    code = main(["predict", "--checkpoint", str(tiny_checkpoint), "--source", str(folder)])
    _one_line_error(capsys, code, "--source", "none of the 2 image file(s)", "album")


# ------------------------------------------------------------------------------------------------ export stages
def test_export_prints_its_stages(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tiny.pt2"
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--format", "pt2", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("ipr export: ")]
    assert lines[0].startswith("ipr export: loading the checkpoint") and "elapsed" in lines[0]
    assert any("torch.export" in line for line in lines), err
    assert out.is_file()


def test_export_onnx_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ONNX path reports the trace and the parity check (the heavy calls replaced by stand-ins)."""
    from integral_pose.export import onnx as ex

    seen: list[str] = []
    monkeypatch.setattr(ex, "onnx_bytes", lambda *a, **k: b"onnx")
    monkeypatch.setattr(ex, "check_onnx_parity", lambda *a, **k: 0.0)
    monkeypatch.setattr(ex, "_atomic_replace", lambda tmp, out: None)
    ex.export_onnx(None, None, Path("/tmp/never-written.onnx"), progress=seen.append)  # type: ignore[arg-type]
    assert seen[0].startswith("tracing the network") and seen[1].startswith("checking the ONNX graph")


# ------------------------------------------------------------------------------------------------ warnings
def test_package_warnings_print_as_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from integral_pose.cli import config as cli_config
    from integral_pose.inference.estimator import RootDepthWarning

    def warn_then_ok(args: object) -> int:
        text = "photo: person 0: the solved root depth z = -6807 mm is behind the camera"
        warnings.warn(text, RootDepthWarning, stacklevel=2)
        return 0

    monkeypatch.setattr(cli_config, "run", warn_then_ok)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["config", "show", "-"]) == 0
    err = capsys.readouterr().err.strip()
    assert err == "ipr config: warning: photo: person 0: the solved root depth z = -6807 mm is behind the camera"
