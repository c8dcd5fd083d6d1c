"""Zero-shot LLMTime: the history as digit text in the LLM's own vocabulary, sampled.

No parameter is trained. Each context is scaled (LLMTime scaling, fitted on that
context), written as text (``"1234,987,"``), tokenised by the backbone's own text
tokenizer, and continued by the backbone's language-model head. All ``num_samples``
continuations of a series are decoded together with the key/value cache. A grammar
masks every other token: an entry is an optional ``-`` then 1 to ``max_digits``
digits then the separator, so every sample holds ``horizon`` well-formed values.
Entries that still fail to parse are repaired (the previous value is carried
forward) and counted; samples with fewer than ``horizon`` values are dropped and
counted; a NaN never reaches a forecast.
"""

from __future__ import annotations

import inspect

import numpy as np
import torch

from sktime_llmforecast.backbones import load_text_tokenizer
from sktime_llmforecast.nn.base import (
    BackboneNetwork,
    Batch,
    NetworkForecast,
    max_positions,
)
from sktime_llmforecast.nn.config import SamplingConfig
from sktime_llmforecast.nn.kv_cache import growing_cache
from sktime_llmforecast.nn.prefix_attention import prefix_attention
from sktime_llmforecast.nn.token import cache_argument, continue_rows, sample_token

_SYMBOLS = "0123456789"


def _keeps_logits(model):
    """Whether ``model.forward`` can compute the logits of the last positions only."""
    return "logits_to_keep" in inspect.signature(model.forward).parameters


