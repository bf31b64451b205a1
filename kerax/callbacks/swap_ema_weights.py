"""``SwapEMAWeights``: evaluate (and checkpoint) with the optimizer's moving average."""

from __future__ import annotations

from kerax import _warnings
from kerax.callbacks import _fit_state
from kerax.callbacks.callback import Callback


class SwapEMAWeights(Callback):
    """Use the optimizer's EMA weights for evaluation, prediction and, optionally, epoch ends.

    An optimizer created with ``use_ema=True`` keeps an exponential moving average of
    the weights (Polyak averaging). With this callback, ``fit``'s validation, and
    ``evaluate``/``predict`` given ``callbacks=[SwapEMAWeights()]``, run with those
    averaged weights; the model's own weights are put back afterwards. ``fit`` itself
    ends with the averaged weights (as Keras's does with ``use_ema=True``).

    Unlike Keras, the optimizer's average is never overwritten: kerax keeps it in the
    optimizer state, and only the model's weights are exchanged.

    Args:
        swap_on_epoch: also hold the averaged weights in the model from each epoch end
            to the next epoch's start, so that callbacks placed after this one (e.g.
            ``ModelCheckpoint``) see and save them. Training itself goes on from the
            trained weights.

    Raises:
        ValueError: (when weights are first swapped) if the optimizer was not created
            with ``use_ema=True``, or has not made a training step yet.

    Example:
        >>> import kerax as keras
        >>> optimizer = keras.optimizers.SGD(use_ema=True)
        >>> callbacks = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)]
        >>> callbacks[0].swap_on_epoch
        True
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = bool(swap_on_epoch)
        self._raw = None  # the model's own trainable weights while the EMA ones are in it
        self._validating_in_fit = False
        self._transform_ran = False
        self._warned = False

    # -- the optimizer's average ----------------------------------------------------------
    def _ema_optimizer(self):
        optimizer = getattr(self.model, "optimizer", None)
        core = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
        use_ema = getattr(core, "use_ema", None)
        if not use_ema:
            raise ValueError(
                "SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                f"Received: use_ema={use_ema}. Create the optimizer with use_ema=True, "
                "e.g. keras.optimizers.SGD(use_ema=True)."
            )
        return optimizer

    def _averaged(self, optimizer, trainable, opt_state, trained=False):
        # (fit's own state has trained; the optimizer's iterations are read as of the
        # last state it observed, which inside fit may be older)
        if opt_state is None or not (trained or int(optimizer.iterations) > 0):
            raise ValueError(
                "SwapEMAWeights: the optimizer has no moving average of the weights yet "
                "(it has made no training step). Train the model with fit() before "
                "evaluating or predicting with SwapEMAWeights."
            )
        return optimizer.finalize_params(trainable, opt_state)

    # -- swapping the model's weights -----------------------------------------------------
    def _swap_in(self) -> None:
        if self._raw is not None:
            return
        optimizer = self._ema_optimizer()
        variables = self.model.get_variables()
        averaged = self._averaged(
            optimizer, variables["trainable"], getattr(self.model, "_opt_state", None)
        )
        self._raw = variables["trainable"]
        self.model.set_variables(
            {"trainable": averaged, "non_trainable": variables["non_trainable"]}
        )

    def _swap_out(self) -> None:
        if self._raw is None:
            return
        # The non-trainable ones stay as they are now (e.g. a stateful RNN's states).
        non_trainable = self.model.get_variables()["non_trainable"]
        self.model.set_variables({"trainable": self._raw, "non_trainable": non_trainable})
        self._raw = None

    # -- hooks ----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._raw = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_out()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_in()

    def on_train_end(self, logs=None):
        # fit() has already written the averaged weights into the model (use_ema): the
        # trained ones held since the last epoch end are not put back.
        self._raw = None

    def on_test_begin(self, logs=None):
        if _fit_state.running_state(self.model) is None:  # evaluate(), or no kerax fit
            self._swap_in()
            return
        # fit() validates with its own running state, not the model's weights: it is
        # given a transform that puts the averaged weights into that state.
        optimizer = self._ema_optimizer()
        self._validating_in_fit, self._transform_ran = True, False

        def with_averaged_weights(state):
            self._transform_ran = True
            averaged = self._averaged(optimizer, state.trainable, state.opt_state, True)
            return state.replace(trainable=averaged)

        self.model._fit_validation_transform = with_averaged_weights

    def on_test_end(self, logs=None):
        if not self._validating_in_fit:
            self._swap_out()
            return
        self._validating_in_fit = False
        vars(self.model).pop("_fit_validation_transform", None)
        if not self._transform_ran and not self._warned:
            self._warned = True
            _warnings.warn(
                "SwapEMAWeights: this version of fit() validated with the trained weights, "
                "not their moving average, so the val_* metrics are not those of the EMA "
                "weights. Evaluate after fit() instead: model.evaluate(x, y, "
                "callbacks=[SwapEMAWeights()])."
            )

    def on_predict_begin(self, logs=None):
        self._swap_in()

    def on_predict_end(self, logs=None):
        self._swap_out()
