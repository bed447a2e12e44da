// Attention of a prompt batch with AVX-512: a block of query tokens and
// the query heads that share one kv head are taken together, so that the
// cached keys and values they all read are converted to floats once and the
// products become two small matrix multiplications without horizontal sums:
//   S = Q K^T  (keys transposed once per block: a query row times 32
//               positions per step, eight query rows at a time)
//   P = softmax(S) per row over the positions the token may see
//   O = P V    (four query rows times the whole head per step)
// Decode (a few tokens) reads each cache row once per kv head: sixteen
// rows at a time for all the query heads that share it, F16/F32 rows as
// floats and Q8_0/Q4_0 rows as integer dots (see "decode over a quantized
// cache" below).
#include "ir_cpu.h"

#include <math.h>

enum { ATT_T = IR_ATTN_BLOCK, ATT_QR = 8, ATT_COLS = 32 };

static int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// ir_attn_block_floats: scratch floats per thread for a block.
int64_t ir_attn_block_floats(int64_t hd, int64_t group, int64_t cap) {
    int64_t npad = round_up(cap, ATT_COLS), rows = round_up(ATT_T * group, ATT_QR);
    return 2 * hd * npad + rows * (2 * hd + npad + 1);
}

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))

// scores: s[r*ld + j] = q_r . k_j for rows r < nr (a multiple of ATT_QR)
// and positions j < ncol (a multiple of ATT_COLS); kt is [hd][ld].
AVX512 static void scores(int hd, const float *q, int nr, const float *kt, int ld, int ncol, float *s) {
    for (int r0 = 0; r0 < nr; r0 += ATT_QR)
        for (int j = 0; j < ncol; j += ATT_COLS) {
            __m512 a[ATT_QR][2];
            for (int r = 0; r < ATT_QR; r++) a[r][0] = a[r][1] = _mm512_setzero_ps();
            for (int d = 0; d < hd; d++) {
                __m512 k0 = _mm512_loadu_ps(kt + (size_t)d * ld + j), k1 = _mm512_loadu_ps(kt + (size_t)d * ld + j + 16);
                for (int r = 0; r < ATT_QR; r++) {
                    __m512 qb = _mm512_set1_ps(q[(size_t)(r0 + r) * hd + d]);
                    a[r][0] = _mm512_fmadd_ps(qb, k0, a[r][0]);
                    a[r][1] = _mm512_fmadd_ps(qb, k1, a[r][1]);
                }
            }
            for (int r = 0; r < ATT_QR; r++) {
                _mm512_storeu_ps(s + (size_t)(r0 + r) * ld + j, a[r][0]);
                _mm512_storeu_ps(s + (size_t)(r0 + r) * ld + j + 16, a[r][1]);
            }
        }
}

// values: o[r*HD + :] = sum_j p[r*ld + j] * v[j*HD + :] for nr <= R rows
// and positions j < np, all accumulators in registers (R*HD/16 <= 16).
AVX512 static inline __attribute__((always_inline)) void values_rows(const int HD, const int R, const float *p, int ld, const float *v, int np, int nr, float *o) {
    __m512 a[16];
    for (int i = 0; i < R * HD / 16; i++) a[i] = _mm512_setzero_ps();
    for (int j = 0; j < np; j++) {
        for (int c = 0; c < HD / 16; c++) {
            __m512 vv = _mm512_loadu_ps(v + (size_t)j * HD + 16 * c);
            for (int r = 0; r < R; r++)
                if (r < nr) a[r * (HD / 16) + c] = _mm512_fmadd_ps(_mm512_set1_ps(p[(size_t)r * ld + j]), vv, a[r * (HD / 16) + c]);
        }
    }
    for (int r = 0; r < nr; r++)
        for (int c = 0; c < HD / 16; c++) _mm512_storeu_ps(o + (size_t)r * HD + 16 * c, a[r * (HD / 16) + c]);
}

