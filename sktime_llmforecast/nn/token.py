"""Value-wise token models: numeric vocabulary -> backbone -> next-token head.

The tokenizer writes every value as ``w`` tokens over its own vocabulary; a new
embedding table (the interface) feeds them to the backbone and a new linear head
predicts the next token. Training is teacher-forced cross-entropy on the forecast
tokens; forecasting decodes greedily, one token at a time with the key/value cache,
and only ever picks a token that the tokenizer's grammar allows at that position, so
every decoded value is well formed.
"""

from __future__ import annotations

import inspect

import torch

from sktime_llmforecast.heads import TokenHead
from sktime_llmforecast.interfaces import build_token_embedding
from sktime_llmforecast.nn.base import BackboneNetwork, Batch, NetworkForecast
from sktime_llmforecast.nn.config import NetworkConfig, SamplingConfig
from sktime_llmforecast.nn.kv_cache import growing_cache
from sktime_llmforecast.nn.prefix_attention import prefix_attention, share_prefix

# encoder-only architectures attend to the future: teacher forcing would leak
_BIDIRECTIONAL = {
    "bert",
    "roberta",
    "distilbert",
    "albert",
    "electra",
    "deberta",
    "deberta-v2",
    "xlm-roberta",
    "mpnet",
    "camembert",
}


def cache_argument(model):
    """The name of the key/value cache argument of ``model.forward``.

    transformers >= 5.2x names it ``cache``, older releases ``past_key_values``.
    """
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


