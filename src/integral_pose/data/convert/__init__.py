"""Converters from raw dataset releases (e.g. Human3.6M's CDF poses and videos) to the layouts :mod:`..sources`
reads."""