// values_any: the same for one row of any head size that is a multiple of
// 16 up to 256, the accumulators in memory.
AVX512 static void values_any(int hd, const float *p, const float *v, int np, float *o) {
    __m512 a[16];
    for (int c = 0; c < hd / 16; c++) a[c] = _mm512_setzero_ps();
    for (int j = 0; j < np; j++) {
        __m512 pb = _mm512_set1_ps(p[j]);
        for (int c = 0; c < hd / 16; c++) a[c] = _mm512_fmadd_ps(pb, _mm512_loadu_ps(v + (size_t)j * hd + 16 * c), a[c]);
    }
    for (int c = 0; c < hd / 16; c++) _mm512_storeu_ps(o + 16 * c, a[c]);
}

// load16: 16 floats of a cache row, from F16 or F32.
AVX512 static inline __m512 load16(const char *row, int f16, int d) {
    if (f16) return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + d)));
    return _mm512_loadu_ps((const float *)row + d);
}

// quant_row: hd floats of a cache row of any cache type.
AVX512 static void quant_row(int type, const char *row, float *y, int64_t hd) {
    if (ir_kv_quantized(type)) ir_traits[type].to_float(row, y, (int)hd);
    else for (int64_t d = 0; d < hd; d += 16) _mm512_storeu_ps(y + d, load16(row, type == IR_F16, (int)d));
}

// attn_block computes the outputs of batch tokens [t0, t0+nt) for kv head
// kvh (see ir_float_kernels.attn_block in ir_cpu.h).
AVX512 static void attn_block(const ir_attn_args *A, int64_t t0, int64_t nt, int64_t kvh, float *scratch) {
    const int64_t hd = A->hd, group = A->group, cap = A->cap;
    const int64_t npad = round_up(cap, ATT_COLS), rows = round_up(ATT_T * group, ATT_QR);
    float *kt = scratch, *vf = kt + hd * npad, *q = vf + hd * npad, *s = q + rows * hd, *o = s + rows * npad, *sums = o + rows * hd;
    // The positions the block sees: [jlo, jhi].
    int64_t jlo = INT64_MAX, jhi = -1;
    for (int64_t t = t0; t < t0 + nt; t++) {
        int64_t p = ir_attn_last(A, t), j0 = ir_attn_first(A, t);
        jlo = j0 < jlo ? j0 : jlo;
        jhi = p > jhi ? p : jhi;
    }
    const int64_t np = jhi - jlo + 1, ncol = round_up(np, ATT_COLS), nr = round_up(nt * group, ATT_QR);
    // Keys transposed to [hd][ncol] and values as floats [np][hd].
    for (int64_t j = 0; j < ncol; j++) {
        if (j >= np) {
            for (int64_t d = 0; d < hd; d++) kt[d * ncol + j] = 0;
            continue;
        }
        const int64_t at = ir_attn_row(A, jlo + j) * A->kvrow + kvh * hd;
        const char *kr = (const char *)A->k + ir_kv_bytes(A->ktype, at), *vr = (const char *)A->v + ir_kv_bytes(A->vtype, at);
        if (ir_kv_quantized(A->ktype) || ir_kv_quantized(A->vtype)) {
            // A quantized row is dequantized once for the whole block of
            // queries; the rest of the block is the float path's.
            float kf[256];
            quant_row(A->ktype, kr, kf, hd);
            for (int64_t d = 0; d < hd; d++) kt[d * ncol + j] = kf[d];
            quant_row(A->vtype, vr, vf + j * hd, hd);
            continue;
        }
        for (int64_t d = 0; d < hd; d += 16) {
            float tmp[16];
            _mm512_storeu_ps(tmp, load16(kr, A->kf16, (int)d));
            for (int e = 0; e < 16; e++) kt[(d + e) * ncol + j] = tmp[e];
            _mm512_storeu_ps(vf + j * hd + d, load16(vr, A->vf16, (int)d));
        }
    }
    // Scaled queries, row r = token (r / group), head (r % group).
    for (int64_t r = 0; r < nr; r++) {
        float *qr = q + r * hd;
        if (r >= nt * group) {
            for (int64_t d = 0; d < hd; d++) qr[d] = 0;
            continue;
        }
        int64_t t = t0 + r / group, g = r % group;
        const float *src = A->q + ((t * A->nh) + kvh * group + g) * hd;
        for (int64_t d = 0; d < hd; d++) qr[d] = src[d] * A->scale;
    }
    scores((int)hd, q, (int)nr, kt, (int)ncol, (int)ncol, s);
    // Softmax of each row over the positions its token sees; zeros elsewhere.
    for (int64_t r = 0; r < nt * group; r++) {
        int64_t p = ir_attn_last(A, t0 + r / group), j0 = ir_attn_first(A, t0 + r / group);
        float *sr = s + r * ncol, max = -INFINITY;
        int64_t a = j0 - jlo, b = p - jlo + 1;
        if (A->softcap > 0)
            for (int64_t j = a; j < b; j++) sr[j] = A->softcap * tanhf(sr[j] / A->softcap);
        max = ir_max(sr + a, b - a, max);
        for (int64_t j = 0; j < a; j++) sr[j] = 0;
        sums[r] = ir_fk.exp_sum((int)(b - a), sr + a, max);
        for (int64_t j = b; j < np; j++) sr[j] = 0;
    }
    const int R = hd == 64 ? 4 : hd == 128 ? 2 : 1;
    for (int64_t r = 0; r < nt * group; r += R) {
        int nrr = nt * group - r < R ? (int)(nt * group - r) : R;
        float *pr = s + r * ncol, *orow = o + r * hd;
        if (hd == 64) values_rows(64, 4, pr, (int)ncol, vf, (int)np, nrr, orow);
        else if (hd == 128) values_rows(128, 2, pr, (int)ncol, vf, (int)np, nrr, orow);
        else values_any((int)hd, pr, vf, (int)np, orow);
    }
    for (int64_t r = 0; r < nt * group; r++) {
        int64_t t = t0 + r / group, g = r % group;
        float inv = 1.0f / sums[r], *dst = A->out + ((t * A->nh) + kvh * group + g) * hd;
        for (int64_t d = 0; d < hd; d++) dst[d] = o[r * hd + d] * inv;
    }
}

