"""Whether a traced forward pass keeps its batch rows apart.

``predict`` runs a model over many rows in one pass and pads a short input with copies
of its last row (``kerax.trainer.predictor``); both give each row the output a batch of
its own would only when row ``i`` of every output depends on row ``i`` of the inputs
alone. Every built-in layer is like that at inference; a custom layer need not be (``x -
ops.mean(x, axis=0)``, a similarity matrix within the batch). :func:`rows_independent`
reads the forward pass's jaxpr and answers yes only where it can show it; anything it
does not know counts as mixing, and ``predict`` then runs batch by batch as Keras does.

Each value gets one of three states:

* :class:`Rows` ``(axis, per)``: axis ``axis`` holds the batch rows, ``per`` elements
  per row, row-major (``per`` > 1 after a reshape merges the batch with the next axis,
  as ``TimeDistributed`` does), and each row depends on its own input row only;
* :class:`Free` ``(varying)``: depends on no row (weights, constants); ``varying`` are
  the axes along which it may change (an ``iota`` varies along one axis, a broadcast
  not along its new ones): combined with rows along a varying axis it would make a
  row's output depend on the row's position;
* ``MIXED``: anything else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from jax.extend import core


@dataclass(frozen=True)
class Rows:
    axis: int
    per: int = 1


@dataclass(frozen=True)
class Free:
    varying: frozenset


MIXED = "mixed"


def rows_independent(closed_jaxpr, n_variables: int) -> bool:
    """Whether every output of ``closed_jaxpr`` (invars: ``n_variables`` variable leaves,
    then the inputs, each with its rows on axis 0) is batch-major, row ``i`` computed from
    row ``i`` of the inputs only."""
    jaxpr = closed_jaxpr.jaxpr
    states = [_all_axes(v.aval) for v in jaxpr.invars[:n_variables]]
    states += [Rows(0) if _ndim(v.aval) else MIXED for v in jaxpr.invars[n_variables:]]
    rows = {v.aval.shape[0] for v in jaxpr.invars[n_variables:] if _ndim(v.aval)}
    outs = _run(jaxpr, states, [_all_axes(v.aval) for v in jaxpr.constvars])
    for var, state in zip(jaxpr.outvars, outs):
        shape = getattr(var.aval, "shape", ())
        if state == Rows(0):
            continue
        if not (isinstance(state, Free) and shape and shape[0] in rows and 0 not in state.varying):
            return False
    return True


# -- propagation ------------------------------------------------------------------------------
def _ndim(aval) -> int:
    return len(getattr(aval, "shape", ()))


def _all_axes(aval) -> Free:
    return Free(frozenset(i for i, d in enumerate(getattr(aval, "shape", ())) if d != 1))


def _run(jaxpr, in_states: list, const_states: list) -> list:
    env: dict = {}
    for var, state in zip(jaxpr.constvars, const_states):
        env[var] = state
    for var, state in zip(jaxpr.invars, in_states):
        env[var] = state

    def read(atom):
        if isinstance(atom, core.Literal):
            return _all_axes(atom.aval)
        return env[atom]

    for eqn in jaxpr.eqns:
        ins = [read(a) for a in eqn.invars]
        outs = _equation(eqn, ins)
        for var, state in zip(eqn.outvars, outs):
            env[var] = state
    return [read(v) for v in jaxpr.outvars]


def _equation(eqn, ins: list) -> list:
    name = eqn.primitive.name
    n_out = len(eqn.outvars)
    if all(isinstance(s, Free) for s in ins) and name not in _CALLS:
        rule = _FREE_RULES.get(name)
        if rule is None:
            return [_all_axes(v.aval) for v in eqn.outvars]
        return [rule(eqn, ins)] * n_out
    if MIXED in ins:
        return [MIXED] * n_out
    rule = _RULES.get(name)
    if rule is None:
        return [MIXED] * n_out
    out = rule(eqn, ins)
    return out if isinstance(out, list) else [out] * n_out


def _shape(var) -> tuple:
    return tuple(getattr(var.aval, "shape", ()))


def _join(states: list, shapes: list, out_ndim: int):
    """The state of an elementwise combination: one row layout, and free operands that
    do not vary along its axis (scalars broadcast)."""
    rows = {s for s in states if isinstance(s, Rows)}
    if MIXED in states or len(rows) > 1:
        return MIXED
    if not rows:
        varying = frozenset().union(*(s.varying for s, sh in zip(states, shapes) if sh))
        return Free(varying)
    (layout,) = rows
    for state, shape in zip(states, shapes):
        if isinstance(state, Free) and len(shape) == out_ndim and layout.axis in state.varying:
            return MIXED
    return layout


def _elementwise(eqn, ins):
    return _join(ins, [_shape(v) for v in eqn.invars], _ndim(eqn.outvars[0].aval))


def _each(eqn, ins):  # operand i -> output i
    return list(ins)


def _broadcast(eqn, ins):
    (state,) = ins[:1]
    dims = eqn.params["broadcast_dimensions"]
    if _shape(eqn.outvars[0])[dims[state.axis]] != _shape(eqn.invars[0])[state.axis]:
        return MIXED
    return Rows(dims[state.axis], state.per)


def _reshape(eqn, ins):
    state = ins[0]
    before, after = _shape(eqn.invars[0]), _shape(eqn.outvars[0])
    if eqn.params.get("dimensions") is not None:
        return MIXED
    rows = before[state.axis] // state.per
    prefix = math.prod(before[: state.axis])
    suffix = state.per * math.prod(before[state.axis + 1 :])
    for axis in range(len(after)):
        if math.prod(after[:axis]) == prefix and after[axis] % rows == 0:
            per = after[axis] // rows
            if per * math.prod(after[axis + 1 :]) == suffix:
                return Rows(axis, per)
    return MIXED


def _squeeze(eqn, ins):
    state, dims = ins[0], eqn.params["dimensions"]
    if state.axis in dims:
        return MIXED
    return Rows(state.axis - sum(d < state.axis for d in dims), state.per)


def _transpose(eqn, ins):
    state = ins[0]
    return Rows(list(eqn.params["permutation"]).index(state.axis), state.per)


def _reduce(eqn, ins):
    state = ins[0]
    axes = eqn.params["axes"]
    if state.axis in axes:
        return MIXED
    return Rows(state.axis - sum(a < state.axis for a in axes), state.per)


def _along_axis(param):
    """Operations along one axis (cumulative, sort, top_k, split): not the rows'."""

    def rule(eqn, ins):
        axis = eqn.params[param] % max(1, _ndim(eqn.invars[0].aval))
        joined = _join(ins, [_shape(v) for v in eqn.invars], _ndim(eqn.invars[0].aval))
        if joined is MIXED or (isinstance(joined, Rows) and joined.axis == axis):
            return MIXED
        return joined

    return rule


