"""Training and evaluation data: the records format every source converts to (:mod:`.records`), dataset readers
(:mod:`.sources`), the crop/augment pipeline (:mod:`.augment`, :mod:`.precrop`), the target codec that fixes the
label conventions (:mod:`.codec`), the torch ``Dataset`` (:mod:`.dataset`) and mixed-source samplers
(:mod:`.sampling`)."""
