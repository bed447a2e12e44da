// Packed F16 weights (see packed.c).
//
// Layout: a panel is a run of pairs of elements; a pair is the 16 rows'
// two halves in row order (one 64-byte line), read as 2 vectors of 16
// halves: lane 2i+j of vector h holds row 8h+i's element j of the pair. A
// kernel converts the 2 vectors to floats once per pair and multiplies both
// by the same activation vector, the pair repeated 8 times (one 8-byte
// broadcast load, which costs no arithmetic slot, unlike wider broadcasts):
// a load of activations feeds 2 multiply-adds, and 8 activation rows share
// a conversion. One element per vector would need a load per multiply-add
// and run out of load slots first. Lanes keep the two elements of a pair
// apart; at the end one exchange adds them up and leaves row r's dot in
// lane r. Elements past k are zero. A kernel reads a panel as one or two
// sequential streams (see the halves below), which decode (one activation
// row, bound by memory) wants.
#include "ir_cpu.h"

static int64_t panel_bytes_f16(int64_t k) { return k <= 0 ? -1 : (k + 1) / 2 * 64; }

// pack_f16 copies a pair of halves of each row at a time, going along the
// 16 rows together: reads in 16 sequential streams, writes in one.
static void pack_f16(const void *w, size_t row, int nr, void *panel, int64_t k) {
    uint32_t *p = panel;  // one pair of halves of one row
    for (int64_t b = 0; b < k / 2; b++)
        for (int r = 0; r < nr; r++) memcpy(p + b * IR_PACK_ROWS + r, (const char *)w + r * row + b * 4, 4);
    if (k % 2)  // the last element alone, its pair's second half zero
        for (int r = 0; r < nr; r++)
            memcpy(p + k / 2 * IR_PACK_ROWS + r, (const char *)w + r * row + (k - 1) * 2, 2);
}

static void unpack_f16(const void *panel, int r, int64_t k, int64_t b0, int64_t nb, void *out) {
    (void)k;
    const uint16_t *p = panel;  // pair b of row r: halves 32b + 2r, 32b + 2r + 1
    uint16_t *y = out;
    for (int64_t e = b0; e < b0 + nb; e++) *y++ = p[e / 2 * 2 * IR_PACK_ROWS + 2 * r + (e & 1)];
}

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))
#define INLINE __attribute__((always_inline)) inline

#ifndef PREFETCH
#define PREFETCH 4096
#endif

// pair_x: the activation vector of a pair, (a, b) 8 times; from adjacent
// floats the compiler makes it one 8-byte broadcast load.
AVX512 static INLINE __m512 pair_x(float a, float b) {
    double d;
    float ab[2] = {a, b};
    memcpy(&d, ab, 8);
    return _mm512_castpd_ps(_mm512_set1_pd(d));
}

// The pairs of a panel are split in two halves, [0, h) and [h, np) with h
// = ceil(np/2); the padded pair of an odd k is the last of its half. Each
// (half, half of the rows, activation row) sum is one chain of
// multiply-adds in pair order, and the two halves' sums are added at the
// end, whatever the number of activation rows: a column gets the same bits
// in every call, so decode and prefill agree. Up to 4 activation rows take
// the halves side by side (decode: four chains cover the multiply-add
// latency); more take them one after the other, 8 rows sharing each
// conversion of weights.
typedef struct {
    int n, full, h;  // elements, whole pairs, first pair of the second half
    const uint16_t *pan;
    const float *x;
    size_t xs, next;  // next: bytes to the next panel, prefetched during prefill
} f16_job;

#define XC(c) ((const float *)((const char *)j->x + (size_t)(c) * j->xs))
#define XW(c, b) pair_x(XC(c)[2 * (b)], XC(c)[2 * (b) + 1])
#define XT(c, b) pair_x(XC(c)[2 * (b)], 0.0f)  // the padded pair's second weights are zero: keep x[n] out
// PAIR: pair b of activation rows 0..NC-1 into acc[c][H], acc[c][H+1];
// XV(c, b) is the activation vector.
#define PAIR(b, H, XV)                                                                                      \
    do {                                                                                                    \
        const int b_ = (b);                                                                                 \
        const uint16_t *pp = j->pan + (size_t)b_ * 2 * IR_PACK_ROWS;                                        \
        if (NC == 1 && PREFETCH) /* decode streams the weights once: ask for them early */                 \
            _mm_prefetch((const char *)pp + PREFETCH, _MM_HINT_T0);                                         \
        else /* prefill: bring the next panel, usually the next task, from memory */                       \
            _mm_prefetch((const char *)pp + j->next, _MM_HINT_T1);                                          \
        const __m512 w0 = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)pp));                          \
        const __m512 w1 = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(pp + IR_PACK_ROWS)));         \
        for (int c = 0; c < NC; c++) {                                                                      \
            const __m512 xv = XV(c, b_);                                                                    \
            acc[c][H] = _mm512_fmadd_ps(w0, xv, acc[c][H]);                                                 \
            acc[c][H + 1] = _mm512_fmadd_ps(w1, xv, acc[c][H + 1]);                                         \
        }                                                                                                   \
    } while (0)

