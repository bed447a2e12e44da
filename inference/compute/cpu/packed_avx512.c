// AVX-512 VNNI kernels for packed Q4_0 and Q8_0 weights (layout in
// packed.c). Per block position and activation row: eight vpdpbusd give the
// 16 rows' exact integer dots in the 16 lanes, starting from the offset
// correction, then one multiply-add by the rows' scales times x's scale.
#include "ir_cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define INLINE __attribute__((always_inline)) inline

// x4 broadcasts quants 4j..4j+3 of an activation block to every lane.
#ifndef PREFETCH
#define PREFETCH 4096
#endif
#define X4(xb, j) _mm512_set1_epi32(((const int32_t *)(xb)->qs)[j])

// PGEMM_BODY: the loop shared by both types. UNPACK(q, w) fills w[0..7]
// (w[j] pairs with x quants 4j..4j+3) from a block's packed quants q; NEG
// names the correction field of ir_xq8.
#define PGEMM_BODY(QB, UNPACK, NEG)                                                                         \
    const int nb = n / QK;                                                                                  \
    const uint8_t *pan = panel;                                                                             \
    __m512 acc[IR_PGEMM_COLS];                                                                              \
    for (int c = 0; c < NC; c++) acc[c] = _mm512_setzero_ps();                                              \
    for (int b = 0; b < nb; b++) {                                                                          \
        size_t qo, dof;                                                                                     \
        ir_pack_offsets(QB, nb, b, &qo, &dof);                                                              \
        if (PREFETCH) /* the weights stream from memory once a step, for 1 to 8 rows: ask early */         \
            for (int l = 0; l < QB + 64; l += 64) _mm_prefetch((const char *)pan + qo + PREFETCH + l, _MM_HINT_T0); \
        __m512i w[8];                                                                                       \
        UNPACK(pan + qo, w);                                                                                \
        const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(pan + dof)));                \
        for (int c = 0; c < NC; c++) {                                                                      \
            const ir_xq8 *xb = (const ir_xq8 *)((const char *)x + (size_t)c * xs) + b;                      \
            /* two chains so that one row's block is not eight dependent steps */                           \
            __m512i s0 = _mm512_set1_epi32(xb->NEG), s1 = _mm512_setzero_si512();                           \
            s0 = _mm512_dpbusd_epi32(s0, w[0], X4(xb, 0));                                                  \
            s1 = _mm512_dpbusd_epi32(s1, w[1], X4(xb, 1));                                                  \
            s0 = _mm512_dpbusd_epi32(s0, w[2], X4(xb, 2));                                                  \
            s1 = _mm512_dpbusd_epi32(s1, w[3], X4(xb, 3));                                                  \
            s0 = _mm512_dpbusd_epi32(s0, w[4], X4(xb, 4));                                                  \
            s1 = _mm512_dpbusd_epi32(s1, w[5], X4(xb, 5));                                                  \
            s0 = _mm512_dpbusd_epi32(s0, w[6], X4(xb, 6));                                                  \
            s1 = _mm512_dpbusd_epi32(s1, w[7], X4(xb, 7));                                                  \
            __m512 s = _mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1));                                        \
            acc[c] = _mm512_fmadd_ps(s, _mm512_mul_ps(dw, _mm512_set1_ps(xb->d)), acc[c]);                  \
        }                                                                                                   \
    }                                                                                                       \
    const __mmask16 keep = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);                     \
    for (int c = 0; c < NC; c++) _mm512_mask_storeu_ps(out + (size_t)c * os, keep, acc[c]);

// Q4_0: chunk t's low nibbles are elements 4t..4t+3, high ones 16+4t...
AVX512 static INLINE void unpack_q4_0(const uint8_t *q, __m512i *w) {
    const __m512i m = _mm512_set1_epi8(15);
    for (int t = 0; t < 4; t++) {
        __m512i v = _mm512_load_si512((const void *)(q + 64 * t));
        w[t] = _mm512_and_si512(v, m);
        w[4 + t] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m);
    }
}

AVX512 static INLINE void unpack_q8_0(const uint8_t *q, __m512i *w) {
    for (int t = 0; t < 8; t++) w[t] = _mm512_load_si512((const void *)(q + 64 * t));
}

AVX512 static INLINE void kern_q4_0(int n, const void *panel, const void *x, size_t xs, float *out, size_t os, int nr, const int NC) {
    PGEMM_BODY(256, unpack_q4_0, neg8)
}

AVX512 static INLINE void kern_q8_0(int n, const void *panel, const void *x, size_t xs, float *out, size_t os, int nr, const int NC) {
    PGEMM_BODY(512, unpack_q8_0, neg128)
}

#define PGEMM_ENTRY(name)                                                                                   \
    AVX512 static void pgemm_##name(int n, const void *p, const void *x, size_t xs, int nc, float *o, size_t os, int nr) { \
        switch (nc) {                                                                                       \
        case 8: kern_##name(n, p, x, xs, o, os, nr, 8); break;                                              \
        case 7: kern_##name(n, p, x, xs, o, os, nr, 7); break;                                              \
        case 6: kern_##name(n, p, x, xs, o, os, nr, 6); break;                                              \
        case 5: kern_##name(n, p, x, xs, o, os, nr, 5); break;                                              \
        case 4: kern_##name(n, p, x, xs, o, os, nr, 4); break;                                              \
        case 3: kern_##name(n, p, x, xs, o, os, nr, 3); break;                                              \
        case 2: kern_##name(n, p, x, xs, o, os, nr, 2); break;                                              \
        default: kern_##name(n, p, x, xs, o, os, nr, 1);                                                    \
        }                                                                                                   \
    }

PGEMM_ENTRY(q4_0)
PGEMM_ENTRY(q8_0)

void ir_init_packed_avx512(void) {
    ir_pack_q0_layouts(pgemm_q4_0, pgemm_q8_0);
    ir_init_packed_k_avx512();
    ir_init_packed_f16_avx512();
}
#else
void ir_init_packed_avx512(void) {}
#endif
