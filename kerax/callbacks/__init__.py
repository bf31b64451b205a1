"""Callbacks: hooks into ``fit``, ``evaluate`` and ``predict`` (Keras names)."""

from kerax.callbacks.backup_and_restore import BackupAndRestore as BackupAndRestore
from kerax.callbacks.callback import Callback as Callback
from kerax.callbacks.callback import CallbackList as CallbackList
from kerax.callbacks.csv_logger import CSVLogger as CSVLogger
from kerax.callbacks.early_stopping import EarlyStopping as EarlyStopping
from kerax.callbacks.history import History as History
from kerax.callbacks.lambda_callback import LambdaCallback as LambdaCallback
from kerax.callbacks.learning_rate_scheduler import (
    LearningRateScheduler as LearningRateScheduler,
)
from kerax.callbacks.model_checkpoint import ModelCheckpoint as ModelCheckpoint
from kerax.callbacks.progbar import ProgbarLogger as ProgbarLogger
from kerax.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau as ReduceLROnPlateau
from kerax.callbacks.tensorboard import TensorBoard as TensorBoard
from kerax.callbacks.terminate_on_nan import TerminateOnNaN as TerminateOnNaN

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
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
]
