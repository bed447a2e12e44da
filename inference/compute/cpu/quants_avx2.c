// AVX2 + FMA + F16C kernels. The file is compiled for any x86-64; only the
// functions carry the target attribute, and dispatch.c calls ir_init_avx2
// only on CPUs that have these instructions. Integer products use the
// maddubs sign trick: |w| (unsigned) times x with w's sign moved onto x.
#include <math.h>
#include "ir_cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static inline int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

// dot_i8 returns 8 partial sums of the products of 32 signed bytes.
AVX2 static inline __m256i dot_i8(__m256i w, __m256i x) {
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

// dot_u8 returns 8 partial sums of unsigned w (< 128) times signed x.
AVX2 static inline __m256i dot_u8(__m256i w, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
}

// nibbles spreads 16 bytes to 32: low nibbles first, then high nibbles.
AVX2 static inline __m256i nibbles(const uint8_t *p) {
    __m128i b = _mm_loadu_si128((const __m128i *)p);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(15));
}

// bit_bytes returns 0x10 in byte j where bit j of v is set, else 0.
AVX2 static inline __m256i bit_bytes(uint32_t v) {
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201LL);
    __m256i b = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)v), shuf), bit);
    return _mm256_and_si256(_mm256_cmpeq_epi8(b, bit), _mm256_set1_epi8(0x10));
}

static inline uint32_t load_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

AVX2 static void dot_f16(int n, float *s, const void *vw, const void *vx) {
    const uint16_t *w = vw;
    const float *x = vx;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i))), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 8))), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 16))), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 24))), _mm256_loadu_ps(x + i + 24), a3);
    }
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) sum += ir_h2f(w[i]) * x[i];
    *s = sum;
}

AVX2 static void dot_bf16(int n, float *s, const void *vw, const void *vx) {
    const uint16_t *w = vw;
    const float *x = vx;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i u0 = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(w + i))), 16);
        __m256i u1 = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(w + i + 8))), 16);
        a0 = _mm256_fmadd_ps(_mm256_castsi256_ps(u0), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_castsi256_ps(u1), _mm256_loadu_ps(x + i + 8), a1);
    }
    float sum = hsum_ps(_mm256_add_ps(a0, a1));
    for (; i < n; i++) sum += ir_bf2f(w[i]) * x[i];
    *s = sum;
}

AVX2 static void dot_q4_0(int n, float *s, const void *vw, const void *vx) {
    const blk_q4_0 *w = vw;
    const blk_q8_0 *x = vx;
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / QK; i++) {
        __m256i q = _mm256_sub_epi8(nibbles(w[i].qs), _mm256_set1_epi8(8));
        __m256i p = dot_i8(q, _mm256_loadu_si256((const __m256i *)x[i].qs));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(ir_h2f(w[i].d) * ir_h2f(x[i].d)), acc);
    }
    *s = hsum_ps(acc);
}

AVX2 static void dot_q4_1(int n, float *s, const void *vw, const void *vx) {
    const blk_q4_1 *w = vw;
    const blk_q8_1 *x = vx;
    __m256 acc = _mm256_setzero_ps();
    float mins = 0;
    for (int i = 0; i < n / QK; i++) {
        __m256i p = dot_u8(nibbles(w[i].qs), _mm256_loadu_si256((const __m256i *)x[i].qs));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(ir_h2f(w[i].d) * ir_h2f(x[i].d)), acc);
        mins += ir_h2f(w[i].m) * ir_h2f(x[i].s);
    }
    *s = hsum_ps(acc) + mins;
}

AVX2 static void dot_q5_0(int n, float *s, const void *vw, const void *vx) {
    const blk_q5_0 *w = vw;
    const blk_q8_0 *x = vx;
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / QK; i++) {
        __m256i q = _mm256_or_si256(nibbles(w[i].qs), bit_bytes(load_u32(w[i].qh)));
        q = _mm256_sub_epi8(q, _mm256_set1_epi8(16));
        __m256i p = dot_i8(q, _mm256_loadu_si256((const __m256i *)x[i].qs));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(ir_h2f(w[i].d) * ir_h2f(x[i].d)), acc);
    }
    *s = hsum_ps(acc);
}