def _whole_rows(eqn, ins, unchanged):
    """Slicing-like operations: the rows' axis must come through whole."""
    state = _join(ins, [_shape(v) for v in eqn.invars], _ndim(eqn.outvars[0].aval))
    if isinstance(state, Rows) and not unchanged(eqn, state.axis):
        return MIXED
    return state


def _slice(eqn, ins):
    def unchanged(eqn, axis):
        p, size = eqn.params, _shape(eqn.invars[0])[axis]
        strides = p["strides"] or (1,) * len(p["start_indices"])
        return (
            p["start_indices"][axis] == 0
            and p["limit_indices"][axis] == size
            and strides[axis] == 1
        )

    return _whole_rows(eqn, ins[:1], unchanged)


def _dynamic_slice(eqn, ins):
    if any(not isinstance(s, Free) for s in ins[1:]):
        return MIXED
    size = lambda eqn, axis: eqn.params["slice_sizes"][axis] == _shape(eqn.invars[0])[axis]
    return _whole_rows(eqn, ins[:1], size)


def _dynamic_update_slice(eqn, ins):
    if any(not isinstance(s, Free) for s in ins[2:]):
        return MIXED
    full = lambda eqn, axis: _shape(eqn.invars[1])[axis] == _shape(eqn.invars[0])[axis]
    return _whole_rows(eqn, ins[:2], full)


def _pad(eqn, ins):
    unchanged = lambda eqn, axis: tuple(eqn.params["padding_config"][axis]) == (0, 0, 0)
    return _whole_rows(eqn, ins, unchanged)


def _concatenate(eqn, ins):
    return _whole_rows(eqn, ins, lambda eqn, axis: axis != eqn.params["dimension"])


def _rev(eqn, ins):
    return _whole_rows(eqn, ins, lambda eqn, axis: axis not in eqn.params["dimensions"])


def _reduce_window(eqn, ins):
    def unchanged(eqn, axis):
        p = eqn.params
        ones = [p["window_dimensions"], p["window_strides"]]
        ones += [p[k] for k in ("base_dilation", "window_dilation") if k in p]
        return all(v[axis] == 1 for v in ones) and tuple(p["padding"][axis]) == (0, 0)

    n = len(eqn.invars) // 2 if eqn.primitive.name == "reduce_window" else len(eqn.invars)
    return _whole_rows(eqn, ins[:n], unchanged)


