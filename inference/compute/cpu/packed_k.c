// Packed Q4_K and Q6_K weights (the panel idea is in packed.c).
//
// Both layouts keep a panel's bytes per weight equal to the file's (decode
// reads every weight byte once per token, so a larger copy is a slower
// token) and one sequential stream of 64-byte lines per panel. The scales
// stay small integers in the panel: the kernels weight each group's exact
// integer dot by its scale in 32-bit integers and touch floats once per
// super-block and activation row.
//
// Rows past the end of the matrix are zero (zero scales and d).
#include "ir_cpu.h"

// Activations for the packed K-quant kernels: a Q8_K block with what the
// kernels would otherwise recompute for each weight panel.
typedef struct {
    int8_t qs[QKK];
    int32_t neg128[16];  // -128 * the sum of each group of 16: the Q6_K kernel starts a group's sum there
    int16_t gsum[8];     // the sums of the 8 groups of 32, in pairs for vpdpwssd against the Q4_K mins
    float d;
    int32_t pad[11];     // a block is whole 64-byte lines
} xq8k;
_Static_assert(sizeof(xq8k) == 384, "xq8k is six cache lines");

static int64_t xpack_row_size_q8_K(int64_t k) { return k / QKK * (int64_t)sizeof(xq8k); }

// The sums come from the quants themselves rather than from bsums, so that
// they are right whoever quantized the row.
static void xpack_q8_K(const void *vx, void *vp, int n) {
    const blk_q8_K *x = vx;
    xq8k *p = vp;
    for (int b = 0; b < n / QKK; b++) {
        int s16[16];
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int j = 0; j < 16; j++) s += x[b].qs[16 * g + j];
            s16[g] = s;
            p[b].neg128[g] = -128 * s;
        }
        for (int g = 0; g < 8; g++) p[b].gsum[g] = (int16_t)(s16[2 * g] + s16[2 * g + 1]);
        memcpy(p[b].qs, x[b].qs, QKK);
        p[b].d = x[b].d;
        memset(p[b].pad, 0, sizeof p[b].pad);
    }
}

// --- Q4_K --------------------------------------------------------------------
// A super-block position of a panel is 36 lines (144 bytes per row, as in
// the file):
//   line 0: the 16 rows' d (f16), then their dmin
//   lines 1-3: bytes 0-3, 4-7 and 8-11 of each row's 12 scale bytes, row r
//              in 32-bit lane r: a few vector ops unpack all 16 rows' 6-bit
//              scales and mins at once, so they cost no extra bytes
//   lines 4-35: quant line v holds bytes 4v..4v+3 of each row's qs, row r
//              at bytes 4r..4r+3. Byte 32j+i has element 64j+i in its low
//              nibble and 64j+32+i in its high one, so line v = 8j+t feeds
//              group 2j (low nibbles, activations 64j+4t..) and group 2j+1
//              (high nibbles, activations 64j+32+4t..), each with one
//              vpdpbusd per activation row.
enum { Q4K_SB = 36 * 64, Q4K_Q = 4 * 64 };

static int64_t panel_bytes_q4_K(int64_t k) { return k <= 0 || k % QKK ? -1 : k / QKK * Q4K_SB; }

static void pack_q4_K(const void *w, size_t row, int nr, void *panel, int64_t k) {
    for (int r = 0; r < nr; r++)
        for (int64_t b = 0; b < k / QKK; b++) {
            const blk_q4_K *x = (const blk_q4_K *)((const char *)w + r * row) + b;
            uint8_t *p = (uint8_t *)panel + b * Q4K_SB;
            ((uint16_t *)p)[r] = x->d;
            ((uint16_t *)p)[IR_PACK_ROWS + r] = x->dmin;
            for (int l = 0; l < 3; l++) memcpy(p + 64 * (1 + l) + 4 * r, x->scales + 4 * l, 4);
            for (int v = 0; v < 32; v++) memcpy(p + Q4K_Q + 64 * v + 4 * r, x->qs + 4 * v, 4);
        }
}

