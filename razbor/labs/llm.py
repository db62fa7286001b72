"""LLM claims: KV-cache size, 6ND training FLOPs, speculative decoding, token-normalised accumulation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from razbor.labs import Claim, check, lab

KIB, GIB = 2 ** 10, 2 ** 30

# --- KV cache ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttentionShape:
    """A decoder's attention layout; kv_heads < query_heads is GQA, kv_heads == 1 is MQA."""

    layers: int
    query_heads: int
    kv_heads: int
    head_size: int

    @property
    def width(self) -> int:
        return self.query_heads * self.head_size


KvFormula = Callable[[AttentionShape, int, int, int], int]


def kv_cache_formula(shape: AttentionShape, length: int, batch: int, element_bytes: int) -> int:
    """The card's M = 2 * L * n_kv * d_head * s * b * bytes."""
    return 2 * shape.layers * shape.kv_heads * shape.head_size * length * batch * element_bytes


def _softmax_last(scores: np.ndarray) -> np.ndarray:
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


def _attention_weights(shape: AttentionShape, rng: np.random.Generator) -> list[dict[str, np.ndarray]]:
    kv_width = shape.kv_heads * shape.head_size
    scale = 1 / np.sqrt(shape.width)
    return [{"q": rng.normal(size=(shape.width, shape.width)) * scale,
             "k": rng.normal(size=(shape.width, kv_width)) * scale,
             "v": rng.normal(size=(shape.width, kv_width)) * scale,
             "o": rng.normal(size=(shape.width, shape.width)) * scale} for _ in range(shape.layers)]


