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
// lane r. Elements past k are zero. The weights of a panel are one
// sequential stream, which decode (one activation row, bound by memory)
// wants.
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

// Each activation row's sum for each half of the rows is one chain of
// multiply-adds over the pairs, whatever the number of activation rows:
// a column gets the same bits in every call, so decode and prefill agree.
AVX512 static INLINE void kern_f16(int n, const uint16_t *pan, const float *x, size_t xs, float *out, size_t os, int nr, const int NC) {
    __m512 acc[IR_PGEMM_COLS][2];
    for (int c = 0; c < NC; c++) acc[c][0] = acc[c][1] = _mm512_setzero_ps();
#define XC(c) ((const float *)((const char *)x + (size_t)(c) * xs))
#define PAIR(b, XV)                                                                                         \
    do {                                                                                                    \
        const uint16_t *pp = pan + (size_t)(b) * 2 * IR_PACK_ROWS;                                          \
        if (NC == 1 && PREFETCH) /* decode streams the weights once: ask for them early */                 \
            _mm_prefetch((const char *)pp + PREFETCH, _MM_HINT_T0);                                         \
        else /* prefill: bring the next panel, usually the next task, from memory */                       \
            _mm_prefetch((const char *)pp + next, _MM_HINT_T1);                                             \
        const __m512 w0 = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)pp));                          \
        const __m512 w1 = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(pp + IR_PACK_ROWS)));         \
        for (int c = 0; c < NC; c++) {                                                                      \
            const __m512 xv = (XV);                                                                         \
            acc[c][0] = _mm512_fmadd_ps(w0, xv, acc[c][0]);                                                 \
            acc[c][1] = _mm512_fmadd_ps(w1, xv, acc[c][1]);                                                 \
        }                                                                                                   \
    } while (0)
    const int full = n / 2;
    const size_t next = (size_t)panel_bytes_f16(n);  // one line of the next panel per pair
    for (int b = 0; b < full; b++) PAIR(b, pair_x(XC(c)[2 * b], XC(c)[2 * b + 1]));
    if (n % 2)  // the padded last pair: its second weights are zero, keep x[n] out
        PAIR(full, pair_x(XC(c)[n - 1], 0.0f));
#undef PAIR
#undef XC
    // lanes 2i, 2i+1 of acc[c][h] are row 8h+i's two partial sums
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __mmask16 keep = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
    for (int c = 0; c < NC; c++) {
        __m512 s = _mm512_add_ps(_mm512_permutex2var_ps(acc[c][0], even, acc[c][1]), _mm512_permutex2var_ps(acc[c][0], odd, acc[c][1]));
        _mm512_mask_storeu_ps(out + (size_t)c * os, keep, s);
    }
}

AVX512 static void pgemm_f16(int n, const void *panel, const void *x, size_t xs, int nc, float *out, size_t os, int nr) {
    switch (nc) {
    case 8: kern_f16(n, panel, x, xs, out, os, nr, 8); break;
    case 7: kern_f16(n, panel, x, xs, out, os, nr, 7); break;
    case 6: kern_f16(n, panel, x, xs, out, os, nr, 6); break;
    case 5: kern_f16(n, panel, x, xs, out, os, nr, 5); break;
    case 4: kern_f16(n, panel, x, xs, out, os, nr, 4); break;
    case 3: kern_f16(n, panel, x, xs, out, os, nr, 3); break;
    case 2: kern_f16(n, panel, x, xs, out, os, nr, 2); break;
    default: kern_f16(n, panel, x, xs, out, os, nr, 1);
    }
}

void ir_init_packed_f16_avx512(void) { ir_pack[IR_F16] = (ir_pack_traits){panel_bytes_f16, pack_f16, pgemm_f16}; }
#else
void ir_init_packed_f16_avx512(void) {}
#endif
