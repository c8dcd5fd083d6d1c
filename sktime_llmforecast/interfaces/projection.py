"""Projection interfaces (LLaVA's linear layer, MedVInT's two-layer MLP)."""

from __future__ import annotations

INTERFACE_KINDS = ("linear", "mlp")


def build_interface(kind, in_features, d_model, hidden_features=None):
    """Build the module that embeds tokens of ``in_features`` values into ``d_model``.

    Parameters
    ----------
    kind : {"linear", "mlp"}
        ``"linear"``: one linear layer (LLaVA); ``"mlp"``: linear-GELU-linear
        (MedVInT).
    in_features : int
        Values per token, e.g. ``patch_len``.
    d_model : int
        The backbone's hidden size.
    hidden_features : int, optional
        Width of the MLP's hidden layer (default ``d_model``).

    Returns
    -------
    torch.nn.Module
        Maps ``(B, P, in_features)`` to ``(B, P, d_model)``.

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
    raise ValueError(f"interface must be one of {INTERFACE_KINDS}, got {kind!r}.")