static void unpack_q4_K(const void *panel, int r, int64_t k, int64_t b0, int64_t nb, void *out) {
    (void)k;
    blk_q4_K *x = out;
    for (int64_t b = b0; b < b0 + nb; b++, x++) {
        const uint8_t *p = (const uint8_t *)panel + b * Q4K_SB;
        x->d = ((const uint16_t *)p)[r];
        x->dmin = ((const uint16_t *)p)[IR_PACK_ROWS + r];
        for (int l = 0; l < 3; l++) memcpy(x->scales + 4 * l, p + 64 * (1 + l) + 4 * r, 4);
        for (int v = 0; v < 32; v++) memcpy(x->qs + 4 * v, p + Q4K_Q + 64 * v + 4 * r, 4);
    }
}

// --- Q6_K --------------------------------------------------------------------
// Super-block positions go in pairs: one line with the 16 rows' d (f16,
// 32 bytes) of both, then the two positions' 52 lines of scales and
// quants each; an odd last position has its line to itself. That keeps
// 210 bytes per row as in the file, and everything comes in the order the
// kernel reads it: decode, bound by memory, streams each panel once.
//
// Scales: 4 lines of int8, group g's 16 rows at bytes 16g..: one
// sign-extending load per group.
//
// Quants: group g (elements 16g..16g+15, one scale) is 3 lines X, Y, Z.
// Chunk i of the group is elements 16g+4i..+3 of each row (4 bytes per
// row, row r at bytes 4r..). A chunk's unsigned 6-bit quants u are used
// as 4u (bits 2-7 of a byte), which vpdpbusd takes as they are:
//   X = 4u of chunk 0 | bits 0-1 of chunk 3's u
//   Y = 4u of chunk 1 | bits 2-3 of chunk 3's u
//   Z = 4u of chunk 2 | bits 4-5 of chunk 3's u
// so chunks 0-2 are one AND each and chunk 3 gathers its three 2-bit
// pieces with byte-wise bit moves (GFNI affine) and one OR. The kernel
// starts each group's sum at -128 * (group's activation sum), which turns
// 4u into 4(u - 32); every sum is 4 times the true one, undone in float.
enum { Q6K_SB = 52 * 64, Q6K_Q = 4 * 64 };

// q6_offsets gives the byte offsets in a panel of position b's scales and
// quants (q) and of its 16 d (d).
static void q6_offsets(int b, size_t *q, size_t *d) {
    size_t base = (size_t)(b >> 1) * (64 + 2 * Q6K_SB);
    *d = base + 32 * (b & 1);
    *q = base + 64 + (size_t)(b & 1) * Q6K_SB;
}

static int64_t panel_bytes_q6_K(int64_t k) {
    if (k <= 0 || k % QKK) return -1;
    int64_t nb = k / QKK;
    return nb / 2 * (2 * Q6K_SB + 64) + (nb & 1) * (Q6K_SB + 64);
}

static void pack_q6_K(const void *w, size_t row, int nr, void *panel, int64_t k) {
    const int nb = (int)(k / QKK);
    for (int r = 0; r < nr; r++)
        for (int b = 0; b < nb; b++) {
            const blk_q6_K *x = (const blk_q6_K *)((const char *)w + r * row) + b;
            uint8_t u[QKK];  // element order, 0..63
            for (int h = 0; h < 2; h++)
                for (int l = 0; l < 32; l++) {
                    const uint8_t *ql = x->ql + 64 * h, qh = x->qh[32 * h + l];
                    u[128 * h + l] = (ql[l] & 15) | (qh & 3) << 4;
                    u[128 * h + l + 32] = (ql[l + 32] & 15) | (qh >> 2 & 3) << 4;
                    u[128 * h + l + 64] = (ql[l] >> 4) | (qh >> 4 & 3) << 4;
                    u[128 * h + l + 96] = (ql[l + 32] >> 4) | (qh >> 6 & 3) << 4;
                }
            size_t qo, dof;
            q6_offsets(b, &qo, &dof);
            uint8_t *p = (uint8_t *)panel + qo, *pq = p + Q6K_Q;
            ((uint16_t *)((uint8_t *)panel + dof))[r] = x->d;
            for (int g = 0; g < 16; g++) {
                const uint8_t *e = u + 16 * g;
                for (int j = 0; j < 4; j++) {
                    uint8_t c3 = e[12 + j];
                    pq[192 * g + 4 * r + j] = (uint8_t)(e[j] << 2 | (c3 & 3));
                    pq[192 * g + 64 + 4 * r + j] = (uint8_t)(e[4 + j] << 2 | (c3 >> 2 & 3));
                    pq[192 * g + 128 + 4 * r + j] = (uint8_t)(e[8 + j] << 2 | c3 >> 4);
                }
                p[16 * g + r] = (uint8_t)x->scales[g];
            }
        }
}

