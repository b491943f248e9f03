"""Photographic quality measures on a reduced luminance image."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["laplacian_variance", "median_luminance"]


def laplacian_variance(gray: npt.NDArray[np.uint8]) -> float:
    """Variance of the 4-neighbour Laplacian: low when the frame has no sharp edges (blur)."""
    g = gray.astype(np.int16)  # exact: the Laplacian of 0-255 values lies within +-1020
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    return float(lap.var()) if lap.size else 0.0


def median_luminance(gray: npt.NDArray[np.uint8]) -> float:
    """Median luminance 0-255: unlike the mean, a few lamps or shadows do not move it."""
    if not gray.size:
        return 0.0
    cdf = np.cumsum(np.bincount(gray.ravel(), minlength=256))
    return float(np.searchsorted(cdf, cdf[-1] / 2))
