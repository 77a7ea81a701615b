"""A live preview window for ``ipr predict --show`` (OpenCV's ``imshow``), and the check that one can be opened.

Showing frames needs a display (``$DISPLAY`` or ``$WAYLAND_DISPLAY`` on Linux) and an OpenCV build with a GUI
backend; the default dependency ``opencv-python-headless`` has none. :func:`display_unavailable` says why a window
cannot be opened, in one line, without opening one when the answer is already known.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import cv2
import numpy as np

__all__ = ["LiveView", "display_unavailable"]

_QUIT_KEYS = (ord("q"), ord("Q"), 27)  # q or Esc


def display_unavailable(env: dict[str, str] | None = None) -> str | None:
    """Why no preview window can be shown here, or ``None`` when one can.

    Args:
        env: the environment to read (default ``os.environ``).
    """

    env = dict(os.environ) if env is None else env
    if sys.platform.startswith("linux") and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        return "no display ($DISPLAY is not set)"
    info = cv2.getBuildInformation()
    gui = ""
    for line in info.splitlines():
        if line.strip().startswith("GUI:"):
            gui = line.split(":", 1)[1].strip()
            break
    if gui.upper() in ("NONE", "NO"):
        return (
            f"this OpenCV build ({cv2.__version__}) has no GUI backend (opencv-python-headless); "
            "replace it with opencv-python to use --show"
        )
    return None


class LiveView:
    """A window that shows RGB frames as they are produced; ``q`` or Esc (or closing the window) stops.

    Args:
        title: the window title.
        max_side: frames larger than this are shrunk for display (px).
    """

    def __init__(self, title: str = "integral-pose", max_side: int = 1280) -> None:

        self.title = title
        self.max_side = int(max_side)
        self._cv2: Any = cv2
        self._opened = False
        self.stopped = False

    def show(self, image: np.ndarray) -> bool:
        """Show an (H, W, 3) uint8 RGB picture; returns False once the user asked to stop."""
        cv2 = self._cv2
        if self.stopped:
            return False
        if not self._opened:
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
            self._opened = True
        h, w = image.shape[:2]
        f = min(1.0, self.max_side / max(h, w))
        if f < 1.0:
            image = cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        cv2.imshow(self.title, np.ascontiguousarray(image[:, :, ::-1]))
        key = cv2.waitKey(1) & 0xFF
        closed = cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        if key in _QUIT_KEYS or closed:
            self.stopped = True
        return not self.stopped

    def close(self) -> None:
        """Close the window (if it was opened)."""
        if self._opened:
            self._cv2.destroyWindow(self.title)
            self._cv2.waitKey(1)
            self._opened = False
