// AVX-512 (F, BW, VL) + VNNI kernels, compiled with per-function target
// attributes; dispatch.c calls ir_init_avx512 only where the CPU and OS
// support them. Types without a kernel here keep their AVX2 versions.
#include "ir_cpu.h"

#include <cpuid.h>
#include <stddef.h>

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

// MM_SWITCH calls kernel k with the column count nc as a constant.
#define MM_SWITCH(k)                                                                                        \
    switch (nc) {                                                                                           \
    case 8: k(n, w, x, xs, o, os, 8); break;                                                                \
    case 7: k(n, w, x, xs, o, os, 7); break;                                                                \
    case 6: k(n, w, x, xs, o, os, 6); break;                                                                \
    case 5: k(n, w, x, xs, o, os, 5); break;                                                                \
    case 4: k(n, w, x, xs, o, os, 4); break;                                                                \
    case 3: k(n, w, x, xs, o, os, 3); break;                                                                \
    case 2: k(n, w, x, xs, o, os, 2); break;                                                                \
    default: k(n, w, x, xs, o, os, 1);                                                                      \
    }

#define MM_ENTRY(name)                                                                                      \
    AVX512 static void dot_##name(int n, float *s, const void *w, const void *x) {                       \
        kern_##name(n, w, x, 0, s, 0, 1);                                                                   \
    }                                                                                                       \
    AVX512 static void mm_##name(int n, const void *w, const void *x, size_t xs, int nc, float *o, size_t os) { \
        MM_SWITCH(kern_##name)                                                                              \
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

// kern2d_f16: kern_f16 for NR weight rows x NC activation rows at once;
// each pair keeps kern_f16's two accumulators and order (same bits).
AVX512 static INLINE void kern2d_f16(int n, const void *vw, size_t ws, const void *vx, size_t xs, float *out, size_t os, const int NR, const int NC) {
    __m512 a0[IR_MM2D_ROWS][IR_MM2D_COLS], a1[IR_MM2D_ROWS][IR_MM2D_COLS];
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NC; c++) a0[r][c] = a1[r][c] = _mm512_setzero_ps();
#define W2(r) ((const uint16_t *)((const char *)vw + (size_t)(r) * ws))
#define X2(c) ((const float *)((const char *)vx + (size_t)(c) * xs))
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 wv[IR_MM2D_ROWS];
        for (int r = 0; r < NR; r++) wv[r] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(W2(r) + i)));
        for (int c = 0; c < NC; c++) {
            __m512 xv = _mm512_loadu_ps(X2(c) + i);
            for (int r = 0; r < NR; r++) a0[r][c] = _mm512_fmadd_ps(wv[r], xv, a0[r][c]);
        }
        for (int r = 0; r < NR; r++) wv[r] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(W2(r) + i + 16)));
        for (int c = 0; c < NC; c++) {
            __m512 xv = _mm512_loadu_ps(X2(c) + i + 16);
            for (int r = 0; r < NR; r++) a1[r][c] = _mm512_fmadd_ps(wv[r], xv, a1[r][c]);
        }
    }
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NC; c++) {
            float sum = _mm512_reduce_add_ps(_mm512_add_ps(a0[r][c], a1[r][c]));
            for (int j = i; j < n; j++) sum = __builtin_fmaf(ir_h2f(W2(r)[j]), X2(c)[j], sum);
            out[c * os + r] = sum;
        }
#undef W2
#undef X2
}

AVX512 static void mm2d_f16(int n, const void *w, size_t ws, int nr, const void *x, size_t xs, int nc, float *out, size_t os) {
#define MM2D_CASE(R, C)                                  \
    case (R) * 4 + (C):                                  \
        kern2d_f16(n, w, ws, x, xs, out, os, (R), (C)); \
        break;
    switch (nr * 4 + nc) {
        MM2D_CASE(4, 3) MM2D_CASE(4, 2) MM2D_CASE(4, 1)
        MM2D_CASE(3, 3) MM2D_CASE(3, 2) MM2D_CASE(3, 1)
        MM2D_CASE(2, 3) MM2D_CASE(2, 2) MM2D_CASE(2, 1)
        MM2D_CASE(1, 3) MM2D_CASE(1, 2) MM2D_CASE(1, 1)
    }
#undef MM2D_CASE
}

