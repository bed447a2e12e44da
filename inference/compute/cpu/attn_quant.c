// Attention over a quantized KV cache, as llama.cpp's --cache-type-k/-v
// q8_0 and q4_0: keys and values are stored as the weight blocks of those
// types, so the cache takes 34 or 18 bytes per 32 elements instead of 64
// (F16). The scores reuse the weight kernels: the scaled queries are
// quantized to the key type's dot-product type once per run of positions,
// and each key row is one vec_dot, in integer SIMD where the ISA has it.
// Values are dequantized one row at a time into floats that stay in L1.
// These are the portable kernels; the AVX2 ones are at the end of this
// file and the AVX-512 ones in attn_avx512.c.
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
// most 34 bytes per 32 elements of every type used), the SIMD kernels'
// ir_qblocks (40 bytes per block) and ir_attn_values_q's row.
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

ir_qblock *ir_attn_qblocks(const float *q, int hd, int ng, int off, void *scratch) {
    const int nb = hd / QK;
    blk_q8_0 *qq = scratch;
    // 64-byte aligned after the Q8_0 rows: the scratch has room for this.
    ir_qblock *qb = (ir_qblock *)(((uintptr_t)(qq + (size_t)ng * nb) + 63) & ~(uintptr_t)63);
    for (int g = 0; g < ng; g++) {
        ir_quantize[IR_Q8_0](q + (size_t)g * hd, qq + (size_t)g * nb, hd);
        for (int b = 0; b < nb; b++) {
            const blk_q8_0 *x = qq + (size_t)g * nb + b;
            ir_qblock *y = qb + (size_t)g * nb + b;
            y->corr = 0;
            for (int i = 0; i < QK; i++) y->corr += x->qs[i];
            y->corr *= -off;
            y->d = ir_h2f(x->d);
            memcpy(y->qs, x->qs, QK);
        }
    }
    return qb;
}

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX2Q __attribute__((target("avx2,fma,f16c")))

// AVX2 kernels for heads of up to Q2_BLOCKS blocks (others: the portable
// ones above). Scores take eight key rows at a time: each block's dot is
// maddubs and madd (Q8_0 keys with llama.cpp's sign trick, |k| times q with
// k's sign; Q4_0 nibbles as they are, with the offset's correction), the
// lanes scaled by d(k) * d(q), and eight rows reduced together. Values are
// dequantized a block at a time into the accumulators of the heads that fit
// in registers.
enum { Q2_BLOCKS = 4 };

// reduce8: lane i is the sum of the lanes of v[i].
AVX2Q static inline __m256 reduce8(const __m256 *v) {
    __m256 t0 = _mm256_hadd_ps(v[0], v[1]), t1 = _mm256_hadd_ps(v[2], v[3]), t2 = _mm256_hadd_ps(v[4], v[5]), t3 = _mm256_hadd_ps(v[6], v[7]);
    __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

// q4_nibbles: a Q4_0 block's 32 quants in element order, unsigned.
AVX2Q static inline __m256i q4_nibbles(const blk_q4_0 *b) {
    __m128i x = _mm_loadu_si128((const __m128i *)b->qs), m = _mm_set1_epi8(15);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(x, 4), m), _mm_and_si128(x, m));
}

AVX2Q static inline __attribute__((always_inline)) void qscores2_nb(const int NB, const int Q4, const char *k, size_t stride, int npos, const ir_qblock *qb, int ng, float *s, int ld) {
    const size_t bs = Q4 ? sizeof(blk_q4_0) : sizeof(blk_q8_0);
    __m256i kq[8 * Q2_BLOCKS], ka[8 * Q2_BLOCKS];  // quants (Q4_0: unsigned) and, for Q8_0, their magnitudes
    float kd[8 * Q2_BLOCKS];
    for (int j0 = 0; j0 < npos; j0 += 8) {
        const int nr = npos - j0 < 8 ? npos - j0 : 8;
        for (int r = 0; r < 8; r++)
            for (int b = 0; b < NB; b++) {
                const char *blk = k + (size_t)(j0 + r) * stride + b * bs;
                int i = r * NB + b;
                kq[i] = r >= nr ? _mm256_setzero_si256() : Q4 ? q4_nibbles((const blk_q4_0 *)blk) : _mm256_loadu_si256((const __m256i *)((const blk_q8_0 *)blk)->qs);
                ka[i] = _mm256_sign_epi8(kq[i], kq[i]);
                kd[i] = r < nr ? ir_h2f(*(const uint16_t *)blk) : 0;
            }
        for (int g = 0; g < ng; g++) {
            __m256 acc[8];
            for (int r = 0; r < 8; r++) {
                __m256 a = _mm256_setzero_ps();
                for (int b = 0; b < NB; b++) {
                    const ir_qblock *q = qb + (size_t)g * NB + b;
                    const int i = r * NB + b;
                    __m256i qv = _mm256_loadu_si256((const __m256i *)q->qs), p;
                    if (Q4) p = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(kq[i], qv), _mm256_set1_epi16(1)), _mm256_setr_epi32(q->corr, 0, 0, 0, 0, 0, 0, 0));
                    else p = _mm256_madd_epi16(_mm256_maddubs_epi16(ka[i], _mm256_sign_epi8(qv, kq[i])), _mm256_set1_epi16(1));
                    a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(kd[i] * q->d), a);
                }
                acc[r] = a;
            }
            float out[8];
            _mm256_storeu_ps(out, reduce8(acc));
            memcpy(s + (size_t)g * ld + j0, out, (size_t)nr * 4);
        }
    }
}

