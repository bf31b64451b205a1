"""``keras.ops.numpy``: the NumPy-like ops, gathered from the family modules."""

from kerax.ops._creation import *  # noqa: F403
from kerax.ops._creation import __all__ as _creation_all
from kerax.ops._elementwise import *  # noqa: F403
from kerax.ops._elementwise import __all__ as _elementwise_all
from kerax.ops._indexing import *  # noqa: F403
from kerax.ops._indexing import __all__ as _indexing_all
from kerax.ops._manipulation import *  # noqa: F403
from kerax.ops._manipulation import __all__ as _manipulation_all
from kerax.ops._numpy_extra import *  # noqa: F403
from kerax.ops._numpy_extra import __all__ as _extra_all
from kerax.ops._products import *  # noqa: F403
from kerax.ops._products import __all__ as _products_all
from kerax.ops._reductions import *  # noqa: F403
from kerax.ops._reductions import __all__ as _reductions_all
from kerax.ops._sorting import *  # noqa: F403
from kerax.ops._sorting import __all__ as _sorting_all
from kerax.ops._statistics import *  # noqa: F403
from kerax.ops._statistics import __all__ as _statistics_all
from kerax.ops.linalg import slogdet  # noqa: F401

__all__ = sorted(
    {
        *_creation_all,
        *_elementwise_all,
        *_indexing_all,
        *_manipulation_all,
        *_products_all,
        *_reductions_all,
        *_sorting_all,
        *_extra_all,
        *_statistics_all,
        "slogdet",
    }
)