// --- decode: one token's query heads against a run of cache rows -------------

// reduce16 returns the vector whose lane i is the sum of the lanes of v[i]:
// pairwise interleaving sums, 45 operations for 16 dot products.
AVX512 static inline __m512 reduce16(const __m512 *v) {
    __m512 t[8], u[4], w[2];
    for (int i = 0; i < 8; i++)
        t[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    for (int i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(t[2 * i]), b = _mm512_castps_pd(t[2 * i + 1]);
        u[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    }
    for (int i = 0; i < 2; i++)
        w[i] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0x88), _mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0xdd));
    return _mm512_add_ps(_mm512_shuffle_f32x4(w[0], w[1], 0x88), _mm512_shuffle_f32x4(w[0], w[1], 0xdd));
}

// dec_scores: s[g*ld + j] = q_g . K_j (see ir_float_kernels). Sixteen cache
// rows at a time are converted to floats once for all ng heads, and each
// head's sixteen dots are reduced together.
AVX512 static inline __attribute__((always_inline)) void dec_scores_hd(const int HD, const void *k, int f16, size_t stride, int npos, const float *q, int ng, float *s, int ld) {
    float kb[16 * 256] __attribute__((aligned(64)));
    for (int j0 = 0; j0 < npos; j0 += 16) {
        int nr = npos - j0 < 16 ? npos - j0 : 16;
        for (int r = 0; r < 16; r++)
            for (int d = 0; d < HD; d += 16)
                _mm512_store_ps(kb + r * HD + d, r < nr ? load16((const char *)k + (size_t)(j0 + r) * stride, f16, d) : _mm512_setzero_ps());
        for (int g = 0; g < ng; g++) {
            const float *qg = q + (size_t)g * HD;
            __m512 acc[16];
            for (int r = 0; r < 16; r++) {
                __m512 a = _mm512_mul_ps(_mm512_load_ps(kb + r * HD), _mm512_loadu_ps(qg));
                for (int d = 16; d < HD; d += 16) a = _mm512_fmadd_ps(_mm512_load_ps(kb + r * HD + d), _mm512_loadu_ps(qg + d), a);
                acc[r] = a;
            }
            _mm512_mask_storeu_ps(s + (size_t)g * ld + j0, (__mmask16)((1u << nr) - 1), reduce16(acc));
        }
    }
}