def decode_with_cache(shape: AttentionShape, inputs: np.ndarray, weights: list[dict[str, np.ndarray]],
                      cache_dtype: type) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Token-by-token GQA decoding that keeps only K and V of past tokens, as a server does.

    The cache grows by concatenation, so its final size is what decoding really needed to keep.
    Returns the last layer's outputs (batch, length, width) and each layer's (K, V) cache.
    """
    batch, length, _ = inputs.shape
    group = shape.query_heads // shape.kv_heads
    empty = np.zeros((batch, shape.kv_heads, 0, shape.head_size), cache_dtype)
    caches = [(empty, empty) for _ in range(shape.layers)]
    outputs = np.empty_like(inputs)
    for position in range(length):
        hidden = inputs[:, position]
        for layer, w in enumerate(weights):
            new_k = (hidden @ w["k"]).reshape(batch, shape.kv_heads, 1, shape.head_size)
            new_v = (hidden @ w["v"]).reshape(batch, shape.kv_heads, 1, shape.head_size)
            keys = np.concatenate([caches[layer][0], new_k.astype(cache_dtype)], axis=2)
            values = np.concatenate([caches[layer][1], new_v.astype(cache_dtype)], axis=2)
            caches[layer] = (keys, values)
            query = (hidden @ w["q"]).reshape(batch, shape.kv_heads, group, shape.head_size)
            scores = np.einsum("bngd,bntd->bngt", query, keys) / np.sqrt(shape.head_size)
            mixed = np.einsum("bngt,bntd->bngd", _softmax_last(scores), values)
            hidden = hidden + mixed.reshape(batch, shape.width) @ w["o"]
        outputs[:, position] = hidden
    return outputs, caches


def full_causal_attention(shape: AttentionShape, inputs: np.ndarray,
                          weights: list[dict[str, np.ndarray]]) -> np.ndarray:
    """All positions at once with a causal mask and K, V repeated per query head: no cache at all."""
    batch, length, _ = inputs.shape
    group = shape.query_heads // shape.kv_heads
    hidden = inputs
    causal = np.triu(np.full((length, length), -np.inf), k=1)
    for w in weights:
        def heads(x: np.ndarray, count: int) -> np.ndarray:
            return x.reshape(batch, length, count, shape.head_size).transpose(0, 2, 1, 3)
        query = heads(hidden @ w["q"], shape.query_heads)
        keys = np.repeat(heads(hidden @ w["k"], shape.kv_heads), group, axis=1)
        values = np.repeat(heads(hidden @ w["v"], shape.kv_heads), group, axis=1)
        scores = query @ keys.transpose(0, 1, 3, 2) / np.sqrt(shape.head_size) + causal
        mixed = (_softmax_last(scores) @ values).transpose(0, 2, 1, 3).reshape(batch, length, -1)
        hidden = hidden + mixed @ w["o"]
    return hidden


def measured_cache_bytes(shape: AttentionShape, length: int, batch: int, cache_dtype: type,
                         rng: np.random.Generator) -> int:
    """Bytes of the K and V arrays that decoding a random sequence actually leaves behind."""
    inputs = rng.normal(size=(batch, length, shape.width))
    _, caches = decode_with_cache(shape, inputs, _attention_weights(shape, rng), cache_dtype)
    return sum(keys.nbytes + values.nbytes for keys, values in caches)


CACHE_CASES = ((AttentionShape(3, 4, 2, 8), 7, 2, np.float16),   # GQA, 2-byte elements like BF16
               (AttentionShape(2, 6, 1, 4), 5, 3, np.float32),   # MQA
               (AttentionShape(4, 4, 4, 6), 9, 1, np.float64))   # plain multi-head attention


def cache_bytes_claim(formula: KvFormula, rng: np.random.Generator) -> Claim:
    """Measured cache bytes of tiny GQA, MQA and MHA decoders against a closed-form formula."""
    rows = []
    for shape, length, batch, dtype in CACHE_CASES:
        measured = measured_cache_bytes(shape, length, batch, dtype, rng)
        rows.append((shape, measured, formula(shape, length, batch, np.dtype(dtype).itemsize)))
    return check("KV cache bytes = 2 * layers * KV heads * head size * tokens * batch * bytes",
                 all(measured == predicted for _, measured, predicted in rows),
                 "; ".join(f"L={s.layers} q={s.query_heads} kv={s.kv_heads}: {m} B measured, {p} B formula"
                           for s, m, p in rows))


@lab("kv-cache-size", "KV cache: bytes of real K and V arrays vs 2·L·n_kv·d_head·s·b·bytes")
def kv_cache_size(rng: np.random.Generator) -> list[Claim]:
    gqa = AttentionShape(layers=2, query_heads=8, kv_heads=2, head_size=4)
    inputs = rng.normal(size=(2, 6, gqa.width))
    weights = _attention_weights(gqa, rng)
    cached, _ = decode_with_cache(gqa, inputs, weights, np.float64)
    uncached = full_causal_attention(gqa, inputs, weights)
    error = float(np.abs(cached - uncached).max())
    mha = AttentionShape(gqa.layers, gqa.query_heads, gqa.query_heads, gqa.head_size)
    ratio = (measured_cache_bytes(mha, 6, 2, np.float16, rng)
             / measured_cache_bytes(gqa, 6, 2, np.float16, rng))
    llama8b, llama70b = AttentionShape(32, 32, 8, 128), AttentionShape(80, 64, 8, 128)
    llama8b_mha = AttentionShape(32, 32, 32, 128)
    per_token = {name: kv_cache_formula(shape, 1, 1, 2) for name, shape in
                 (("8B", llama8b), ("8B as MHA", llama8b_mha), ("70B", llama70b))}
    per_sequence = {"8B": per_token["8B"] * 8192, "8B as MHA": per_token["8B as MHA"] * 8192,
                    "70B": per_token["70B"] * 131072, "8B at 128k": per_token["8B"] * 131072}
    card_per_token = {"8B": 128 * KIB, "8B as MHA": 512 * KIB, "70B": 320 * KIB}
    card_per_sequence = {"8B": 1 * GIB, "8B as MHA": 4 * GIB, "70B": 40 * GIB, "8B at 128k": 16 * GIB}
    at_8k, at_128k = 50e9 / per_sequence["8B"], 50e9 / per_sequence["8B at 128k"]
    return [
        check("Keeping only past K and V loses nothing: cached decoding equals full causal attention",
              error < 1e-10,
              f"largest difference {error:.1e} over {gqa.layers} layers, 8 query / 2 KV heads"),
        cache_bytes_claim(kv_cache_formula, rng),
        check("The cache shrinks by the ratio of query heads to KV heads (8 / 2 = 4 here)",
              ratio == gqa.query_heads / gqa.kv_heads, f"MHA cache / GQA cache = {ratio:g}"),
        check("Llama-3-8B: 128 KiB per token, 1 GiB per 8k sequence (512 KiB and 4 GiB as MHA); "
              "Llama-3-70B: 320 KiB per token, 40 GiB at 128k",
              per_token == card_per_token and per_sequence == card_per_sequence,
              ", ".join(f"{name} {per_token[name] / KIB:g} KiB/token" for name in per_token) + "; "
              + ", ".join(f"{name} {size / GIB:g} GiB" for name, size in per_sequence.items())),
        check("50 GB of free memory holds about 46 sequences of 8k tokens but about 3 of 128k",
              int(at_8k) == 46 and round(at_128k) == 3, f"{at_8k:.1f} and {at_128k:.2f} sequences"),
    ]


# --- 6ND --------------------------------------------------------------------------------------


Matmul = Callable[[np.ndarray, np.ndarray], np.ndarray]


class _CountedNumber:
    """A float that counts the multiplications it takes part in, so numpy's matmul can be audited."""

    __slots__ = ("tally", "value")

    def __init__(self, value: float, tally: list[int]):
        self.value, self.tally = value, tally

    def __mul__(self, other: _CountedNumber) -> _CountedNumber:
        self.tally[0] += 1
        return _CountedNumber(self.value * other.value, self.tally)

    def __add__(self, other: _CountedNumber) -> _CountedNumber:
        return _CountedNumber(self.value + other.value, self.tally)