def _dot_general(eqn, ins):
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lhs, rhs = ins
    ln, rn = _ndim(eqn.invars[0].aval), _ndim(eqn.invars[1].aval)
    l_free = [d for d in range(ln) if d not in lc and d not in lb]
    r_free = [d for d in range(rn) if d not in rc and d not in rb]
    if isinstance(lhs, Rows) and isinstance(rhs, Rows):
        if lhs.per != rhs.per or lhs.axis not in lb or rhs.axis not in rb:
            return MIXED
        j = list(lb).index(lhs.axis)
        return Rows(j, lhs.per) if rb[j] == rhs.axis else MIXED
    rows, free, contract, batch, other_batch, frees, offset = (
        (lhs, rhs, lc, lb, rb, l_free, len(lb))
        if isinstance(lhs, Rows)
        else (rhs, lhs, rc, rb, lb, r_free, len(lb) + len(l_free))
    )
    if rows.axis in contract:
        return MIXED
    if rows.axis in batch:
        j = list(batch).index(rows.axis)
        return MIXED if other_batch[j] in free.varying else Rows(j, rows.per)
    return Rows(offset + frees.index(rows.axis), rows.per)


def _conv(eqn, ins):
    lhs, rhs = ins
    numbers = eqn.params["dimension_numbers"]
    if not (isinstance(lhs, Rows) and isinstance(rhs, Free)):
        return MIXED
    if eqn.params["batch_group_count"] != 1 or lhs.axis != numbers.lhs_spec[0]:
        return MIXED
    return Rows(numbers.out_spec[0], lhs.per)


def _gather(eqn, ins):
    operand, indices = ins
    numbers = eqn.params["dimension_numbers"]
    out_ndim = _ndim(eqn.outvars[0].aval)
    non_offset = [d for d in range(out_ndim) if d not in numbers.offset_dims]
    if isinstance(operand, Free):  # a lookup table read at each row's indices
        if indices.axis == _ndim(eqn.invars[1].aval) - 1:
            return MIXED
        batching = dict(zip(numbers.start_indices_batching_dims, numbers.operand_batching_dims))
        if batching.get(indices.axis) in operand.varying:  # row b reads table[b]
            return MIXED
        return Rows(non_offset[indices.axis], indices.per)
    if operand.axis in numbers.operand_batching_dims:
        j = list(numbers.operand_batching_dims).index(operand.axis)
        axis = numbers.start_indices_batching_dims[j]
        if indices != Rows(axis, operand.per):
            return MIXED
        return Rows(non_offset[axis], operand.per)
    # the rows' axis sliced whole by free indices: an offset axis of the output
    skipped = set(numbers.collapsed_slice_dims) | set(numbers.operand_batching_dims)
    if not isinstance(indices, Free) or operand.axis in skipped | set(numbers.start_index_map):
        return MIXED
    if eqn.params["slice_sizes"][operand.axis] != _shape(eqn.invars[0])[operand.axis]:
        return MIXED
    kept = [d for d in range(_ndim(eqn.invars[0].aval)) if d not in skipped]
    return Rows(numbers.offset_dims[kept.index(operand.axis)], operand.per)


def _stack(eqn, ins):
    state, axis = _join(ins, [_shape(v) for v in eqn.invars], _ndim(eqn.invars[0].aval)), None
    if isinstance(state, Rows):
        axis = eqn.params["axis"]
        return Rows(state.axis + (state.axis >= axis), state.per)
    return state


def _unstack(eqn, ins):
    state, axis = ins[0], eqn.params["axis"]
    if state.axis == axis:
        return MIXED
    return Rows(state.axis - (state.axis > axis), state.per)


def _tile(eqn, ins):
    return ins[0] if eqn.params["reps"][ins[0].axis] == 1 else MIXED


def _generic_reduce(eqn, ins):
    n = len(ins) // 2
    state = _join(ins[:n], [_shape(v) for v in eqn.invars[:n]], _ndim(eqn.invars[0].aval))
    if not isinstance(state, Rows) or any(not isinstance(s, Free) for s in ins[n:]):
        return MIXED
    dims = eqn.params["dimensions"]
    if state.axis in dims:
        return MIXED
    return Rows(state.axis - sum(d < state.axis for d in dims), state.per)


