"""Recurrent layers: cells, the scan-based ``RNN`` loop, SimpleRNN/LSTM/GRU, ConvLSTM, wrappers."""

from kerax.layers.recurrent._cells import GRUCell as GRUCell
from kerax.layers.recurrent._cells import LSTMCell as LSTMCell
from kerax.layers.recurrent._cells import SimpleRNNCell as SimpleRNNCell
from kerax.layers.recurrent._conv_lstm import ConvLSTM1D as ConvLSTM1D
from kerax.layers.recurrent._conv_lstm import ConvLSTM2D as ConvLSTM2D
from kerax.layers.recurrent._conv_lstm import ConvLSTM3D as ConvLSTM3D
from kerax.layers.recurrent._layers import GRU as GRU
from kerax.layers.recurrent._layers import LSTM as LSTM
from kerax.layers.recurrent._layers import SimpleRNN as SimpleRNN
from kerax.layers.recurrent._rnn import RNN as RNN
from kerax.layers.recurrent._stacked import StackedRNNCells as StackedRNNCells
from kerax.layers.recurrent._wrappers import Bidirectional as Bidirectional
from kerax.layers.recurrent._wrappers import TimeDistributed as TimeDistributed

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Bidirectional",
    "ConvLSTM1D",
    "ConvLSTM2D",
    "ConvLSTM3D",
    "GRUCell",
    "LSTMCell",
    "SimpleRNN",
    "SimpleRNNCell",
    "StackedRNNCells",
    "TimeDistributed",
]
