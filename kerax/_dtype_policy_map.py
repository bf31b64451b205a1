"""``DTypePolicyMap``: dtype policies by layer path (``keras.dtype_policies.DTypePolicyMap``).

A map is itself a policy (its own dtypes are those of its default policy), so it goes
wherever a policy goes: ``Dense(4, dtype=policy_map)``. A layer whose policy is a map
looks itself up by its ``path`` once it has one (when it is built: ``"sequential/dense"``
in a Sequential, its bare name in a functional model), and takes the entry found there
for its compute dtype, variable dtype and quantization mode; layers that pass their
policy on to sublayers (MultiHeadAttention) give each sublayer its own entry.

Lookup, as in Keras 3.15: an exact key first; otherwise every key is a regular
expression that must match the whole path (``re.fullmatch``: ``"encoder"`` does not
cover ``"encoder/dense"``, ``"encoder/.*"`` does); no match gives the default policy,
two or more raise ``ValueError``.

Where kerax differs from Keras, on purpose: entries given to the constructor are
checked and turned into policies (Keras stores them as given); two maps with the same
default and entries compare equal (Keras raises AttributeError); ``get_config`` does not
change the entries' names (Keras sets them to None when there is no default policy,
which is only what the config should say).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, MutableMapping
from typing import Any

from kerax import mixed_precision
from kerax.mixed_precision import DTypePolicy


class DTypePolicyMap(DTypePolicy, MutableMapping):
    """Dtype policies keyed by layer path, with a default for paths not in the map.

    Args:
        default_policy: the policy of paths no key matches: a policy, its name or its
            config; ``None`` (default) takes the global policy now, and writes ``None``
            in the config so that loading takes the global policy then.
        policy_map: an optional dict of keys (layer paths or regular expressions) to
            policies (or their names).

    Raises:
        ValueError: ``default_policy`` is a DTypePolicyMap, or an entry of
            ``policy_map`` is not a policy.
        TypeError: ``policy_map`` is not a dict, or one of its keys not a string.

    Example:
        >>> policy_map = DTypePolicyMap("float32")
        >>> policy_map["encoder/.*"] = "bfloat16"
        >>> policy_map["encoder/dense"].name, policy_map["decoder/dense"].name
        ('bfloat16', 'float32')
    """

    def __init__(self, default_policy: Any = None, policy_map: dict | None = None):
        if isinstance(default_policy, DTypePolicyMap):
            raise ValueError(
                "`default_policy` cannot be a DTypePolicyMap: pass a DTypePolicy or its "
                f"name, such as 'float32'. Received: default_policy={default_policy!r}"
            )
        if policy_map is not None and not isinstance(policy_map, dict):
            raise TypeError(
                "If specified, `policy_map` must be a dict of layer paths to dtype "
                f"policies. Received: policy_map={policy_map!r} of type "
                f"{type(policy_map).__name__}"
            )
        self._default_policy_arg = default_policy
        self._default_policy = mixed_precision.get(default_policy)
        self._policy_map: dict[str, DTypePolicy] = {}
        for key, policy in (policy_map or {}).items():
            self[key] = policy

    # -- the map's own dtypes: its default policy's --------------------------------------
    @property
    def name(self) -> str:
        """``"map_<default policy's name>"``."""
        return f"map_{self._default_policy.name}"

    @property
    def default_policy(self) -> DTypePolicy:
        """The policy of paths that no key matches."""
        return self._default_policy

    @property
    def compute_dtype(self) -> str:
        return self._default_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        return self._default_policy.variable_dtype

    @property
    def quantization_mode(self) -> str | None:
        return self._default_policy.quantization_mode

    # -- the mapping -----------------------------------------------------------------------
    def __getitem__(self, key: str) -> DTypePolicy:
        """The policy of a layer path: its exact key's, else that of the one key that
        matches it as a regular expression, else the default policy.

        Raises:
            ValueError: the path matches several keys, or a key is not a valid regular
                expression.
        """
        if key in self._policy_map:
            return self._policy_map[key]
        matches = [pattern for pattern in self._policy_map if _full_match(pattern, key)]
        if len(matches) > 1:
            raise ValueError(
                f"Path '{key}' matches multiple dtype policy specification keys: "
                f"{matches}. Make sure each path matches at most one key of the "
                "DTypePolicyMap (keys are regular expressions matched against the whole "
                "path), e.g. by making the patterns more specific."
            )
        if matches:
            return self._policy_map[matches[0]]
        return self._default_policy

    def __setitem__(self, key: str, policy: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(
                "DTypePolicyMap keys are layer paths or regular expressions (strings). "
                f"Received: key={key!r} of type {type(key).__name__}"
            )
        if key in self._policy_map:
            raise ValueError(
                f"{key} already exist in the DTypePolicyMap with value "
                f"{self._policy_map[key]}. Keys cannot be set twice: delete it first "
                f"(`del policy_map[{key!r}]`) to replace it."
            )
        try:
            policy = mixed_precision.get(policy)
        except (TypeError, ValueError) as e:
            raise ValueError(
                "Cannot interpret the assigned value by `keras.dtype_policies.get`: "
                "expected a DTypePolicy, its name (such as 'bfloat16') or its config. "
                f"Received: {policy!r} of type {type(policy).__name__}"
            ) from e
        self._policy_map[key] = policy

    def __delitem__(self, key: str) -> None:
        del self._policy_map[key]  # KeyError for a missing key, as a dict

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is a key of the map (exactly; no regular expressions)."""
        return key in self._policy_map

    def __len__(self) -> int:
        return len(self._policy_map)

    def __iter__(self) -> Iterator[str]:
        return iter(self._policy_map)

    def __eq__(self, other: Any) -> bool:
        return (
            type(other) is type(self)
            and self._default_policy == other._default_policy
            and self._policy_map == other._policy_map
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    # -- config ----------------------------------------------------------------------------
    def get_config(self) -> dict:
        """``{"default_policy": ..., "policy_map": {key: policy config}}`` as Keras
        writes it. With no default policy the entries' dtypes are written as ``None``
        too (their ``name`` / ``source_name``): loading gives them the global policy."""
        default = self._default_policy_arg
        if isinstance(default, DTypePolicy):
            default = mixed_precision.serialize(default)
        entries = {}
        for key, policy in self._policy_map.items():
            entry = mixed_precision.serialize(policy)
            if self._default_policy_arg is None:
                follow = {"name", "source_name"}.intersection(entry["config"])
                entry["config"] = {**entry["config"], **dict.fromkeys(follow)}
            entries[key] = entry
        return {"default_policy": default, "policy_map": entries}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> DTypePolicyMap:
        config = dict(config)
        entries = config.get("policy_map") or {}
        config["policy_map"] = {
            key: mixed_precision.deserialize(policy, custom_objects)
            for key, policy in entries.items()
        }
        return cls(**config)

    def __repr__(self) -> str:
        mapping = [(key, policy.name) for key, policy in self._policy_map.items()]
        return (
            f"<DTypePolicyMap at {hex(id(self))} default_policy="
            f"{self._default_policy.name}, mapping={mapping}>"
        )


def _full_match(pattern: str, path: str) -> bool:
    try:
        return re.fullmatch(pattern, path) is not None
    except re.error as e:
        raise ValueError(
            f"The DTypePolicyMap key {pattern!r} is not a valid regular expression ({e}), "
            f"so the path {path!r} cannot be matched against it. Escape special "
            "characters in keys (re.escape) or delete that key."
        ) from None