AVX2 static void dot_q5_1(int n, float *s, const void *vw, const void *vx) {
    const blk_q5_1 *w = vw;
    const blk_q8_1 *x = vx;
    __m256 acc = _mm256_setzero_ps();
    float mins = 0;
    for (int i = 0; i < n / QK; i++) {
        __m256i q = _mm256_or_si256(nibbles(w[i].qs), bit_bytes(load_u32(w[i].qh)));
        __m256i p = dot_u8(q, _mm256_loadu_si256((const __m256i *)x[i].qs));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(ir_h2f(w[i].d) * ir_h2f(x[i].d)), acc);
        mins += ir_h2f(w[i].m) * ir_h2f(x[i].s);
    }
    *s = hsum_ps(acc) + mins;
}

AVX2 static void dot_q8_0(int n, float *s, const void *vw, const void *vx) {
    const blk_q8_0 *w = vw;
    const blk_q8_0 *x = vx;
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / QK; i++) {
        __m256i p = dot_i8(_mm256_loadu_si256((const __m256i *)w[i].qs), _mm256_loadu_si256((const __m256i *)x[i].qs));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(ir_h2f(w[i].d) * ir_h2f(x[i].d)), acc);
    }
    *s = hsum_ps(acc);
}

// Q4_K and Q5_K: per 64 elements, 32 bytes of nibbles (low: group 2j,
// high: group 2j+1), each group's products scaled by its 6-bit scale.
AVX2 static void dot_q4_K(int n, float *s, const void *vw, const void *vx) {
    const blk_q4_K *w = vw;
    const blk_q8_K *x = vx;
    const __m256i m4 = _mm256_set1_epi8(15);
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        uint8_t sc[8], mn[8];
        scale_min_k4(w[i].scales, sc, mn);
        __m256i acc = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            __m256i b = _mm256_loadu_si256((const __m256i *)(w[i].qs + 32 * j));
            __m256i lo = _mm256_and_si256(b, m4), hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), m4);
            __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(x[i].qs + 64 * j)));
            __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(x[i].qs + 64 * j + 32)));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(plo, _mm256_set1_epi16(sc[2 * j])));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(phi, _mm256_set1_epi16(sc[2 * j + 1])));
        }
        sum += x[i].d * ir_h2f(w[i].d) * hsum_epi32(acc) - x[i].d * ir_h2f(w[i].dmin) * k4_mins(mn, x[i].bsums);
    }
    *s = sum;
}

AVX2 static void dot_q5_K(int n, float *s, const void *vw, const void *vx) {
    const blk_q5_K *w = vw;
    const blk_q8_K *x = vx;
    const __m256i m4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        uint8_t sc[8], mn[8];
        scale_min_k4(w[i].scales, sc, mn);
        __m256i qh = _mm256_loadu_si256((const __m256i *)w[i].qh);
        __m256i acc = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            __m256i b = _mm256_loadu_si256((const __m256i *)(w[i].qs + 32 * j));
            __m256i hlo = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), one), 4);
            __m256i hhi = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j + 1), one), 4);
            __m256i lo = _mm256_or_si256(_mm256_and_si256(b, m4), hlo);
            __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b, 4), m4), hhi);
            __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(x[i].qs + 64 * j)));
            __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(x[i].qs + 64 * j + 32)));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(plo, _mm256_set1_epi16(sc[2 * j])));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(phi, _mm256_set1_epi16(sc[2 * j + 1])));
        }
        sum += x[i].d * ir_h2f(w[i].d) * hsum_epi32(acc) - x[i].d * ir_h2f(w[i].dmin) * k4_mins(mn, x[i].bsums);
    }
    *s = sum;
}

