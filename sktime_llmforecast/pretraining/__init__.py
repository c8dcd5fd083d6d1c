"""Pretraining: a synthetic corpus, a resumable step-based trainer and adapters.

``python -m sktime_llmforecast.pretraining --help`` pretrains from the command line;
:func:`pretrain_adapter` does the same from Python. See docs/pretraining.md.
"""

from sktime_llmforecast.nn.adapter import read_card, save_adapter, shipped_adapters
from sktime_llmforecast.pretraining.api import PRETRAIN_LOSSES, pretrain_adapter
from sktime_llmforecast.pretraining.corpus import synthetic_windows
from sktime_llmforecast.pretraining.distributed import (
    DataParallel,
    data_parallel_from_environment,
)
from sktime_llmforecast.pretraining.synthetic import (
    COMPONENTS,
    FAMILY_NAMES,
    GENERATOR_VERSION,
    SyntheticSeriesGenerator,
)
from sktime_llmforecast.pretraining.trainer import PretrainConfig, pretrain_network

__all__ = [
    "COMPONENTS",
    "DataParallel",
    "FAMILY_NAMES",
    "GENERATOR_VERSION",
    "PRETRAIN_LOSSES",
    "PretrainConfig",
    "SyntheticSeriesGenerator",
    "data_parallel_from_environment",
    "pretrain_adapter",
    "pretrain_network",
    "read_card",
    "save_adapter",
    "shipped_adapters",
    "synthetic_windows",
]
