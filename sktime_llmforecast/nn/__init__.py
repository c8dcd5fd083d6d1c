"""The network layer below the forecaster and pretraining: tensors only.

Both ``sktime_llmforecast.forecasting`` and ``sktime_llmforecast.pretraining``
build, train and run networks through the public names here.

=================  ==========================================================
module             job
=================  ==========================================================
``config``         ``NetworkConfig``, ``TrainConfig``, ``SamplingConfig``
``base``           the contract (``loss_terms``, ``predict``), the backbone
                   shell, pickling; ``Batch``, ``NetworkForecast``
``patch``          ``PatchForecastNetwork`` (direct multi-step head)
``token``          ``TokenForecastNetwork`` (numeric vocabulary, decoding)
``zero_shot``      ``ZeroShotDigitNetwork`` (LLMTime, nothing trains)
``registry``       kind -> class table, ``build_network``
``windows``        training windows with a temporal split
``training``       one optimisation step, the epoch loop, seeded blocks
``paths``          recursive forecast paths and their reductions
``adapter``        the adapter format (weights + card), shipped adapters
``checkpoint``     resumable checkpoints
=================  ==========================================================
"""

from sktime_llmforecast.nn.adapter import (
    architecture_mismatch,
    backbone_mismatch,
    card_network_kind,
    load_adapter_network,
    network_record,
    read_card,
    read_weights,
    save_adapter,
    shipped_adapters,
    tokenizer_from_record,
)
from sktime_llmforecast.nn.base import BackboneNetwork, Batch, NetworkForecast
from sktime_llmforecast.nn.calibration import calibrate_spread
from sktime_llmforecast.nn.checkpoint import (
    checkpoint_identity,
    load_checkpoint,
    save_checkpoint,
)
from sktime_llmforecast.nn.config import (
    NetworkConfig,
    SamplingConfig,
    TrainConfig,
    check_bool,
    check_float,
    check_int,
)
from sktime_llmforecast.nn.errors import is_out_of_memory
from sktime_llmforecast.nn.paths import (
    Paths,
    forecast_paths,
    interp_quantiles,
    sample_quantiles,
)
from sktime_llmforecast.nn.registry import (
    NETWORKS,
    POINT_FORECASTS,
    build_network,
    check_network,
    network_kind,
)
from sktime_llmforecast.nn.training import (
    TrainResult,
    autocast_context,
    batch_loss_terms,
    empty_history,
    evaluate_losses,
    optimisation_step,
    predict_network,
    probe_losses,
    rng_devices,
    run_batched,
    seeded,
    train_network,
    train_on_series,
    train_step,
)
from sktime_llmforecast.nn.windows import (
    MIN_OBSERVED,
    WindowSet,
    has_window,
    last_contexts,
    make_windows,
    spaced_validation_windows,
)

__all__ = [
    "MIN_OBSERVED",
    "NETWORKS",
    "POINT_FORECASTS",
    "BackboneNetwork",
    "Batch",
    "NetworkConfig",
    "NetworkForecast",
    "Paths",
    "SamplingConfig",
    "TrainConfig",
    "TrainResult",
    "WindowSet",
    "architecture_mismatch",
    "autocast_context",
    "backbone_mismatch",
    "batch_loss_terms",
    "build_network",
    "calibrate_spread",
    "card_network_kind",
    "check_bool",
    "check_float",
    "check_int",
    "check_network",
    "checkpoint_identity",
    "empty_history",
    "evaluate_losses",
    "forecast_paths",
    "has_window",
    "interp_quantiles",
    "is_out_of_memory",
    "last_contexts",
    "load_adapter_network",
    "load_checkpoint",
    "make_windows",
    "network_kind",
    "network_record",
    "optimisation_step",
    "predict_network",
    "probe_losses",
    "read_card",
    "read_weights",
    "rng_devices",
    "run_batched",
    "sample_quantiles",
    "save_adapter",
    "save_checkpoint",
    "seeded",
    "shipped_adapters",
    "spaced_validation_windows",
    "tokenizer_from_record",
    "train_network",
    "train_on_series",
    "train_step",
]
