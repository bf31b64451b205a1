"""``keras.ops.linalg``: decompositions, solves, norms (batched over leading axes).

Integer input is computed in ``floatx()``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.ops._convert import to_float
from kerax.ops.math import qr


def cholesky(x: Any, upper: bool = False) -> jax.Array:
    """Cholesky factor of symmetric positive-definite matrices.

    Args:
        x: ``(..., n, n)`` tensor.
        upper: return the upper factor ``U`` (``x = U^H U``) instead of the lower ``L``.

    Returns:
        The triangular factor (NaN where ``x`` is not positive definite).

    Example:
        >>> from kerax import ops
        >>> ops.cholesky([[4.0, 0.0], [0.0, 9.0]]).tolist()
        [[2.0, 0.0], [0.0, 3.0]]
    """
    lower = jnp.linalg.cholesky(to_float(x))
    return jnp.conj(jnp.swapaxes(lower, -1, -2)) if upper else lower


def det(x: Any) -> jax.Array:
    """Determinant of square matrices.

    Args:
        x: ``(..., n, n)`` tensor.

    Returns:
        ``(...)`` determinants.

    Example:
        >>> from kerax import ops
        >>> float(ops.det([[2.0, 0.0], [0.0, 3.0]]))
        6.0
    """
    return jnp.linalg.det(to_float(x))


def slogdet(x: Any) -> tuple[jax.Array, jax.Array]:
    """Sign and log of the absolute determinant (stable for large matrices).

    Args:
        x: ``(..., n, n)`` tensor.

    Returns:
        ``(sign, logabsdet)``.

    Example:
        >>> from kerax import ops
        >>> sign, logdet = ops.slogdet([[2.0, 0.0], [0.0, 3.0]])
        >>> float(sign), round(float(logdet), 4)
        (1.0, 1.7918)
    """
    return tuple(jnp.linalg.slogdet(to_float(x)))


def inv(x: Any) -> jax.Array:
    """Inverse of square matrices.

    Args:
        x: ``(..., n, n)`` tensor.

    Returns:
        The inverses.

    Example:
        >>> from kerax import ops
        >>> ops.inv([[2.0, 0.0], [0.0, 4.0]]).tolist()
        [[0.5, 0.0], [0.0, 0.25]]
    """
    return jnp.linalg.inv(to_float(x))


def pinv(x: Any, rcond: float | None = None) -> jax.Array:
    """Moore-Penrose pseudo-inverse.

    Args:
        x: ``(..., m, n)`` tensor.
        rcond: cutoff for small singular values, relative to the largest.

    Returns:
        ``(..., n, m)`` pseudo-inverses.

    Example:
        >>> from kerax import ops
        >>> ops.pinv([[2.0, 0.0]]).tolist()
        [[0.5], [0.0]]
    """
    return jnp.linalg.pinv(to_float(x), rtol=rcond)


def solve(a: Any, b: Any) -> jax.Array:
    """Solve ``a @ x = b`` for ``x``.

    Args:
        a: ``(..., n, n)`` coefficient matrices.
        b: ``(..., n, k)`` or ``(..., n)`` right-hand sides.

    Returns:
        The solutions, shape of ``b``.

    Example:
        >>> from kerax import ops
        >>> ops.solve([[2.0, 0.0], [0.0, 4.0]], [2.0, 2.0]).tolist()
        [1.0, 0.5]
    """
    return jnp.linalg.solve(to_float(a), to_float(b))


def solve_triangular(a: Any, b: Any, lower: bool = False) -> jax.Array:
    """Solve ``a @ x = b`` for triangular ``a``.

    Args:
        a: ``(..., n, n)`` triangular matrices.
        b: ``(..., n, k)`` or ``(..., n)`` right-hand sides.
        lower: ``a`` is lower (else upper) triangular.

    Returns:
        The solutions.

    Example:
        >>> from kerax import ops
        >>> ops.solve_triangular([[1.0, 1.0], [0.0, 1.0]], [3.0, 1.0]).tolist()
        [2.0, 1.0]
    """
    return jax.scipy.linalg.solve_triangular(to_float(a), to_float(b), lower=lower)


def lstsq(a: Any, b: Any, rcond: float | None = None) -> jax.Array:
    """Least-squares solution of ``a @ x ~= b``.

    Args:
        a: ``(m, n)`` matrix.
        b: ``(m,)`` or ``(m, k)`` right-hand side.
        rcond: cutoff for small singular values.

    Returns:
        The solution ``x``.

    Example:
        >>> from kerax import ops
        >>> [round(v, 4) for v in ops.lstsq([[1.0], [1.0]], [1.0, 3.0]).tolist()]
        [2.0]
    """
    return jnp.linalg.lstsq(to_float(a), to_float(b), rcond=rcond)[0]


def eig(x: Any) -> tuple[jax.Array, jax.Array]:
    """Eigenvalues and right eigenvectors of general square matrices (CPU only in JAX).

    Args:
        x: ``(..., n, n)`` tensor.

    Returns:
        ``(eigenvalues, eigenvectors)``, complex.

    Example:
        >>> from kerax import ops
        >>> w, v = ops.eig([[2.0, 0.0], [0.0, 3.0]])
        >>> sorted(w.real.tolist())
        [2.0, 3.0]
    """
    return tuple(jnp.linalg.eig(to_float(x)))


def eigh(x: Any) -> tuple[jax.Array, jax.Array]:
    """Eigenvalues (ascending) and eigenvectors of symmetric/Hermitian matrices.

    Args:
        x: ``(..., n, n)`` tensor.

    Returns:
        ``(eigenvalues, eigenvectors)``.

    Example:
        >>> from kerax import ops
        >>> w, v = ops.eigh([[2.0, 0.0], [0.0, 1.0]])
        >>> w.tolist()
        [1.0, 2.0]
    """
    return tuple(jnp.linalg.eigh(to_float(x)))


def svd(x: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """Singular value decomposition ``x = u @ diag(s) @ vh``.

    Args:
        x: ``(..., m, n)`` tensor.
        full_matrices: square ``u``/``vh`` (else reduced).
        compute_uv: also return ``u`` and ``vh``.

    Returns:
        ``(u, s, vh)``, or ``s`` alone when ``compute_uv`` is ``False``.

    Example:
        >>> from kerax import ops
        >>> ops.svd([[3.0, 0.0], [0.0, 4.0]], compute_uv=False).tolist()
        [4.0, 3.0]
    """
    out = jnp.linalg.svd(to_float(x), full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(out) if compute_uv else out


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> jax.Array:
    """Vector or matrix norm (numpy ``linalg.norm`` semantics).

    Args:
        x: input tensor.
        ord: the norm's order: a number, ``inf``, ``-inf``, ``"fro"`` or ``"nuc"``;
            2-norm / Frobenius when ``None``.
        axis: an int (vector norms), a pair (matrix norms) or ``None`` (flatten, or the
            matrix norm of a 2-D tensor).
        keepdims: keep reduced axes with length 1.

    Returns:
        The norm(s).

    Example:
        >>> from kerax import ops
        >>> float(ops.norm([3.0, 4.0]))
        5.0
    """
    if isinstance(axis, list):
        axis = tuple(axis)
    return jnp.linalg.norm(to_float(x), ord=ord, axis=axis, keepdims=keepdims)


def cholesky_inverse(x: Any, upper: bool = False) -> jax.Array:
    """The inverse of ``L @ L^T`` (``U^T @ U`` when ``upper``) from its Cholesky factor."""
    x = to_float(x)
    eye = jnp.broadcast_to(jnp.eye(x.shape[-1], dtype=x.dtype), x.shape)
    lower = jnp.swapaxes(x, -1, -2) if upper else x
    import jax.scipy.linalg

    inv_l = jax.scipy.linalg.solve_triangular(lower, eye, lower=True)
    return jnp.swapaxes(inv_l, -1, -2) @ inv_l


def lu_factor(x: Any) -> tuple[jax.Array, jax.Array]:
    """LU factorization with partial pivoting: ``(lu, pivots)`` as SciPy's."""
    x = to_float(x)
    lu, pivots, _ = jax.lax.linalg.lu(x)
    return lu, pivots.astype("int32")


def matrix_rank(x: Any, tol: float | None = None) -> jax.Array:
    """The numerical rank (int32): singular values above ``tol``."""
    x = to_float(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_rank expects rank >= 2. Received: {x.shape}")
    s = jnp.linalg.svd(x, compute_uv=False)
    if tol is None:
        tol = s[..., :1] * max(x.shape[-2:]) * jnp.finfo(x.dtype).eps
    return jnp.sum(s > tol, axis=-1).astype("int32")


def jvp(fun: Any, primals: Any, tangents: Any, has_aux: bool = False) -> Any:
    """Forward-mode derivative: ``(fun(*primals), J @ tangents)`` (plus ``aux``)."""
    return jax.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)


__all__ = [
    "cholesky_inverse",
    "jvp",
    "lu_factor",
    "matrix_rank",
    "cholesky",
    "det",
    "eig",
    "eigh",
    "inv",
    "lstsq",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_triangular",
    "svd",
]
