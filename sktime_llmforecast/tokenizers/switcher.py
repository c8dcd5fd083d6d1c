"""TokenizerSwitcher: choose (and adapt) the tokenizer from validation accuracy."""

from __future__ import annotations

from skbase.base import BaseObject

_STRATEGIES = ("halving", "adapt")


def default_candidates():
    """The default candidates: patches, bins and chunked digits.

    LLMTime digits are left out of the default set for trained models: at about
    six tokens per value they cost several times the others per epoch; add
    ``DigitTokenizer()`` to ``candidates`` to include them (they are the
    tokenizer of ``mode="zero-shot"``).
    """
    from sktime_llmforecast.tokenizers import (
        BinTokenizer,
        ChunkedDigitTokenizer,
        PatchTokenizer,
    )

    return [PatchTokenizer(), BinTokenizer(), ChunkedDigitTokenizer(k=3)]


def adapted_variants(tokenizer):
    """Variants of ``tokenizer``'s key setting, the tokenizer itself first.

    Patch length (half and double, stride half the patch), digit precision (one
    less and one more), digits per chunk ``k`` (one less and one more), number of
    bins (a quarter and four times, even).
    """
    from sktime_llmforecast.tokenizers import (
        BinTokenizer,
        ChunkedDigitTokenizer,
        DigitTokenizer,
        PatchTokenizer,
    )

    out = [tokenizer.clone()]
    if isinstance(tokenizer, PatchTokenizer):
        for p in (tokenizer.patch_len // 2, tokenizer.patch_len * 2):
            if p >= 2:
                out.append(tokenizer.clone().set_params(patch_len=p, stride=max(1, p // 2)))
    elif isinstance(tokenizer, ChunkedDigitTokenizer):
        for k in (tokenizer.k - 1, tokenizer.k + 1):
            if 1 <= k <= 4:
                out.append(tokenizer.clone().set_params(k=k))
    elif isinstance(tokenizer, DigitTokenizer):
        for p in (tokenizer.precision - 1, tokenizer.precision + 1):
            if p >= 0:
                out.append(tokenizer.clone().set_params(precision=p))
    elif isinstance(tokenizer, BinTokenizer):
        for n in (tokenizer.n_bins // 4, tokenizer.n_bins * 4):
            if n >= 16:
                out.append(tokenizer.clone().set_params(n_bins=n - n % 2))
    return out


class TokenizerSwitcher(BaseObject):
    """Pick the tokenizer for the data at hand by successive halving on validation MASE.

    ``LLMForecaster(tokenizer=TokenizerSwitcher(...))`` (or ``tokenizer="auto"``)
    trains every candidate briefly, scores each on the validation windows with a
    yardstick common to all tokenizers (MASE of the *decoded* forecasts against the
    held-out values, scaled by each window's in-sample naive error), keeps the
    best ``1 / eta`` of them, trains those ``eta`` times longer, and so on until
    one is left; that one is then trained with the forecaster's full budget. A
    candidate that cannot be built or trained, or whose forecasts are not finite,
    scores ``inf`` and is dropped. Panels get one choice for the global model.

    Parameters
    ----------
    candidates : list of tokenizers or None, default=None
        None: ``PatchTokenizer()``, ``BinTokenizer()``,
        ``ChunkedDigitTokenizer(k=3)`` (see ``default_candidates``).
    strategy : {"halving", "adapt"}, default="halving"
        ``"adapt"`` runs a second search among variants of the winner's key
        setting (patch length, precision, digits per chunk or number of bins).
    min_epochs : int, default=3
        Epochs per candidate in the first round.
    eta : int, default=2
        Halving rate: the share kept per round is ``1 / eta`` and the epochs grow
        by ``eta``.

    Examples
    --------
    >>> from sktime_llmforecast.tokenizers import PatchTokenizer, TokenizerSwitcher
    >>> sw = TokenizerSwitcher(candidates=[PatchTokenizer(8, 4), PatchTokenizer(16, 8)])
    >>> [type(c).__name__ for c in sw.candidate_list()]
    ['PatchTokenizer', 'PatchTokenizer']
    """

    def __init__(self, candidates=None, strategy="halving", min_epochs=3, eta=2):
        self.candidates = candidates
        self.strategy = strategy
        self.min_epochs = min_epochs
        self.eta = eta
        super().__init__()

    def check_params(self):
        """Raise a ``ValueError`` naming the first invalid setting."""
        if self.strategy not in _STRATEGIES:
            raise ValueError(f"strategy must be one of {_STRATEGIES}, got {self.strategy!r}.")
        for name, low in (("min_epochs", 1), ("eta", 2)):
            val = getattr(self, name)
            if not (isinstance(val, int) and not isinstance(val, bool) and val >= low):
                raise ValueError(f"{name} must be an int >= {low}, got {val!r}.")
        if self.candidates is not None and not len(self.candidates):
            raise ValueError("candidates must hold at least one tokenizer (or be None).")

    def candidate_list(self):
        """Fresh clones of the candidates."""
        self.check_params()
        cands = default_candidates() if self.candidates is None else self.candidates
        return [c.clone() for c in cands]

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings."""
        from sktime_llmforecast.tokenizers import PatchTokenizer

        return [
            {},
            {"candidates": [PatchTokenizer(4, 2), PatchTokenizer(8, 4)], "min_epochs": 1,
             "strategy": "adapt"},
        ]