// dec_values: out[g*hd + :] += sum_j w[g*ld + j] * V_j, each value row
// converted once for up to G heads whose accumulators stay in registers.
AVX512 static inline __attribute__((always_inline)) void dec_values_hd(const int HD, const int G, const void *v, int f16, size_t stride, int npos, const float *w, int ng, int ld, float *out) {
    for (int g0 = 0; g0 < ng; g0 += G) {
        int ngg = ng - g0 < G ? ng - g0 : G;
        __m512 acc[16];
        for (int g = 0; g < G; g++)
            for (int c = 0; c < HD / 16; c++) acc[g * (HD / 16) + c] = g < ngg ? _mm512_loadu_ps(out + (size_t)(g0 + g) * HD + 16 * c) : _mm512_setzero_ps();
        for (int j = 0; j < npos; j++) {
            const char *row = (const char *)v + (size_t)j * stride;
            for (int c = 0; c < HD / 16; c++) {
                __m512 vv = load16(row, f16, 16 * c);
                for (int g = 0; g < G; g++)
                    if (g < ngg) acc[g * (HD / 16) + c] = _mm512_fmadd_ps(_mm512_set1_ps(w[(size_t)(g0 + g) * ld + j]), vv, acc[g * (HD / 16) + c]);
            }
        }
        for (int g = 0; g < ngg; g++)
            for (int c = 0; c < HD / 16; c++) _mm512_storeu_ps(out + (size_t)(g0 + g) * HD + 16 * c, acc[g * (HD / 16) + c]);
    }
}

// --- decode over a quantized cache -------------------------------------------
//
// Scores: the scaled queries are rounded to Q8_0 once per run of rows, as
// the portable kernel does. Sixteen key rows are loaded as unsigned quants
// (Q8_0 plus 128, Q4_0 nibbles in element order), two blocks a vector, and
// transposed so that int32 lane r holds four quants of row r: then eight
// vpdpbusd against broadcast query quants leave sixteen rows' exact block
// dots in one vector, which starts at -OFF * (sum of the query block's
// quants) to take the offset back, and one FMA scales and adds the block.
// Values: each block's 32 quants become two vectors of floats and the block
// scale goes into the softmax weight, computed for sixteen rows at once.
#define AVX512Q __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

enum { QMAX_BLOCKS = 8 };  // head sizes up to 256; larger ones go to the portable kernels

// Word indices into a pair of blocks for their quants.
static const uint16_t q8_quants[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                       18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33};
static const uint16_t q4_quants[32] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
                                       10, 11, 12, 13, 14, 15, 16, 17, 10, 11, 12, 13, 14, 15, 16, 17};
// The high nibbles go to the second 16 bytes of each block.
static const uint16_t q4_shifts[32] = {0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4,
                                       0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4};

