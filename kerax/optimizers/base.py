"""The Keras optimizer API over one optax transformation.

An optimizer is configuration plus one ``optax.GradientTransformation``, built once and
exposed as ``opt.transform``. All numbers live in the optimizer state, a pytree the
caller owns; the object itself holds no arrays. The contract the trainer uses::

    opt_state = opt.init(params)
    updates, opt_state = opt.update(grads, opt_state, params)  # pure: jit, vmap, shard
    params = optax.apply_updates(params, updates)
    # or both at once, writing the gradients of weights flagged overwrite_with_gradient
    # (float8 scales) into them, as Keras does (see kerax.optimizers._overwrite):
    params, opt_state = opt.apply_update(grads, opt_state, params)
    # Between compiled dispatches, on the host:
    opt_state = opt.sync_state(opt_state)  # push `opt.learning_rate = x` into the state
    opt.observe_state(opt_state)           # so `opt.learning_rate`/`opt.iterations` read it
    params = opt.finalize_params(params, opt_state)  # at the end of fit (EMA weights)

The transformation is ``optax.inject_hyperparams`` over the Keras pipeline
``loss-scale -> [accumulate (MultiSteps) -> clip -> weight decay -> optimizer] -> EMA``,
so the learning rate (or its schedule's step count) and the float hyper-parameters are
arrays inside the state: changing them never retraces a compiled step.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import jax
import jax.numpy as jnp
import optax

from kerax import _naming, _warnings
from kerax._host_eval import host_eval
from kerax.optimizers import _flat, _overwrite, _transforms, schedules
from kerax.optimizers._host_view import HostView
from kerax.optimizers._keras_steps import KerasSteps
from kerax.optimizers._stateless import StatelessApply
from kerax.optimizers._utils import (
    _number,
    _with_hyperparams,
    check_learning_rate,
    leaf_paths,
)

_BASE_ARGS = (
    "learning_rate",
    "weight_decay",
    "clipnorm",
    "global_clipnorm",
    "clipvalue",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
    "gradient_accumulation_steps",
)


class Optimizer(KerasSteps, HostView, StatelessApply):
    """Base class of Keras optimizers; each one is an optax transformation.

    Subclasses define the Keras constructor arguments, list their float
    hyper-parameters in ``_hyperparameters`` (those are injected into the state) and
    implement :meth:`core_transform`; or, the Keras way, implement ``build(var_list)``
    and ``update_step(gradient, variable, learning_rate)`` (see
    :mod:`kerax.optimizers._keras_steps`).

    Args:
        learning_rate: a float, a ``LearningRateSchedule``, or a callable ``f(step)``.
            ``lr`` is accepted as an alias.
        weight_decay: if set, ``w -= w * weight_decay * learning_rate`` before each update.
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]``.
        global_clipnorm: clip all gradients together to this global L2 norm.
        use_ema: keep an exponential moving average of the weights (see
            :meth:`ema_params`).
        ema_momentum: the EMA's momentum.
        ema_overwrite_frequency: every this many iterations, move the weights onto
            their EMA; if None, only :meth:`finalize_params` does.
        loss_scale_factor: the trainer multiplies the loss by it (:meth:`scale_loss`);
            gradients are divided by it before anything else.
        gradient_accumulation_steps: average gradients over this many steps (>= 2)
            and update every that many steps (``optax.MultiSteps``).
        name: the optimizer's name.

    Raises:
        TypeError: for an unknown keyword argument.
        ValueError: for invalid values, or more than one of the three clipping options.

    Example:
        >>> import jax.numpy as jnp
        >>> from kerax.optimizers import SGD
        >>> opt = SGD(learning_rate=0.1)
        >>> params = {"w": jnp.ones(2)}
        >>> state = opt.init(params)
        >>> updates, state = opt.update({"w": jnp.ones(2)}, state, params)
        >>> [round(float(u), 6) for u in updates["w"]]
        [-0.1, -0.1]
    """

    _hyperparameters: tuple[str, ...] = ()
    # True when core_transform updates each element from that element alone: its slots
    # then live in one flat vector inside the compiled step (see kerax.optimizers._flat).
    _elementwise = False

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        owner = type(self).__name__
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
        if kwargs.pop("decay", None):  # Keras 2's time decay, which Keras 3 ignores too
            _warnings.warn(
                f"{owner}: the Keras 2 argument `decay` is no longer supported and is "
                "ignored, as in Keras 3. For the same effect pass learning_rate="
                "keras.optimizers.schedules.InverseTimeDecay(lr, decay_steps=1, "
                "decay_rate=decay)."
            )
        if kwargs:
            self._reject(kwargs)
        self._transform = None
        self._pending: dict[str, float] = {}
        self._observed = None
        self._last_count = 0
        self._eager = None
        self._learning_rate = check_learning_rate(owner, learning_rate)
        self.weight_decay = _number(owner, "weight_decay", weight_decay)
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        if sum(v is not None for v in clips.values()) > 1:
            raise ValueError(
                f"{owner}: only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                f"set. Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}"
            )
        for key, value in clips.items():
            setattr(self, key, _number(owner, key, value))
        self.use_ema = bool(use_ema)
        self.ema_momentum = _number(owner, "ema_momentum", ema_momentum, optional=False)
        if self.ema_momentum > 1:
            raise ValueError(
                f"{owner}: `ema_momentum` must be in [0, 1]. Received: ema_momentum={ema_momentum}"
            )
        if ema_overwrite_frequency is not None and (
            not isinstance(ema_overwrite_frequency, int) or ema_overwrite_frequency < 1
        ):
            raise ValueError(
                f"{owner}: `ema_overwrite_frequency` must be an integer >= 1 or "
                f"None. Received: ema_overwrite_frequency={ema_overwrite_frequency!r}"
            )
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = _number(owner, "loss_scale_factor", loss_scale_factor, strict=True)
        if gradient_accumulation_steps and (
            not isinstance(gradient_accumulation_steps, int) or gradient_accumulation_steps < 2
        ):
            raise ValueError(
                f"{owner}: `gradient_accumulation_steps` must be an integer >= 2 or None. "
                f"Received: gradient_accumulation_steps={gradient_accumulation_steps!r}"
            )
        self.gradient_accumulation_steps = gradient_accumulation_steps or None
        self.name = name or _naming.unique_name(_naming.to_snake_case(owner))
        self._exclude_names: re.Pattern | None = None
        self._exclude_paths: set[str] = set()
        self._exclude_ids: set[int] = set()
        self._path_variables: dict[str, Any] = {}

    def _reject(self, kwargs: dict) -> None:
        params = {
            **inspect.signature(Optimizer.__init__).parameters,
            **inspect.signature(type(self).__init__).parameters,
        }
        valid = sorted(
            [
                n
                for n, p in params.items()
                if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
            ]
            + ["lr"]
        )
        hint = (
            " `decay` was removed in Keras 3: pass a schedule such as "
            "keras.optimizers.schedules.InverseTimeDecay as `learning_rate`."
            if "decay" in kwargs
            else ""
        )
        raise TypeError(
            f"{type(self).__name__} got unexpected keyword argument(s) "
            f"{sorted(kwargs)}.{hint} Valid arguments: {', '.join(valid)}."
        )

    # -- the transformation -------------------------------------------------------
    def core_transform(self, hyperparams: dict) -> optax.GradientTransformation:
        """The optimizer proper: gradients (already clipped) -> updates (``-lr`` included).

        Args:
            hyperparams: ``learning_rate``, ``weight_decay`` (when set) and every name in
                ``_hyperparameters``, as arrays inside the compiled step.

        Returns:
            An optax transformation.
        """
        if self._has_update_step():
            return self._keras_steps_transform(hyperparams)
        raise NotImplementedError(
            f"{type(self).__name__} must implement core_transform(hyperparams) returning an "
            "optax.GradientTransformation, or Keras's build(var_list) and "
            "update_step(gradient, variable, learning_rate), or use a built-in optimizer."
        )

    def _clip_transform(self) -> optax.GradientTransformation | None:
        # Keras treats a zero threshold as "off".
        if self.clipnorm:
            return _transforms.clip_by_norm_per_leaf(self.clipnorm)
        if self.global_clipnorm:
            return optax.clip_by_global_norm(self.global_clipnorm)
        if self.clipvalue:
            return optax.clip(self.clipvalue)
        return None

    def _has_weight_decay(self) -> bool:
        return self.weight_decay is not None

    def _decay_rates(self, params: Any, hyperparams: dict) -> list:
        """One weight-decay rate (or None) per leaf of ``params``."""
        rate = hyperparams.get("weight_decay")
        return [
            None if rate is None or self._excluded(path) else rate for path in leaf_paths(params)
        ]

    def _excluded(self, path: str) -> bool:
        """Whether the weight at params path ``path`` is exempt from weight decay."""
        variable = self._path_variables.get(path)
        if variable is not None:
            name = variable.name
            if id(variable) in self._exclude_ids:
                return True
        else:  # unbound params (pure use): a Variable's path ends with the tree path
            name = path.rsplit("/", 1)[-1]
            if any(p == path or p.endswith("/" + path) for p in self._exclude_paths):
                return True
        return path in self._exclude_paths or bool(
            self._exclude_names is not None and self._exclude_names.search(name)
        )

    def _bind_paths(self, variables: dict[str, Any]) -> None:
        """Which Variable each params path (``"dense/kernel"``) holds, so that
        exclusions by variable or name and ``finalize_variable_values`` find them (the
        trainer binds its model's, ``apply`` its list's). A wrapper binds its inner one."""
        self._path_variables = dict(variables)
        inner = getattr(self, "inner_optimizer", None)
        if isinstance(inner, Optimizer):
            inner._bind_paths(variables)

    def _bind_model(self, model: Any) -> None:
        """:meth:`_bind_paths` with ``model``'s variables (by their pytree paths)."""
        self._bind_paths({"/".join(p): v for p, v in model._variable_index()})

    def _injected(self) -> dict:
        values = {"learning_rate": self._learning_rate}
        if self.weight_decay is not None:
            values["weight_decay"] = self.weight_decay
        values.update({n: getattr(self, n) for n in self._hyperparameters})
        return values

    def _build(self) -> optax.GradientTransformation:
        steps = self.gradient_accumulation_steps

        def factory(**hp):
            tx = self.core_transform(hp)
            if self._elementwise:
                tx = _flat.elementwise(tx)
            if self._has_weight_decay():
                tx = _transforms.with_decoupled_weight_decay(
                    tx, hp["learning_rate"], lambda params: self._decay_rates(params, hp)
                )
            clip = self._clip_transform()
            if clip is not None:
                tx = optax.chain(clip, tx)
            if steps:
                tx = optax.MultiSteps(tx, every_k_schedule=steps).gradient_transformation()
            if self.loss_scale_factor is not None:
                tx = optax.chain(optax.scale(1.0 / self.loss_scale_factor), tx)
            if self.use_ema:
                tx = _transforms.with_weight_ema(
                    tx, self.ema_momentum, self.ema_overwrite_frequency, steps or 1
                )
            return tx

        names = list(self._injected())
        # inject_hyperparams binds arguments by signature; give **hp an explicit one.
        factory.__signature__ = inspect.Signature(
            [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names]
        )
        return optax.inject_hyperparams(factory)(**self._injected())

    @property
    def transform(self) -> optax.GradientTransformation:
        """The optax transformation, built on first use; configuration is frozen then."""
        if self._transform is None:
            self._transform = self._build()
        return self._transform

    def init(self, params: Any) -> Any:
        """The initial optimizer state for ``params`` (carries the current learning rate)."""
        # On the host when it is only zeros and fills (no compile on fit's critical path);
        # else one compiled program (op by op would compile a program per op and shape).
        state = jax.device_put(host_eval(self.transform.init, params))
        if not callable(self._learning_rate):
            state, _ = _with_hyperparams(state, {"learning_rate": self._learning_rate})
        state = self.with_pending(state)
        self._pending.clear()
        self.observe_state(state)
        return state

    def update(self, grads: Any, opt_state: Any, params: Any) -> tuple[Any, Any]:
        """``(updates, new_opt_state)``; pure, so it may run under ``jit``/``vmap``.

        Raises:
            ValueError: if ``params`` is None (weight decay, EMA, Lamb, Ftrl need it).
        """
        if params is None:
            raise ValueError(
                f"{type(self).__name__}.update(grads, opt_state, params) needs "
                "the current params. Received: params=None."
            )
        return self.transform.update(grads, opt_state, params)

    def apply_update(self, grads: Any, opt_state: Any, params: Any) -> tuple[Any, Any]:
        """``(new params, new opt_state)``: :meth:`update` applied, except that the weights
        bound to variables flagged ``overwrite_with_gradient`` (float8 scales and
        histories) become their gradient, as in Keras; pure."""
        return _overwrite.apply(
            self.update, grads, opt_state, params, self._overwrite_flags(params)
        )

    def _overwrite_flags(self, params: Any) -> list[bool] | None:
        """Per leaf of ``params``: whether its bound variable is overwritten with its
        gradient (None when none is)."""
        if not self._path_variables:
            return None
        flags = [
            bool(getattr(self._path_variables.get(p), "overwrite_with_gradient", False))
            for p in leaf_paths(params)
        ]
        return flags if any(flags) else None

    # -- EMA, loss scaling -----------------------------------------------------------
    def ema_params(self, opt_state: Any) -> Any:
        """The EMA of the weights kept in ``opt_state`` (``use_ema=True`` only).

        Raises:
            ValueError: if the optimizer was created without ``use_ema=True``.
        """
        state = getattr(opt_state, "inner_state", None)
        if not self.use_ema or not isinstance(state, _transforms.WeightEmaState):
            raise ValueError(
                f"{type(self).__name__} keeps no weight EMA: create it with `use_ema=True`."
            )
        return state.ema

    def finalize_params(self, params: Any, opt_state: Any) -> Any:
        """The weights to keep after training: the EMA with ``use_ema``, else ``params``."""
        if not self.use_ema:
            return params
        ema = jax.tree.map(lambda p, e: e.astype(p.dtype), params, self.ema_params(opt_state))
        return _overwrite.keep(params, ema, self._overwrite_flags(params))

    def finalize_variable_values(self, var_list) -> None:
        """Keras: with ``use_ema``, assign the latest state's EMA to the variables of
        ``var_list`` it holds (found by identity: ``apply_gradients``' variables, or the
        model's after ``fit``, which already ends with the EMA weights).
        """
        if not self.use_ema or self._observed is None:
            return
        ema = self.ema_params(self._observed)
        found = {}
        for path, value in zip(leaf_paths(ema), jax.tree.leaves(ema), strict=True):
            if path in self._path_variables:
                found[id(self._path_variables[path])] = value
        for variable in var_list:
            if id(variable) in found and not getattr(variable, "overwrite_with_gradient", False):
                variable.assign(found[id(variable)])

    def scale_loss(self, loss: Any) -> Any:
        """``loss * loss_scale_factor`` when set (gradients are unscaled in ``update``)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Exempt variables from weight decay (call before the optimizer is first used).

        Args:
            var_list: variables (anything with a ``path``, like ``"dense/kernel"``).
            var_names: regular expressions searched in each weight's name
                (``["bias"]`` exempts every bias).

        Raises:
            ValueError: if the optimizer has already been used.
        """
        if self._transform is not None:
            raise ValueError(
                "exclude_from_weight_decay() must be called before the optimizer "
                "is first used (init/update)."
            )
        self._exclude_paths = {getattr(v, "path", v) for v in var_list or ()}
        self._exclude_ids = {id(v) for v in var_list or () if not isinstance(v, str)}
        self._exclude_names = re.compile("|".join(var_names)) if var_names else None

    # -- eager use on variables (custom training loops) ------------------------------
    def apply_gradients(self, grads_and_vars) -> int:
        """Apply gradients to variables in place (Keras custom loops); returns iterations."""
        grads, variables = zip(*grads_and_vars, strict=True)
        self.apply(list(grads), list(variables))
        return self.iterations

    def apply(self, grads, trainable_variables) -> None:
        """Update ``trainable_variables`` (objects with ``value``/``assign``) in place.

        Inside a ``keras.StatelessScope`` the new values are recorded in the scope and
        the optimizer's own state (moments, iterations: arrays, not Variables, in kerax)
        is used but not advanced; ``stateless_apply`` carries it.

        Raises:
            ValueError: if called with other variables than the first time.
        """
        from kerax._keras_scopes import StatelessScope, get_stateless_scope

        ids = tuple(id(v) for v in trainable_variables)
        values = [jnp.asarray(v.value) for v in trainable_variables]
        eager = self._eager
        if eager is None:
            self._bind_paths({str(i): v for i, v in enumerate(trainable_variables)})
            eager = (ids, self.init(values), jax.jit(self.apply_update))
        elif eager[0] != ids:
            raise ValueError(
                f"{type(self).__name__}.apply was first called with other "
                "variables. Create a new optimizer for a new set of variables."
            )
        ids, state, step = eager
        stateless = isinstance(get_stateless_scope(), StatelessScope)
        state = self.with_pending(state) if stateless else self.sync_state(state)
        new, state = step([jnp.asarray(g) for g in grads], state, values)
        for variable, value in zip(trainable_variables, new, strict=True):
            variable.assign(value)
        if stateless:
            return
        self._eager = (ids, state, step)
        self.observe_state(state)

    # -- config ------------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments (learning rate as now), as a JSON-friendly dict."""
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif callable(lr):
            raise TypeError(
                f"{type(self).__name__}: cannot save a plain-function learning rate "
                f"{lr!r}; use a LearningRateSchedule subclass."
            )
        config = {"name": self.name, "learning_rate": lr}
        config.update({k: getattr(self, k) for k in _BASE_ARGS[1:]})
        config.update({k: getattr(self, k) for k in self._config_keys()})
        return config

    def _config_keys(self) -> tuple[str, ...]:
        params = inspect.signature(type(self).__init__).parameters
        return tuple(n for n in params if n not in ("self", "name", "kwargs", *_BASE_ARGS))

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Optimizer:
        """Rebuild an optimizer from :meth:`get_config` output (schedules included)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self._learning_rate!r}>"