static void unpack_q6_K(const void *panel, int r, int64_t k, int64_t b0, int64_t nb, void *out) {
    (void)k;
    blk_q6_K *x = out;
    for (int64_t b = b0; b < b0 + nb; b++, x++) {
        size_t qo, dof;
        q6_offsets((int)b, &qo, &dof);
        const uint8_t *p = (const uint8_t *)panel + qo, *pq = p + Q6K_Q;
        uint8_t u[QKK];
        x->d = ((const uint16_t *)((const uint8_t *)panel + dof))[r];
        for (int g = 0; g < 16; g++) {
            uint8_t *e = u + 16 * g;
            for (int j = 0; j < 4; j++) {
                uint8_t X = pq[192 * g + 4 * r + j], Y = pq[192 * g + 64 + 4 * r + j], Z = pq[192 * g + 128 + 4 * r + j];
                e[j] = X >> 2, e[4 + j] = Y >> 2, e[8 + j] = Z >> 2;
                e[12 + j] = (uint8_t)((X & 3) | (Y & 3) << 2 | (Z & 3) << 4);
            }
            x->scales[g] = (int8_t)p[16 * g + r];
        }
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++) {
                uint8_t u0 = u[128 * h + l], u1 = u[128 * h + l + 32], u2 = u[128 * h + l + 64], u3 = u[128 * h + l + 96];
                x->ql[64 * h + l] = (uint8_t)((u0 & 15) | (u2 & 15) << 4);
                x->ql[64 * h + l + 32] = (uint8_t)((u1 & 15) | (u3 & 15) << 4);
                x->qh[32 * h + l] = (uint8_t)(u0 >> 4 | (u1 >> 4) << 2 | (u2 >> 4) << 4 | (u3 >> 4) << 6);
            }
    }
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
// Only the Q6_K kernel may use GFNI: the others run on CPUs without it.
#define AVX512_GFNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,gfni,avx2,fma,f16c")))
#define INLINE __attribute__((always_inline)) inline
#ifndef PREFETCH
#define PREFETCH 4096
#endif

// dot4 adds to acc, per lane, the dot of w's 4 unsigned bytes with the 4
// signed activation quants at x. The activations come as an embedded
// broadcast: one instruction, where gcc makes a broadcast load and a
// vpdpbusd of the intrinsics.
AVX512 static INLINE __m512i dot4(__m512i acc, __m512i w, const int32_t *x) {
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*x));
    return acc;
}

// group_dots: out[c] = init[c] + the dots of chunks w[0..nw-1] with
// activation quants 4(x0+t).. of column c's block xq[c], for every column.
// With few columns a column's sum is two chains (decode would otherwise
// wait on nw dependent steps); with more, the columns are interleaved so
// that consecutive vpdpbusd are independent. Integer sums are exact, so
// both orders give the same bits.
AVX512 static INLINE void group_dots(const __m512i *w, int nw, const int32_t *const *xq, int x0, const __m512i *init, __m512i *out,
                                     const int NC) {
    if (NC <= 2) {
        for (int c = 0; c < NC; c++) {
            __m512i d0 = dot4(init[c], w[0], xq[c] + x0), d1 = dot4(_mm512_setzero_si512(), w[1], xq[c] + x0 + 1);
            for (int t = 2; t < nw; t += 2) {
                d0 = dot4(d0, w[t], xq[c] + x0 + t);
                d1 = dot4(d1, w[t + 1], xq[c] + x0 + t + 1);
            }
            out[c] = _mm512_add_epi32(d0, d1);
        }
        return;
    }
    for (int c = 0; c < NC; c++) out[c] = dot4(init[c], w[0], xq[c] + x0);
    for (int t = 1; t < nw; t++)
        for (int c = 0; c < NC; c++) out[c] = dot4(out[c], w[t], xq[c] + x0 + t);
}
#define XBLK(c, i) ((const xq8k *)((const char *)x + (size_t)(c) * xs) + (i))