class TokenForecastNetwork(BackboneNetwork):
    """Autoregressive forecaster over a value-wise tokenizer's vocabulary.

    Parameters
    ----------
    config : NetworkConfig
    tokenizer : BaseValueTokenizer
        Supplies ``encode``/``decode``, ``tokens_per_value``, ``vocab_size`` and
        ``allowed_token_mask``.

    Shapes
    ------
    ``forward(ids (B, T), attention (B, T)) -> logits (B, T, V)``;
    ``predict(context (B, L), mask (B, L), sampling, greedy)``: greedy decoding
    gives the ``mean (B, H)``, sampling gives ``samples (B, S, H)``.
    """

    kind = "token"
    outputs = frozenset({"tokens"})
    teacher_forced = True

    def __init__(self, config: NetworkConfig, tokenizer):
        super().__init__(config, tokenizer)
        bb_config = self.backbone.config
        model_type = getattr(bb_config, "model_type", "")
        if model_type in _BIDIRECTIONAL and not getattr(bb_config, "is_decoder", False):
            raise ValueError(
                f"Token tokenizers need a causal (decoder) backbone; {model_type!r} "
                "attends to future tokens. Use a decoder such as 'smollm2-135m' or "
                "GPT-2, or a PatchTokenizer with this backbone."
            )
        w = tokenizer.tokens_per_value
        # series tokens the backbone reads per training window (teacher-forced:
        # context and target values, less the last token)
        self.n_tokens = (config.context_length + config.horizon) * w - 1
        self._check_positions(
            self.n_tokens,
            f"context_length + horizon = {config.context_length + config.horizon} "
            f"values at {w} tokens each: shorten context_length, use a tokenizer with "
            "fewer tokens per value (e.g. a larger k), or a PatchTokenizer.",
        )
        self.interface = build_token_embedding(
            tokenizer.vocab_size, self.d_model, tokenizer.tokens_per_value
        )
        self.head = TokenHead(self.d_model, tokenizer.vocab_size)
        self.register_buffer("allowed", tokenizer.allowed_token_mask(), persistent=False)

    def forward(self, ids, attention, cache=None, start=0, logits_from=0):
        """Logits for the next token at every position from ``logits_from`` on (and
        the updated cache).

        ``start`` is the sequence position of ``ids[:, 0]`` (non-zero when decoding
        with a cache that holds the earlier tokens; at 0 the prompt goes first,
        into ``cache`` when one is given), so each token gets its position inside
        its value. Training asks for the forecast positions only (``logits_from``):
        the head over a vocabulary of ``V`` entries then never materialises
        ``(B, T, V)`` logits for the context.
        """
        emb = self.interface(ids, start=start)  # (B, T, D)
        n_prefix = 0
        if start == 0:  # the prompt goes first; later steps find it in the cache
            emb, attention = self._with_prompt(emb, attention)
            n_prefix = self.n_prompt_tokens
        elif self.n_prompt_tokens:
            attention = torch.cat([self._prompt_mask(attention), attention], 1)
        name = cache_argument(self.backbone.base_model)
        out = self._run_backbone(emb, attention, use_cache=True, **{name: cache})
        hidden = out.last_hidden_state[:, n_prefix + logits_from:].to(emb.dtype)
        return self.head(hidden), getattr(out, name)  # (B, T - logits_from, V)

    def _prompt_mask(self, attention):
        return torch.ones(len(attention), self.n_prompt_tokens, dtype=attention.dtype,
                          device=attention.device)

    def _encode_window(self, context, mask, target=None):
        w = self.tokenizer.tokens_per_value
        ctx_ids, state = self.tokenizer.encode(context, mask)
        attention = mask.repeat_interleave(w, dim=1)
        if target is None:
            return ctx_ids, attention, state
        tgt_ids, _ = self.tokenizer.encode(target, torch.ones_like(target, dtype=torch.bool), state)
        ids = torch.cat([ctx_ids, tgt_ids], dim=1)
        attention = torch.cat([attention, torch.ones_like(tgt_ids, dtype=torch.bool)], 1)
        return ids, attention, state

    def loss_terms(self, batch: Batch, losses):
        """Teacher-forced losses on the tokens of the forecast values.

        Every loss must read ``"tokens"`` (logits against the next token).
        """
        context, mask, target = batch
        ids, attention, _ = self._encode_window(context, mask, target)
        # no logit is asked of a padding token, so its values may go in training too
        lead = self._leading_padding(attention, with_gradients=True)
        ids, attention = ids[:, lead:], attention[:, lead:]
        # the token at position p predicts token p + 1: the forecast's first token is
        # predicted by the context's last one
        first = context.shape[1] * self.tokenizer.tokens_per_value - lead - 1
        logits, _ = self(ids[:, :-1], attention[:, :-1], logits_from=first)
        labels = ids[:, first + 1 :]
        out = {}
        for name, loss in losses.items():
            if loss.output != "tokens":
                raise ValueError(f"The token network cannot train loss {name!r}.")
            out[name] = loss(logits, labels)
        return out

    def predict(self, context, mask, sampling: SamplingConfig = SamplingConfig(),
                greedy=False, n_values=None):
        """Greedy decoding (``mean``) or ``sampling.num_samples`` sampled paths of
        ``n_values`` values (None: ``horizon``)."""
        if greedy:
            return NetworkForecast(mean=self.greedy(context, mask, n_values))
        samples = self.sample(context, mask, sampling.num_samples, sampling.temperature,
                              sampling.top_p, sampling.seed, n_values)
        return NetworkForecast(samples=samples)

    def greedy(self, context, mask, n_values=None):
        """Greedy grammar-constrained decoding of ``n_values`` values (None:
        ``horizon``), ``(B, n_values)``."""
        ids, attention, state = self._encode_window(context, mask)
        out = self._decode(ids, attention, lambda logits: logits.argmax(-1, keepdim=True),
                           n_values=n_values)
        return self.tokenizer.decode(out, state)

    def sample(self, context, mask, num_samples, temperature=1.0, top_p=1.0, seed=0,
               n_values=None):
        """Sample ``num_samples`` continuations of ``n_values`` values (None:
        ``horizon``) per row: values ``(B, S, n_values)``.

        The window is read once per row; its key/value cache and next-token logits
        are then repeated ``S`` times, and all samples of the batch are decoded
        together, drawing each token with ``temperature`` and nucleus (``top_p``)
        sampling among the tokens the grammar allows.
        """
        ids, attention, state = self._encode_window(context, mask)
        generator = torch.Generator(device=ids.device).manual_seed(int(seed))

        def choose(logits):
            return sample_token(logits, temperature, top_p, generator)

        out = self._decode(ids, attention, choose, repeats=num_samples, n_values=n_values)
        rep = type(state)(
            loc=state.loc.repeat_interleave(num_samples, dim=0),
            scale=state.scale.repeat_interleave(num_samples, dim=0),
        )
        values = self.tokenizer.decode(out, rep)  # (B * S, H)
        return values.reshape(context.shape[0], num_samples, -1)

    def _leading_padding(self, attention, with_gradients=False):
        """Leading token columns to leave out (``_shared_padding``), whole values
        only, so each token keeps its place in its value."""
        lead = self._shared_padding(attention, with_gradients)
        return lead - lead % self.tokenizer.tokens_per_value

    def _decode(self, ids, attention, choose, repeats=1, n_values=None):
        """Generate ``n_values * w`` tokens after ``ids`` (None: ``horizon`` values);
        ``choose`` picks each.

        ``repeats > 1`` continues every row ``repeats`` times (rows
        ``b * repeats ... (b + 1) * repeats - 1`` continue row ``b``) from one
        pass over its window, whose keys and values the paths share where the
        backbone allows it (``nn.prefix_attention``) and copy elsewhere. Values
        that are padding in every row are left out where that changes no logit
        (``_shared_padding``): a short series in a long context reads its own
        values only.
        """
        w = self.tokenizer.tokens_per_value
        n_steps = min(n_values or self.config.horizon, self.config.horizon) * w
        config = self.backbone.config
        lead = self._leading_padding(attention)
        ids, attention = ids[:, lead:], attention[:, lead:]
        logits, past = self(ids, attention, cache=growing_cache(config),
                            logits_from=ids.shape[1] - 1)
        if repeats > 1:
            attention = attention.repeat_interleave(repeats, dim=0)
            if continue_rows(self.backbone, past, repeats):
                logits = logits.repeat_interleave(repeats, dim=0)
            else:  # a cache that cannot repeat its rows: read every path's window
                logits, past = self(ids.repeat_interleave(repeats, dim=0), attention,
                                    cache=growing_cache(config),
                                    logits_from=ids.shape[1] - 1)
        next_logits = logits[:, -1]
        n_ctx = ids.shape[1]
        out = []
        with prefix_attention(past):  # where the window is shared
            for step in range(n_steps):
                allowed = self.allowed[step % w]
                token = choose(next_logits.float().masked_fill(~allowed, float("-inf")))
                out.append(token)  # (B, 1)
                if step == n_steps - 1:
                    break
                attention = torch.cat([attention, torch.ones_like(token, dtype=torch.bool)],
                                      1)
                logits, past = self(token, attention, cache=past, start=n_ctx + step)
                next_logits = logits[:, -1]
        return torch.cat(out, dim=1)


def continue_rows(model, cache, repeats):
    """Continue every row of ``model``'s key/value cache ``repeats`` times: its
    entries shared where the backbone allows it (``nn.prefix_attention``), else
    repeated; False where the cache can do neither."""
    return share_prefix(model, cache, repeats) or repeat_cache(cache, repeats)


def repeat_cache(cache, repeats):
    """Repeat every row of a key/value cache ``repeats`` times in place; False
    where the cache cannot (e.g. a hybrid model's linear-attention layers)."""
    try:
        cache.batch_repeat_interleave(repeats)
    except (AttributeError, NotImplementedError):
        return False
    return True


def sample_token(logits, temperature=1.0, top_p=1.0, generator=None):
    """Draw one token per row from ``logits (B, V)`` (``-inf`` = forbidden).

    ``temperature`` divides the logits; ``top_p < 1`` keeps the smallest set of
    tokens whose probability reaches ``top_p`` (nucleus sampling). Returns ``(B, 1)``.
    """
    if temperature <= 0:
        return logits.argmax(-1, keepdim=True)
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        keep = sorted_p.cumsum(-1) - sorted_p < top_p  # always keeps the top token
        sorted_p = sorted_p * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator)
