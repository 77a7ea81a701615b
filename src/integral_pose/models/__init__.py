"""Networks: ResNet backbones with torchvision parameter names, the deconvolution and direct-regression heads,
``PoseNet`` and ``build_network`` (model config → untrained network; :func:`integral_pose.build.build_model` adds
the ImageNet backbone file).

Example:
    >>> from integral_pose.config.schema import ModelConfig
    >>> from integral_pose.models import build_network
    >>> build_network(ModelConfig(backbone="resnet18", depth_bins=8)).arch
    'integral'
"""

from integral_pose.models.heads import DeconvHead, DirectHead
from integral_pose.models.posenet import PoseNet, build_network, logits_to_volume, predict_coords
from integral_pose.models.resnet import RESNETS, ResNet, resnet18, resnet34, resnet50, resnet101, resnet152

__all__ = [
    "RESNETS",
    "DeconvHead",
    "DirectHead",
    "PoseNet",
    "ResNet",
    "build_network",
    "logits_to_volume",
    "predict_coords",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
]
