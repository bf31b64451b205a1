"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization,
RMSNormalization, UnitNormalization (Keras 3 names, arguments, weights and formulas).

Statistics are computed in at least float32 whatever the compute dtype, as in Keras.
Only BatchNormalization keeps state (its moving statistics, returned by ``apply``).
"""

from kerax.layers.normalization._batch_normalization import (
    BatchNormalization as BatchNormalization,
)
from kerax.layers.normalization._group_normalization import (
    GroupNormalization as GroupNormalization,
)
from kerax.layers.normalization._layer_normalization import (
    LayerNormalization as LayerNormalization,
)
from kerax.layers.normalization._layer_normalization import RMSNormalization as RMSNormalization
from kerax.layers.normalization._layer_normalization import (
    UnitNormalization as UnitNormalization,
)

__all__ = [
    "BatchNormalization",
    "GroupNormalization",
    "LayerNormalization",
    "RMSNormalization",
    "UnitNormalization",
]
