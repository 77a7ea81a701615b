"""Export of the pose network with the integral op inside: ONNX (checked against onnxruntime) and ``torch.export``
``.pt2``, with the input/output contract stored in the file (:mod:`.onnx`)."""