// Q6_K: unsigned 6-bit q (the -32 offset is applied through the bsums),
// 16 groups of 16 with int8 scales.
AVX2 static void dot_q6_K(int n, float *s, const void *vw, const void *vx) {
    const blk_q6_K *w = vw;
    const blk_q8_K *x = vx;
    const __m256i m4 = _mm256_set1_epi8(15), m3 = _mm256_set1_epi8(3);
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        const int8_t *sc = w[i].scales;
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i l0 = _mm256_loadu_si256((const __m256i *)(w[i].ql + 64 * h));
            __m256i l1 = _mm256_loadu_si256((const __m256i *)(w[i].ql + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(w[i].qh + 32 * h));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4));
            for (int k = 0; k < 4; k++) {
                int g = 8 * h + 2 * k;
                __m256i p = _mm256_maddubs_epi16(q[k], _mm256_loadu_si256((const __m256i *)(x[i].qs + 128 * h + 32 * k)));
                __m256i scv = _mm256_set_m128i(_mm_set1_epi16(sc[g + 1]), _mm_set1_epi16(sc[g]));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, scv));
            }
        }
        int offs = 0;
        for (int g = 0; g < 16; g++) offs += sc[g] * x[i].bsums[g];
        sum += x[i].d * ir_h2f(w[i].d) * (hsum_epi32(acc) - 32 * offs);
    }
    *s = sum;
}

// scale2 puts the int16 scale a in the low 128-bit lane and b in the high one.
AVX2 static inline __m256i scale2(int a, int b) { return _mm256_set_m128i(_mm_set1_epi16((short)b), _mm_set1_epi16((short)a)); }

// Q2_K: unsigned 2-bit q, 16 groups of 16 with 4-bit scales and mins.
AVX2 static void dot_q2_K(int n, float *s, const void *vw, const void *vx) {
    const blk_q2_K *w = vw;
    const blk_q8_K *x = vx;
    const __m256i m3 = _mm256_set1_epi8(3);
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        const uint8_t *sc = w[i].scales;
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i b = _mm256_loadu_si256((const __m256i *)(w[i].qs + 32 * h));
            for (int j = 0; j < 4; j++) {
                int g = 8 * h + 2 * j;
                __m256i q = _mm256_and_si256(_mm256_srli_epi16(b, 2 * j), m3);
                __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)(x[i].qs + 128 * h + 32 * j)));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, scale2(sc[g] & 15, sc[g + 1] & 15)));
            }
        }
        int mins = 0;
        for (int g = 0; g < 16; g++) mins += (sc[g] >> 4) * x[i].bsums[g];
        sum += x[i].d * ir_h2f(w[i].d) * hsum_epi32(acc) - x[i].d * ir_h2f(w[i].dmin) * mins;
    }
    *s = sum;
}

// Q3_K: q + 4 = 2 low bits | high-mask bit << 2 is unsigned (0..7); the -4
// comes back through the bsums. 16 groups of 16 with signed 6-bit scales.
AVX2 static void dot_q3_K(int n, float *s, const void *vw, const void *vx) {
    const blk_q3_K *w = vw;
    const blk_q8_K *x = vx;
    const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        int8_t sc[16];
        const uint8_t *r = w[i].scales;
        for (int j = 0; j < 16; j++) {
            int lo = j < 8 ? r[j] & 15 : r[j - 8] >> 4;
            sc[j] = (int8_t)((lo | ((r[8 + j % 4] >> (2 * (j / 4))) & 3) << 4) - 32);
        }
        __m256i hm = _mm256_loadu_si256((const __m256i *)w[i].hmask);
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i b = _mm256_loadu_si256((const __m256i *)(w[i].qs + 32 * h));
            for (int j = 0; j < 4; j++) {
                int g = 8 * h + 2 * j;
                __m256i hb = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + j), one), 2);
                __m256i q = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b, 2 * j), m3), hb);
                __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)(x[i].qs + 128 * h + 32 * j)));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, scale2(sc[g], sc[g + 1])));
            }
        }
        int offs = 0;
        for (int g = 0; g < 16; g++) offs += sc[g] * x[i].bsums[g];
        sum += x[i].d * ir_h2f(w[i].d) * (hsum_epi32(acc) - 4 * offs);
    }
    *s = sum;
}

// iq4_values maps 32 nibbles (low then high) through the IQ4 codebook.
AVX2 static inline __m256i iq4_values(const uint8_t *qs) {
    const __m128i t = _mm_loadu_si128((const __m128i *)ir_kvalues_iq4nl);
    return _mm256_shuffle_epi8(_mm256_set_m128i(t, t), nibbles(qs));
}