def _scatter(eqn, ins):
    """A scatter keeps rows apart where the rows' axis is a batching axis of operand,
    indices and updates alike (as ``vmap`` writes one), or an axis of the operand the
    indices do not address, written whole."""
    operand, indices, updates = ins[:3]
    numbers = eqn.params["dimension_numbers"]
    batching, index_batching = numbers.operand_batching_dims, numbers.scatter_indices_batching_dims
    window = numbers.update_window_dims
    update_ndim = _ndim(eqn.invars[2].aval)
    scattered = [d for d in range(update_ndim) if d not in window]
    if isinstance(operand, Rows):
        axis, per = operand.axis, operand.per
    elif isinstance(indices, Rows) and indices.axis in index_batching:
        axis, per = batching[list(index_batching).index(indices.axis)], indices.per
    else:
        return MIXED
    if axis in batching:
        index_axis = index_batching[list(batching).index(axis)]
        update_axis = scattered[index_axis]
    elif isinstance(indices, Free) and axis not in numbers.inserted_window_dims:
        if axis in numbers.scatter_dims_to_operand_dims:
            return MIXED
        kept = [
            d
            for d in range(_ndim(eqn.invars[0].aval))
            if d not in numbers.inserted_window_dims and d not in batching
        ]
        index_axis, update_axis = None, window[kept.index(axis)]
        if _shape(eqn.invars[2])[update_axis] != _shape(eqn.invars[0])[axis]:
            return MIXED
    else:
        return MIXED
    for state, at in ((operand, axis), (indices, index_axis), (updates, update_axis)):
        if isinstance(state, Rows) and state != Rows(at, per):
            return MIXED
        if isinstance(state, Free) and at in state.varying:
            return MIXED
    return Rows(axis, per)


def _fft(eqn, ins):
    ndim, axes = _ndim(eqn.invars[0].aval), len(eqn.params["fft_lengths"])
    return MIXED if ins[0].axis >= ndim - axes else ins[0]


def _trailing_matrix(eqn, ins):
    """Linear algebra over the last two axes, the leading ones batched."""
    state = _join(ins, [_shape(v) for v in eqn.invars], _ndim(eqn.invars[0].aval))
    if isinstance(state, Rows) and state.axis >= _ndim(eqn.invars[0].aval) - 2:
        return MIXED
    return state


# -- values that depend on no row: the axes along which they vary --------------------
def _free_broadcast(eqn, ins):
    dims, before = eqn.params["broadcast_dimensions"], _shape(eqn.invars[0])
    after = _shape(eqn.outvars[0])
    return Free(frozenset(dims[a] for a in ins[0].varying if before[a] == after[dims[a]]))


def _free_iota(eqn, ins):
    return Free(frozenset({eqn.params["dimension"]}))


def _free_transpose(eqn, ins):
    permutation = list(eqn.params["permutation"])
    return Free(frozenset(permutation.index(a) for a in ins[0].varying))


def _free_reduce(eqn, ins):
    axes = eqn.params["axes"]
    kept = [a for a in range(_ndim(eqn.invars[0].aval)) if a not in axes]
    return Free(frozenset(kept.index(a) for a in ins[0].varying if a in kept))


def _free_squeeze(eqn, ins):
    dims = eqn.params["dimensions"]
    return Free(frozenset(a - sum(d < a for d in dims) for a in ins[0].varying if a not in dims))


def _free_same_axes(extra=None):
    """Operations whose output axes are their operands' (slicing, padding, scans along
    an axis): the operands' varying axes, and the one ``extra`` names."""

    def rule(eqn, ins):
        ndim = _ndim(eqn.outvars[0].aval)
        varying = set().union(
            *(s.varying for s, v in zip(ins, eqn.invars) if _ndim(v.aval) == ndim)
        )
        if extra is not None:
            varying.add(eqn.params[extra] % max(1, ndim))
        return Free(frozenset(varying))

    return rule


def _free_dot(eqn, ins):
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lhs, rhs = ins
    l_free = [d for d in range(_ndim(eqn.invars[0].aval)) if d not in lc and d not in lb]
    r_free = [d for d in range(_ndim(eqn.invars[1].aval)) if d not in rc and d not in rb]
    varying = {j for j, (a, b) in enumerate(zip(lb, rb)) if a in lhs.varying or b in rhs.varying}
    varying |= {len(lb) + i for i, d in enumerate(l_free) if d in lhs.varying}
    varying |= {len(lb) + len(l_free) + i for i, d in enumerate(r_free) if d in rhs.varying}
    return Free(frozenset(varying))


