"""integral-pose: Integral Human Pose Regression (Sun et al., ECCV 2018) in modern PyTorch.

Importing the package has no side effects; submodules are imported on demand.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
