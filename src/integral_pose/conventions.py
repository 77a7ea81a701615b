"""Numerical defaults of the original system's conventions, each written once (DESIGN §3).

Every module that needs one of these numbers imports it from here instead of repeating the literal.

Example:
    >>> DEFAULT_PATCH_SIZE, DEFAULT_RECT_3D_MM
    ((256, 256), 2000.0)
"""

from __future__ import annotations

__all__ = ["DEFAULT_PATCH_SIZE", "DEFAULT_RECT_3D_MM", "MEAN_SKELETON_LENGTH_MM"]

DEFAULT_RECT_3D_MM = 2000.0
"""Side (mm) of the 3D square that normalises root-relative depth (``rect_3d_width`` of the integral project)
and that Human3.6M boxes are projected from."""

DEFAULT_PATCH_SIZE = (256, 256)
"""Default network input crop (patch_w, patch_h) in px."""

MEAN_SKELETON_LENGTH_MM = 4502.881
"""Mean total length (mm) of the 17 bones of Human3.6M-18 over the ECCV'18 challenge's train+val sets: the
original's bone-length rescale target (``rescale_pose_from_patch_to_camera``)."""