AVX2 static void dot_iq4_nl(int n, float *s, const void *vw, const void *vx) {
    const blk_iq4_nl *w = vw;
    const blk_q8_0 *x = vx;
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / QK; i++) {
        __m256i p = dot_i8(iq4_values(w[i].qs), _mm256_loadu_si256((const __m256i *)x[i].qs));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(ir_h2f(w[i].d) * ir_h2f(x[i].d)), acc);
    }
    *s = hsum_ps(acc);
}

AVX2 static void dot_iq4_xs(int n, float *s, const void *vw, const void *vx) {
    const blk_iq4_xs *w = vw;
    const blk_q8_K *x = vx;
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        __m256i acc = _mm256_setzero_si256();
        for (int g = 0; g < 8; g++) {
            int ls = ((w[i].scales_l[g / 2] >> (4 * (g % 2))) & 15) | ((w[i].scales_h >> (2 * g)) & 3) << 4;
            __m256i q = iq4_values(w[i].qs + 16 * g), y = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * g));
            __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(y, q));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16((short)(ls - 32))));
        }
        sum += x[i].d * ir_h2f(w[i].d) * hsum_epi32(acc);
    }
    *s = sum;
}

// --- float kernels --------------------------------------------------------------

AVX2 static void dot_f32(int n, float *s, const void *vw, const void *vx) {
    const float *w = vw, *x = vx;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    }
    float sum = hsum_ps(_mm256_add_ps(a0, a1));
    for (; i < n; i++) sum += w[i] * x[i];
    *s = sum;
}

AVX2 static void axpy_f32(int n, float a, const float *x, float *y) {
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

AVX2 static void axpy_f16(int n, float a, const uint16_t *x, float *y) {
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 xv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, xv, _mm256_loadu_ps(y + i)));
    }
    for (; i < n; i++) y[i] += a * ir_h2f(x[i]);
}

// exp8 approximates e^x (relative error ~1e-7): x = n*ln2 + r, e^r by its
// degree-7 Taylor polynomial, 2^n through the exponent bits.
AVX2 static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

AVX2 static float exp_sum(int n, float *x, float max) {
    __m256 vm = _mm256_set1_ps(max), acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(x + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    float sum = hsum_ps(acc);
    for (; i < n; i++) sum += x[i] = expf(x[i] - max);
    return sum;
}

AVX2 static void swiglu(int n, float *o, const float *g, const float *u) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gv = _mm256_loadu_ps(g + i);
        __m256 sg = _mm256_div_ps(gv, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), gv))));
        _mm256_storeu_ps(o + i, _mm256_mul_ps(sg, _mm256_loadu_ps(u + i)));
    }
    for (; i < n; i++) o[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

// load8 reads 8 floats of a cache row, converting from F16 when f16.
AVX2 static inline __m256 load8(const void *row, int f16, int d) {
    if (f16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + d)));
    return _mm256_loadu_ps((const float *)row + d);
}

// hsum4 returns the four horizontal sums of a, b, c, d.
AVX2 static inline __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d) {
    __m256 ab = _mm256_hadd_ps(a, b), cd = _mm256_hadd_ps(c, d);
    __m256 abcd = _mm256_hadd_ps(ab, cd);
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// Attention kernels for head sizes that are multiples of 8 (others use the
// portable ones). Scores take four cache rows at a time, so one reduction
// yields four scores; values keep a head's accumulators in registers for a
// block of rows. HD is a constant after inlining for the common sizes.
#define ATTN_ROWS 64

AVX2 static inline __attribute__((always_inline)) void attn_scores_hd(const int HD, const void *k, int f16, size_t stride, int npos, const float *q, int ng, float *s, int ld) {
    int j = 0;
    for (; j + 4 <= npos; j += 4) {
        const char *r0 = (const char *)k + (size_t)j * stride;
        for (int g = 0; g < ng; g++) {
            const float *qg = q + (size_t)g * HD;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int d = 0; d < HD; d += 8) {
                __m256 qv = _mm256_loadu_ps(qg + d);
                a0 = _mm256_fmadd_ps(load8(r0, f16, d), qv, a0);
                a1 = _mm256_fmadd_ps(load8(r0 + stride, f16, d), qv, a1);
                a2 = _mm256_fmadd_ps(load8(r0 + 2 * stride, f16, d), qv, a2);
                a3 = _mm256_fmadd_ps(load8(r0 + 3 * stride, f16, d), qv, a3);
            }
            _mm_storeu_ps(s + (size_t)g * ld + j, hsum4(a0, a1, a2, a3));
        }
    }
    for (; j < npos; j++) {
        const char *row = (const char *)k + (size_t)j * stride;
        for (int g = 0; g < ng; g++) {
            __m256 acc = _mm256_setzero_ps();
            for (int d = 0; d < HD; d += 8) acc = _mm256_fmadd_ps(load8(row, f16, d), _mm256_loadu_ps(q + (size_t)g * HD + d), acc);
            s[(size_t)g * ld + j] = hsum_ps(acc);
        }
    }
}

