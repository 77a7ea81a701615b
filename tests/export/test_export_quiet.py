"""``ipr export`` for users: PyTorch's chatter unrelated to the model is silenced, mistakes get one-line errors."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

from integral_pose.export.onnx import _quiet_exporter

_REGISTRATION = "torch.onnx._internal.exporter._registration"


def test_registration_notices_and_pytree_deprecation_are_silenced(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger(_REGISTRATION)
    before = logger.level
    with caplog.at_level(logging.DEBUG), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with _quiet_exporter():
            logger.warning("torchvision is not installed. Skipping torchvision::nms")
            warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated", FutureWarning, stacklevel=1)
            warnings.warn("something about the model", UserWarning, stacklevel=1)
            logger.error("a real exporter error")
    assert logger.level == before
    messages = [r.getMessage() for r in caplog.records if r.name == _REGISTRATION]
    assert messages == ["a real exporter error"]
    assert [str(w.message) for w in seen] == ["something about the model"]


def test_export_cli_refuses_a_mismatched_out_name_and_absent_cuda(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    from integral_pose.cli.main import main

    out = tmp_path / "model.onnx"
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--format", "pt2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--out: expected a .pt2 file name for --format pt2" in err and not out.exists()
    if not torch.cuda.is_available():
        assert main(["export", "--checkpoint", str(tiny_checkpoint), "--device", "cuda"]) == 2
        err = capsys.readouterr().err
        assert "CUDA is not available" in err and "corrupt" not in err
