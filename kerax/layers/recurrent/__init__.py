"""Recurrent layers: cells, the scan-based ``RNN`` loop, SimpleRNN/LSTM/GRU, wrappers."""

from kerax.layers.recurrent._cells import GRUCell as GRUCell
from kerax.layers.recurrent._cells import LSTMCell as LSTMCell
from kerax.layers.recurrent._cells import SimpleRNNCell as SimpleRNNCell
from kerax.layers.recurrent._layers import GRU as GRU
from kerax.layers.recurrent._layers import LSTM as LSTM
from kerax.layers.recurrent._layers import SimpleRNN as SimpleRNN
from kerax.layers.recurrent._rnn import RNN as RNN
from kerax.layers.recurrent._wrappers import Bidirectional as Bidirectional
from kerax.layers.recurrent._wrappers import TimeDistributed as TimeDistributed

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Bidirectional",
    "GRUCell",
    "LSTMCell",
    "SimpleRNN",
    "SimpleRNNCell",
    "TimeDistributed",
]
