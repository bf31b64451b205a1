"""Attention layers: MultiHeadAttention, GroupedQueryAttention, Attention, AdditiveAttention."""

from kerax.layers.attention.attention import AdditiveAttention as AdditiveAttention
from kerax.layers.attention.attention import Attention as Attention
from kerax.layers.attention.grouped_query_attention import (
    GroupedQueryAttention as GroupedQueryAttention,
)
from kerax.layers.attention.multi_head_attention import MultiHeadAttention as MultiHeadAttention

# Keras exports the class as ``keras.layers.GroupQueryAttention``; configs name it
# ``GroupedQueryAttention``. Both names work here.
GroupQueryAttention = GroupedQueryAttention

__all__ = [
    "AdditiveAttention",
    "Attention",
    "GroupQueryAttention",
    "GroupedQueryAttention",
    "MultiHeadAttention",
]
