"""Callbacks: hooks into ``fit``, ``evaluate`` and ``predict`` (Keras names)."""

from kerax import _lazy

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "OrbaxCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "RemoteMonitor",
    "SwapEMAWeights",
    "TensorBoard",
    "TerminateOnNaN",
]

__getattr__, __dir__ = _lazy.attach(
    __name__,
    _lazy.table(
        {
            "kerax.callbacks.backup_and_restore": ("BackupAndRestore",),
            "kerax.callbacks.callback": ("Callback", "CallbackList"),
            "kerax.callbacks.csv_logger": ("CSVLogger",),
            "kerax.callbacks.early_stopping": ("EarlyStopping",),
            "kerax.callbacks.history": ("History",),
            "kerax.callbacks.lambda_callback": ("LambdaCallback",),
            "kerax.callbacks.learning_rate_scheduler": ("LearningRateScheduler",),
            "kerax.callbacks.model_checkpoint": ("ModelCheckpoint",),
            "kerax.callbacks.orbax_checkpoint": ("OrbaxCheckpoint",),
            "kerax.callbacks.progbar": ("ProgbarLogger",),
            "kerax.callbacks.reduce_lr_on_plateau": ("ReduceLROnPlateau",),
            "kerax.callbacks.remote_monitor": ("RemoteMonitor",),
            "kerax.callbacks.swap_ema_weights": ("SwapEMAWeights",),
            "kerax.callbacks.tensorboard": ("TensorBoard",),
            "kerax.callbacks.terminate_on_nan": ("TerminateOnNaN",),
        }
    ),
)
