"""Benchmarks behind ``ipr bench``: each measures a baseline in the same run and prints ratios against it
(integral op, training step, inference, data loading, SynthMocap rendering)."""