def _free_gather(eqn, ins):
    operand, indices = ins
    numbers = eqn.params["dimension_numbers"]
    non_offset = [d for d in range(_ndim(eqn.outvars[0].aval)) if d not in numbers.offset_dims]
    skipped = set(numbers.collapsed_slice_dims) | set(numbers.operand_batching_dims)
    kept = [d for d in range(_ndim(eqn.invars[0].aval)) if d not in skipped]
    last = _ndim(eqn.invars[1].aval) - 1
    varying = {non_offset[a] for a in indices.varying if a < last}
    varying |= {numbers.offset_dims[kept.index(a)] for a in operand.varying if a in kept}
    # a batching axis: output row b reads operand[b], which differs where the operand varies
    for a, i in zip(numbers.operand_batching_dims, numbers.start_indices_batching_dims):
        if a in operand.varying:
            varying.add(non_offset[i])
    return Free(frozenset(varying))


def _free_pad(eqn, ins):
    """Padded axes vary (edge values differ from the operand's), whatever the operand."""
    padded = {a for a, cfg in enumerate(eqn.params["padding_config"]) if tuple(cfg) != (0, 0, 0)}
    return Free(ins[0].varying | padded)


def _free_update(eqn, ins):
    """An update smaller than the operand along an axis makes the result vary there."""
    before, update = _shape(eqn.invars[0]), _shape(eqn.invars[1])
    smaller = {a for a, (b, u) in enumerate(zip(before, update)) if u < b}
    return Free(ins[0].varying | ins[1].varying | smaller)


def _free_conv(eqn, ins):
    numbers = eqn.params["dimension_numbers"]
    out = set(range(_ndim(eqn.outvars[0].aval)))
    if numbers.lhs_spec[0] not in ins[0].varying:
        out.discard(numbers.out_spec[0])
    return Free(frozenset(out))


# -- calls and loops -----------------------------------------------------------------------
def _closed(jaxpr):
    """A call's jaxpr (a ClosedJaxpr's or an open one) and its constants' states."""
    inner = getattr(jaxpr, "jaxpr", jaxpr)
    return inner, [_all_axes(v.aval) for v in inner.constvars]


def _call(param):
    def rule(eqn, ins):
        inner, consts = _closed(eqn.params[param])
        return _run(inner, ins[len(ins) - len(inner.invars) :], consts)

    return rule


def _merge(a, b):
    if a == b:
        return a
    if isinstance(a, Free) and isinstance(b, Free):
        return Free(a.varying | b.varying)
    if isinstance(a, Rows) and isinstance(b, Free) and a.axis not in b.varying:
        return a
    if isinstance(b, Rows) and isinstance(a, Free) and b.axis not in a.varying:
        return b
    return MIXED


def _fixpoint(carry: list, run) -> list:
    """Loop carries: run the body until their states stop changing."""
    for _ in range(4):
        new = [_merge(a, b) for a, b in zip(carry, run(carry))]
        if new == carry:
            return carry
        carry = new
    return [MIXED] * len(carry)


def _scan(eqn, ins):
    p = eqn.params
    inner, consts = _closed(p["jaxpr"])
    n_consts, n_carry = p["num_consts"], p["num_carry"]
    fixed, carry, xs = ins[:n_consts], ins[n_consts : n_consts + n_carry], ins[n_consts + n_carry :]
    sliced = []
    for state in xs:
        if isinstance(state, Rows):
            if state.axis == 0:
                return [MIXED] * len(eqn.outvars)
            sliced.append(Rows(state.axis - 1, state.per))
        else:
            sliced.append(Free(frozenset(a - 1 for a in state.varying if a)))
    step = lambda c: _run(inner, fixed + c + sliced, consts)[:n_carry]
    carry = _fixpoint(carry, step)
    outs = _run(inner, fixed + carry + sliced, consts)
    ys = [
        Rows(s.axis + 1, s.per)
        if isinstance(s, Rows)
        else (s if s is MIXED else Free(frozenset({0} | {a + 1 for a in s.varying})))
        for s in outs[n_carry:]
    ]
    return carry + ys


def _while(eqn, ins):
    p = eqn.params
    body, body_consts = _closed(p["body_jaxpr"])
    cond, cond_consts = _closed(p["cond_jaxpr"])
    nc, nb = p["cond_nconsts"], p["body_nconsts"]
    cond_fixed, body_fixed, carry = ins[:nc], ins[nc : nc + nb], ins[nc + nb :]
    carry = _fixpoint(carry, lambda c: _run(body, body_fixed + c, body_consts))
    (pred,) = _run(cond, cond_fixed + carry, cond_consts)
    return carry if isinstance(pred, Free) else [MIXED] * len(carry)