class CountingMatmul:
    """Matrix products done by numpy on counting numbers; everything else stays plain floats.

    Only matrix products are counted: 6ND is about them, elementwise work is O(activations).
    """

    def __init__(self) -> None:
        self.tally = [0]

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        wrap = np.frompyfunc(lambda value: _CountedNumber(value, self.tally), 1, 1)
        product = wrap(a) @ wrap(b)
        return np.frompyfunc(lambda number: number.value, 1, 1)(product).astype(float)

    @property
    def multiplications(self) -> int:
        return self.tally[0]


@dataclass
class TinyLanguageModel:
    """Embedding lookup, then ReLU linear layers ending in vocabulary logits, trained on cross-entropy.

    The embedding table is trained, so the first matrix product needs its input gradient too, as in
    a transformer. N counts the matrix weights; the lookup and its scatter-add gradient multiply nothing.
    """

    embedding: np.ndarray
    matrices: list[np.ndarray]

    @classmethod
    def random(cls, vocabulary: int, widths: tuple[int, ...], rng: np.random.Generator) -> TinyLanguageModel:
        sizes = (*widths, vocabulary)
        return cls(rng.normal(size=(vocabulary, widths[0])),
                   [rng.normal(size=(a, b)) / np.sqrt(a) for a, b in pairwise(sizes)])

    @property
    def parameters(self) -> int:
        return sum(matrix.size for matrix in self.matrices)

    def loss(self, tokens: np.ndarray, targets: np.ndarray) -> float:
        hidden = self.embedding[tokens]
        for index, matrix in enumerate(self.matrices):
            hidden = hidden @ matrix
            if index < len(self.matrices) - 1:
                hidden = np.maximum(hidden, 0)
        return float(np.mean(_log_softmax(hidden)[np.arange(len(tokens)), targets]) * -1)

    def gradients(self, tokens: np.ndarray, targets: np.ndarray, matmul: Matmul
                  ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Forward and backward by hand, every matrix product through matmul."""
        activations = [self.embedding[tokens]]
        for index, matrix in enumerate(self.matrices):
            output = matmul(activations[-1], matrix)
            activations.append(np.maximum(output, 0) if index < len(self.matrices) - 1 else output)
        upstream = np.exp(_log_softmax(activations[-1]))
        upstream[np.arange(len(tokens)), targets] -= 1
        upstream /= len(tokens)
        matrix_grads = []
        for index in reversed(range(len(self.matrices))):
            if index < len(self.matrices) - 1:
                upstream = np.where(activations[index + 1] > 0, upstream, 0.0)
            matrix_grads.append(matmul(activations[index].T, upstream))
            upstream = matmul(upstream, self.matrices[index].T)
        embedding_grad = np.zeros_like(self.embedding)
        np.add.at(embedding_grad, tokens, upstream)
        return embedding_grad, matrix_grads[::-1]


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def counted_training_step(model: TinyLanguageModel, tokens: np.ndarray,
                          targets: np.ndarray) -> tuple[int, int]:
    """Multiplications numpy performs in the forward pass and in the whole step."""
    forward = CountingMatmul()
    hidden = model.embedding[tokens]
    for index, matrix in enumerate(model.matrices):
        hidden = forward(hidden, matrix)
        hidden = np.maximum(hidden, 0) if index < len(model.matrices) - 1 else hidden
    step = CountingMatmul()
    model.gradients(tokens, targets, step)
    return forward.multiplications, step.multiplications


def _finite_difference_error(model: TinyLanguageModel, tokens: np.ndarray, targets: np.ndarray,
                             rng: np.random.Generator) -> float:
    """Largest gap between the hand-written backward and central differences on sampled weights."""
    embedding_grad, matrix_grads = model.gradients(tokens, targets, np.matmul)
    arrays = [(model.embedding, embedding_grad), *zip(model.matrices, matrix_grads, strict=True)]
    worst, step = 0.0, 1e-6
    for array, grad in arrays:
        for flat in rng.choice(array.size, size=4, replace=False):
            index = np.unravel_index(flat, array.shape)
            original = array[index]
            array[index] = original + step
            above = model.loss(tokens, targets)
            array[index] = original - step
            below = model.loss(tokens, targets)
            array[index] = original
            worst = max(worst, abs((above - below) / (2 * step) - grad[index]))
    return worst


def six_nd_claim(formula: Callable[[int, int], float], rng: np.random.Generator) -> Claim:
    """Counted FLOPs (two per multiply-add) of whole training steps against formula(N, D)."""
    rows = []
    for vocabulary, widths, length in ((7, (6, 9, 5), 3), (5, (4, 8), 5)):
        model = TinyLanguageModel.random(vocabulary, widths, rng)
        tokens, targets = rng.integers(vocabulary, size=(2, length))
        _, step = counted_training_step(model, tokens, targets)
        rows.append((model.parameters, length, 2 * step, formula(model.parameters, length)))
    return check("Training costs C = 6ND FLOPs: forward plus backward matrix products",
                 all(counted == predicted for *_, counted, predicted in rows),
                 "; ".join(f"N={n}, D={d}: {c} FLOPs counted, {p:g} by formula" for n, d, c, p in rows))


@lab("training-flops-6nd", "Training FLOPs: multiply-adds counted in numpy's forward and backward vs 6ND")
def training_flops_6nd(rng: np.random.Generator) -> list[Claim]:
    model = TinyLanguageModel.random(vocabulary=7, widths=(6, 9, 5), rng=rng)
    tokens, targets = rng.integers(7, size=(2, 4))
    gradient_error = _finite_difference_error(model, tokens, targets, rng)
    forward, step = counted_training_step(model, tokens, targets)
    per_parameter_token = 2 * step / (model.parameters * len(tokens))
    budget = 1e24
    params = np.sqrt(budget / (per_parameter_token * 20))
    gpu_hours = budget / (989e12 * 0.4) / 3600
    return [
        check("The hand-written backward is a real backward: it matches finite differences",
              gradient_error < 1e-6, f"largest gradient error {gradient_error:.1e}"),
        check("The forward pass takes 2 FLOPs per parameter per token, the backward 4",
              2 * forward == 2 * model.parameters * len(tokens)
              and 2 * (step - forward) == 4 * model.parameters * len(tokens),
              f"N={model.parameters}, {len(tokens)} tokens: forward {2 * forward} FLOPs, "
              f"backward {2 * (step - forward)} FLOPs"),
        six_nd_claim(lambda n, d: 6 * n * d, rng),
        check("At the counted cost and 20 tokens per parameter, 1e24 FLOPs buy about 90B params on 1.8T "
              "tokens, about 700k H100-hours at 40% MFU, roughly 30 days on 1,000 GPUs",
              round(params / 1e10, 1) == 9.1 and round(20 * params / 1e12, 1) == 1.8
              and abs(gpu_hours - 7e5) < 2.5e4 and abs(gpu_hours / 1000 / 24 - 30) < 1.5,
              f"{per_parameter_token:g} FLOPs per parameter-token: N = {params:.3g}, D = {20 * params:.3g}, "
              f"{gpu_hours:,.0f} GPU-hours, {gpu_hours / 1000 / 24:.1f} days on 1,000 GPUs"),
    ]


# --- speculative decoding ---------------------------------------------------------------------


def target_and_draft(alpha: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Target p and drafter q over 8 tokens with sum(min(p, q)) = alpha exactly.

    They share a common part of weight alpha and put the rest on disjoint tokens.
    """
    shared = rng.dirichlet(np.ones(8))
    only_target = np.r_[rng.dirichlet(np.ones(3)), np.zeros(5)]
    only_draft = np.r_[np.zeros(3), rng.dirichlet(np.ones(2)), np.zeros(3)]
    return alpha * shared + (1 - alpha) * only_target, alpha * shared + (1 - alpha) * only_draft


@dataclass(frozen=True)
class SpeculativeRun:
    tokens_per_pass: np.ndarray  # tokens emitted by each target pass
    acceptance: float            # fraction of drafted tokens accepted (before the first rejection)
    emitted: np.ndarray          # counts of every emitted token
    judged: int                  # drafted tokens the target accepted or rejected


def speculative_rounds(p: np.ndarray, q: np.ndarray, gamma: int, rounds: int,
                       rng: np.random.Generator) -> SpeculativeRun:
    """Leviathan et al.'s rule: accept draft x with probability min(1, p/q), at the first rejection
    resample from max(0, p - q) normalised, after gamma acceptances take a bonus token from p."""
    vocabulary = len(p)
    drafts = rng.choice(vocabulary, size=(rounds, gamma), p=q)
    accepted = rng.random((rounds, gamma)) < np.minimum(1, p[drafts] / q[drafts])
    first_rejection = np.where(accepted.all(axis=1), gamma, np.argmin(accepted, axis=1))
    residual = np.maximum(p - q, 0)
    replacement = rng.choice(vocabulary, size=rounds, p=residual / residual.sum())
    bonus = rng.choice(vocabulary, size=rounds, p=p)
    last = np.where(first_rejection == gamma, bonus, replacement)
    kept = np.arange(gamma) < first_rejection[:, None]
    emitted = np.bincount(drafts[kept], minlength=vocabulary) + np.bincount(last, minlength=vocabulary)
    reached = np.arange(gamma) <= first_rejection[:, None]  # draft positions actually judged
    return SpeculativeRun(first_rejection + 1.0, accepted[reached].mean(), emitted, int(reached.sum()))


SPEEDUP_CASES = ((0.8, 4, 0.05, 2.80), (0.8, 4, 0.3, 1.53), (0.6, 4, 0.05, 1.92), (0.8, 8, 0.05, 3.09))


def expected_tokens_claim(formula: Callable[[float, int], float], rng: np.random.Generator) -> Claim:
    """Simulated tokens per target pass against formula(alpha, gamma), within 4.5 standard errors."""
    rows = []
    for alpha, gamma in ((0.8, 4), (0.6, 4), (0.8, 8), (0.5, 2)):
        p, q = target_and_draft(alpha, rng)
        tokens = speculative_rounds(p, q, gamma, 20_000, rng).tokens_per_pass
        error = tokens.std(ddof=1) / np.sqrt(tokens.size)
        rows.append((alpha, gamma, tokens.mean(), error, formula(alpha, gamma)))
    return check("Each target pass yields (1 - alpha^(gamma+1)) / (1 - alpha) tokens on average",
                 all(abs(mean - predicted) < 4.5 * error for _, _, mean, error, predicted in rows),
                 "; ".join(f"alpha={a}, gamma={g}: {m:.3f} ± {e:.3f} simulated, {f:.3f} formula"
                           for a, g, m, e, f in rows))


@lab("speculative-speedup", "Speculative decoding: simulated acceptance and tokens per pass vs the formula")
def speculative_speedup(rng: np.random.Generator) -> list[Claim]:
    p, q = target_and_draft(0.8, rng)
    run = speculative_rounds(p, q, 4, 20_000, rng)
    overlap = float(np.minimum(p, q).sum())
    acceptance_error = np.sqrt(overlap * (1 - overlap) / run.judged)
    total = run.emitted.sum()
    frequency = run.emitted / total
    frequency_error = np.sqrt(p * (1 - p) / total)
    speedups = []
    for alpha, gamma, cost, card in SPEEDUP_CASES:
        tokens = speculative_rounds(*target_and_draft(alpha, rng), gamma, 20_000, rng).tokens_per_pass
        error = tokens.std(ddof=1) / np.sqrt(tokens.size) / (1 + gamma * cost)
        speedups.append((alpha, gamma, cost, card, tokens.mean() / (1 + gamma * cost), error))
    return [
        check("A draft token is accepted with probability sum(min(p, q)) = 1 - TV(p, q)",
              abs(run.acceptance - overlap) < 4.5 * acceptance_error,
              f"accepted {run.acceptance:.4f} ± {acceptance_error:.4f} of {run.judged} judged drafts, "
              f"sum(min(p, q)) = {overlap:.4f}"),
        check("The output is distributed exactly as the target p (lossless)",
              bool(np.all(np.abs(frequency - p) < 4.5 * frequency_error + 1e-12)),
              f"largest |frequency - p| = {np.abs(frequency - p).max():.4f} over {total} tokens, "
              f"tolerance up to {4.5 * frequency_error.max():.4f}; the drafter alone would be "
              f"{0.5 * np.abs(q - p).sum():.2f} away in total variation"),
        expected_tokens_claim(lambda alpha, gamma: (1 - alpha ** (gamma + 1)) / (1 - alpha), rng),
        check("Speedup = tokens per pass / (1 + gamma c): 2.80, 1.53, 1.92 and 3.09 in the card's cases",
              all(abs(measured - card) < 4.5 * error + 0.005 for *_, card, measured, error in speedups),
              "; ".join(f"alpha={a}, gamma={g}, c={c}: {m:.3f} ± {e:.3f} (card {card})"
                        for a, g, c, card, m, e in speedups)),
    ]


# --- gradient accumulation --------------------------------------------------------------------


def token_loss_sum_gradient(features: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Gradient of the summed squared error over tokens of a linear model: 2 X^T (X w - y)."""
    return 2 * features.T @ (features @ weights - targets)


def micro_batches(rng: np.random.Generator, sizes: tuple[int, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Micro-batches whose token counts differ and whose data differ too, like short and long documents."""
    true_weights = rng.normal(size=3)
    batches = []
    for index, size in enumerate(sizes):
        features = rng.normal(loc=index, size=(size, 3))
        batches.append((features, features @ true_weights + rng.normal(size=size) + 2 * index))
    return batches


LossScale = Callable[[int, int, int], float]


def accumulate(batches: list[tuple[np.ndarray, np.ndarray]], weights: np.ndarray,
               scale: LossScale) -> np.ndarray:
    """Backward each micro-batch's summed token loss times scale(n_j, N, k), adding into one buffer."""
    total = sum(len(targets) for _, targets in batches)
    buffer = np.zeros_like(weights)
    for features, targets in batches:
        gradient = token_loss_sum_gradient(features, targets, weights)
        buffer += scale(len(targets), total, len(batches)) * gradient
    return buffer


def full_batch_gradient(batches: list[tuple[np.ndarray, np.ndarray]], weights: np.ndarray) -> np.ndarray:
    """The token-mean gradient of one big batch, by central differences: no shared code with accumulate."""
    features = np.concatenate([f for f, _ in batches])
    targets = np.concatenate([t for _, t in batches])

    def mean_loss(w: np.ndarray) -> float:
        return float(np.mean((features @ w - targets) ** 2))

    steps = np.eye(len(weights)) * 1e-5
    return np.array([(mean_loss(weights + step) - mean_loss(weights - step)) / 2e-5 for step in steps])


def _relative_gap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


UNEQUAL_SIZES = (3, 40, 11, 90)


def token_normalisation_claim(scale: LossScale, rng: np.random.Generator) -> Claim:
    """Accumulating unequal micro-batches with scale(n_j, N, k) against the full-batch gradient."""
    batches, weights = micro_batches(rng, UNEQUAL_SIZES), rng.normal(size=3)
    gap = _relative_gap(accumulate(batches, weights, scale), full_batch_gradient(batches, weights))
    return check("Summing token losses and dividing by the total token count reproduces the full batch",
                 gap < 1e-6, f"token counts {UNEQUAL_SIZES}: relative gap {gap:.1e}")


@lab("grad-accum-token-norm", "Gradient accumulation: mean of micro-batch means vs total-token normalisation")
def grad_accum_token_norm(rng: np.random.Generator) -> list[Claim]:
    def mean_over_k(n: int, total: int, k: int) -> float:
        return 1 / (k * n)

    equal = micro_batches(rng, (16, 16, 16, 16))
    weights = rng.normal(size=3)
    equal_gap = _relative_gap(accumulate(equal, weights, mean_over_k), full_batch_gradient(equal, weights))
    unequal = micro_batches(rng, UNEQUAL_SIZES)
    truth = full_batch_gradient(unequal, weights)
    means_gap = _relative_gap(accumulate(unequal, weights, mean_over_k), truth)
    shortest, longest, total = min(UNEQUAL_SIZES), max(UNEQUAL_SIZES), sum(UNEQUAL_SIZES)
    over_weight = mean_over_k(shortest, total, 4) / mean_over_k(longest, total, 4)
    return [
        check("With equal micro-batches, dividing each mean loss by k matches the large batch",
              equal_gap < 1e-6, f"4 x 16 tokens: relative gap {equal_gap:.1e}"),
        check("With unequal token counts the mean of micro-batch means is a different gradient",
              means_gap > 0.05, f"token counts {UNEQUAL_SIZES}: relative gap {means_gap:.1%}; a token in the "
              f"{shortest}-token micro-batch weighs {over_weight:g} times one in the {longest}-token one"),
        token_normalisation_claim(lambda n, total, k: 1 / total, rng),
    ]
