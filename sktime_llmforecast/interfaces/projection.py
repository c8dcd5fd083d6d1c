"""Projection interfaces (LLaVA's linear layer, MedVInT's two-layer MLP)."""

from __future__ import annotations

INTERFACE_KINDS = ("linear", "mlp", "resampler")


def build_interface(kind, in_features, d_model, hidden_features=None, n_queries=16):
    """Build the module that embeds tokens of ``in_features`` values into ``d_model``.

    Parameters
    ----------
    kind : {"linear", "mlp", "resampler"}
        ``"linear"``: one linear layer (LLaVA); ``"mlp"``: linear-GELU-linear
        (MedVInT); ``"resampler"``: ``n_queries`` learnable queries
        cross-attending to the projected tokens (Perceiver Resampler / Q-Former,
        :class:`QueryResampler`).
    in_features : int
        Values per token, e.g. ``patch_len``.
    d_model : int
        The backbone's hidden size.
    hidden_features : int, optional
        Width of the MLP's hidden layer (default ``d_model``).
    n_queries : int, default=16
        Output tokens of the resampler.

    Returns
    -------
    torch.nn.Module
        Maps ``(B, P, in_features)`` to ``(B, P, d_model)``; the resampler maps
        ``(patches, patch_mask)`` to ``(B, n_queries, d_model)``.

    Examples
    --------
    >>> import torch
    >>> from sktime_llmforecast.interfaces import build_interface
    >>> build_interface("mlp", 16, 32)(torch.zeros(2, 5, 16)).shape
    torch.Size([2, 5, 32])
    """
    from torch import nn

    if kind == "linear":
        return nn.Linear(in_features, d_model)
    if kind == "mlp":
        hidden = hidden_features or d_model
        return nn.Sequential(
            nn.Linear(in_features, hidden), nn.GELU(), nn.Linear(hidden, d_model)
        )
    if kind == "resampler":
        from sktime_llmforecast.interfaces.resampler import QueryResampler

        return QueryResampler(in_features, d_model, n_queries=n_queries)
    raise ValueError(f"interface must be one of {INTERFACE_KINDS}, got {kind!r}.")