// Q4_0 and Q8_0 work on groups of 16 blocks. A group's 16 integer block
// dots (exact) are gathered into one vector in "group order" (lane 4L+k
// holds block 4k+L), multiplied by the 16 products d(w)*d(x) and added to
// one float accumulator per row; the row's result is the sum of its lanes.
// Every kernel below (decode mv, mm, vec_dot) makes the same float
// operations in the same order, so all give the same bits.
//
// Within a group, blocks go four at a time ("quads"): the low halves (16
// quants) of four blocks fill one 512-bit vector and the high halves
// another, so a vpdpbusd pair leaves block 4k+L's sum in 128-bit lane L.
// Weight quants enter vpdpbusd as unsigned bytes (Q4_0 nibbles, Q8_0 plus
// 128) and the offset times the sum of x is subtracted afterwards.
enum { GRP = 16 };

// grp_reduce sums each 128-bit lane of p0..p3: lane L of the result is
// [sum lane L of p0, of p1, of p2, of p3], i.e. group order.
AVX512 static INLINE __m512i grp_reduce(__m512i p0, __m512i p1, __m512i p2, __m512i p3) {
    __m512i t0 = _mm512_add_epi32(_mm512_unpacklo_epi32(p0, p1), _mm512_unpackhi_epi32(p0, p1));
    __m512i t1 = _mm512_add_epi32(_mm512_unpacklo_epi32(p2, p3), _mm512_unpackhi_epi32(p2, p3));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1));
}

// grp_index: byte offsets of a group's blocks in group order, for blocks
// of size bs; only the first nv blocks of the group exist (mask).
AVX512 static INLINE __m512i grp_index(int bs) {
    return _mm512_mullo_epi32(_mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0), _mm512_set1_epi32(bs));
}
AVX512 static INLINE __mmask16 grp_mask(int nv) {
    __mmask16 m = 0;
    for (int j = 0; j < 16; j++)
        if (4 * (j & 3) + (j >> 2) < nv) m |= (__mmask16)1 << j;
    return m;
}

// grp_scales: the f16 scales d (first field) of nv blocks from p, block
// size bs, as floats in group order (zeros where no block).
AVX512 static INLINE __m512 grp_scales(const void *p, int bs, int nv) {
    __m512i v = nv == GRP ? _mm512_i32gather_epi32(grp_index(bs), p, 1)
                          : _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), grp_mask(nv), grp_index(bs), p, 1);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v));
}

// half_quad: 16 bytes at offset off of each of nv (1..4) blocks of size bs
// from p, block b in 128-bit lane b (zeros where no block).
AVX512 static INLINE __m512i half_quad(const void *p, int bs, int off, int nv) {
    const char *c = (const char *)p + off;
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)c));
    if (nv == 4) {
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(c + bs)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(c + 2 * bs)), 2);
        return _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(c + 3 * bs)), 3);
    }
    v = _mm512_zextsi128_si512(_mm512_castsi512_si128(v));
    for (int b = 1; b < nv; b++) {
        __m128i h = _mm_loadu_si128((const __m128i *)(c + b * bs));
        v = b == 1 ? _mm512_inserti32x4(v, h, 1) : b == 2 ? _mm512_inserti32x4(v, h, 2) : _mm512_inserti32x4(v, h, 3);
    }
    return v;
}

// Weight quads as (lo, hi) unsigned vectors matching the x halves.
AVX512 static INLINE void wquad_q4_0(const blk_q4_0 *w, int nv, __m512i *lo, __m512i *hi) {
    __m512i v = half_quad(w, sizeof(blk_q4_0), offsetof(blk_q4_0, qs), nv);
    *lo = _mm512_and_si512(v, _mm512_set1_epi8(15));
    *hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(15));
}
AVX512 static INLINE void wquad_q8_0(const blk_q8_0 *w, int nv, __m512i *lo, __m512i *hi) {
    *lo = _mm512_xor_si512(half_quad(w, sizeof(blk_q8_0), offsetof(blk_q8_0, qs), nv), _mm512_set1_epi8(-128));
    *hi = _mm512_xor_si512(half_quad(w, sizeof(blk_q8_0), offsetof(blk_q8_0, qs) + 16, nv), _mm512_set1_epi8(-128));
}

