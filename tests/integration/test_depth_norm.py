"""The per-dataset depth normaliser (``data.*.depth_norm``) reaches the dataset and the evaluator's decode."""

from __future__ import annotations

import numpy as np
import torch

from integral_pose.config.io import load_config
from integral_pose.data.codec import decode
from integral_pose.data.sources.h36m_challenge import pixels_per_mm
from integral_pose.engine.evaluator import build_test_dataset, predict
from integral_pose.engine.trainer import build_train_dataset
from integral_pose.geometry.affine import extend_box_to_aspect


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
    # "box" mode: the aspect-extended box width expressed in mm at the person (px width / px-per-mm).
    expected = extend_box_to_aspect(rec.box[0], 1.0)[2] / pixels_per_mm(
        rec.joints_2d[0], rec.joints_3d_cam[0], rec.joints_vis[0]
    )
    np.testing.assert_allclose(float(item_box["depth_norm_mm"]), expected, rtol=1e-5)
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
