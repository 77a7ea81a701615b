"""Metrics with hand-checked definitions: MPJPE / PA-MPJPE / rigid-align (:mod:`.metrics`), MPII PCKh
(:mod:`.pckh`), COCO keypoint AP (:mod:`.coco_ap`), and the named evaluation protocols (:mod:`.protocols`)."""
