// Row kernels of the encoder ops (BERT, ViT): LayerNorm and plain GELU.
#include <math.h>

#include "ir_cpu.h"

// ir_layer_norm_row: o = (x - mean) / sqrt(var + eps). The sums run in
// double so that a row with a large mean (BERT's embeddings plus positions)
// loses no digits to cancellation; the variance is taken around the mean,
// not as E[x²] - mean², for the same reason.
void ir_layer_norm_row(float *o, const float *x, int64_t n, float eps) {
    double sum = 0;
    for (int64_t j = 0; j < n; j++) sum += x[j];
    float mean = (float)(sum / (double)n);
    double var = 0;
    for (int64_t j = 0; j < n; j++) {
        float d = x[j] - mean;
        o[j] = d;
        var += (double)d * d;
    }
    float s = 1.0f / sqrtf((float)(var / (double)n) + eps);
    for (int64_t j = 0; j < n; j++) o[j] *= s;
}

// ir_gelu is GELU's tanh approximation, as ggml computes it (ggml reads it
// from an F16 table; the difference is far below the tolerance of the
// embedding references).
float ir_gelu(float x) {
    const float k = 0.79788456080286535588f;  // sqrt(2/pi)
    return 0.5f * x * (1.0f + tanhf(k * x * (1.0f + 0.044715f * x * x)));
}
