// Packed F16 weights (see packed.c).
//
// Layout: a panel is a run of groups of 4 elements; a group is 4 vectors of
// 16 halves (128 bytes), and lane 4q+j of vector g holds row 4q+g's element
// j of the group. A kernel converts the 4 vectors to floats once and
// multiplies each by the same activation vector (the group's 4 elements
// repeated 4 times, one 16-byte broadcast load): one load of activations
// feeds 4 multiply-adds covering 16 rows x 4 elements, where a layout of
// one element per vector needs a broadcast load per multiply-add and runs
// out of load slots before multiply-add slots. Lanes keep separate sums of
// the 4 elements of a group; at the end a 4x4 exchange adds them up and,
// because of the row order above, leaves row r's dot in lane r. Elements
// past k are zero (the last group is padded; the panel is whole 64-byte
// lines). The weights of a panel are one sequential stream, which decode
// (one activation row, bound by memory) wants.
#include "ir_cpu.h"

static int64_t panel_bytes_f16(int64_t k) { return k <= 0 ? -1 : (k + 3) / 4 * 128; }

static void pack_f16(const void *w, size_t row, int nr, void *panel, int64_t k) {
    uint16_t *p = panel;
    for (int r = 0; r < nr; r++) {
        const uint16_t *src = (const uint16_t *)((const char *)w + (size_t)r * row);
        int q = r / 4, g = r % 4;
        for (int64_t e = 0; e < k; e++) p[(e / 4 * 4 + g) * IR_PACK_ROWS + 4 * q + e % 4] = src[e];
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))
#define INLINE __attribute__((always_inline)) inline

#ifndef PREFETCH
#define PREFETCH 4096
#endif
// Activation rows per pass over a panel: 4 accumulators each, plus the 4
// weight vectors and an activation vector, in 32 registers.
#ifndef F16_COLS
#define F16_COLS 4
#endif

// Row group g's sums of each activation row are one chain of multiply-adds
// (four chains for decode's single row, enough to cover the latency), the
// same in every call whatever the number of rows: decode and prefill give
// the same bits.
AVX512 static INLINE void kern_f16(int n, const uint16_t *pan, const float *x, size_t xs, float *out, size_t os, int nr, const int NC) {
    __m512 acc[F16_COLS][4];
    for (int c = 0; c < NC; c++)
        for (int g = 0; g < 4; g++) acc[c][g] = _mm512_setzero_ps();
#define XC(c) ((const float *)((const char *)x + (size_t)(c) * xs))
#define GROUP(b, XT)                                                                                        \
    do {                                                                                                    \
        const uint16_t *grp = pan + (size_t)(b) * 4 * IR_PACK_ROWS;                                         \
        if (NC == 1 && PREFETCH) { /* decode streams the weights once: ask for them early */               \
            _mm_prefetch((const char *)grp + PREFETCH, _MM_HINT_T0);                                        \
            _mm_prefetch((const char *)grp + PREFETCH + 64, _MM_HINT_T0);                                   \
        }                                                                                                   \
        __m512 w[4];                                                                                        \
        for (int g = 0; g < 4; g++) w[g] = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(grp + g * IR_PACK_ROWS))); \
        for (int c = 0; c < NC; c++) {                                                                      \
            const __m512 xv = _mm512_broadcast_f32x4(XT);                                                   \
            for (int g = 0; g < 4; g++) acc[c][g] = _mm512_fmadd_ps(w[g], xv, acc[c][g]);                   \
        }                                                                                                   \
    } while (0)
    const int full = n / 4;
    for (int b = 0; b < full; b++) GROUP(b, _mm_loadu_ps(XC(c) + 4 * b));
    if (n % 4) {  // the padded last group: its weights are zero, keep x's beyond n out
        const __mmask8 m = (__mmask8)((1u << (n % 4)) - 1);
        GROUP(full, _mm_maskz_loadu_ps(m, XC(c) + 4 * full));
    }
#undef GROUP
#undef XC
    const __mmask16 keep = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
    for (int c = 0; c < NC; c++) {
        // 128-bit lane q of acc[c][g] holds row 4q+g's 4 partial sums
        __m512 a = acc[c][0], b = acc[c][1], cc = acc[c][2], d = acc[c][3];
        __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));      // a0+a2 b0+b2 a1+a3 b1+b3
        __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(cc, d), _mm512_unpackhi_ps(cc, d));    // c0+c2 d0+d2 c1+c3 d1+d3
        __m512d abd = _mm512_castps_pd(ab), cdd = _mm512_castps_pd(cd);
        __m512 s = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(abd, cdd)), _mm512_castpd_ps(_mm512_unpackhi_pd(abd, cdd)));
        _mm512_mask_storeu_ps(out + (size_t)c * os, keep, s);
    }
}

// pgemm_f16 takes the activation rows F16_COLS at a time; the panel is
// re-read from cache for each pass.
AVX512 static void pgemm_f16(int n, const void *panel, const void *vx, size_t xs, int nc, float *out, size_t os, int nr) {
    const float *x = vx;
    while (nc > 0) {
        int c = nc < F16_COLS ? nc : F16_COLS;
        switch (c) {
#if F16_COLS >= 6
        case 6: kern_f16(n, panel, x, xs, out, os, nr, 6); break;
        case 5: kern_f16(n, panel, x, xs, out, os, nr, 5); break;
#endif
        case 4: kern_f16(n, panel, x, xs, out, os, nr, 4); break;
        case 3: kern_f16(n, panel, x, xs, out, os, nr, 3); break;
        case 2: kern_f16(n, panel, x, xs, out, os, nr, 2); break;
        default: kern_f16(n, panel, x, xs, out, os, nr, 1);
        }
        x = (const float *)((const char *)x + (size_t)c * xs);
        out += (size_t)c * os;
        nc -= c;
    }
}

void ir_init_packed_f16_avx512(void) { ir_pack[IR_F16] = (ir_pack_traits){panel_bytes_f16, pack_f16, pgemm_f16}; }
#else
void ir_init_packed_f16_avx512(void) {}
#endif
