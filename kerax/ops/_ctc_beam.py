"""CTC prefix beam search, written for ``jax.jit`` (used by ``ops.ctc_decode``).

The per-frame scores are first turned into log-probabilities with ``log_softmax`` (as
Keras 3 does, so logits and log-probabilities give the same result). A *prefix* is a
collapsed label sequence; each prefix in the beam carries two log-scores: ``emit``, the
probability of all alignments so far that end in its last label, and ``blank``, those
that end in the blank. Their ``logaddexp`` is the prefix's total.

Each frame ``x`` (log-probabilities over the classes) turns the beam of ``W`` prefixes
into ``W + W * C`` candidates:

* every prefix ``q`` *stays* itself: ``blank' = total(q) + x[blank]`` and
  ``emit' = emit(q) + x[last(q)]`` (its last label repeated, which CTC collapses);
* every prefix ``p`` is *extended* by each non-blank label ``c``, giving ``p + c`` with
  ``emit' = s + x[c]``, where ``s = blank(p)`` when ``c`` repeats the last label of
  ``p`` (a repeat needs a blank in between) and ``s = total(p)`` otherwise.

An extension ``p + c`` can spell a prefix ``q`` that is already in the beam; it is then
merged into ``q``'s *stay* candidate (``logaddexp`` of the ``emit`` scores) and dropped.
Such a ``q`` is found by comparing ``q`` without its last label with every beam prefix.
The ``W`` candidates with the best totals form the next beam (``lax.top_k``); a slot
whose total is ``-inf`` is dead: it is never matched and its extensions stay ``-inf``,
so the live prefixes stay distinct. The first frame is always read, the frames from
``sequence_lengths`` on are skipped, and the ``top_paths`` best prefixes are returned
with their total log-probabilities; missing paths are all ``-1`` with score ``-inf``
(at most ``2 * beam_width`` paths come back, as in Keras).

Shapes are static: prefixes are ``(W, max_time)`` label arrays padded with ``-1``, so
``beam_width`` and ``top_paths`` must be Python ints. Like Keras's JAX backend,
``merge_repeated`` does not apply (CTC always collapses repeats between blanks).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

_NEG = -jnp.inf


def _step(state, frame, *, blank, num_classes, width):
    paths, lens, emit, blank_s = state
    x, active = frame
    rows = jnp.arange(width)
    total = jnp.logaddexp(emit, blank_s)
    live = total > _NEG
    last_pos = jnp.maximum(lens - 1, 0)
    tail = jnp.where(lens > 0, paths[rows, last_pos], -1)

    # parent[q]: the live beam prefix equal to q without its last label, if any
    parent_path = jnp.where(
        (jnp.arange(paths.shape[1])[None, :] == last_pos[:, None]) & (lens[:, None] > 0),
        -1,
        paths,
    )
    same = jnp.all(parent_path[:, None, :] == paths[None, :, :], axis=-1)
    same = same & live[None, :] & (live & (lens > 0))[:, None]
    has_parent = jnp.any(same, axis=1)
    parent = jnp.argmax(same, axis=1)

    # extensions p + c
    classes = jnp.arange(num_classes)
    source = jnp.where(classes[None, :] == tail[:, None], blank_s[:, None], total[:, None])
    ext = jnp.where(classes[None, :] == blank, _NEG, source + x[None, :])
    merged = ext[parent, jnp.maximum(tail, 0)]
    taken = jnp.zeros((width, num_classes), bool)
    taken = taken.at[parent, jnp.maximum(tail, 0)].max(has_parent)
    ext = jnp.where(taken, _NEG, ext)

    # stay candidates q (merged with the extension that spells q)
    stay_emit = jnp.where(lens > 0, emit + x[jnp.maximum(tail, 0)], _NEG)
    stay_emit = jnp.logaddexp(stay_emit, jnp.where(has_parent, merged, _NEG))
    stay_blank = total + x[blank]

    cand_emit = jnp.concatenate([stay_emit, ext.reshape(-1)])
    cand_blank = jnp.concatenate([stay_blank, jnp.full(width * num_classes, _NEG, x.dtype)])
    _, pick = jax.lax.top_k(jnp.logaddexp(cand_emit, cand_blank), width)

    is_ext = pick >= width
    src = jnp.where(is_ext, (pick - width) // num_classes, pick)
    label = (pick - width) % num_classes
    new_paths = paths[src]
    new_lens = lens[src]
    grown = new_paths.at[rows, new_lens].set(label, mode="drop")
    new_paths = jnp.where(is_ext[:, None], grown, new_paths)
    new_lens = new_lens + is_ext.astype(new_lens.dtype)
    new = (new_paths, new_lens, cand_emit[pick], cand_blank[pick])
    out = jax.tree_util.tree_map(lambda a, b: jnp.where(active, a, b), new, state)
    return out, None


def _decode_one(x, length, *, blank, width, top_paths):
    time, num_classes = x.shape
    init = (
        jnp.full((width, time), -1, jnp.int32),
        jnp.zeros(width, jnp.int32),
        jnp.full(width, _NEG, x.dtype),
        jnp.full(width, _NEG, x.dtype).at[0].set(0.0),
    )
    active = (jnp.arange(time) == 0) | (jnp.arange(time) < length)
    step = partial(_step, blank=blank, num_classes=num_classes, width=width)
    (paths, _, emit, blank_s), _ = jax.lax.scan(step, init, (x, active))
    # Keras returns at most 2 * beam_width paths; those past the beam are dead
    k, n = min(top_paths, width), min(top_paths, 2 * width)
    scores, pick = jax.lax.top_k(jnp.logaddexp(emit, blank_s), k)
    paths = jnp.where((scores > _NEG)[:, None], paths[pick], -1)
    paths = jnp.pad(paths, ((0, n - k), (0, 0)), constant_values=-1)
    scores = jnp.pad(scores, (0, n - k), constant_values=_NEG)
    return paths, scores


def ctc_beam_search_decode(
    inputs: jax.Array,
    sequence_lengths: jax.Array,
    beam_width: int = 100,
    top_paths: int = 1,
    mask_index: int | None = 0,
) -> tuple[jax.Array, jax.Array]:
    """Beam-search decode ``inputs`` ``(batch, max_time, num_classes)`` (float).

    Returns ``(decoded, scores)``: ``(top_paths, batch, max_time)`` int32 labels,
    left-aligned and padded with -1, and ``(batch, top_paths)`` log-probabilities, best
    first. ``mask_index`` is the blank class (``None`` means the last class)."""
    beam_width, top_paths = int(beam_width), int(top_paths)
    if beam_width < 1 or top_paths < 1:
        raise ValueError(
            f"beam_width and top_paths must be positive. Received: {beam_width}, {top_paths}"
        )
    if inputs.ndim != 3:
        raise ValueError(
            f"ctc_decode expects inputs (batch, max_time, num_classes). Received: {inputs.shape}"
        )
    num_classes = inputs.shape[-1]
    blank = num_classes - 1 if mask_index is None else int(mask_index) % num_classes
    logp = jax.nn.log_softmax(inputs, axis=-1)
    lengths = jnp.asarray(sequence_lengths).astype(jnp.int32).reshape(-1)
    lengths = jnp.broadcast_to(lengths, inputs.shape[:1])
    decode = partial(_decode_one, blank=blank, width=beam_width, top_paths=top_paths)
    paths, scores = jax.vmap(decode)(logp, lengths)
    return jnp.transpose(paths, (1, 0, 2)), scores


__all__ = ["ctc_beam_search_decode"]