// Decode streams each panel once: ask for its lines early.
#define PREFETCH_LINES(p, bytes)                                                            \
    if (NC == 1 && PREFETCH)                                                                \
        for (int l_ = 0; l_ < (bytes); l_ += 64) _mm_prefetch((const char *)(p) + PREFETCH + l_, _MM_HINT_T0);

// Per 128-bit lane shuffles that spread the bytes of each 32-bit lane:
// byte b alone (a scale), or bytes b, b+1 as two 16-bit halves (a pair of
// mins).
AVX512 static INLINE __m512i byte_of_lanes(int b) {
    const int8_t z = (int8_t)0x80;
    return _mm512_broadcast_i32x4(_mm_setr_epi8((int8_t)b, z, z, z, (int8_t)(4 + b), z, z, z, (int8_t)(8 + b), z, z, z,
                                                (int8_t)(12 + b), z, z, z));
}
AVX512 static INLINE __m512i pair_of_lanes(int b) {
    const int8_t z = (int8_t)0x80;
    return _mm512_broadcast_i32x4(_mm_setr_epi8((int8_t)b, z, (int8_t)(b + 1), z, (int8_t)(4 + b), z, (int8_t)(5 + b), z,
                                                (int8_t)(8 + b), z, (int8_t)(9 + b), z, (int8_t)(12 + b), z, (int8_t)(13 + b), z));
}

AVX512 static INLINE void kern_q4_K(int n, const void *panel, const void *x, size_t xs, float *out, size_t os, int nr, const int NC) {
    const int nb = n / QKK;
    const __m512i m4 = _mm512_set1_epi8(15), m6 = _mm512_set1_epi8(63), m30 = _mm512_set1_epi8(0x30);
    __m512 acc[IR_PGEMM_COLS];
    for (int c = 0; c < NC; c++) acc[c] = _mm512_setzero_ps();
    for (int i = 0; i < nb; i++) {
        const uint8_t *p = (const uint8_t *)panel + (size_t)i * Q4K_SB;
        PREFETCH_LINES(p, Q4K_SB)
        const __m512 dw = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_load_si256((const __m256i *)p)), _mm512_set1_ps(1.f / 16));
        const __m512 dm = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(p + 32)));
        // The 12 scale bytes of each row, unpacked for all 16 rows at once:
        // bytes 0-3 of each lane are scales (mins) 0-3, and 4-7.
        const __m512i u0 = _mm512_load_si512(p + 64), u2 = _mm512_load_si512(p + 192);
        const __m512i sc_lo = _mm512_and_si512(u0, m6);
        const __m512i sc_hi = _mm512_or_si512(_mm512_and_si512(u2, m4), _mm512_and_si512(_mm512_srli_epi32(u0, 2), m30));
        // Groups: 8 vpdpbusd give a group's exact dot per row; times the
        // rows' scales, summed over the super-block in int32. High nibbles
        // are taken in place (16 times their value), so the low nibbles'
        // scales are multiplied by 16 too and dw carries the 1/16.
        __m512i sc[8];
