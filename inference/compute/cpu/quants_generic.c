// Portable C kernels: dequantization of every supported weight type, the
// on-the-fly quantization of activations (Q8_0, Q8_1, Q8_K), and integer dot
// products of weight rows with quantized activations. The SIMD files replace
// some of these; tests check that they agree with these versions.
#include <math.h>
#include "ir_cpu.h"

float ir_f16_table[65536];
ir_type_traits ir_traits[IR_NTYPES];
ir_quantize_fn ir_quantize[IR_NTYPES];
ir_prep_fn ir_prep[IR_NTYPES];
static int64_t no_prep(int vdt, int64_t n) {
    (void)vdt;
    (void)n;
    return 0;
}
int64_t (*ir_prep_size)(int vdt, int64_t n) = no_prep;
uint32_t ir_iq3s_grid[512];
int ir_iq3s_grid_ready;

const int8_t ir_kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static float h2f_bits(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, u;
    if (exp == 0x1f) {
        u = sign | 0x7f800000 | (mant ? 0x400000 | mant << 13 : 0);
    } else if (exp) {
        u = sign | (exp + 112) << 23 | mant << 13;
    } else if (!mant) {
        u = sign;
    } else {  // subnormal: normalise the mantissa
        uint32_t e = 113;
        while (!(mant & 0x400)) { mant <<= 1; e--; }
        u = sign | e << 23 | (mant & 0x3ff) << 13;
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t ir_f2h(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    uint16_t sign = (b >> 16) & 0x8000;
    int32_t exp = (b >> 23) & 0xff;
    uint32_t mant = b & 0x7fffff;
    if (exp == 0xff) return sign | (mant ? 0x7e00 : 0x7c00);
    int32_t e = exp - 112;
    if (e >= 31) return sign | 0x7c00;
    if (e <= 0) {
        if (e < -10) return sign;
        uint32_t m = mant | 0x800000, shift = 14 - e, q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        return sign | (uint16_t)(q + (rem > half || (rem == half && (q & 1))));
    }
    uint32_t q = (uint32_t)e << 10 | mant >> 13, rem = mant & 0x1fff;
    return sign | (uint16_t)(q + (rem > 0x1000 || (rem == 0x1000 && (q & 1))));
}

// nearest rounds to the nearest integer, ties to even, for |v| < 2^22.
static inline int nearest(float v) {
    float t = v + 12582912.f;
    int32_t i;
    memcpy(&i, &t, 4);
    return (i & 0x007fffff) - 0x00400000;
}

// --- activation quantization -----------------------------------------------

void ir_quantize_q8_0(const float *x, void *vy, int n) {
    blk_q8_0 *y = vy;
    for (int i = 0; i < n / QK; i++, x += QK) {
        float amax = 0;
        for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127, id = d ? 1 / d : 0;
        y[i].d = ir_f2h(d);
        for (int j = 0; j < QK; j++) y[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

void ir_quantize_q8_1(const float *x, void *vy, int n) {
    blk_q8_1 *y = vy;
    for (int i = 0; i < n / QK; i++, x += QK) {
        float amax = 0;
        for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127, id = d ? 1 / d : 0;
        int sum = 0;
        for (int j = 0; j < QK; j++) {
            y[i].qs[j] = (int8_t)roundf(x[j] * id);
            sum += y[i].qs[j];
        }
        y[i].d = ir_f2h(d);
        y[i].s = ir_f2h(sum * d);
    }
}

void ir_quantize_q8_K(const float *x, void *vy, int n) {
    blk_q8_K *y = vy;
    for (int i = 0; i < n / QKK; i++, x += QKK) {
        float amax = 0, max = 0;
        for (int j = 0; j < QKK; j++) {
            if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        }
        memset(&y[i], 0, sizeof y[i]);
        if (amax == 0) continue;
        float iscale = -127.f / max;
        for (int j = 0; j < QKK; j++) {
            int v = nearest(iscale * x[j]);
            y[i].qs[j] = (int8_t)(v > 127 ? 127 : v);
        }
        for (int j = 0; j < QKK / 16; j++) {
            int s = 0;
            for (int k = 0; k < 16; k++) s += y[i].qs[16 * j + k];
            y[i].bsums[j] = (int16_t)s;
        }
        y[i].d = 1 / iscale;
    }
}

// --- dequantization --------------------------------------------------------

static void deq_f32(const void *w, float *y, int n) { memcpy(y, w, (size_t)n * 4); }

static void deq_f16(const void *vw, float *y, int n) {
    const uint16_t *w = vw;
    for (int i = 0; i < n; i++) y[i] = ir_h2f(w[i]);
}

static void deq_bf16(const void *vw, float *y, int n) {
    const uint16_t *w = vw;
    for (int i = 0; i < n; i++) y[i] = ir_bf2f(w[i]);
}

static void deq_q4_0(const void *vw, float *y, int n) {
    const blk_q4_0 *w = vw;
    for (int i = 0; i < n / QK; i++, y += QK) {
        float d = ir_h2f(w[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = ((w[i].qs[j] & 15) - 8) * d;
            y[j + 16] = ((w[i].qs[j] >> 4) - 8) * d;
        }
    }
}

static void deq_q4_1(const void *vw, float *y, int n) {
    const blk_q4_1 *w = vw;
    for (int i = 0; i < n / QK; i++, y += QK) {
        float d = ir_h2f(w[i].d), m = ir_h2f(w[i].m);
        for (int j = 0; j < 16; j++) {
            y[j] = (w[i].qs[j] & 15) * d + m;
            y[j + 16] = (w[i].qs[j] >> 4) * d + m;
        }
    }
}

static inline uint32_t load32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static void deq_q5_0(const void *vw, float *y, int n) {
    const blk_q5_0 *w = vw;
    for (int i = 0; i < n / QK; i++, y += QK) {
        float d = ir_h2f(w[i].d);
        uint32_t qh = load32(w[i].qh);
        for (int j = 0; j < 16; j++) {
            y[j] = (int)(((w[i].qs[j] & 15) | ((qh >> j) & 1) << 4) - 16) * d;
            y[j + 16] = (int)(((w[i].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4) - 16) * d;
        }
    }
}

static void deq_q5_1(const void *vw, float *y, int n) {
    const blk_q5_1 *w = vw;
    for (int i = 0; i < n / QK; i++, y += QK) {
        float d = ir_h2f(w[i].d), m = ir_h2f(w[i].m);
        uint32_t qh = load32(w[i].qh);
        for (int j = 0; j < 16; j++) {
            y[j] = ((w[i].qs[j] & 15) | ((qh >> j) & 1) << 4) * d + m;
            y[j + 16] = ((w[i].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4) * d + m;
        }
    }
}

static void deq_q8_0(const void *vw, float *y, int n) {
    const blk_q8_0 *w = vw;
    for (int i = 0; i < n / QK; i++, y += QK) {
        float d = ir_h2f(w[i].d);
        for (int j = 0; j < QK; j++) y[j] = w[i].qs[j] * d;
    }
}

static void deq_iq4_nl(const void *vw, float *y, int n) {
    const blk_iq4_nl *w = vw;
    for (int i = 0; i < n / QK; i++, y += QK) {
        float d = ir_h2f(w[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = d * ir_kvalues_iq4nl[w[i].qs[j] & 15];
            y[j + 16] = d * ir_kvalues_iq4nl[w[i].qs[j] >> 4];
        }
    }
}

// Q2_K..Q6_K, IQ4_XS: each super-block of 256 is unpacked to small signed
// integers q[256] with a scale per group (and for Q2_K/Q4_K/Q5_K a min per
// group), so dequantization and the dot products share one unpacking.

// Q2_K: 16 groups of 16; value = d*sc*q - dmin*m.
static void unpack_q2_K(const blk_q2_K *b, int8_t *q) {
    for (int n = 0; n < 2; n++)
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 32; l++) q[n * 128 + j * 32 + l] = (b->qs[n * 32 + l] >> (2 * j)) & 3;
}

// Q3_K: 16 groups of 16 with signed 6-bit scales; q in -4..3.
static void unpack_q3_K(const blk_q3_K *b, int8_t *q, int8_t *sc) {
    for (int n = 0; n < 2; n++)
        for (int j = 0; j < 4; j++) {
            int m = 1 << (4 * n + j);
            for (int l = 0; l < 32; l++)
                q[n * 128 + j * 32 + l] = ((b->qs[n * 32 + l] >> (2 * j)) & 3) - ((b->hmask[l] & m) ? 0 : 4);
        }
    const uint8_t *s = b->scales;
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
        int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
        sc[j] = (int8_t)((lo | hi << 4) - 32);
    }
}

static void unpack_q4_K(const blk_q4_K *b, int8_t *q) {
    for (int j = 0; j < 4; j++)
        for (int l = 0; l < 32; l++) {
            q[64 * j + l] = b->qs[32 * j + l] & 15;
            q[64 * j + 32 + l] = b->qs[32 * j + l] >> 4;
        }
}

static void unpack_q5_K(const blk_q5_K *b, int8_t *q) {
    for (int j = 0; j < 4; j++)
        for (int l = 0; l < 32; l++) {
            q[64 * j + l] = (b->qs[32 * j + l] & 15) | ((b->qh[l] >> (2 * j)) & 1) << 4;
            q[64 * j + 32 + l] = (b->qs[32 * j + l] >> 4) | ((b->qh[l] >> (2 * j + 1)) & 1) << 4;
        }
}

// Q6_K: 16 groups of 16 with int8 scales; q in -32..31.
static void unpack_q6_K(const blk_q6_K *b, int8_t *q) {
    for (int n = 0; n < 2; n++) {
        const uint8_t *ql = b->ql + 64 * n, *qh = b->qh + 32 * n;
        int8_t *o = q + 128 * n;
        for (int l = 0; l < 32; l++) {
            o[l] = (int8_t)(((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) - 32);
            o[l + 32] = (int8_t)(((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32);
            o[l + 64] = (int8_t)(((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
            o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
        }
    }
}

// IQ4_XS: 8 groups of 32 with 6-bit scales (offset 32), q = kvalues[nibble].
static void unpack_iq4_xs(const blk_iq4_xs *b, int8_t *q, int8_t *sc) {
    for (int g = 0; g < 8; g++) {
        int ls = ((b->scales_l[g / 2] >> (4 * (g % 2))) & 15) | ((b->scales_h >> (2 * g)) & 3) << 4;
        sc[g] = (int8_t)(ls - 32);
        for (int j = 0; j < 16; j++) {
            q[32 * g + j] = ir_kvalues_iq4nl[b->qs[16 * g + j] & 15];
            q[32 * g + j + 16] = ir_kvalues_iq4nl[b->qs[16 * g + j] >> 4];
        }
    }
}

// IQ3_S: 8 groups of 32 (4-bit scales, value 1+2*s), each 4 values from the
// 512-entry grid, with sign bits.
static void unpack_iq3_s(const blk_iq3_s *b, int8_t *q, int8_t *sc) {
    for (int g = 0; g < 8; g++) {
        sc[g] = (int8_t)(1 + 2 * ((b->scales[g / 2] >> (4 * (g % 2))) & 15));
        const uint8_t *qs = b->qs + 8 * g, *signs = b->signs + 4 * g;
        uint8_t qh = b->qh[g];
        for (int l = 0; l < 4; l++) {
            uint32_t g1 = ir_iq3s_grid[qs[2 * l] | ((qh << (8 - 2 * l)) & 256)];
            uint32_t g2 = ir_iq3s_grid[qs[2 * l + 1] | ((qh << (7 - 2 * l)) & 256)];
            for (int j = 0; j < 4; j++) {
                int v1 = (g1 >> (8 * j)) & 255, v2 = (g2 >> (8 * j)) & 255;
                q[32 * g + 8 * l + j] = (int8_t)((signs[l] >> j) & 1 ? -v1 : v1);
                q[32 * g + 8 * l + j + 4] = (int8_t)((signs[l] >> (j + 4)) & 1 ? -v2 : v2);
            }
        }
    }
}

static void deq_q2_K(const void *vw, float *y, int n) {
    const blk_q2_K *w = vw;
    int8_t q[QKK];
    for (int i = 0; i < n / QKK; i++, y += QKK) {
        float d = ir_h2f(w[i].d), dmin = ir_h2f(w[i].dmin);
        unpack_q2_K(&w[i], q);
        for (int g = 0; g < 16; g++) {
            float dl = d * (w[i].scales[g] & 15), ml = dmin * (w[i].scales[g] >> 4);
            for (int l = 0; l < 16; l++) y[16 * g + l] = dl * q[16 * g + l] - ml;
        }
    }
}

static void deq_q3_K(const void *vw, float *y, int n) {
    const blk_q3_K *w = vw;
    int8_t q[QKK], sc[16];
    for (int i = 0; i < n / QKK; i++, y += QKK) {
        float d = ir_h2f(w[i].d);
        unpack_q3_K(&w[i], q, sc);
        for (int g = 0; g < 16; g++) {
            float dl = d * sc[g];
            for (int l = 0; l < 16; l++) y[16 * g + l] = dl * q[16 * g + l];
        }
    }
}

static void deq_q4_K(const void *vw, float *y, int n) {
    const blk_q4_K *w = vw;
    int8_t q[QKK];
    uint8_t sc[8], mn[8];
    for (int i = 0; i < n / QKK; i++, y += QKK) {
        float d = ir_h2f(w[i].d), dmin = ir_h2f(w[i].dmin);
        unpack_q4_K(&w[i], q);
        scale_min_k4(w[i].scales, sc, mn);
        for (int g = 0; g < 8; g++) {
            float dl = d * sc[g], ml = dmin * mn[g];
            for (int l = 0; l < 32; l++) y[32 * g + l] = dl * q[32 * g + l] - ml;
        }
    }
}

static void deq_q5_K(const void *vw, float *y, int n) {
    const blk_q5_K *w = vw;
    int8_t q[QKK];
    uint8_t sc[8], mn[8];
    for (int i = 0; i < n / QKK; i++, y += QKK) {
        float d = ir_h2f(w[i].d), dmin = ir_h2f(w[i].dmin);
        unpack_q5_K(&w[i], q);
        scale_min_k4(w[i].scales, sc, mn);
        for (int g = 0; g < 8; g++) {
            float dl = d * sc[g], ml = dmin * mn[g];
            for (int l = 0; l < 32; l++) y[32 * g + l] = dl * q[32 * g + l] - ml;
        }
    }
}

static void deq_q6_K(const void *vw, float *y, int n) {
    const blk_q6_K *w = vw;
    int8_t q[QKK];
    for (int i = 0; i < n / QKK; i++, y += QKK) {
        float d = ir_h2f(w[i].d);
        unpack_q6_K(&w[i], q);
        for (int l = 0; l < QKK; l++) y[l] = d * w[i].scales[l / 16] * q[l];
    }
}

static void deq_iq4_xs(const void *vw, float *y, int n) {
    const blk_iq4_xs *w = vw;
    int8_t q[QKK], sc[8];
    for (int i = 0; i < n / QKK; i++, y += QKK) {
        float d = ir_h2f(w[i].d);
        unpack_iq4_xs(&w[i], q, sc);
        for (int l = 0; l < QKK; l++) y[l] = d * sc[l / 32] * q[l];
    }
}

static void deq_iq3_s(const void *vw, float *y, int n) {
    const blk_iq3_s *w = vw;
    int8_t q[QKK], sc[8];
    for (int i = 0; i < n / QKK; i++, y += QKK) {
        float d = ir_h2f(w[i].d);
        unpack_iq3_s(&w[i], q, sc);
        for (int l = 0; l < QKK; l++) y[l] = d * sc[l / 32] * q[l];
    }
}

// --- dot products ------------------------------------------------------------

static void dot_f32(int n, float *s, const void *vw, const void *vx) {
    const float *w = vw, *x = vx;
    float sum = 0;
    for (int i = 0; i < n; i++) sum += w[i] * x[i];
    *s = sum;
}

static void dot_f16(int n, float *s, const void *vw, const void *vx) {
    const uint16_t *w = vw;
    const float *x = vx;
    float sum = 0;
    for (int i = 0; i < n; i++) sum += ir_h2f(w[i]) * x[i];
    *s = sum;
}

static void dot_bf16(int n, float *s, const void *vw, const void *vx) {
    const uint16_t *w = vw;
    const float *x = vx;
    float sum = 0;
    for (int i = 0; i < n; i++) sum += ir_bf2f(w[i]) * x[i];
    *s = sum;
}

static void dot_q4_0(int n, float *s, const void *vw, const void *vx) {
    const blk_q4_0 *w = vw;
    const blk_q8_0 *x = vx;
    float sum = 0;
    for (int i = 0; i < n / QK; i++) {
        int si = 0;
        for (int j = 0; j < 16; j++)
            si += ((w[i].qs[j] & 15) - 8) * x[i].qs[j] + ((w[i].qs[j] >> 4) - 8) * x[i].qs[j + 16];
        sum += si * ir_h2f(w[i].d) * ir_h2f(x[i].d);
    }
    *s = sum;
}

static void dot_q4_1(int n, float *s, const void *vw, const void *vx) {
    const blk_q4_1 *w = vw;
    const blk_q8_1 *x = vx;
    float sum = 0;
    for (int i = 0; i < n / QK; i++) {
        int si = 0;
        for (int j = 0; j < 16; j++) si += (w[i].qs[j] & 15) * x[i].qs[j] + (w[i].qs[j] >> 4) * x[i].qs[j + 16];
        sum += si * ir_h2f(w[i].d) * ir_h2f(x[i].d) + ir_h2f(w[i].m) * ir_h2f(x[i].s);
    }
    *s = sum;
}

static void dot_q5_0(int n, float *s, const void *vw, const void *vx) {
    const blk_q5_0 *w = vw;
    const blk_q8_0 *x = vx;
    float sum = 0;
    for (int i = 0; i < n / QK; i++) {
        uint32_t qh = load32(w[i].qh);
        int si = 0;
        for (int j = 0; j < 16; j++) {
            int a = ((w[i].qs[j] & 15) | ((qh >> j) & 1) << 4) - 16;
            int b = ((w[i].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4) - 16;
            si += a * x[i].qs[j] + b * x[i].qs[j + 16];
        }
        sum += si * ir_h2f(w[i].d) * ir_h2f(x[i].d);
    }
    *s = sum;
}

static void dot_q5_1(int n, float *s, const void *vw, const void *vx) {
    const blk_q5_1 *w = vw;
    const blk_q8_1 *x = vx;
    float sum = 0;
    for (int i = 0; i < n / QK; i++) {
        uint32_t qh = load32(w[i].qh);
        int si = 0;
        for (int j = 0; j < 16; j++) {
            int a = (w[i].qs[j] & 15) | ((qh >> j) & 1) << 4;
            int b = (w[i].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4;
            si += a * x[i].qs[j] + b * x[i].qs[j + 16];
        }
        sum += si * ir_h2f(w[i].d) * ir_h2f(x[i].d) + ir_h2f(w[i].m) * ir_h2f(x[i].s);
    }
    *s = sum;
}

static void dot_q8_0(int n, float *s, const void *vw, const void *vx) {
    const blk_q8_0 *w = vw;
    const blk_q8_0 *x = vx;
    float sum = 0;
    for (int i = 0; i < n / QK; i++) {
        int si = 0;
        for (int j = 0; j < QK; j++) si += w[i].qs[j] * x[i].qs[j];
        sum += si * ir_h2f(w[i].d) * ir_h2f(x[i].d);
    }
    *s = sum;
}

static void dot_iq4_nl(int n, float *s, const void *vw, const void *vx) {
    const blk_iq4_nl *w = vw;
    const blk_q8_0 *x = vx;
    float sum = 0;
    for (int i = 0; i < n / QK; i++) {
        int si = 0;
        for (int j = 0; j < 16; j++)
            si += ir_kvalues_iq4nl[w[i].qs[j] & 15] * x[i].qs[j] + ir_kvalues_iq4nl[w[i].qs[j] >> 4] * x[i].qs[j + 16];
        sum += si * ir_h2f(w[i].d) * ir_h2f(x[i].d);
    }
    *s = sum;
}

// group_dots returns the integer dots of q and x over groups of size gs.
static void group_dots(const int8_t *q, const int8_t *x, int gs, int *out) {
    for (int g = 0; g < QKK / gs; g++) {
        int s = 0;
        for (int l = 0; l < gs; l++) s += q[g * gs + l] * x[g * gs + l];
        out[g] = s;
    }
}

static void dot_q2_K(int n, float *s, const void *vw, const void *vx) {
    const blk_q2_K *w = vw;
    const blk_q8_K *x = vx;
    int8_t q[QKK];
    int dots[16];
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        unpack_q2_K(&w[i], q);
        group_dots(q, x[i].qs, 16, dots);
        int isum = 0, mins = 0;
        for (int g = 0; g < 16; g++) {
            isum += (w[i].scales[g] & 15) * dots[g];
            mins += (w[i].scales[g] >> 4) * x[i].bsums[g];
        }
        sum += x[i].d * ir_h2f(w[i].d) * isum - x[i].d * ir_h2f(w[i].dmin) * mins;
    }
    *s = sum;
}

static void dot_q3_K(int n, float *s, const void *vw, const void *vx) {
    const blk_q3_K *w = vw;
    const blk_q8_K *x = vx;
    int8_t q[QKK], sc[16];
    int dots[16];
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        unpack_q3_K(&w[i], q, sc);
        group_dots(q, x[i].qs, 16, dots);
        int isum = 0;
        for (int g = 0; g < 16; g++) isum += sc[g] * dots[g];
        sum += x[i].d * ir_h2f(w[i].d) * isum;
    }
    *s = sum;
}

// dot_k4 is shared by Q4_K and Q5_K: unsigned q with 8 scales and mins.
static float dot_k4(const int8_t *q, const uint8_t *scales, uint16_t d, uint16_t dmin, const blk_q8_K *x) {
    uint8_t sc[8], mn[8];
    int dots[8];
    scale_min_k4(scales, sc, mn);
    group_dots(q, x->qs, 32, dots);
    int isum = 0, mins = 0;
    for (int g = 0; g < 8; g++) {
        isum += sc[g] * dots[g];
        mins += mn[g] * (x->bsums[2 * g] + x->bsums[2 * g + 1]);
    }
    return x->d * ir_h2f(d) * isum - x->d * ir_h2f(dmin) * mins;
}

static void dot_q4_K(int n, float *s, const void *vw, const void *vx) {
    const blk_q4_K *w = vw;
    const blk_q8_K *x = vx;
    int8_t q[QKK];
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        unpack_q4_K(&w[i], q);
        sum += dot_k4(q, w[i].scales, w[i].d, w[i].dmin, &x[i]);
    }
    *s = sum;
}

static void dot_q5_K(int n, float *s, const void *vw, const void *vx) {
    const blk_q5_K *w = vw;
    const blk_q8_K *x = vx;
    int8_t q[QKK];
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        unpack_q5_K(&w[i], q);
        sum += dot_k4(q, w[i].scales, w[i].d, w[i].dmin, &x[i]);
    }
    *s = sum;
}

static void dot_q6_K(int n, float *s, const void *vw, const void *vx) {
    const blk_q6_K *w = vw;
    const blk_q8_K *x = vx;
    int8_t q[QKK];
    int dots[16];
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        unpack_q6_K(&w[i], q);
        group_dots(q, x[i].qs, 16, dots);
        int isum = 0;
        for (int g = 0; g < 16; g++) isum += w[i].scales[g] * dots[g];
        sum += x[i].d * ir_h2f(w[i].d) * isum;
    }
    *s = sum;
}

static void dot_iq4_xs(int n, float *s, const void *vw, const void *vx) {
    const blk_iq4_xs *w = vw;
    const blk_q8_K *x = vx;
    int8_t q[QKK], sc[8];
    int dots[8];
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        unpack_iq4_xs(&w[i], q, sc);
        group_dots(q, x[i].qs, 32, dots);
        int isum = 0;
        for (int g = 0; g < 8; g++) isum += sc[g] * dots[g];
        sum += x[i].d * ir_h2f(w[i].d) * isum;
    }
    *s = sum;
}

static void dot_iq3_s(int n, float *s, const void *vw, const void *vx) {
    const blk_iq3_s *w = vw;
    const blk_q8_K *x = vx;
    int8_t q[QKK], sc[8];
    int dots[8];
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        unpack_iq3_s(&w[i], q, sc);
        group_dots(q, x[i].qs, 32, dots);
        int isum = 0;
        for (int g = 0; g < 8; g++) isum += sc[g] * dots[g];
        sum += x[i].d * ir_h2f(w[i].d) * isum;
    }
    *s = sum;
}

static void set(int t, int block, int bytes, int vdt, ir_to_float_fn tf, ir_vec_dot_fn vd) {
    ir_traits[t] = (ir_type_traits){block, bytes, vdt, tf, vd, NULL};
}

void ir_init_generic(void) {
    for (uint32_t h = 0; h < 65536; h++) ir_f16_table[h] = h2f_bits((uint16_t)h);
    memset(ir_traits, 0, sizeof ir_traits);
    set(IR_F32, 1, 4, IR_F32, deq_f32, dot_f32);
    set(IR_F16, 1, 2, IR_F32, deq_f16, dot_f16);
    set(IR_BF16, 1, 2, IR_F32, deq_bf16, dot_bf16);
    set(IR_Q4_0, QK, sizeof(blk_q4_0), IR_Q8_0, deq_q4_0, dot_q4_0);
    set(IR_Q4_1, QK, sizeof(blk_q4_1), IR_Q8_1, deq_q4_1, dot_q4_1);
    set(IR_Q5_0, QK, sizeof(blk_q5_0), IR_Q8_0, deq_q5_0, dot_q5_0);
    set(IR_Q5_1, QK, sizeof(blk_q5_1), IR_Q8_1, deq_q5_1, dot_q5_1);
    set(IR_Q8_0, QK, sizeof(blk_q8_0), IR_Q8_0, deq_q8_0, dot_q8_0);
    set(IR_Q2_K, QKK, sizeof(blk_q2_K), IR_Q8_K, deq_q2_K, dot_q2_K);
    set(IR_Q3_K, QKK, sizeof(blk_q3_K), IR_Q8_K, deq_q3_K, dot_q3_K);
    set(IR_Q4_K, QKK, sizeof(blk_q4_K), IR_Q8_K, deq_q4_K, dot_q4_K);
    set(IR_Q5_K, QKK, sizeof(blk_q5_K), IR_Q8_K, deq_q5_K, dot_q5_K);
    set(IR_Q6_K, QKK, sizeof(blk_q6_K), IR_Q8_K, deq_q6_K, dot_q6_K);
    set(IR_IQ4_NL, QK, sizeof(blk_iq4_nl), IR_Q8_0, deq_iq4_nl, dot_iq4_nl);
    set(IR_IQ4_XS, QKK, sizeof(blk_iq4_xs), IR_Q8_K, deq_iq4_xs, dot_iq4_xs);
    if (ir_iq3s_grid_ready) set(IR_IQ3_S, QKK, sizeof(blk_iq3_s), IR_Q8_K, deq_iq3_s, dot_iq3_s);
    // The activation types themselves (used by tests and as vec_dot types).
    ir_traits[IR_Q8_1] = (ir_type_traits){QK, sizeof(blk_q8_1), IR_Q8_1, 0, 0, 0};
    ir_traits[IR_Q8_K] = (ir_type_traits){QKK, sizeof(blk_q8_K), IR_Q8_K, 0, 0, 0};
    memset(ir_quantize, 0, sizeof ir_quantize);
    memset(ir_prep, 0, sizeof ir_prep);  // a level set again (tests) drops the prepared layouts
    ir_prep_size = no_prep;
    ir_quantize[IR_Q8_0] = ir_quantize_q8_0;
    ir_quantize[IR_Q8_1] = ir_quantize_q8_1;
    ir_quantize[IR_Q8_K] = ir_quantize_q8_K;
}