def _cond(eqn, ins):
    if not isinstance(ins[0], Free):
        return [MIXED] * len(eqn.outvars)
    outs = None
    for branch in eqn.params["branches"]:
        inner, consts = _closed(branch)
        states = _run(inner, ins[1:], consts)
        outs = states if outs is None else [_merge(a, b) for a, b in zip(outs, states)]
    return outs


_ELEMENTWISE = """
abs acos acosh add and asin asinh atan atan2 atanh bitcast_convert_type cbrt ceil clamp
clz complex conj convert_element_type copy copy_p cos cosh digamma div eq eq_to erf erf_inv erfc
exp exp2 expm1 floor ge gt igamma imag integer_pow is_finite le le_to lgamma log log1p logistic
lt lt_to max min mul mulhi ne neg nextafter not or population_count pow real reduce_precision rem
round rsqrt select_n shift_left shift_right_arithmetic shift_right_logical sign sin sinh
sqrt square sub tan tanh xor
""".split()

_RULES: dict[str, Any] = {name: _elementwise for name in _ELEMENTWISE}
_RULES.update(
    {
        name: _each
        for name in (
            "optimization_barrier",
            "device_put",
            "sharding_constraint",
            "pvary",
            "stop_gradient",
        )
    }
)
_RULES.update(
    {
        name: _reduce
        for name in (
            "reduce_sum reduce_max reduce_min reduce_prod reduce_and reduce_or reduce_xor "
            "argmax argmin"
        ).split()
    }
)
_RULES.update({n: _along_axis("axis") for n in "cumsum cumprod cummax cummin cumlogsumexp".split()})
_RULES.update(
    {
        n: _reduce_window
        for n in "reduce_window reduce_window_sum reduce_window_max reduce_window_min".split()
    }
)
_RULES.update({n: _trailing_matrix for n in "cholesky triangular_solve lu qr eigh svd".split()})
_RULES.update(
    {
        "sort": _along_axis("dimension"),
        "top_k": _along_axis("axis"),
        "split": _along_axis("axis"),
        "broadcast_in_dim": _broadcast,
        "reshape": _reshape,
        "squeeze": _squeeze,
        "transpose": _transpose,
        "slice": _slice,
        "dynamic_slice": _dynamic_slice,
        "dynamic_update_slice": _dynamic_update_slice,
        "pad": _pad,
        "concatenate": _concatenate,
        "rev": _rev,
        "dot_general": _dot_general,
        "conv_general_dilated": _conv,
        "gather": _gather,
        "scan": _scan,
        "while": _while,
        "cond": _cond,
        "stack": _stack,
        "unstack": _unstack,
        "tile": _tile,
        "reduce": _generic_reduce,
        "fft": _fft,
        **{
            name: _scatter
            for name in "scatter scatter-add scatter_add scatter-mul scatter_mul scatter-min "
            "scatter_min scatter-max scatter_max scatter-sub scatter_sub".split()
        },
    }
)
_CALLS = {
    "pjit": "jaxpr",
    "jit": "jaxpr",
    "closed_call": "call_jaxpr",
    "core_call": "call_jaxpr",
    "remat": "jaxpr",
    "checkpoint": "jaxpr",
    "remat2": "jaxpr",
    "custom_jvp_call": "call_jaxpr",
    "custom_vjp_call": "call_jaxpr",
    "custom_vjp_call_jaxpr": "fun_jaxpr",
}
_RULES.update({name: _call(param) for name, param in _CALLS.items()})
_FREE_RULES: dict[str, Any] = {name: _elementwise for name in _ELEMENTWISE}
_FREE_RULES.update(
    {
        "broadcast_in_dim": _free_broadcast,
        "iota": _free_iota,
        "transpose": _free_transpose,
        "squeeze": _free_squeeze,
        "dot_general": _free_dot,
        "conv_general_dilated": _free_conv,
        "gather": _free_gather,
        "concatenate": _free_same_axes("dimension"),
        "pad": _free_pad,
        "dynamic_update_slice": _free_update,
        **{n: _free_same_axes() for n in "slice dynamic_slice rev split".split()},
        **{n: _free_same_axes("axis") for n in "cumsum cumprod cummax cummin cumlogsumexp".split()},
        **{
            name: _free_reduce for name in ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod")
        },
    }
)
