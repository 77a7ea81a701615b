"""The per-dataset depth normaliser (``data.*.depth_norm``) reaches the dataset and the evaluator's decode."""

from __future__ import annotations

import numpy as np
import torch

from integral_pose.build import build_test_dataset, build_train_dataset
from integral_pose.config.io import load_config
from integral_pose.data.codec import decode
from integral_pose.engine.eval_predict import predict


class _ConstantCoords(torch.nn.Module):
    """Stands in for a network: its logits put every joint at the same normalised depth."""

    def __init__(self, cfg) -> None:
        super().__init__()
        self.j, self.d = cfg.model.num_joints, cfg.model.depth_bins
        self.h, self.w = cfg.data.patch_height // 4, cfg.data.patch_width // 4
        self.bias = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.full((x.shape[0], self.j, self.d, self.h, self.w), -1e4)
        logits[:, :, self.d - 1, self.h // 2, self.w // 2] = 0.0  # deepest bin
        return logits.reshape(x.shape[0], self.j * self.d, self.h, self.w) + self.bias


def test_box_depth_norm_reaches_dataset_and_decode(tiny_data, tiny_config, tmp_path):
    cfg_path = tiny_config(tiny_data, tmp_path)
    box_cfg = load_config(
        cfg_path,
        [
            f'data.test=[{{kind: synthmocap, records: "{tiny_data["test"]}", depth_norm: box}}]',
            f'data.train=[{{kind: synthmocap, records: "{tiny_data["train"]}", depth_norm: box}}]',
        ],
    )
    rect_cfg = load_config(cfg_path)

    test_box = build_test_dataset(box_cfg)
    test_rect = build_test_dataset(rect_cfg)
    item_box, item_rect = test_box[0], test_rect[0]
    rec = test_box.datasets[0].records
    # "box" mode: the box width in mm at the person. Independent of the 2D/3D similarity fit the dataset uses
    # (checked exactly in tests/data/test_dataset.py): a pinhole camera sees f / Z px per mm at depth Z, so the
    # normaliser is close to the (square-patch) box's larger side × Z_root / f; the pose's own depth spread
    # makes the two differ by a few per cent.
    side = max(float(rec.box[0, 2]), float(rec.box[0, 3]))
    pinhole = side * float(rec.joints_3d_cam[0, 0, 2]) / float(rec.cam_f[0, 0])
    np.testing.assert_allclose(float(item_box["depth_norm_mm"]), pinhole, rtol=0.05)
    assert float(item_rect["depth_norm_mm"]) == rect_cfg.data.rect_3d_mm
    train_parts = build_train_dataset(box_cfg)[0]
    assert float(train_parts[0]["depth_norm_mm"]) != rect_cfg.data.rect_3d_mm

    model = _ConstantCoords(box_cfg)
    out = predict([model], test_box, box_cfg, flip_test=False, num_workers=0)
    _, z_expected = decode(out["coords"], out["inv_affine"], (64, 64), out["depth_norm_mm"].astype(np.float64))
    np.testing.assert_allclose(out["z_rel_mm"], z_expected)
    assert not np.allclose(
        out["z_rel_mm"], predict([model], test_rect, rect_cfg, flip_test=False, num_workers=0)["z_rel_mm"]
    )
