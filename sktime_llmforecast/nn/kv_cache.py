"""A key/value cache for decoding that grows into preallocated storage.

transformers' ``DynamicCache`` appends each decoding step's keys and values with
``torch.cat``, which copies the whole cache: decoding ``n`` tokens copies it ``n``
times, and with many rows (sampled paths, the fit check's folds decoded in one
batch) those copies cost as much as the backbone's matmuls. :class:`GrowingLayer`
writes each step's entries into storage whose capacity doubles when it is full, so
a step copies only its own entries, and the attention reads views of the filled
part: the same keys and values in the same order, hence the same outputs.

It is used where every attention layer of the backbone is a plain causal one
(no sliding window, no linear attention) and transformers has the cache-layer API
(``transformers.cache_utils.DynamicLayer``, 4.56 and later); elsewhere decoding
uses the model's own cache.

Sampled paths continue one window many times. Instead of repeating the window's
keys and values for every path (``batch_repeat_interleave``),
:meth:`GrowingLayer.share_prefix` keeps them once per row as a shared *prefix* and
grows only the paths' own entries; ``nn.prefix_attention`` then reads the prefix
once for all of a row's paths.
"""

from __future__ import annotations

try:
    from transformers.cache_utils import Cache, DynamicLayer
except ImportError:  # transformers before the cache-layer API
    Cache = DynamicLayer = None

#: entries a layer's storage holds beyond the first update's, at least
MIN_SPARE = 64


def _storage(like, capacity, filled=None):
    """Uninitialised storage of ``capacity`` entries for states shaped like ``like``
    ``(B, heads, n, dim)``, holding ``filled`` (same shape) in its first entries."""
    store = like.new_empty((*like.shape[:2], capacity, like.shape[-1]))
    if filled is not None and filled.shape[-2]:
        store[..., : filled.shape[-2], :] = filled
    return store


if DynamicLayer is not None:

    class GrowingLayer(DynamicLayer):
        """A ``DynamicLayer`` whose keys and values are views of storage that
        doubles when full (see the module docstring)."""

        #: the shared entries ``(rows, heads, n, dim)`` of every ``repeats`` rows of
        #: ``keys`` and ``values`` (None: nothing is shared)
        prefix_keys = prefix_values = None
        repeats = 1

        def lazy_initialization(self, key_states, value_states):
            super().lazy_initialization(key_states, value_states)
            self._key_store = self._value_store = None

        def get_seq_length(self):
            """Entries each row attends to: the shared prefix's and its own."""
            return self._filled() + (0 if self.prefix_keys is None
                                     else self.prefix_keys.shape[-2])

        def _filled(self):
            if not self.is_initialized or self.keys.dim() < 2:  # lazily initialised: []
                return 0
            return self.keys.shape[-2]

        def share_prefix(self, repeats):
            """Continue every row ``repeats`` times (rows ``b * repeats`` to
            ``(b + 1) * repeats - 1`` continue row ``b``), keeping the entries held
            so far once per row as the shared prefix: ``keys`` and ``values`` then
            hold the continuations' own entries only."""
            if self.prefix_keys is not None or not self.is_initialized:
                raise RuntimeError("share_prefix applies once, to a filled layer")
            self.prefix_keys, self.prefix_values = self.keys, self.values
            self.repeats = int(repeats)
            rows = self.keys.shape[0] * self.repeats
            heads, dim = self.keys.shape[1], self.keys.shape[-1]
            self.keys = self.keys.new_empty((rows, heads, 0, dim))
            self.values = self.values.new_empty((rows, heads, 0, self.values.shape[-1]))
            self._key_store = self._value_store = None

        def update(self, key_states, value_states, *args, **kwargs):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            start = self._filled()
            end = start + key_states.shape[-2]
            if self._key_store is None or end > self._key_store.shape[-2]:
                capacity = max(2 * end, end + MIN_SPARE)
                held = start > 0
                self._key_store = _storage(key_states, capacity, self.keys if held else None)
                self._value_store = _storage(value_states, capacity,
                                             self.values if held else None)
            self._key_store[..., start:end, :] = key_states
            self._value_store[..., start:end, :] = value_states
            self._view(end)
            return self.keys, self.values

        def batch_repeat_interleave(self, repeats):
            self._not_shared()
            if self.get_seq_length() > 0:
                self._restore(self.keys.repeat_interleave(repeats, dim=0),
                              self.values.repeat_interleave(repeats, dim=0))

        def batch_select_indices(self, indices):
            self._not_shared()
            if self.get_seq_length() > 0:
                self._restore(self.keys[indices, ...], self.values[indices, ...])

        def crop(self, tokens_to_remove):
            self._not_shared()
            super().crop(tokens_to_remove)

        def _not_shared(self):
            if self.prefix_keys is not None:
                raise NotImplementedError("a layer sharing its prefix keeps its rows")

        def _restore(self, keys, values):
            """Storage of the present capacity holding ``keys`` and ``values``."""
            capacity = self._key_store.shape[-2]
            self._key_store = _storage(keys, capacity, keys)
            self._value_store = _storage(values, capacity, values)
            self._view(keys.shape[-2])

        def _view(self, n):
            self.keys = self._key_store[..., :n, :]
            self.values = self._value_store[..., :n, :]

else:  # pragma: no cover - old transformers
    GrowingLayer = None


def growing_cache(config):
    """A fresh :class:`GrowingLayer` cache for a decoder built from ``config``, or
    None (the model then builds its own) where it does not apply: old
    transformers, or a model with sliding-window or linear-attention layers."""
    if GrowingLayer is None or getattr(config, "sliding_window", None) is not None:
        return None
    layer_types = getattr(config, "layer_types", None)
    if layer_types is not None and set(layer_types) != {"full_attention"}:
        return None
    return Cache(layer_class_to_replicate=GrowingLayer)
