"""Pure maths, no I/O: the integral (soft-argmax) op and its memory-lean form (:mod:`.integral`), arg-max heat-map
decoding (:mod:`.heatmap`), crop affines (:mod:`.affine`), pinhole cameras with distortion and the root-depth solve
(:mod:`.camera`) and Procrustes alignment (:mod:`.procrustes`). Shapes and units are in each function's docstring."""