#pragma GCC unroll 8
        for (int g = 0; g < 8; g++) {
            sc[g] = _mm512_shuffle_epi8(g < 4 ? sc_lo : sc_hi, byte_of_lanes(g % 4));
            if (g % 2 == 0) sc[g] = _mm512_slli_epi32(sc[g], 4);
        }
        __m512i isum[IR_PGEMM_COLS], zero[IR_PGEMM_COLS];
        const int32_t *xq[IR_PGEMM_COLS];
        for (int c = 0; c < NC; c++) {
            isum[c] = zero[c] = _mm512_setzero_si512();
            xq[c] = (const int32_t *)XBLK(c, i)->qs;
        }
        const uint8_t *q = p + Q4K_Q;
        for (int j = 0; j < 4; j++)
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                const __m512i s = sc[2 * j + h];
                __m512i w[8];
                for (int t = 0; t < 8; t++) {
                    __m512i v = _mm512_load_si512(q + 64 * (8 * j + t));
                    w[t] = h ? _mm512_andnot_si512(m4, v) : _mm512_and_si512(v, m4);
                }
                __m512i d[IR_PGEMM_COLS];
                group_dots(w, 8, xq, 16 * j + 8 * h, zero, d, NC);  // activations 64j+32h..
                for (int c = 0; c < NC; c++) isum[c] = _mm512_add_epi32(isum[c], _mm512_mullo_epi32(d[c], s));
            }
        // Mins: sum over groups of min * (activation group sum), from the
        // scale lines again (in L1) rather than held through the groups.
        const __m512i v1 = _mm512_load_si512(p + 128), v2 = _mm512_load_si512(p + 192);
        const __m512i mn_lo = _mm512_and_si512(v1, m6);
        const __m512i mn_hi =
            _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(v2, 4), m4), _mm512_and_si512(_mm512_srli_epi32(v1, 2), m30));
        const __m512i p0 = _mm512_shuffle_epi8(mn_lo, pair_of_lanes(0)), p1 = _mm512_shuffle_epi8(mn_lo, pair_of_lanes(2));
        const __m512i p2 = _mm512_shuffle_epi8(mn_hi, pair_of_lanes(0)), p3 = _mm512_shuffle_epi8(mn_hi, pair_of_lanes(2));
        for (int c = 0; c < NC; c++) {
            const xq8k *xb = XBLK(c, i);
            const int32_t *gs = (const int32_t *)xb->gsum;
            __m512i m = _mm512_madd_epi16(p0, _mm512_set1_epi32(gs[0]));
            m = _mm512_dpwssd_epi32(m, p1, _mm512_set1_epi32(gs[1]));
            m = _mm512_dpwssd_epi32(m, p2, _mm512_set1_epi32(gs[2]));
            m = _mm512_dpwssd_epi32(m, p3, _mm512_set1_epi32(gs[3]));
            // d*scales*dots - dmin*mins, then times the activations' scale
            const __m512 t = _mm512_fmsub_ps(_mm512_cvtepi32_ps(isum[c]), dw, _mm512_mul_ps(_mm512_cvtepi32_ps(m), dm));
            acc[c] = _mm512_fmadd_ps(t, _mm512_set1_ps(xb->d), acc[c]);
        }
    }
    const __mmask16 keep = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
    for (int c = 0; c < NC; c++) _mm512_mask_storeu_ps(out + (size_t)c * os, keep, acc[c]);
}

// gf2p8affine matrix moving bits 0-1 of every byte to bits b, b+1 (the
// matrix's byte 7-i selects the input bits of output bit i).
#define MOVE2(b) ((long long)(0x01ull << 8 * (7 - (b)) | 0x02ull << 8 * (6 - (b))))

// q6_group adds group g's scaled dots to isum for every column (neg[c]:
// column c's block's neg128).
AVX512_GFNI static INLINE void q6_group(const uint8_t *q, const uint8_t *sc, int g, const int32_t *const *xq, const int32_t *const *neg,
                                        __m512i *isum, const int NC) {
    const __m512i mfc = _mm512_set1_epi8((char)0xfc);
    const __m512i to23 = _mm512_set1_epi64(MOVE2(2)), to45 = _mm512_set1_epi64(MOVE2(4)), to67 = _mm512_set1_epi64(MOVE2(6));
    const uint8_t *l = q + 192 * g;
    const __m512i X = _mm512_load_si512(l), Y = _mm512_load_si512(l + 64), Z = _mm512_load_si512(l + 128);
    const __m512i c3 = _mm512_ternarylogic_epi32(_mm512_gf2p8affine_epi64_epi8(X, to23, 0), _mm512_gf2p8affine_epi64_epi8(Y, to45, 0),
                                                 _mm512_gf2p8affine_epi64_epi8(Z, to67, 0), 0xfe);
    const __m512i w[4] = {_mm512_and_si512(X, mfc), _mm512_and_si512(Y, mfc), _mm512_and_si512(Z, mfc), c3};
    const __m512i s = _mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)(sc + 16 * g)));
    __m512i init[IR_PGEMM_COLS], d[IR_PGEMM_COLS];
    for (int c = 0; c < NC; c++) init[c] = _mm512_set1_epi32(neg[c][g]);
    group_dots(w, 4, xq, 4 * g, init, d, NC);
    for (int c = 0; c < NC; c++) isum[c] = _mm512_add_epi32(isum[c], _mm512_mullo_epi32(d[c], s));
}

