"""The small model the GPTQ and AWQ tests quantize: an Embedding, then two blocks (two
Dense layers; an EinsumDense), with token-array calibration data and a tokenizer."""

import numpy as np

DATA = [np.arange(i, i + 11) % 30 for i in range(4)]  # token arrays, no tokenizer needed
X = np.arange(12).reshape(2, 6) % 30


class Tokenizer:
    """Characters to token ids (what GPTQ asks of a tokenizer: ``tokenize``)."""

    def tokenize(self, text):
        return np.array([ord(c) % 30 for c in text], "int32")

    __call__ = tokenize


def model_and_structure(lib):
    layers = lib.layers
    inputs = lib.Input((6,), dtype="int32")
    emb = layers.Embedding(30, 8, name="emb")
    b1 = lib.Sequential(
        [layers.Dense(12, activation="relu", name="d1"), layers.Dense(8, name="d2")], name="b1"
    )
    ein = layers.EinsumDense("abc,cde->abde", output_shape=(6, 2, 5), bias_axes="de", name="ein")
    b2 = lib.Sequential([ein], name="b2")
    model = lib.Model(inputs, b2(b1(emb(inputs))))
    return model, {"pre_block_layers": [emb], "sequential_blocks": [b1, b2]}


def find_layer(model, name):
    flat = model._flat_layers() if hasattr(model, "_flat_layers") else model._flatten_layers()
    return next(layer for layer in flat if layer.name == name)