// wquad_q4_0_vbmi: the same as wquad_q4_0 with one byte permute instead of
// three inserts (the 72 bytes of a quad from a full and a masked load that
// cannot fault past the end of the weights).
#define AVX512VBMI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,avx2,fma,f16c")))
AVX512VBMI static INLINE void wquad_q4_0_vbmi(const blk_q4_0 *w, __m512i *lo, __m512i *hi) {
    const __m512i idx = _mm512_set_epi8(71, 70, 69, 68, 67, 66, 65, 64, 63, 62, 61, 60, 59, 58, 57, 56,
                                        53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38,
                                        35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20,
                                        17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2);
    const char *p = (const char *)w;
    __m512i v = _mm512_permutex2var_epi8(_mm512_loadu_si512(p), idx, _mm512_maskz_loadu_epi8(0xff, p + 64));
    *lo = _mm512_and_si512(v, _mm512_set1_epi8(15));
    *hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(15));
}

AVX512 static INLINE __m512i quad_dot(__m512i wlo, __m512i whi, __m512i xlo, __m512i xhi) {
    return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), wlo, xlo), whi, xhi);
}

// Q8_GROUPS: the mm / vec_dot loop over NC activation rows of plain Q8_0
// blocks. OFF is the unsigned offset of the weight quants (8 or 128).
#define Q8_GROUPS(wtype, OFF)                                                                               \
    const wtype *w = vw;                                                                                    \
    const int nb = n / QK;                                                                                  \
    const __m512i off = _mm512_set1_epi8((char)(OFF));                                                      \
    __m512 acc[IR_MM_COLS];                                                                                 \
    for (int c = 0; c < NC; c++) acc[c] = _mm512_setzero_ps();                                              \
    for (int g = 0; g < nb; g += GRP) {                                                                     \
        const int nv = nb - g < GRP ? nb - g : GRP;                                                         \
        __m512i p[IR_MM_COLS][4];                                                                           \
        for (int k = 0; k < 4; k++) {                                                                       \
            int qv = nv - 4 * k > 4 ? 4 : nv - 4 * k;                                                       \
            if (qv <= 0) {                                                                                  \
                for (int c = 0; c < NC; c++) p[c][k] = _mm512_setzero_si512();                              \
                continue;                                                                                   \
            }                                                                                               \
            __m512i lo, hi;                                                                                 \
            wquad_##wtype(w + g + 4 * k, qv, &lo, &hi);                                                     \
            for (int c = 0; c < NC; c++) {                                                                  \
                const blk_q8_0 *xc = XROW(blk_q8_0, c, g + 4 * k);                                          \
                __m512i xlo = half_quad(xc, sizeof(blk_q8_0), offsetof(blk_q8_0, qs), qv);                  \
                __m512i xhi = half_quad(xc, sizeof(blk_q8_0), offsetof(blk_q8_0, qs) + 16, qv);             \
                p[c][k] = _mm512_sub_epi32(quad_dot(lo, hi, xlo, xhi), quad_dot(off, off, xlo, xhi));       \
            }                                                                                               \
        }                                                                                                   \
        __m512 dw = grp_scales(w + g, sizeof(wtype), nv);                                                   \
        for (int c = 0; c < NC; c++) {                                                                      \
            __m512 d = _mm512_mul_ps(dw, grp_scales(XROW(blk_q8_0, c, g), sizeof(blk_q8_0), nv));           \
            __m512i r = grp_reduce(p[c][0], p[c][1], p[c][2], p[c][3]);                                     \
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(r), d, acc[c]);                                     \
        }                                                                                                   \
    }                                                                                                       \
    for (int c = 0; c < NC; c++) out[c * os] = _mm512_reduce_add_ps(acc[c]);

typedef blk_q4_0 q4_0;
typedef blk_q8_0 q8_0;

AVX512 static INLINE void kern_q4_0(int n, const void *vw, const void *x, size_t xs, float *out, size_t os, const int NC) {
    Q8_GROUPS(q4_0, 8)
}
MM_ENTRY(q4_0)

AVX512 static INLINE void kern_q8_0(int n, const void *vw, const void *x, size_t xs, float *out, size_t os, const int NC) {
    Q8_GROUPS(q8_0, 128)
}
MM_ENTRY(q8_0)

