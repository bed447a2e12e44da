// Attention over a quantized KV cache, as llama.cpp's --cache-type-k/-v
// q8_0 and q4_0: keys and values are stored as the weight blocks of those
// types, so the cache takes 34 or 18 bytes per 32 elements instead of 64
// (F16). The scores reuse the weight kernels: the scaled queries are
// quantized to the key type's dot-product type once per run of positions,
// and each key row is one vec_dot, in integer SIMD where the ISA has it.
// Values are dequantized one row at a time into floats that stay in L1.
// These are the portable kernels; attn_avx512.c has faster ones.
#include "ir_cpu.h"

#include <math.h>

// quantize_q4_0 is ggml's quantize_row_q4_0_ref: the scale is the value of
// largest magnitude over -8, so that value maps to the end of the range.
static void quantize_q4_0(const float *x, void *vy, int n) {
    blk_q4_0 *y = vy;
    for (int i = 0; i < n / QK; i++, x += QK) {
        float amax = 0, max = 0;
        for (int j = 0; j < QK; j++)
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        float d = max / -8, id = d ? 1.0f / d : 0;
        y[i].d = ir_f2h(d);
        for (int j = 0; j < QK / 2; j++) {
            int8_t a = (int8_t)(x[j] * id + 8.5f), b = (int8_t)(x[j + QK / 2] * id + 8.5f);
            a = a < 15 ? a : 15;
            b = b < 15 ? b : 15;
            y[i].qs[j] = (uint8_t)a | (uint8_t)b << 4;
        }
    }
}

void ir_kv_write(int type, const float *x, void *y, int n) {
    if (type == IR_Q4_0) quantize_q4_0(x, y, n);
    else ir_quantize[IR_Q8_0](x, y, n);
}

// ir_attn_quant_floats: the scratch floats of the quantized queries (at
// most 34 bytes per 32 elements of every type used), the AVX-512 kernels'
// copy of them (40 bytes per block) and ir_attn_values_q's row.
int64_t ir_attn_quant_floats(int64_t hd, int64_t group) { return group * hd + group * (hd / QK) * 10 + hd + 16; }

void ir_attn_scores_q(int type, int hd, const void *k, size_t stride, int npos, const float *q, int ng, float *s, int ld, void *qq) {
    const ir_type_traits *tr = &ir_traits[type];
    int vdt = tr->vec_dot_type;
    size_t qrow = (size_t)ir_row_size(vdt, hd);
    for (int g = 0; g < ng; g++) ir_quantize[vdt](q + (size_t)g * hd, (char *)qq + g * qrow, hd);
    for (int j = 0; j < npos; j++) {
        const char *row = (const char *)k + (size_t)j * stride;
        for (int g = 0; g < ng; g++) tr->vec_dot(hd, s + (size_t)g * ld + j, row, (const char *)qq + g * qrow);
    }
}

void ir_attn_values_q(int type, int hd, const void *v, size_t stride, int npos, const float *w, int ng, int ld, float *out, float *row) {
    ir_to_float_fn to_float = ir_traits[type].to_float;
    for (int j = 0; j < npos; j++) {
        to_float((const char *)v + (size_t)j * stride, row, hd);
        for (int g = 0; g < ng; g++) ir_fk.axpy_f32(hd, w[(size_t)g * ld + j], row, out + (size_t)g * hd);
    }
}
