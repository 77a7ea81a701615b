"""SynthMocap building blocks: motion readers (:mod:`.mocap`), retargeting to Human3.6M joints (:mod:`.retarget`)
and the scene sampler + numpy ray-caster (:mod:`.render`). The dataset command lives in
:mod:`integral_pose.data.sources.synthmocap`."""