// Prepared activations: phase 0 of a product lays each quantized Q8_0 row
// out once, per group: the offset corrections and the x scales in group
// order, then the four quads (low halves, high halves), 640 bytes in all.
// The kernels below then load x only as whole aligned vectors.
typedef struct {
    __m512i corr8, corr128;  // 8 and 128 times the blocks' sums of x, group order
    __m512 dx;               // the blocks' scales, group order
    __m512i q[4][2];
} grp_x;

static int64_t prep_size_avx512(int vdt, int64_t n) {
    return vdt == IR_Q8_0 ? (n / QK + GRP - 1) / GRP * (int64_t)sizeof(grp_x) : 0;
}

AVX512 static void prep_q8_0(const void *vx, void *vp, int n) {
    const blk_q8_0 *x = vx;
    grp_x *p = vp;
    const int nb = n / QK;
    for (int g = 0; g < nb; g += GRP, p++) {
        const int nv = nb - g < GRP ? nb - g : GRP;
        __m512i c[4];
        for (int k = 0; k < 4; k++) {
            int qv = nv - 4 * k > 4 ? 4 : nv - 4 * k;
            __m512i lo = _mm512_setzero_si512(), hi = lo;
            if (qv > 0) {
                lo = half_quad(x + g + 4 * k, sizeof(blk_q8_0), offsetof(blk_q8_0, qs), qv);
                hi = half_quad(x + g + 4 * k, sizeof(blk_q8_0), offsetof(blk_q8_0, qs) + 16, qv);
            }
            p->q[k][0] = lo;
            p->q[k][1] = hi;
            c[k] = quad_dot(_mm512_set1_epi8(1), _mm512_set1_epi8(1), lo, hi);
        }
        __m512i sum = grp_reduce(c[0], c[1], c[2], c[3]);
        p->corr8 = _mm512_slli_epi32(sum, 3);
        p->corr128 = _mm512_slli_epi32(sum, 7);
        p->dx = grp_scales(x + g, sizeof(blk_q8_0), nv);
    }
}

// P_GROUPS: the loop of the prepared kernels over NC activation rows (or
// NC weight rows sharing one activation row, for mv). LOAD(w, g, k, nv,
// &lo, &hi) unpacks a quad of weight blocks; CORR names the correction.
#define P_GROUP(w, xg, nv, acc, LOAD, CORR)                                                                 \
    do {                                                                                                    \
        __m512i p_[4];                                                                                      \
        for (int k = 0; k < 4; k++) {                                                                       \
            int qv = (nv) - 4 * k > 4 ? 4 : (nv) - 4 * k;                                                   \
            p_[k] = _mm512_setzero_si512();                                                                 \
            if (qv <= 0) continue;                                                                          \
            __m512i lo, hi;                                                                                 \
            LOAD((w) + 4 * k, qv, &lo, &hi);                                                                \
            p_[k] = quad_dot(lo, hi, (xg)->q[k][0], (xg)->q[k][1]);                                         \
        }                                                                                                   \
        __m512i r_ = _mm512_sub_epi32(grp_reduce(p_[0], p_[1], p_[2], p_[3]), (xg)->CORR);                  \
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(r_), _mm512_mul_ps(grp_scales(w, sizeof(*(w)), nv), (xg)->dx), acc); \
    } while (0)

// Weight quad loaders with the (w, nv, lo, hi) shape.
AVX512VBMI static INLINE void load_q4_0_vbmi(const blk_q4_0 *w, int nv, __m512i *lo, __m512i *hi) {
    if (nv == 4) wquad_q4_0_vbmi(w, lo, hi);
    else wquad_q4_0(w, nv, lo, hi);
}
#define load_q8_0 wquad_q8_0

