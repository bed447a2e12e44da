// AVX-512 (F, BW, VL) + VNNI kernels, compiled with per-function target
// attributes; dispatch.c calls ir_init_avx512 only where the CPU and OS
// support them. Types without a kernel here keep their AVX2 versions.
#include "ir_cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

AVX512 static inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX512 static inline __m256i nibbles(const uint8_t *p) {
    __m128i b = _mm_loadu_si128((const __m128i *)p);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(15));
}

// The integer kernels below are written once for NC activation rows (a
// compile-time constant after inlining): dot_* is NC = 1, mm_* shares each
// unpacked weight block among up to IR_MM_COLS rows. Every row sees the same
// operations in the same order, so both give identical bits.
#define INLINE __attribute__((always_inline)) inline
#define XROW(type, c, i) ((const type *)((const char *)x + (size_t)(c) * xs) + (i))

#define MM_ENTRY(name)                                                                                      \
    AVX512 static void dot_##name(int n, float *s, const void *w, const void *x) {                       \
        kern_##name(n, w, x, 0, s, 0, 1);                                                                   \
    }                                                                                                       \
    AVX512 static void mm_##name(int n, const void *w, const void *x, size_t xs, int nc, float *o, size_t os) { \
        switch (nc) {                                                                                       \
        case 8: kern_##name(n, w, x, xs, o, os, 8); break;                                                  \
        case 7: kern_##name(n, w, x, xs, o, os, 7); break;                                                  \
        case 6: kern_##name(n, w, x, xs, o, os, 6); break;                                                  \
        case 5: kern_##name(n, w, x, xs, o, os, 5); break;                                                  \
        case 4: kern_##name(n, w, x, xs, o, os, 4); break;                                                  \
        case 3: kern_##name(n, w, x, xs, o, os, 3); break;                                                  \
        case 2: kern_##name(n, w, x, xs, o, os, 2); break;                                                  \
        default: kern_##name(n, w, x, xs, o, os, 1);                                                        \
        }                                                                                                   \
    }

// F16 rows times float activations, 32 elements per step in two
// accumulators per activation row.
AVX512 static INLINE void kern_f16(int n, const void *vw, const void *x, size_t xs, float *out, size_t os, const int NC) {
    const uint16_t *w = vw;
    __m512 a0[IR_MM_COLS], a1[IR_MM_COLS];
    for (int c = 0; c < NC; c++) a0[c] = a1[c] = _mm512_setzero_ps();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i)));
        __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i + 16)));
        for (int c = 0; c < NC; c++) {
            const float *xc = (const float *)((const char *)x + (size_t)c * xs);
            a0[c] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xc + i), a0[c]);
            a1[c] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xc + i + 16), a1[c]);
        }
    }
    for (int c = 0; c < NC; c++) {
        const float *xc = (const float *)((const char *)x + (size_t)c * xs);
        float sum = _mm512_reduce_add_ps(_mm512_add_ps(a0[c], a1[c]));
        for (int j = i; j < n; j++) sum = __builtin_fmaf(ir_h2f(w[j]), xc[j], sum);
        out[c * os] = sum;
    }
}
MM_ENTRY(f16)

// q8_blocks: the Q4_0/Q8_0 block loop, with the weight block given as 32
// signed values by unpack.
#define Q8_BLOCKS(wtype, unpack)                                                                            \
    const wtype *w = vw;                                                                                    \
    const __m256i zero = _mm256_setzero_si256();                                                            \
    __m256 acc[IR_MM_COLS];                                                                                 \
    for (int c = 0; c < NC; c++) acc[c] = _mm256_setzero_ps();                                              \
    for (int i = 0; i < n / QK; i++) {                                                                      \
        __m256i q = unpack;                                                                                 \
        __m256i aq = _mm256_abs_epi8(q);                                                                    \
        float dw = ir_h2f(w[i].d);                                                                          \
        for (int c = 0; c < NC; c++) {                                                                      \
            const blk_q8_0 *xc = XROW(blk_q8_0, c, i);                                                      \
            __m256i p = _mm256_dpbusd_epi32(zero, aq, _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)xc->qs), q)); \
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * ir_h2f(xc->d)), acc[c]);   \
        }                                                                                                   \
    }                                                                                                       \
    for (int c = 0; c < NC; c++) out[c * os] = hsum_ps(acc[c]);

AVX512 static INLINE void kern_q4_0(int n, const void *vw, const void *x, size_t xs, float *out, size_t os, const int NC) {
    Q8_BLOCKS(blk_q4_0, _mm256_sub_epi8(nibbles(w[i].qs), _mm256_set1_epi8(8)))
}
MM_ENTRY(q4_0)

AVX512 static INLINE void kern_q8_0(int n, const void *vw, const void *x, size_t xs, float *out, size_t os, const int NC) {
    Q8_BLOCKS(blk_q8_0, _mm256_loadu_si256((const __m256i *)w[i].qs))
}
MM_ENTRY(q8_0)