AVX2Q static void qscores2(int type, int hd, const void *k, size_t stride, int npos, const float *q, int ng, float *s, int ld, void *scratch) {
    const int nb = hd / QK, q4 = type == IR_Q4_0;
    if (nb > Q2_BLOCKS) {
        ir_attn_scores_q(type, hd, k, stride, npos, q, ng, s, ld, scratch);
        return;
    }
    const ir_qblock *qb = ir_attn_qblocks(q, hd, ng, q4 ? 8 : 0, scratch);
#define QSCORES2(NB) (q4 ? qscores2_nb(NB, 1, k, stride, npos, qb, ng, s, ld) : qscores2_nb(NB, 0, k, stride, npos, qb, ng, s, ld))
    switch (nb) {
    case 1: QSCORES2(1); break;
    case 2: QSCORES2(2); break;
    case 3: QSCORES2(3); break;
    default: QSCORES2(4);
    }
#undef QSCORES2
}

// qvalues2_nb: out[g*hd + :] += sum_j w[g*ld + j] * V_j for G heads at a
// time (G * NB * 4 <= 16 accumulators).
AVX2Q static inline __attribute__((always_inline)) void qvalues2_nb(const int NB, const int G, const int Q4, const char *v, size_t stride, int npos, const float *w, int ng, int ld, float *out) {
    const size_t bs = Q4 ? sizeof(blk_q4_0) : sizeof(blk_q8_0);
    for (int g0 = 0; g0 < ng; g0 += G) {
        const int ngg = ng - g0 < G ? ng - g0 : G;
        __m256 acc[16];
        for (int g = 0; g < G; g++)
            for (int c = 0; c < 4 * NB; c++) acc[g * 4 * NB + c] = g < ngg ? _mm256_loadu_ps(out + (size_t)(g0 + g) * NB * QK + 8 * c) : _mm256_setzero_ps();
        for (int j = 0; j < npos; j++)
            for (int b = 0; b < NB; b++) {
                const char *blk = v + (size_t)j * stride + b * bs;
                const float d = ir_h2f(*(const uint16_t *)blk);
                __m256 x[4];
                if (Q4) {
                    __m256i n = q4_nibbles((const blk_q4_0 *)blk), e = _mm256_set1_epi32(8);
                    __m128i lo = _mm256_castsi256_si128(n), hi = _mm256_extracti128_si256(n, 1);
                    x[0] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(lo), e));
                    x[1] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)), e));
                    x[2] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(hi), e));
                    x[3] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)), e));
                } else
                    for (int c = 0; c < 4; c++) x[c] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(((const blk_q8_0 *)blk)->qs + 8 * c))));
                for (int g = 0; g < G; g++)
                    if (g < ngg) {
                        __m256 f = _mm256_set1_ps(w[(size_t)(g0 + g) * ld + j] * d);
                        for (int c = 0; c < 4; c++) acc[(g * NB + b) * 4 + c] = _mm256_fmadd_ps(f, x[c], acc[(g * NB + b) * 4 + c]);
                    }
            }
        for (int g = 0; g < ngg; g++)
            for (int c = 0; c < 4 * NB; c++) _mm256_storeu_ps(out + (size_t)(g0 + g) * NB * QK + 8 * c, acc[g * 4 * NB + c]);
    }
}

AVX2Q static void qvalues2(int type, int hd, const void *v, size_t stride, int npos, const float *w, int ng, int ld, float *out, float *scratch) {
    const int nb = hd / QK, q4 = type == IR_Q4_0;
    if (nb > Q2_BLOCKS) {
        ir_attn_values_q(type, hd, v, stride, npos, w, ng, ld, out, scratch);
        return;
    }
#define QVALUES2(NB, G) (q4 ? qvalues2_nb(NB, G, 1, v, stride, npos, w, ng, ld, out) : qvalues2_nb(NB, G, 0, v, stride, npos, w, ng, ld, out))
    switch (nb) {
    case 1: QVALUES2(1, 4); break;
    case 2: QVALUES2(2, 2); break;
    case 3: QVALUES2(3, 1); break;
    default: QVALUES2(4, 1);
    }
#undef QVALUES2
}

void ir_init_attn_quant_avx2(void) {
    ir_fk.attn_scores_q = qscores2;
    ir_fk.attn_values_q = qvalues2;
}
#else
void ir_init_attn_quant_avx2(void) {}
#endif