AVX2 static void attn_scores(int hd, const void *k, int f16, size_t stride, int npos, const float *q, int ng, float *s, int ld) {
    switch (hd) {
    case 64: attn_scores_hd(64, k, f16, stride, npos, q, ng, s, ld); break;
    case 128: attn_scores_hd(128, k, f16, stride, npos, q, ng, s, ld); break;
    default:
        if (hd % 8) ir_attn_scores_generic(hd, k, f16, stride, npos, q, ng, s, ld);
        else attn_scores_hd(hd, k, f16, stride, npos, q, ng, s, ld);
    }
}

// values_hd accumulates rows [j0, j1) into out for head g, 8 lanes at a
// time, with up to 16 accumulators (HD <= 128) held in registers.
AVX2 static inline __attribute__((always_inline)) void values_hd(const int HD, const void *v, int f16, size_t stride, int j0, int j1, const float *w, float *out) {
    __m256 acc[16];
    for (int c = 0; c < HD / 8; c++) acc[c] = _mm256_loadu_ps(out + 8 * c);
    for (int j = j0; j < j1; j++) {
        const char *row = (const char *)v + (size_t)j * stride;
        __m256 wj = _mm256_set1_ps(w[j]);
        for (int c = 0; c < HD / 8; c++) acc[c] = _mm256_fmadd_ps(wj, load8(row, f16, 8 * c), acc[c]);
    }
    for (int c = 0; c < HD / 8; c++) _mm256_storeu_ps(out + 8 * c, acc[c]);
}

AVX2 static void attn_values(int hd, const void *v, int f16, size_t stride, int npos, const float *w, int ng, int ld, float *out) {
    if (hd % 8 || hd > 128) {
        ir_attn_values_generic(hd, v, f16, stride, npos, w, ng, ld, out);
        return;
    }
    for (int j0 = 0; j0 < npos; j0 += ATTN_ROWS) {
        int j1 = j0 + ATTN_ROWS < npos ? j0 + ATTN_ROWS : npos;
        for (int g = 0; g < ng; g++) {
            const float *wg = w + (size_t)g * ld;
            float *og = out + (size_t)g * hd;
            if (hd == 64) values_hd(64, v, f16, stride, j0, j1, wg, og);
            else if (hd == 128) values_hd(128, v, f16, stride, j0, j1, wg, og);
            else values_hd(hd, v, f16, stride, j0, j1, wg, og);
        }
    }
}

// --- activation quantizers (byte-identical to the portable ones) -------------

AVX2 static inline float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// round_away rounds to the nearest integer with ties away from zero, as
// roundf does: truncate, then step away from zero when the rest is >= 1/2.
AVX2 static inline __m256i round_away(__m256 v) {
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
    __m256 rest = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(v, t));
    __m256 step = _mm256_and_ps(_mm256_cmp_ps(rest, _mm256_set1_ps(0.5f), _CMP_GE_OQ), _mm256_or_ps(sign, _mm256_set1_ps(1.0f)));
    return _mm256_cvttps_epi32(_mm256_add_ps(t, step));
}