// pair joins two 256-bit halves.
AVX512 static inline __m512i pair(__m256i lo, __m256i hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// k_sum adds a K-quant super-block's integer sums to the float total. The
// fused multiply-adds are explicit so that the compiler cannot contract the
// one-row and four-row versions differently.
AVX512 static inline float k_sum(float sum, float xd, uint16_t d, uint16_t dmin, int isum, int mins) {
    float t = xd * ir_h2f(dmin) * (float)mins;
    return sum + __builtin_fmaf(xd * ir_h2f(d), (float)isum, -t);
}

// Q4_K: 64 elements per step (groups 2j and 2j+1 side by side), products
// weighted by the groups' scales with vpdpwssd.
AVX512 static INLINE void kern_q4_K(int n, const void *vw, const void *x, size_t xs, float *out, size_t os, const int NC) {
    const blk_q4_K *w = vw;
    const __m256i m4 = _mm256_set1_epi8(15);
    float sum[IR_MM_COLS] = {0};
    for (int i = 0; i < n / QKK; i++) {
        uint8_t sc[8], mn[8];
        scale_min_k4(w[i].scales, sc, mn);
        __m512i acc[IR_MM_COLS];
        for (int c = 0; c < NC; c++) acc[c] = _mm512_setzero_si512();
        for (int j = 0; j < 4; j++) {
            __m256i b = _mm256_loadu_si256((const __m256i *)(w[i].qs + 32 * j));
            __m512i q = pair(_mm256_and_si256(b, m4), _mm256_and_si256(_mm256_srli_epi16(b, 4), m4));
            __m512i scv = pair(_mm256_set1_epi16(sc[2 * j]), _mm256_set1_epi16(sc[2 * j + 1]));
            for (int c = 0; c < NC; c++) {
                __m512i p = _mm512_maddubs_epi16(q, _mm512_loadu_si512(XROW(blk_q8_K, c, i)->qs + 64 * j));
                acc[c] = _mm512_dpwssd_epi32(acc[c], p, scv);
            }
        }
        for (int c = 0; c < NC; c++) {
            const blk_q8_K *xc = XROW(blk_q8_K, c, i);
            sum[c] = k_sum(sum[c], xc->d, w[i].d, w[i].dmin, _mm512_reduce_add_epi32(acc[c]), k4_mins(mn, xc->bsums));
        }
    }
    for (int c = 0; c < NC; c++) out[c * os] = sum[c];
}
MM_ENTRY(q4_K)

// Q6_K: 64 elements per step; each 128-bit lane holds one group of 16, so
// the scales are spread one per lane.
AVX512 static INLINE void kern_q6_K(int n, const void *vw, const void *x, size_t xs, float *out, size_t os, const int NC) {
    const blk_q6_K *w = vw;
    const __m256i m4 = _mm256_set1_epi8(15), m3 = _mm256_set1_epi8(3);
    const __m512i lanes = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2,
                                           1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    float sum[IR_MM_COLS] = {0};
    for (int i = 0; i < n / QKK; i++) {
        const int8_t *sc = w[i].scales;
        __m512i acc[IR_MM_COLS];
        for (int c = 0; c < NC; c++) acc[c] = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            __m256i l0 = _mm256_loadu_si256((const __m256i *)(w[i].ql + 64 * h));
            __m256i l1 = _mm256_loadu_si256((const __m256i *)(w[i].ql + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(w[i].qh + 32 * h));
            __m256i q0 = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
            __m256i q1 = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4));
            __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4));
            __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4));
            for (int k = 0; k < 2; k++) {
                int g = 8 * h + 4 * k;
                __m512i q = k == 0 ? pair(q0, q1) : pair(q2, q3);
                int32_t s4;
                memcpy(&s4, sc + g, 4);
                __m512i scv = _mm512_permutexvar_epi16(lanes, _mm512_castsi128_si512(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(s4))));
                for (int c = 0; c < NC; c++) {
                    __m512i p = _mm512_maddubs_epi16(q, _mm512_loadu_si512(XROW(blk_q8_K, c, i)->qs + 128 * h + 64 * k));
                    acc[c] = _mm512_dpwssd_epi32(acc[c], p, scv);
                }
            }
        }
        for (int c = 0; c < NC; c++) {
            const blk_q8_K *xc = XROW(blk_q8_K, c, i);
            int offs = 0;
            for (int g = 0; g < 16; g++) offs += sc[g] * xc->bsums[g];
            sum[c] = __builtin_fmaf(xc->d * ir_h2f(w[i].d), (float)(_mm512_reduce_add_epi32(acc[c]) - 32 * offs), sum[c]);
        }
    }
    for (int c = 0; c < NC; c++) out[c * os] = sum[c];
}
MM_ENTRY(q6_K)

void ir_init_avx512(void) {
    ir_traits[IR_F16].vec_dot = dot_f16;
    ir_traits[IR_F16].mm = mm_f16;
    ir_traits[IR_Q4_0].vec_dot = dot_q4_0;
    ir_traits[IR_Q4_0].mm = mm_q4_0;
    ir_traits[IR_Q8_0].vec_dot = dot_q8_0;
    ir_traits[IR_Q8_0].mm = mm_q8_0;
    ir_traits[IR_Q4_K].vec_dot = dot_q4_K;
    ir_traits[IR_Q4_K].mm = mm_q4_K;
    ir_traits[IR_Q6_K].vec_dot = dot_q6_K;
    ir_traits[IR_Q6_K].mm = mm_q6_K;
}
#else
void ir_init_avx512(void) {}
#endif