// kpair: the 64 unsigned quants of nv (1 or 2) key blocks at p (zeros for
// an absent second block).
AVX512Q static inline __m512i kpair(const int Q4, const char *p, int nv) {
    if (Q4) {
        __m512i v = _mm512_maskz_loadu_epi8(((__mmask64)1 << (nv * sizeof(blk_q4_0))) - 1, p);
        __m512i w = _mm512_permutexvar_epi16(_mm512_loadu_si512(q4_quants), v);
        return _mm512_and_si512(_mm512_srlv_epi16(w, _mm512_loadu_si512(q4_shifts)), _mm512_set1_epi8(15));
    }
    // A Q8_0 pair is 68 bytes: its last two words come from a second load.
    __m512i v = nv == 2 ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi8(((__mmask64)1 << sizeof(blk_q8_0)) - 1, p);
    __m512i tail = nv == 2 ? _mm512_maskz_loadu_epi8(0xf, p + 64) : _mm512_setzero_si512();
    return _mm512_xor_si512(_mm512_permutex2var_epi16(v, _mm512_loadu_si512(q8_quants), tail), _mm512_set1_epi8(-128));
}

// transpose16: v[r] lane e becomes v[e] lane r (int32 lanes).
AVX512Q static inline void transpose16(__m512i *v) {
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
    }
    // u[4i+j], 128-bit lane k: element 4k+j of rows 4i..4i+3.
    for (int i = 0; i < 4; i++) {
        u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int j = 0; j < 4; j++) {
        __m512i a0 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x88), a1 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xdd);
        __m512i a2 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x88), a3 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xdd);
        v[j] = _mm512_shuffle_i32x4(a0, a2, 0x88);
        v[4 + j] = _mm512_shuffle_i32x4(a1, a3, 0x88);
        v[8 + j] = _mm512_shuffle_i32x4(a0, a2, 0xdd);
        v[12 + j] = _mm512_shuffle_i32x4(a1, a3, 0xdd);
    }
}

// row_offsets: the byte offsets of sixteen rows stride apart, for gathers.
AVX512Q static inline __m512i row_offsets(size_t stride) {
    return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32((int)stride));
}

// block_scales: the f16 scales (first field) of the blocks at p + the
// offsets in the lanes of m, as floats (zeros elsewhere).
AVX512Q static inline __m512 block_scales(const char *p, __m512i offsets, __mmask16 m) {
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, offsets, p, 1)));
}

AVX512Q static inline __attribute__((always_inline)) void qscores_nb(const int NB, const int Q4, const char *k, size_t stride, int npos, const ir_qblock *qb, int ng, float *s, int ld) {
    const int NP = (NB + 1) / 2;
    const size_t bs = Q4 ? sizeof(blk_q4_0) : sizeof(blk_q8_0);
    const __m512i offsets = row_offsets(stride);
    __m512i kt[QMAX_BLOCKS / 2][16];  // [pair][int32 column]: lane r is row r's
    __m512 kd[QMAX_BLOCKS];           // [block]: lane r is row r's scale
    for (int j0 = 0; j0 < npos; j0 += 16) {
        const int nr = npos - j0 < 16 ? npos - j0 : 16;
        const __mmask16 m = (__mmask16)((1u << nr) - 1);
        const char *k0 = k + (size_t)j0 * stride;
        for (int p = 0; p < NP; p++) {
            for (int r = 0; r < 16; r++) kt[p][r] = r < nr ? kpair(Q4, k0 + (size_t)r * stride + 2 * p * bs, NB - 2 * p < 2 ? 1 : 2) : _mm512_setzero_si512();
            transpose16(kt[p]);
        }
        for (int b = 0; b < NB; b++) kd[b] = block_scales(k0 + b * bs, offsets, m);
        for (int g = 0; g < ng; g++) {
            __m512 acc = _mm512_setzero_ps();
            for (int b = 0; b < NB; b++) {
                const ir_qblock *q = qb + (size_t)g * NB + b;
                const __m512i *col = kt[b / 2] + 8 * (b % 2);
                int32_t w[8];
                memcpy(w, q->qs, QK);
                __m512i d0 = _mm512_set1_epi32(q->corr), d1 = _mm512_setzero_si512();
                for (int c = 0; c < 8; c += 2) {
                    d0 = _mm512_dpbusd_epi32(d0, col[c], _mm512_set1_epi32(w[c]));
                    d1 = _mm512_dpbusd_epi32(d1, col[c + 1], _mm512_set1_epi32(w[c + 1]));
                }
                acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(d0, d1)), _mm512_mul_ps(kd[b], _mm512_set1_ps(q->d)), acc);
            }
            _mm512_mask_storeu_ps(s + (size_t)g * ld + j0, m, acc);
        }
    }
}