// pack32 narrows four vectors of 8 int32 (each in -127..127) to 32 bytes in order.
AVX2 static inline __m256i pack32(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    __m256i abcd = _mm256_packs_epi16(ab, cd);
    return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

AVX2 static void quantize_q8_0(const float *x, void *vy, int n) {
    blk_q8_0 *y = vy;
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int i = 0; i < n / QK; i++, x += QK) {
        __m256 v[4], m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            m = _mm256_max_ps(m, _mm256_and_ps(v[k], abs_mask));
        }
        float d = hmax_ps(m) / 127, id = d ? 1 / d : 0;
        y[i].d = ir_f2h(d);
        __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) q[k] = round_away(_mm256_mul_ps(v[k], vid));
        _mm256_storeu_si256((__m256i *)y[i].qs, pack32(q[0], q[1], q[2], q[3]));
    }
}

AVX2 static void quantize_q8_K(const float *x, void *vy, int n) {
    blk_q8_K *y = vy;
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int i = 0; i < n / QKK; i++, x += QKK) {
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < QKK; k += 8) m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + k), abs_mask));
        float amax = hmax_ps(m), max = 0;
        memset(&y[i], 0, sizeof y[i]);
        if (amax == 0) continue;
        for (int k = 0; k < QKK; k++)
            if (x[k] == amax || x[k] == -amax) { max = x[k]; break; }
        float iscale = -127.f / max;
        __m256 vs = _mm256_set1_ps(iscale);
        const __m256i top = _mm256_set1_epi32(127);
        for (int k = 0; k < QKK; k += 32) {
            __m256i q[4];
            for (int j = 0; j < 4; j++) {
                __m256 r = _mm256_round_ps(_mm256_mul_ps(vs, _mm256_loadu_ps(x + k + 8 * j)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                q[j] = _mm256_min_epi32(_mm256_cvtps_epi32(r), top);
            }
            __m256i b = pack32(q[0], q[1], q[2], q[3]);
            _mm256_storeu_si256((__m256i *)(y[i].qs + k), b);
            // Sums of 16: widen to int16, add neighbours down to one per 16.
            __m256i lo = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(b)), hi = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(b, 1));
            __m256i s = _mm256_madd_epi16(lo, _mm256_set1_epi16(1)), t = _mm256_madd_epi16(hi, _mm256_set1_epi16(1));
            y[i].bsums[k / 16] = (int16_t)hsum_epi32(s);
            y[i].bsums[k / 16 + 1] = (int16_t)hsum_epi32(t);
        }
        y[i].d = 1 / iscale;
    }
}

void ir_init_avx2(void) {
    ir_quantize[IR_Q8_0] = quantize_q8_0;
    ir_quantize[IR_Q8_K] = quantize_q8_K;
    ir_fk.axpy_f32 = axpy_f32;
    ir_fk.axpy_f16 = axpy_f16;
    ir_fk.exp_sum = exp_sum;
    ir_fk.swiglu = swiglu;
    ir_fk.attn_scores = attn_scores;
    ir_fk.attn_values = attn_values;
    ir_init_attn_quant_avx2();
    ir_traits[IR_F32].vec_dot = dot_f32;
    ir_traits[IR_F16].vec_dot = dot_f16;
    ir_traits[IR_BF16].vec_dot = dot_bf16;
    ir_traits[IR_Q4_0].vec_dot = dot_q4_0;
    ir_traits[IR_Q4_1].vec_dot = dot_q4_1;
    ir_traits[IR_Q5_0].vec_dot = dot_q5_0;
    ir_traits[IR_Q5_1].vec_dot = dot_q5_1;
    ir_traits[IR_Q8_0].vec_dot = dot_q8_0;
    ir_traits[IR_Q2_K].vec_dot = dot_q2_K;
    ir_traits[IR_Q3_K].vec_dot = dot_q3_K;
    ir_traits[IR_Q4_K].vec_dot = dot_q4_K;
    ir_traits[IR_Q5_K].vec_dot = dot_q5_K;
    ir_traits[IR_Q6_K].vec_dot = dot_q6_K;
    ir_traits[IR_IQ4_NL].vec_dot = dot_iq4_nl;
    ir_traits[IR_IQ4_XS].vec_dot = dot_iq4_xs;
}
#else
void ir_init_avx2(void) {}
#endif