// PM_KERN: mm over NC prepared activation rows; PV_KERN: mv over NR weight
// rows. Same operations per (row, column) as Q8_GROUPS.
#define PM_KERN(name, wtype, LOAD, CORR, ATTR)                                                              \
    ATTR static INLINE void pmk_##name(int n, const void *vw, const void *x, size_t xs, float *out, size_t os, const int NC) { \
        const wtype *w = vw;                                                                                \
        const int nb = n / QK;                                                                              \
        __m512 acc[IR_MM_COLS];                                                                             \
        for (int c = 0; c < NC; c++) acc[c] = _mm512_setzero_ps();                                          \
        for (int g = 0; g < nb; g += GRP) {                                                                 \
            const int nv = nb - g < GRP ? nb - g : GRP;                                                     \
            __m512i lo[4], hi[4];                                                                           \
            for (int k = 0; k < 4; k++) {                                                                   \
                int qv = nv - 4 * k > 4 ? 4 : nv - 4 * k;                                                   \
                lo[k] = hi[k] = _mm512_setzero_si512();                                                     \
                if (qv > 0) LOAD(w + g + 4 * k, qv, &lo[k], &hi[k]);                                        \
            }                                                                                               \
            __m512 dw = grp_scales(w + g, sizeof(wtype), nv);                                               \
            for (int c = 0; c < NC; c++) {                                                                  \
                const grp_x *xg = (const grp_x *)((const char *)x + (size_t)c * xs) + g / GRP;              \
                __m512i r = grp_reduce(quad_dot(lo[0], hi[0], xg->q[0][0], xg->q[0][1]),                    \
                                       quad_dot(lo[1], hi[1], xg->q[1][0], xg->q[1][1]),                    \
                                       quad_dot(lo[2], hi[2], xg->q[2][0], xg->q[2][1]),                    \
                                       quad_dot(lo[3], hi[3], xg->q[3][0], xg->q[3][1]));                   \
                r = _mm512_sub_epi32(r, xg->CORR);                                                          \
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(r), _mm512_mul_ps(dw, xg->dx), acc[c]);         \
            }                                                                                               \
        }                                                                                                   \
        for (int c = 0; c < NC; c++) out[c * os] = _mm512_reduce_add_ps(acc[c]);                            \
    }                                                                                                       \
    ATTR static void pm_##name(int n, const void *w, const void *x, size_t xs, int nc, float *o, size_t os) { \
        MM_SWITCH(pmk_##name)                                                                               \
    }                                                                                                       \
    ATTR static void pv_##name(int n, const void *vw, size_t ws, int nr, const void *x, float *out) {      \
        const int nb = n / QK;                                                                              \
        for (int r = 0; r < nr; r++) {                                                                      \
            const wtype *w = (const wtype *)((const char *)vw + (size_t)r * ws);                            \
            const grp_x *xg = x;                                                                            \
            __m512 acc = _mm512_setzero_ps();                                                               \
            int g = 0;                                                                                      \
            for (; g + GRP <= nb; g += GRP, xg++) P_GROUP(w + g, xg, GRP, acc, LOAD, CORR);                  \
            if (g < nb) P_GROUP(w + g, xg, nb - g, acc, LOAD, CORR);                                        \
            out[r] = _mm512_reduce_add_ps(acc);                                                             \
        }                                                                                                   \
    }

PM_KERN(q4_0, blk_q4_0, load_q4_0_vbmi, corr8, AVX512VBMI)
PM_KERN(q8_0, blk_q8_0, load_q8_0, corr128, AVX512)

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

// hsum4: the sum of four int32.
AVX512 static INLINE int hsum4(__m128i v) {
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0x4e));
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0xb1));
    return _mm_cvtsi128_si32(v);
}

// scale_min_k4_vec: scale_min_k4 on 32-bit words; the eight 6-bit scales
// and mins as int16 lanes.
AVX512 static INLINE void scale_min_k4_vec(const uint8_t *s, __m128i *sc, __m128i *mn) {
    uint32_t u0, u1, u2;
    memcpy(&u0, s, 4);
    memcpy(&u1, s + 4, 4);
    memcpy(&u2, s + 8, 4);
    uint32_t sc_lo = u0 & 0x3f3f3f3f, mn_lo = u1 & 0x3f3f3f3f;
    uint32_t sc_hi = (u2 & 0x0f0f0f0f) | ((u0 >> 6) & 0x03030303) << 4;
    uint32_t mn_hi = ((u2 >> 4) & 0x0f0f0f0f) | ((u1 >> 6) & 0x03030303) << 4;
    *sc = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)((uint64_t)sc_hi << 32 | sc_lo)));
    *mn = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)((uint64_t)mn_hi << 32 | mn_lo)));
}

// k4_mins_vec: k4_mins with the mins as int16 lanes (pair sums of the
// bsums fit in int16: |16 * 127 * 2| < 32768).
AVX512 static INLINE int k4_mins_vec(__m128i mn, const int16_t *bsums) {
    __m256i p = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)bsums), _mm256_set1_epi16(1));
    __m128i b = _mm_packs_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    return hsum4(_mm_madd_epi16(mn, b));
}

