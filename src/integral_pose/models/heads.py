"""Pose heads on top of the stride-32 backbone map.

* :class:`DeconvHead` — the original system's head: N × [ConvTranspose2d(k, stride 2, no bias) → BatchNorm → ReLU]
  with F filters, then a k×k convolution (with bias) to J·D channels (3D volume) or J channels (2D heat maps).
  Its layers sit in one ``features`` sequence, so parameter keys are ``features.{0,1,3,4,6,7,9}`` exactly as in
  the original checkpoints (ReLUs at 2, 5, 8 hold no parameters). Initialisation as the original:
  conv/deconv weights ~ N(0, 0.001²), final bias 0, BatchNorm γ = 1, β = 0. Each layer doubles the resolution,
  so three layers give a heat map of input/4.
* :class:`DirectHead` — the paper's direct-regression baseline: global average pool → ``fc`` linear to J·3
  (keys ``fc.weight``, ``fc.bias`` as the original's ``AvgPoolHead``; PyTorch's default linear init).

Example:
    >>> import torch
    >>> head = DeconvHead(512, out_channels=18 * 16)
    >>> head(torch.zeros(1, 512, 2, 2)).shape  # (B, J·D, 8·h, 8·w)
    torch.Size([1, 288, 16, 16])
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DeconvHead", "DirectHead", "deconv_padding"]


def deconv_padding(kernel: int) -> tuple[int, int]:
    """(padding, output_padding) that make ``ConvTranspose2d(kernel, stride=2)`` exactly double the size.

    Raises:
        ValueError: ``kernel`` is not 2, 3 or 4.
    """
    table = {4: (1, 0), 3: (1, 1), 2: (0, 0)}
    if kernel not in table:
        raise ValueError(f"deconv kernel: expected one of {sorted(table)}, got {kernel}")
    return table[kernel]


class DeconvHead(nn.Module):
    """Upsampling head producing heat-map logits.

    Args:
        in_channels: channels of the backbone map (2048 for ResNet-50/101/152, 512 for 18/34).
        out_channels: J·D for a 3D volume, J for 2D heat maps.
        num_layers: number of deconvolution layers N (each ×2).
        num_filters: channels F of every deconvolution.
        kernel: deconvolution kernel (4, 3 or 2).
        final_kernel: kernel of the final convolution (1 or 3, same padding).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_layers: int = 3,
        num_filters: int = 256,
        kernel: int = 4,
        final_kernel: int = 1,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers: expected >= 1, got {num_layers}")
        if final_kernel not in (1, 3):
            raise ValueError(f"final_kernel: expected 1 or 3, got {final_kernel}")
        if in_channels < 1 or out_channels < 1 or num_filters < 1:
            raise ValueError(
                f"channels must be >= 1, got in_channels={in_channels}, out_channels={out_channels}, "
                f"num_filters={num_filters}"
            )
        padding, output_padding = deconv_padding(kernel)
        layers: list[nn.Module] = []
        ch = in_channels
        for _ in range(num_layers):
            layers += [
                nn.ConvTranspose2d(
                    ch, num_filters, kernel, stride=2, padding=padding, output_padding=output_padding, bias=False
                ),
                nn.BatchNorm2d(num_filters),
                nn.ReLU(inplace=True),
            ]
            ch = num_filters
        layers.append(nn.Conv2d(ch, out_channels, final_kernel, padding=final_kernel // 2, bias=True))
        self.features = nn.Sequential(*layers)
        self.num_layers = num_layers
        self.out_channels = out_channels
        self.upsample = 2**num_layers
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The original's init: weights ~ N(0, 0.001²), biases 0, BatchNorm γ = 1, β = 0."""
        for m in self.features:
            if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d)):
                nn.init.normal_(m.weight, mean=0.0, std=0.001)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) → (B, out_channels, h·2^N, w·2^N) logits."""
        return self.features(x)


class DirectHead(nn.Module):
    """Global average pooling and one linear layer to J·3 normalised coordinates (x0, y0, z0, x1, …).

    Args:
        in_channels: channels of the backbone map.
        num_joints: J.
    """

    def __init__(self, in_channels: int, num_joints: int) -> None:
        super().__init__()
        if in_channels < 1 or num_joints < 1:
            raise ValueError(f"expected in_channels, num_joints >= 1, got {in_channels}, {num_joints}")
        self.fc = nn.Linear(in_channels, num_joints * 3)
        self.num_joints = num_joints
        self.out_channels = num_joints * 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) → (B, J·3)."""
        pooled = x.mean(dim=(2, 3))  # (B, C)
        return self.fc(pooled)