static void (*prev_scores_q)(int, int, const void *, size_t, int, const float *, int, float *, int, void *);
static void (*prev_values_q)(int, int, const void *, size_t, int, const float *, int, int, float *, float *);

AVX512Q static void qscores(int type, int hd, const void *k, size_t stride, int npos, const float *q, int ng, float *s, int ld, void *scratch) {
    const int nb = hd / QK, q4 = type == IR_Q4_0, off = q4 ? 8 : 128;
    // The gathers take the rows' offsets as int32.
    if (nb > QMAX_BLOCKS || stride > INT32_MAX / 16) {
        prev_scores_q(type, hd, k, stride, npos, q, ng, s, ld, scratch);
        return;
    }
    const ir_qblock *qb = ir_attn_qblocks(q, hd, ng, off, scratch);
#define QSCORES(NB) (q4 ? qscores_nb(NB, 1, k, stride, npos, qb, ng, s, ld) : qscores_nb(NB, 0, k, stride, npos, qb, ng, s, ld))
    switch (nb) {
    case 1: QSCORES(1); break;
    case 2: QSCORES(2); break;
    case 4: QSCORES(4); break;
    default: QSCORES(nb);
    }
#undef QSCORES
}

// qvalues_nb: out[g*hd + :] += sum_j w[g*ld + j] * V_j for G heads at a
// time, their accumulators in registers (G * NB * 2 <= 16).
AVX512Q static inline __attribute__((always_inline)) void qvalues_nb(const int NB, const int G, const int Q4, const char *v, size_t stride, int npos, const float *w, int ng, int ld, float *out) {
    const size_t bs = Q4 ? sizeof(blk_q4_0) : sizeof(blk_q8_0);
    const __m512i offsets = row_offsets(stride);
    float wd[QMAX_BLOCKS * 16];  // [g][b][r]: weight times block scale, G * NB <= QMAX_BLOCKS
    for (int g0 = 0; g0 < ng; g0 += G) {
        const int ngg = ng - g0 < G ? ng - g0 : G;
        __m512 acc[16];
        for (int g = 0; g < G; g++)
            for (int c = 0; c < 2 * NB; c++) acc[g * 2 * NB + c] = g < ngg ? _mm512_loadu_ps(out + (size_t)(g0 + g) * NB * QK + 16 * c) : _mm512_setzero_ps();
        for (int j0 = 0; j0 < npos; j0 += 16) {
            const int nr = npos - j0 < 16 ? npos - j0 : 16;
            const __mmask16 m = (__mmask16)((1u << nr) - 1);
            const char *v0 = v + (size_t)j0 * stride;
            for (int b = 0; b < NB; b++) {
                __m512 d = block_scales(v0 + b * bs, offsets, m);
                for (int g = 0; g < ngg; g++)
                    _mm512_storeu_ps(wd + (g * NB + b) * 16, _mm512_mul_ps(d, _mm512_maskz_loadu_ps(m, w + (size_t)(g0 + g) * ld + j0)));
            }
            for (int r = 0; r < nr; r++) {
                const char *row = v0 + (size_t)r * stride;
                for (int b = 0; b < NB; b++) {
                    __m512 x0, x1;
                    if (Q4) {
                        __m512i t = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)((const blk_q4_0 *)row + b)->qs));
                        x0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_and_si512(t, _mm512_set1_epi32(15)), _mm512_set1_epi32(8)));
                        x1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(t, 4), _mm512_set1_epi32(8)));
                    } else {
                        const int8_t *qs = ((const blk_q8_0 *)row + b)->qs;
                        x0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)qs)));
                        x1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(qs + 16))));
                    }
                    for (int g = 0; g < G; g++)
                        if (g < ngg) {
                            __m512 f = _mm512_set1_ps(wd[(g * NB + b) * 16 + r]);
                            acc[(g * NB + b) * 2] = _mm512_fmadd_ps(f, x0, acc[(g * NB + b) * 2]);
                            acc[(g * NB + b) * 2 + 1] = _mm512_fmadd_ps(f, x1, acc[(g * NB + b) * 2 + 1]);
                        }
                }
            }
        }
        for (int g = 0; g < ngg; g++)
            for (int c = 0; c < 2 * NB; c++) _mm512_storeu_ps(out + (size_t)(g0 + g) * NB * QK + 16 * c, acc[g * 2 * NB + c]);
    }
}

