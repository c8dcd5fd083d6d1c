"""The network a fit starts from: a pretrained adapter, or built from scratch
(after a tokenizer search when the plan asks for one)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sktime_llmforecast.forecasting._tokenizer_search import select_tokenizer
from sktime_llmforecast.forecasting.plan import FitPlan
from sktime_llmforecast.nn import (
    MIN_OBSERVED,
    BackboneNetwork,
    build_network,
    load_adapter_network,
)
from sktime_llmforecast.tokenizers import PatchTokenizer
from sktime_llmforecast.tokenizers.switcher import adapted_variants


@dataclass(frozen=True)
class StartingNetwork:
    """What :func:`starting_network` hands back.

    Attributes
    ----------
    network : BackboneNetwork
    plan : FitPlan
        The plan with its tokenizer fixed (the adapter's or the search's winner).
    adapter_card : dict or None
        The card of the adapter the network was loaded from.
    tokenizer_scores : pd.DataFrame or None
        The search's scores (None: no search ran).
    """

    network: BackboneNetwork
    plan: FitPlan
    adapter_card: dict | None = None
    tokenizer_scores: object = None


def starting_network(plan: FitPlan, series):
    """Load the plan's adapter, or build its network (searching the tokenizer first)."""
    if plan.adapter is not None:
        net = load_adapter_network(plan.adapter.card, plan.adapter.path, plan.network,
                                   plan.seed, plan.device)
        return StartingNetwork(net, plan.with_tokenizer(net.tokenizer), plan.adapter.card)
    scores = None
    if plan.search is not None:
        winner, scores = select_tokenizer(plan, series)
        plan = plan.with_tokenizer(winner)
    net = build_network(plan.kind, plan.network, plan.tokenizer, plan.seed, plan.device)
    return StartingNetwork(net, plan, None, scores)


def sized_to_data(plan: FitPlan, series, default_horizon=False):
    """The plan of a network built from scratch, sized to what ``series`` supports.

    * The context is at most the longest series (never shorter than the fixed
      patch, or the longest candidate patch of a search that fits the asked
      context), so a ``context_length`` far beyond the data costs no more than
      the data.
    * The head predicts at most the steps one training window of the longest
      series can teach (``len - MIN_OBSERVED``); longer horizons are forecast
      recursively. With ``default_horizon`` (no ``fh``, no ``prediction_length``)
      it is a quarter of the capped context, as for that context asked directly.

    Plans that start from an adapter keep the adapter's architecture; zero-shot
    plans, which train nothing and read the history at predict time, are kept.
    """
    if plan.adapter is not None or plan.kind == "zero-shot":
        return plan
    net = plan.network
    longest = max(len(s) for s in series)
    context = net.context_length
    if context > longest:
        context = max(longest, _shortest_context(plan))
    horizon = net.horizon
    if default_horizon and context != net.context_length:
        horizon = max(1, context // 4)
    horizon = max(1, min(horizon, longest - MIN_OBSERVED))
    if (context, horizon) == (net.context_length, net.horizon):
        return plan
    n_demo = plan.history_length // net.context_length - 1
    return replace(plan, network=replace(net, context_length=context, horizon=horizon),
                   history_length=context * (1 + n_demo))


def _shortest_context(plan):
    """The least context the plan's tokenizer (or any tokenizer its search may try,
    adapted variants included) takes."""
    if isinstance(plan.tokenizer, PatchTokenizer):
        return plan.tokenizer.patch_len
    if plan.search is not None:
        tried = plan.search.candidate_list()
        if plan.search.strategy == "adapt":
            tried = [v for c in tried for v in adapted_variants(c)]
        lens = [t.patch_len for t in tried
                if isinstance(t, PatchTokenizer) and t.patch_len <= plan.network.context_length]
        return max(lens, default=1)
    return 1


def trained_horizon(net, asked, pretrained):
    """Steps a fit trains (and calibrates) the head for: those ``fh`` asks, at most
    the head's, when fine-tuning a pretrained network; None (the head's) otherwise."""
    return min(asked, net.config.horizon) if pretrained and asked else None
