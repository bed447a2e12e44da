// AVX-512 (F, BW, VL) + VNNI kernels, compiled with per-function target
// attributes; dispatch.c calls ir_init_avx512 only where the CPU and OS
// support them. Types without a kernel here keep their AVX2 versions.
#include "ir_cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

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

// Q4_0 and Q8_0 take two blocks per 512-bit vector (block i in the low
// half, i+1 in the high half) and keep two accumulator chains per row, so
// that the float multiply-add latency does not bound the loop. A lone last
// block goes through the same code with an empty high half.

// q4_pair: the unsigned nibbles of blocks w[0] and w[1] (or w[0] and zeros),
// in element order: [lo(w0) hi(w0) lo(w1) hi(w1)].
AVX512 static INLINE __m512i q4_pair(const blk_q4_0 *w, int two) {
    __m256i b0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)w[0].qs));
    __m256i b1 = two ? _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)w[1].qs)) : _mm256_setzero_si256();
    __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(b0), b1, 1);
    v = _mm512_srlv_epi64(v, _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0));
    return _mm512_and_si512(v, _mm512_set1_epi8(15));
}

// qs_pair: the 64 signed quants of two Q8_0 blocks (or one and zeros).
AVX512 static INLINE __m512i qs_pair(const blk_q8_0 *x, int two) {
    __m256i lo = _mm256_loadu_si256((const __m256i *)x[0].qs);
    __m256i hi = two ? _mm256_loadu_si256((const __m256i *)x[1].qs) : _mm256_setzero_si256();
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// scale_pair: d(w0)*d(x0) in the low eight lanes, d(w1)*d(x1) in the high.
AVX512 static INLINE __m512 scale_pair(uint16_t w0, uint16_t x0, uint16_t w1, uint16_t x1, int two) {
    __m256 a = _mm256_set1_ps(ir_h2f(w0) * ir_h2f(x0));
    __m256 b = _mm256_set1_ps(two ? ir_h2f(w1) * ir_h2f(x1) : 0.0f);
    return _mm512_insertf32x8(_mm512_castps256_ps512(a), b, 1);
}

// Q8_PAIRS: the block-pair loop. dots(q, x) gives the 16 int32 partial
// sums of one pair of weight blocks (already unpacked into q by unpack)
// with one pair of activation blocks.
#define Q8_PAIRS(wtype, unpack, dots)                                                                       \
    const wtype *w = vw;                                                                                    \
    const int nb = n / QK;                                                                                  \
    __m512 acc0[IR_MM_COLS], acc1[IR_MM_COLS];                                                              \
    for (int c = 0; c < NC; c++) acc0[c] = acc1[c] = _mm512_setzero_ps();                                   \
    for (int i = 0; i < nb; i += 2) {                                                                       \
        const int two = i + 1 < nb;                                                                         \
        __m512i q = unpack;                                                                                 \
        for (int c = 0; c < NC; c++) {                                                                      \
            const blk_q8_0 *xc = XROW(blk_q8_0, c, i);                                                      \
            __m512 p = _mm512_cvtepi32_ps(dots(q, qs_pair(xc, two)));                                       \
            __m512 d = scale_pair(w[i].d, xc[0].d, two ? w[i + 1].d : 0, two ? xc[1].d : 0, two);          \
            if (i & 2) acc1[c] = _mm512_fmadd_ps(p, d, acc1[c]);                                            \
            else acc0[c] = _mm512_fmadd_ps(p, d, acc0[c]);                                                  \
        }                                                                                                   \
    }                                                                                                       \
    for (int c = 0; c < NC; c++) out[c * os] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[c], acc1[c]));

// q4_dots: sum(q*x) - 8*sum(x) per lane, i.e. the dot of (q-8) and x,
// with the nibbles as vpdpbusd's unsigned operand.
AVX512 static INLINE __m512i q4_dots(__m512i q, __m512i x) {
    __m512i zero = _mm512_setzero_si512();
    return _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, q, x), _mm512_dpbusd_epi32(zero, _mm512_set1_epi8(8), x));
}

// q8_dots: signed by signed through |w| and x carrying w's sign.
AVX512 static INLINE __m512i q8_dots(__m512i q, __m512i x) {
    __m512i s = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(q), _mm512_setzero_si512(), x);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(q), s);
}