// k6_offs_vec: the sum of the sixteen Q6_K scales times the bsums.
AVX512 static INLINE int k6_offs_vec(const int8_t *sc, const int16_t *bsums) {
    __m256i p = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc)), _mm256_loadu_si256((const __m256i *)bsums));
    return hsum4(_mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1)));
}

// Q4_K: 64 elements per step (groups 2j and 2j+1 side by side), products
// weighted by the groups' scales with vpdpwssd.
AVX512 static INLINE void kern_q4_K(int n, const void *vw, const void *x, size_t xs, float *out, size_t os, const int NC) {
    const blk_q4_K *w = vw;
    const __m256i m4 = _mm256_set1_epi8(15);
    float sum[IR_MM_COLS] = {0};
    for (int i = 0; i < n / QKK; i++) {
        __m128i sc, mn;
        scale_min_k4_vec(w[i].scales, &sc, &mn);
        __m512i sc16 = _mm512_castsi128_si512(sc);
        __m512i acc[IR_MM_COLS];
        for (int c = 0; c < NC; c++) acc[c] = _mm512_setzero_si512();
        for (int j = 0; j < 4; j++) {
            __m256i b = _mm256_loadu_si256((const __m256i *)(w[i].qs + 32 * j));
            __m512i q = pair(_mm256_and_si256(b, m4), _mm256_and_si256(_mm256_srli_epi16(b, 4), m4));
            __m512i scv = _mm512_permutexvar_epi16(_mm512_add_epi16(_mm512_set_epi16(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                                                                     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
                                                                    _mm512_set1_epi16((short)(2 * j))), sc16);
            for (int c = 0; c < NC; c++) {
                __m512i p = _mm512_maddubs_epi16(q, _mm512_loadu_si512(XROW(blk_q8_K, c, i)->qs + 64 * j));
                acc[c] = _mm512_dpwssd_epi32(acc[c], p, scv);
            }
        }
        for (int c = 0; c < NC; c++) {
            const blk_q8_K *xc = XROW(blk_q8_K, c, i);
            sum[c] = k_sum(sum[c], xc->d, w[i].d, w[i].dmin, _mm512_reduce_add_epi32(acc[c]), k4_mins_vec(mn, xc->bsums));
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
            int offs = k6_offs_vec(sc, xc->bsums);
            sum[c] = __builtin_fmaf(xc->d * ir_h2f(w[i].d), (float)(_mm512_reduce_add_epi32(acc[c]) - 32 * offs), sum[c]);
        }
    }
    for (int c = 0; c < NC; c++) out[c * os] = sum[c];
}
MM_ENTRY(q6_K)

void ir_init_avx512(void) {
    ir_traits[IR_F16].vec_dot = dot_f16;
    ir_traits[IR_F16].mm = mm_f16;
    ir_traits[IR_F16].mm2d = mm2d_f16;
    ir_traits[IR_Q4_0].vec_dot = dot_q4_0;
    ir_traits[IR_Q4_0].mm = mm_q4_0;
    unsigned a, b, c, d;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (c >> 1 & 1)) {  // VBMI
        ir_traits[IR_Q4_0].mm = pm_q4_0;
        ir_traits[IR_Q4_0].mv = pv_q4_0;
        ir_traits[IR_Q4_0].prepared = 1;
    }
    ir_traits[IR_Q8_0].vec_dot = dot_q8_0;
    ir_traits[IR_Q8_0].mm = pm_q8_0;
    ir_traits[IR_Q8_0].mv = pv_q8_0;
    ir_traits[IR_Q8_0].prepared = 1;
    ir_prep[IR_Q8_0] = prep_q8_0;
    ir_prep_size = prep_size_avx512;
    ir_traits[IR_Q4_K].vec_dot = dot_q4_K;
    ir_traits[IR_Q4_K].mm = mm_q4_K;
    ir_traits[IR_Q6_K].vec_dot = dot_q6_K;
    ir_traits[IR_Q6_K].mm = mm_q6_K;
    ir_init_packed_avx512();
    ir_init_attn_avx512();
}
#else
void ir_init_avx512(void) {}
#endif
