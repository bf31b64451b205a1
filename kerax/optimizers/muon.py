"""Muon (Jordan et al., 2024; Moonlight scaling, arXiv:2502.16982) as Keras 3 has it.

Matrices get momentum then Newton-Schulz orthogonalization; every other weight (not
2-D, an embedding, or matched by ``exclude_layers``) gets Keras's Adam. Built from
``optax.trace`` (Keras's un-normalized momentum), ``optax.contrib.scale_by_muon`` used
as a pure orthogonalizer (``beta=0``: it then keeps no momentum of its own, so Keras's
momentum and Nesterov form are kept), and ``optax.partition`` for the two groups.
"""

from __future__ import annotations

import re

import jax
import optax
import optax.contrib

from kerax.optimizers import _transforms
from kerax.optimizers.base import Optimizer, _number, leaf_paths


class Muon(Optimizer):
    """Muon for matrices, Adam for the rest.

    Args:
        learning_rate: float or schedule.
        adam_beta_1, adam_beta_2: Adam's moment decays for the non-Muon weights.
        adam_weight_decay: weight decay of the Adam weights (None for none).
        epsilon: Adam's epsilon.
        weight_decay: weight decay of the Muon weights (None for none).
        name: the optimizer's name.
        exclude_layers: regular expressions; weights whose path matches use Adam.
        exclude_embeddings: weights with "embedding" in their path use Adam.
        muon_a, muon_b, muon_c: the Newton-Schulz polynomial's coefficients.
        adam_lr_ratio: Adam's learning rate as a multiple of ``learning_rate``.
        momentum: Muon's momentum.
        ns_steps: Newton-Schulz iterations.
        nesterov: use Nesterov momentum.
        rms_rate: scale updates by ``sqrt(max(rows, cols)) * rms_rate`` (None: off).
        **kwargs: the base options of :class:`Optimizer`.

    Example:
        >>> import jax.numpy as jnp
        >>> params = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
        >>> opt = Muon(learning_rate=0.01)
        >>> state = opt.init(params)
        >>> updates, state = opt.update(params, state, params)
        >>> updates["w"].shape
        (2, 3)
    """

    _hyperparameters = ("adam_weight_decay", "epsilon", "adam_lr_ratio")

    def __init__(
        self,
        learning_rate=0.001,
        adam_beta_1=0.9,
        adam_beta_2=0.999,
        adam_weight_decay=0.004,
        epsilon=1e-7,
        weight_decay=0.004,
        name=None,
        exclude_layers=None,
        exclude_embeddings=True,
        muon_a=3.4445,
        muon_b=-4.7750,
        muon_c=2.0315,
        adam_lr_ratio=1,
        momentum=0.95,
        ns_steps=5,
        nesterov=True,
        rms_rate=0.2,
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate, weight_decay=weight_decay, name=name, **kwargs
        )
        for key, value in [
            ("adam_beta_1", adam_beta_1),
            ("adam_beta_2", adam_beta_2),
            ("epsilon", epsilon),
            ("adam_lr_ratio", adam_lr_ratio),
            ("momentum", momentum),
        ]:
            setattr(self, key, _number("Muon", key, value, optional=False))
        self.adam_weight_decay = _number("Muon", "adam_weight_decay", adam_weight_decay)
        self.rms_rate = _number("Muon", "rms_rate", rms_rate)
        self.muon_a, self.muon_b, self.muon_c = float(muon_a), float(muon_b), float(muon_c)
        if not isinstance(ns_steps, int) or ns_steps < 1:
            raise ValueError(f"Muon: `ns_steps` must be an integer >= 1. Received: {ns_steps!r}")
        self.ns_steps = ns_steps
        self.nesterov = bool(nesterov)
        self.exclude_layers = list(exclude_layers or [])
        self.exclude_embeddings = bool(exclude_embeddings)

    def _uses_adam(self, path: str, ndim: int) -> bool:
        return (
            ndim != 2
            or (self.exclude_embeddings and "embedding" in path.lower())
            or any(re.search(pattern, path) for pattern in self.exclude_layers)
        )

    def _labels(self, params):
        leaves, treedef = jax.tree.flatten(params)
        return jax.tree.unflatten(
            treedef,
            [
                "adam" if self._uses_adam(path, leaf.ndim) else "muon"
                for path, leaf in zip(leaf_paths(params), leaves, strict=True)
            ],
        )

    def _has_weight_decay(self) -> bool:
        return self.weight_decay is not None or self.adam_weight_decay is not None

    def _decay_rates(self, params, hyperparams):
        leaves = jax.tree.leaves(params)
        return [
            None
            if self._excluded(path)
            else hyperparams.get(
                "adam_weight_decay" if self._uses_adam(path, leaf.ndim) else "weight_decay"
            )
            for path, leaf in zip(leaf_paths(params), leaves, strict=True)
        ]

    def core_transform(self, hp):
        lr = hp["learning_rate"]
        muon = [
            optax.trace(decay=self.momentum, nesterov=self.nesterov),
            optax.contrib.scale_by_muon(
                ns_coeffs=(self.muon_a, self.muon_b, self.muon_c),
                ns_steps=self.ns_steps,
                beta=0.0,
                eps=1e-7,
                nesterov=False,
                # Under partition the non-Muon leaves are MaskedNodes; map keeps them.
                weight_dimension_numbers=lambda updates: jax.tree.map(
                    lambda _: optax.contrib.MuonDimensionNumbers(0, 1), updates
                ),
            ),
        ]
        if self.rms_rate is not None:
            muon.append(_transforms.scale_by_matrix_shape(self.rms_rate))
        muon.append(optax.scale_by_learning_rate(lr))
        adam = optax.chain(
            _transforms.scale_by_keras_adam(self.adam_beta_1, self.adam_beta_2, hp["epsilon"]),
            optax.scale_by_learning_rate(lr * hp["adam_lr_ratio"]),
        )
        return optax.partition({"muon": optax.chain(*muon), "adam": adam}, self._labels)