// half_f16: one half (second: 0 or 1) for NC activation rows into sum.
AVX512 static INLINE void half_f16(const f16_job *j, int second, __m512 (*sum)[2], const int NC) {
    __m512 acc[IR_PGEMM_COLS][2];
    for (int c = 0; c < NC; c++) acc[c][0] = acc[c][1] = _mm512_setzero_ps();
    int b = second ? j->h : 0, end = second ? j->full : (j->h < j->full ? j->h : j->full);
    for (; b < end; b++) PAIR(b, 0, XW);
    if (j->n % 2 && (j->full >= j->h) == second) PAIR(j->full, 0, XT);
    for (int c = 0; c < NC; c++) sum[c][0] = acc[c][0], sum[c][1] = acc[c][1];
}

// halves_f16: both halves side by side for NC <= 4 activation rows.
AVX512 static INLINE void halves_f16(const f16_job *j, __m512 (*lo)[2], __m512 (*hi)[2], const int NC) {
    __m512 acc[4][4];
    for (int c = 0; c < NC; c++) acc[c][0] = acc[c][1] = acc[c][2] = acc[c][3] = _mm512_setzero_ps();
    const int both = j->full - j->h, lo_end = j->h < j->full ? j->h : j->full;  // second half: no more pairs than the first
    int b = 0;
    for (; b < both; b++) {
        PAIR(b, 0, XW);
        PAIR(j->h + b, 2, XW);
    }
    for (; b < lo_end; b++) PAIR(b, 0, XW);
    if (j->n % 2) {
        if (j->full >= j->h) PAIR(j->full, 2, XT);
        else PAIR(j->full, 0, XT);
    }
    for (int c = 0; c < NC; c++) lo[c][0] = acc[c][0], lo[c][1] = acc[c][1], hi[c][0] = acc[c][2], hi[c][1] = acc[c][3];
}
#undef PAIR
#undef XT
#undef XW
#undef XC

AVX512 static INLINE void kern_f16(const f16_job *j, float *out, size_t os, int nr, const int NC) {
    __m512 lo[IR_PGEMM_COLS][2], hi[IR_PGEMM_COLS][2];
    if (NC <= 4) {
        halves_f16(j, lo, hi, NC <= 4 ? NC : 4);  // the clamp keeps its 4 columns visibly in bounds
    } else {
        half_f16(j, 0, lo, NC);
        half_f16(j, 1, hi, NC);
    }
    // lanes 2i, 2i+1 of a column's sum for vector h are row 8h+i's two partial sums
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __mmask16 keep = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
    for (int c = 0; c < NC; c++) {
        __m512 a = _mm512_add_ps(lo[c][0], hi[c][0]), b = _mm512_add_ps(lo[c][1], hi[c][1]);
        __m512 s = _mm512_add_ps(_mm512_permutex2var_ps(a, even, b), _mm512_permutex2var_ps(a, odd, b));
        _mm512_mask_storeu_ps(out + (size_t)c * os, keep, s);
    }
}

AVX512 static void pgemm_f16(int n, const void *panel, const void *x, size_t xs, int nc, float *out, size_t os, int nr) {
    const int np = (n + 1) / 2;
    const f16_job j = {n, n / 2, (np + 1) / 2, panel, x, xs, (size_t)panel_bytes_f16(n)};
    switch (nc) {
    case 8: kern_f16(&j, out, os, nr, 8); break;
    case 7: kern_f16(&j, out, os, nr, 7); break;
    case 6: kern_f16(&j, out, os, nr, 6); break;
    case 5: kern_f16(&j, out, os, nr, 5); break;
    case 4: kern_f16(&j, out, os, nr, 4); break;
    case 3: kern_f16(&j, out, os, nr, 3); break;
    case 2: kern_f16(&j, out, os, nr, 2); break;
    default: kern_f16(&j, out, os, nr, 1);
    }
}

void ir_init_packed_f16_avx512(void) { ir_pack[IR_F16] = (ir_pack_traits){panel_bytes_f16, pack_f16, pgemm_f16, unpack_f16}; }
#else
void ir_init_packed_f16_avx512(void) {}
#endif