class ZeroShotDigitNetwork(BackboneNetwork):
    """Sample digit-text continuations from a pretrained causal LM (no training).

    Parameters
    ----------
    config : NetworkConfig
    tokenizer : DigitTokenizer
        Scaling and text format (``precision``, ``value_sep``, ...).

    ``predict`` samples ``sampling.num_samples`` paths, or with ``greedy=True``
    decodes one path at temperature 0 (the ``mean``). Nothing trains:
    ``loss_terms`` refuses.
    """

    kind = "zero-shot"

    def __init__(self, config, tokenizer):
        super().__init__(config, tokenizer)
        if tokenizer.digit_sep:
            raise ValueError(
                "zero-shot mode writes digits without digit_sep; use "
                "DigitTokenizer(digit_sep='') (one token per digit already)."
            )
        self.symbol_ids = self._symbol_ids()
        self.max_digits = tokenizer.precision + tokenizer.integer_digits + 1
        vocab = self.backbone.get_output_embeddings()
        if vocab is None:
            raise ValueError(
                "zero-shot mode needs a backbone with a language-model head (a causal "
                "LM such as 'smollm2-135m')."
            )

    # ------------------------------------------------------------ vocabulary
    def _text_tokenizer(self):
        return load_text_tokenizer(self.config.spec)

    def _symbol_ids(self):
        """Token id of every digit, the separator and '-' (one token each)."""
        symbols = _SYMBOLS + self.tokenizer.value_sep + "-"
        text_tok = self._text_tokenizer()
        if text_tok is None:  # random config backbone: characters are ids 0..11
            n_vocab = self.backbone.config.vocab_size
            if n_vocab < len(symbols):
                raise ValueError(
                    f"zero-shot mode needs a vocabulary of at least {len(symbols)} "
                    f"tokens; the backbone has {n_vocab}."
                )
            return {c: i for i, c in enumerate(symbols)}
        ids = {}
        for c in symbols:
            enc = text_tok(c, add_special_tokens=False).input_ids
            if len(enc) != 1:
                raise ValueError(
                    f"The backbone's tokenizer splits {c!r} into {len(enc)} tokens; "
                    "zero-shot digit mode needs one token per digit and separator."
                )
            ids[c] = enc[0]
        return ids

    def _encode_text(self, text):
        text_tok = self._text_tokenizer()
        if text_tok is None:  # digits etc. as 0..11, other characters after them
            n_sym, n_vocab = len(self.symbol_ids), self.backbone.config.vocab_size
            spare = max(n_vocab - n_sym, 1)
            return [
                self.symbol_ids[c] if c in self.symbol_ids else n_sym + ord(c) % spare
                for c in text
            ]
        return text_tok(text, add_special_tokens=False).input_ids

    def _prompt_prefix(self):
        """Ids of the text prompt and a line break before the digits (or [])."""
        if not self.n_prompt_tokens:
            return []
        if self._text_tokenizer() is None:  # keep clear of the digit ids, as above
            return self._encode_text(self.config.prompt + "\n")
        return self.prompt_ids.tolist() + self._encode_text("\n")

    def prompt_for(self, row, row_mask):
        """Token ids the LM continues for one history row, its scaling, its values.

        ``[prompt line] [demonstration lines, oldest first] query``: the last
        ``context_length`` values are the query, the ``n_demonstrations`` windows
        before them the demonstrations, each scaled on its own values.
        """
        n_ctx = self.config.context_length
        observed = row[-n_ctx:][row_mask[-n_ctx:]].double()
        text, scaling = self._as_text(observed)
        demos = self._demonstrations(row[:-n_ctx], row_mask[:-n_ctx])
        ids = self._prompt_prefix() + self._encode_text(
            "".join(d + "\n" for d in demos) + text + self.tokenizer.value_sep
        )
        return ids, scaling, observed

    # ------------------------------------------------------------ contract
    def loss_terms(self, batch: Batch, losses):
        """Zero-shot networks have no trainable parameters: always ``ValueError``."""
        raise ValueError(
            "A zero-shot network has nothing to train (LLMTime samples the frozen LM); "
            "use mode='trained' to train on data."
        )

    def predict(self, context, mask, sampling: SamplingConfig = SamplingConfig(),
                greedy=False, n_values=None):
        """Sampled paths, or one greedy (temperature 0) path as the ``mean``
        (``horizon`` values: the text's values are parsed whole, ``n_values`` does
        not apply)."""
        if greedy:
            values, counts = self.sample(context, mask, 1, temperature=0.0, top_p=1.0,
                                         seed=sampling.seed)
            return NetworkForecast(mean=values[:, 0], counts=counts)
        values, counts = self.sample(context, mask, sampling.num_samples,
                                     sampling.temperature, sampling.top_p, sampling.seed)
        return NetworkForecast(samples=values, counts=counts)

    # ------------------------------------------------------------ sampling
    def sample(self, context, mask, num_samples, temperature=1.0, top_p=1.0, seed=0):
        """Values ``(B, S, H)`` and counts ``{"repaired": int, "dropped": int}``.

        Dropped samples are replaced by copies of kept ones (so the array stays
        ``S`` wide); if every sample of a row is dropped, ``RuntimeError``.
        """
        horizon = self.config.horizon
        out = np.zeros((context.shape[0], num_samples, horizon))
        counts = {"repaired": 0, "dropped": 0}
        for b in range(context.shape[0]):
            prompt, scaling, observed = self.prompt_for(context[b], mask[b])
            self._check_length(len(prompt))
            generator = torch.Generator(device=context.device).manual_seed(seed + b)
            entries = self._generate(prompt, num_samples, temperature, top_p, generator)
            values, dropped, repaired = self._parse(entries, scaling, observed[-1].item())
            counts["dropped"] += dropped
            counts["repaired"] += repaired
            if not values:
                raise RuntimeError(
                    "Every zero-shot sample was malformed; raise num_samples or lower "
                    "the temperature."
                )
            keep = np.asarray(values)
            out[b] = keep[np.arange(num_samples) % len(keep)]
        return torch.as_tensor(out), counts

    def _as_text(self, observed):
        """LLMTime text of observed values, scaled on themselves; and the scaling."""
        ones = torch.ones_like(observed[None, :], dtype=torch.bool)
        state = self.tokenizer.scale(observed[None, :], ones)
        scaling = {"loc": float(state.loc), "scale": float(state.scale)}
        return self.tokenizer.values_to_text(observed.cpu().numpy(), scaling), scaling

    def _demonstrations(self, earlier, earlier_mask):
        """Texts of the ``n_demonstrations`` windows before the query, oldest first."""
        n_ctx, texts = self.config.context_length, []
        n = min(self.config.n_demonstrations, earlier.shape[0] // n_ctx)
        for k in range(n, 0, -1):  # oldest first
            lo = earlier.shape[0] - k * n_ctx
            window = earlier[lo : lo + n_ctx][earlier_mask[lo : lo + n_ctx]].double()
            if window.numel() >= 2:
                texts.append(self._as_text(window)[0] + self.tokenizer.value_sep)
        return texts

    def _check_length(self, n_prompt):
        limit = max_positions(self.backbone.config)
        need = n_prompt + self.config.horizon * (self.max_digits + 2)
        if limit is not None and need > limit:
            raise ValueError(
                f"The digit prompt plus forecast need {need} tokens, beyond the "
                f"backbone's {limit}; shorten context_length or lower precision."
            )

    def _grammar_masks(self, vocab_size, device):
        sym = self.symbol_ids
        digits = torch.zeros(vocab_size, dtype=torch.bool, device=device)
        digits[[sym[c] for c in _SYMBOLS]] = True
        sep = torch.zeros_like(digits)
        sep[sym[self.tokenizer.value_sep]] = True
        minus = torch.zeros_like(digits)
        minus[sym["-"]] = True
        return digits, sep, minus

    def _generate(self, prompt, num_samples, temperature, top_p, generator):
        device = next(self.backbone.parameters()).device
        # the prompt runs once (logits at its last position only); the samples share
        # its cache (or repeat it) and repeat its logits
        ids = torch.tensor([prompt], device=device)
        attention = torch.ones_like(ids).repeat(num_samples, 1)
        cache_name = cache_argument(self.backbone)
        keep = {"logits_to_keep": 1} if _keeps_logits(self.backbone) else {}
        config = self.backbone.config
        out = self.backbone(input_ids=ids, attention_mask=attention[:1], use_cache=True,
                            **{cache_name: growing_cache(config)}, **keep)
        logits, past = out.logits[:, -1].repeat(num_samples, 1), getattr(out, cache_name)
        if not continue_rows(self.backbone, past, num_samples):  # read it per sample
            out = self.backbone(input_ids=ids.repeat(num_samples, 1), attention_mask=attention,
                                use_cache=True, **{cache_name: growing_cache(config)},
                                **keep)
            logits, past = out.logits[:, -1], getattr(out, cache_name)
        vocab = logits.shape[-1]
        digits, sep, minus = self._grammar_masks(vocab, device)
        inv = {v: k for k, v in self.symbol_ids.items()}
        n_chars = torch.zeros(num_samples, dtype=torch.long, device=device)
        has_digit = torch.zeros(num_samples, dtype=torch.bool, device=device)
        n_values = torch.zeros(num_samples, dtype=torch.long, device=device)
        texts = [[] for _ in range(num_samples)]
        horizon = self.config.horizon
        with prefix_attention(past):
            for _ in range(horizon * (self.max_digits + 2)):
                # grammar: [-] digit{1, max_digits} sep
                allow = torch.where(has_digit[:, None], digits | sep, digits)
                allow = allow | ((n_chars == 0)[:, None] & minus)
                allow = torch.where((n_chars >= self.max_digits)[:, None] & has_digit[:, None], sep, allow)
                token = sample_token(
                    logits.float().masked_fill(~allow, float("-inf")),
                    temperature,
                    top_p,
                    generator,
                )
                for i, t in enumerate(token[:, 0].tolist()):
                    if n_values[i] < horizon:
                        texts[i].append(inv[t])
                is_sep = sep[token[:, 0]]
                is_digit = digits[token[:, 0]]
                n_values += is_sep.long()
                n_chars = torch.where(is_sep, torch.zeros_like(n_chars), n_chars + 1)
                has_digit = torch.where(is_sep, torch.zeros_like(has_digit), has_digit | is_digit)
                if bool((n_values >= horizon).all()):
                    break
                attention = torch.cat([attention, torch.ones_like(token)], dim=1)
                out = self.backbone(
                    input_ids=token, attention_mask=attention, use_cache=True, **{cache_name: past}
                )
                logits, past = out.logits[:, -1], getattr(out, cache_name)
        return ["".join(t).split(self.tokenizer.value_sep) for t in texts]

    def _parse(self, entries, scaling, last_value):
        values, dropped, repaired = [], 0, 0
        horizon = self.config.horizon
        for sample_entries in entries:
            nums = self.tokenizer.text_to_values(
                self.tokenizer.value_sep.join(sample_entries[:horizon]), scaling
            )
            if len(sample_entries) < horizon or len(nums) < horizon:
                dropped += 1
                continue
            prev = last_value
            row = []
            for v in nums[:horizon]:
                if not np.isfinite(v):
                    v, repaired = prev, repaired + 1
                row.append(v)
                prev = v
            values.append(row)
        return values, dropped, repaired