AVX512Q static void qvalues(int type, int hd, const void *v, size_t stride, int npos, const float *w, int ng, int ld, float *out, float *scratch) {
    const int nb = hd / QK, q4 = type == IR_Q4_0;
    // The gather takes the rows' offsets as int32.
    if (nb > QMAX_BLOCKS || stride > INT32_MAX / 16) {
        prev_values_q(type, hd, v, stride, npos, w, ng, ld, out, scratch);
        return;
    }
#define QVALUES(NB, G) (q4 ? qvalues_nb(NB, G, 1, v, stride, npos, w, ng, ld, out) : qvalues_nb(NB, G, 0, v, stride, npos, w, ng, ld, out))
    switch (nb) {
    case 1: QVALUES(1, 8); break;
    case 2: QVALUES(2, 4); break;
    case 3: QVALUES(3, 2); break;
    case 4: QVALUES(4, 2); break;
    default: QVALUES(nb, 1);
    }
#undef QVALUES
}

static void (*prev_scores)(int, const void *, int, size_t, int, const float *, int, float *, int);
static void (*prev_values)(int, const void *, int, size_t, int, const float *, int, int, float *);

AVX512 static void dec_scores(int hd, const void *k, int f16, size_t stride, int npos, const float *q, int ng, float *s, int ld) {
    switch (hd) {
    case 64: dec_scores_hd(64, k, f16, stride, npos, q, ng, s, ld); break;
    case 128: dec_scores_hd(128, k, f16, stride, npos, q, ng, s, ld); break;
    default: prev_scores(hd, k, f16, stride, npos, q, ng, s, ld);
    }
}

AVX512 static void dec_values(int hd, const void *v, int f16, size_t stride, int npos, const float *w, int ng, int ld, float *out) {
    switch (hd) {
    case 64: dec_values_hd(64, 4, v, f16, stride, npos, w, ng, ld, out); break;
    case 128: dec_values_hd(128, 2, v, f16, stride, npos, w, ng, ld, out); break;
    default: prev_values(hd, v, f16, stride, npos, w, ng, ld, out);
    }
}

void ir_init_attn_avx512(void) {
    ir_fk.attn_block = attn_block;
    prev_scores = ir_fk.attn_scores;  // AVX2 or portable: other head sizes
    prev_values = ir_fk.attn_values;
    ir_fk.attn_scores = dec_scores;
    ir_fk.attn_values = dec_values;
    prev_scores_q = ir_fk.attn_scores_q;
    prev_values_q = ir_fk.attn_values_q;
    ir_fk.attn_scores_q = qscores;
    ir_fk.attn_values_q = qvalues;
}
#else
void ir_init_attn_avx512(void) {}
#endif
