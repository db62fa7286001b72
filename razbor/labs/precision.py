"""FP16 and BF16: gradient underflow, loss scaling, and the range/precision trade-off."""

from __future__ import annotations

import numpy as np

from razbor.labs import Claim, check, lab


@lab("fp16-bf16", "FP16 underflow and loss scaling; FP16 versus BF16 range and precision")
def fp16_bf16(rng: np.random.Generator) -> list[Claim]:
    import ml_dtypes

    gradients = rng.lognormal(mean=np.log(1e-8), sigma=1.0, size=10_000)
    plain = gradients.astype(np.float16)
    scale = 2.0 ** 16
    scaled = (gradients * scale).astype(np.float16)
    recovered = scaled.astype(np.float32) / scale
    zero_plain = float(np.mean(plain == 0))
    zero_scaled = float(np.mean(recovered == 0))
    relative = np.abs(recovered - gradients) / gradients
    bf16 = ml_dtypes.bfloat16
    fp16_info, bf16_info = np.finfo(np.float16), ml_dtypes.finfo(bf16)
    return [
        check("Small gradients underflow to zero in FP16", zero_plain > 0.5,
              f"{zero_plain:.0%} of gradients around 1e-8 become 0 in FP16"),
        check("Scaling the loss by 2^16 keeps them representable", zero_scaled < 0.01,
              f"after scaling {zero_scaled:.1%} are 0; median relative error "
              f"{np.median(relative):.1e}"),
        check("Unscaled gradients are recovered accurately after scaling", np.median(relative) < 1e-2,
              "scale before backward, unscale before the optimizer step"),
        check("BF16 has FP32-like range while FP16 overflows above 65504",
              float(bf16_info.max) > 1e38 and float(fp16_info.max) == 65504.0,
              f"max FP16 {float(fp16_info.max):.0f}, max BF16 {float(bf16_info.max):.2e}"),
        check("FP16 is more precise: smaller machine epsilon than BF16",
              float(fp16_info.eps) < float(bf16_info.eps),
              f"eps FP16 {float(fp16_info.eps):.1e} (10 mantissa bits), BF16 "
              f"{float(bf16_info.eps):.1e} (7 bits)"),
        check("1 + 1/1000 survives in FP16 but rounds to 1 in BF16",
              float(np.float16(1.001)) != 1.0 and float(bf16(1.001)) == 1.0,
              f"FP16 {float(np.float16(1.001)):.5f}, BF16 {float(bf16(1.001)):.5f}"),
    ]