// Q8_ROWS: the same loop for NR weight rows w + r*ws and one activation
// row, which is loaded and corrected once per pair for all rows. Each row
// sees the operations of Q8_PAIRS in the same order (same bits).
#define Q8_ROWS(wtype, xfix, dots)                                                                   \
    const int nb = n / QK;                                                                                  \
    const blk_q8_0 *xb = x;                                                                                 \
    __m512 acc0[IR_MV_ROWS], acc1[IR_MV_ROWS];                                                              \
    for (int r = 0; r < NR; r++) acc0[r] = acc1[r] = _mm512_setzero_ps();                                   \
    for (int i = 0; i < nb; i += 2) {                                                                       \
        const int two = i + 1 < nb;                                                                         \
        __m512i xq = qs_pair(xb + i, two), xc = xfix;                                                       \
        (void)xc;                                                                                           \
        float dx0 = ir_h2f(xb[i].d), dx1 = two ? ir_h2f(xb[i + 1].d) : 0.0f;                                \
        for (int r = 0; r < NR; r++) {                                                                      \
            const wtype *w = (const wtype *)((const char *)vw + (size_t)r * ws) + i;                        \
            __m512 p = _mm512_cvtepi32_ps(dots);                                                            \
            __m256 a = _mm256_set1_ps(ir_h2f(w[0].d) * dx0);                                                \
            __m256 b = _mm256_set1_ps(two ? ir_h2f(w[1].d) * dx1 : 0.0f);                                   \
            __m512 d = _mm512_insertf32x8(_mm512_castps256_ps512(a), b, 1);                                 \
            if (i & 2) acc1[r] = _mm512_fmadd_ps(p, d, acc1[r]);                                            \
            else acc0[r] = _mm512_fmadd_ps(p, d, acc0[r]);                                                  \
        }                                                                                                   \
    }                                                                                                       \
    for (int r = 0; r < NR; r++) out[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[r], acc1[r]));

#define MV_ENTRY(name)                                                                                      \
    AVX512 static void mv_##name(int n, const void *w, size_t ws, int nr, const void *x, float *out) {     \
        switch (nr) {                                                                                       \
        case 4: kernr_##name(n, w, ws, x, out, 4); break;                                                   \
        case 3: kernr_##name(n, w, ws, x, out, 3); break;                                                   \
        case 2: kernr_##name(n, w, ws, x, out, 2); break;                                                   \
        default: kernr_##name(n, w, ws, x, out, 1);                                                         \
        }                                                                                                   \
    }

AVX512 static INLINE void kernr_q4_0(int n, const void *vw, size_t ws, const void *x, float *out, const int NR) {
    Q8_ROWS(blk_q4_0, _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(8), xq),
            _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), q4_pair(w, two), xq), xc))
}
MV_ENTRY(q4_0)

AVX512 static INLINE void kernr_q8_0(int n, const void *vw, size_t ws, const void *x, float *out, const int NR) {
    Q8_ROWS(blk_q8_0, _mm512_setzero_si512(), q8_dots(qs_pair(w, two), xq))
}
MV_ENTRY(q8_0)

AVX512 static INLINE void kern_q4_0(int n, const void *vw, const void *x, size_t xs, float *out, size_t os, const int NC) {
    Q8_PAIRS(blk_q4_0, q4_pair(w + i, two), q4_dots)
}
MM_ENTRY(q4_0)

AVX512 static INLINE void kern_q8_0(int n, const void *vw, const void *x, size_t xs, float *out, size_t os, const int NC) {
    Q8_PAIRS(blk_q8_0, qs_pair(w + i, two), q8_dots)
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
    ir_traits[IR_Q4_0].mv = mv_q4_0;
    ir_traits[IR_Q8_0].vec_dot = dot_q8_0;
    ir_traits[IR_Q8_0].mm = mm_q8_0;
    ir_traits[IR_Q8_0].mv = mv_q8_0;
    ir_traits[IR_Q4_K].vec_dot = dot_q4_K;
    ir_traits[IR_Q4_K].mm = mm_q4_K;
    ir_traits[IR_Q6_K].vec_dot = dot_q6_K;
    ir_traits[IR_Q6_K].mm = mm_q6_K;
}
#else
void ir_init_avx512(void) {}
#endif
