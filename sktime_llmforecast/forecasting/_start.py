"""The network a fit starts from: a pretrained adapter, or built from scratch
(after a tokenizer search when the plan asks for one)."""

from __future__ import annotations

from dataclasses import dataclass

from sktime_llmforecast.forecasting._tokenizer_search import select_tokenizer
from sktime_llmforecast.forecasting.plan import FitPlan
from sktime_llmforecast.nn import BackboneNetwork, build_network, load_adapter_network


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