AVX512_GFNI static INLINE void kern_q6_K(int n, const void *panel, const void *x, size_t xs, float *out, size_t os, int nr, const int NC) {
    const int nb = n / QKK;
    const uint8_t *pan = panel;
    __m512 acc[IR_PGEMM_COLS];
    for (int c = 0; c < NC; c++) acc[c] = _mm512_setzero_ps();
    for (int i = 0; i < nb; i++) {
        size_t qo, dof;
        q6_offsets(i, &qo, &dof);
        const uint8_t *sc = pan + qo, *q = sc + Q6K_Q;
        PREFETCH_LINES(sc, Q6K_SB + 64)
        const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(pan + dof)));
        __m512i isum[IR_PGEMM_COLS];
        const int32_t *xq[IR_PGEMM_COLS], *neg[IR_PGEMM_COLS];
        for (int c = 0; c < NC; c++) {
            isum[c] = _mm512_setzero_si512();
            xq[c] = (const int32_t *)XBLK(c, i)->qs;
            neg[c] = XBLK(c, i)->neg128;
        }
        if (NC <= 2) {  // decode: two groups per step keep more loads in flight
#pragma GCC unroll 2
            for (int g = 0; g < 16; g++) q6_group(q, sc, g, xq, neg, isum, NC);
        } else {
            for (int g = 0; g < 16; g++) q6_group(q, sc, g, xq, neg, isum, NC);
        }
        for (int c = 0; c < NC; c++)
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), _mm512_mul_ps(dw, _mm512_set1_ps(XBLK(c, i)->d * 0.25f)), acc[c]);
    }
    const __mmask16 keep = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
    for (int c = 0; c < NC; c++) _mm512_mask_storeu_ps(out + (size_t)c * os, keep, acc[c]);
}

// One instance of each kernel per column count, so that the column loops
// unroll; pgemm picks one by nc.
typedef void (*kern_fn)(int n, const void *p, const void *x, size_t xs, float *o, size_t os, int nr);
#define KERN_NC(name, k, ATTR)                                                                              \
    ATTR static void name##_nc##k(int n, const void *p, const void *x, size_t xs, float *o, size_t os, int nr) { \
        kern_##name(n, p, x, xs, o, os, nr, k);                                                             \
    }
#define KERN_TABLE(name, ATTR)                                                                              \
    KERN_NC(name, 1, ATTR) KERN_NC(name, 2, ATTR) KERN_NC(name, 3, ATTR) KERN_NC(name, 4, ATTR)             \
    KERN_NC(name, 5, ATTR) KERN_NC(name, 6, ATTR) KERN_NC(name, 7, ATTR) KERN_NC(name, 8, ATTR)             \
    static const kern_fn name##_by_nc[IR_PGEMM_COLS + 1] = {name##_nc1, name##_nc1, name##_nc2, name##_nc3, \
                                                            name##_nc4, name##_nc5, name##_nc6, name##_nc7, name##_nc8}; \
    static void pgemm_##name(int n, const void *p, const void *x, size_t xs, int nc, float *o, size_t os, int nr) { \
        name##_by_nc[nc < 1 ? 1 : nc > IR_PGEMM_COLS ? IR_PGEMM_COLS : nc](n, p, x, xs, o, os, nr);         \
    }
_Static_assert(IR_PGEMM_COLS == 8, "KERN_TABLE has one kernel per column count up to 8");

KERN_TABLE(q4_K, AVX512)
KERN_TABLE(q6_K, AVX512_GFNI)

// Called at the AVX-512 level, which already requires VNNI; the Q6_K
// kernel also needs GFNI.
void ir_init_packed_k_avx512(void) {
    unsigned a, b, c, d;
    int gfni = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c >> 8 & 1);
    ir_xpack[IR_Q8_K] = xpack_q8_K;
    ir_xpack_row_size_fn[IR_Q8_K] = xpack_row_size_q8_K;
    ir_pack[IR_Q4_K] = (ir_pack_traits){panel_bytes_q4_K, pack_q4_K, pgemm_q4_K, unpack_q4_K};
    if (gfni) ir_pack[IR_Q6_K] = (ir_pack_traits){panel_bytes_q6_K, pack_q6_K, pgemm_q6_K, unpack_q6_K};
}
#else
void ir_init_packed_k_avx512(void) {}
#endif
