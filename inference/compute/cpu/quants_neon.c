// ARM64 NEON + dot-product (SDOT) kernels; dispatch.c calls ir_init_neon
// only where the CPU reports the dot-product extension. The functions carry
// the target attribute, so the file builds for any arm64.
#include "ir_cpu.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#if defined(__clang__)
#define NEON __attribute__((target("dotprod")))
#else
#define NEON __attribute__((target("arch=armv8.2-a+dotprod")))
#endif

// dot16 adds the products of 16 signed bytes to four lanes.
NEON static inline int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) { return vdotq_s32(acc, a, b); }

// nib_lo / nib_hi return the low / high nibbles of 16 bytes.
NEON static inline int8x16_t nib_lo(uint8x16_t b) { return vreinterpretq_s8_u8(vandq_u8(b, vdupq_n_u8(15))); }
NEON static inline int8x16_t nib_hi(uint8x16_t b) { return vreinterpretq_s8_u8(vshrq_n_u8(b, 4)); }

// bits16 returns 0x10 in byte j where bit j of the 16-bit v is set.
NEON static inline uint8x16_t bits16(uint32_t v) {
    static const uint8_t mask[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    uint8x16_t b = vcombine_u8(vdup_n_u8((uint8_t)v), vdup_n_u8((uint8_t)(v >> 8)));
    return vandq_u8(vtstq_u8(b, vld1q_u8(mask)), vdupq_n_u8(0x10));
}

static inline uint32_t load_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

NEON static void dot_f16(int n, float *s, const void *vw, const void *vx) {
    const uint16_t *w = vw;
    const float *x = vx;
    float32x4_t a0 = vdupq_n_f32(0), a1 = a0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        a0 = vfmaq_f32(a0, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(w + i))), vld1q_f32(x + i));
        a1 = vfmaq_f32(a1, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(w + i + 4))), vld1q_f32(x + i + 4));
    }
    float sum = vaddvq_f32(vaddq_f32(a0, a1));
    for (; i < n; i++) sum += ir_h2f(w[i]) * x[i];
    *s = sum;
}

NEON static void dot_q4_0(int n, float *s, const void *vw, const void *vx) {
    const blk_q4_0 *w = vw;
    const blk_q8_0 *x = vx;
    const int8x16_t e8 = vdupq_n_s8(8);
    float32x4_t acc = vdupq_n_f32(0);
    for (int i = 0; i < n / QK; i++) {
        uint8x16_t b = vld1q_u8(w[i].qs);
        int32x4_t p = dot16(vdupq_n_s32(0), vsubq_s8(nib_lo(b), e8), vld1q_s8(x[i].qs));
        p = dot16(p, vsubq_s8(nib_hi(b), e8), vld1q_s8(x[i].qs + 16));
        acc = vfmaq_f32(acc, vcvtq_f32_s32(p), vdupq_n_f32(ir_h2f(w[i].d) * ir_h2f(x[i].d)));
    }
    *s = vaddvq_f32(acc);
}

NEON static void dot_q4_1(int n, float *s, const void *vw, const void *vx) {
    const blk_q4_1 *w = vw;
    const blk_q8_1 *x = vx;
    float32x4_t acc = vdupq_n_f32(0);
    float mins = 0;
    for (int i = 0; i < n / QK; i++) {
        uint8x16_t b = vld1q_u8(w[i].qs);
        int32x4_t p = dot16(vdupq_n_s32(0), nib_lo(b), vld1q_s8(x[i].qs));
        p = dot16(p, nib_hi(b), vld1q_s8(x[i].qs + 16));
        acc = vfmaq_f32(acc, vcvtq_f32_s32(p), vdupq_n_f32(ir_h2f(w[i].d) * ir_h2f(x[i].d)));
        mins += ir_h2f(w[i].m) * ir_h2f(x[i].s);
    }
    *s = vaddvq_f32(acc) + mins;
}

NEON static void dot_q5_0(int n, float *s, const void *vw, const void *vx) {
    const blk_q5_0 *w = vw;
    const blk_q8_0 *x = vx;
    const int8x16_t e16 = vdupq_n_s8(16);
    float32x4_t acc = vdupq_n_f32(0);
    for (int i = 0; i < n / QK; i++) {
        uint32_t qh = load_u32(w[i].qh);
        uint8x16_t b = vld1q_u8(w[i].qs);
        int8x16_t lo = vsubq_s8(vorrq_s8(nib_lo(b), vreinterpretq_s8_u8(bits16(qh))), e16);
        int8x16_t hi = vsubq_s8(vorrq_s8(nib_hi(b), vreinterpretq_s8_u8(bits16(qh >> 16))), e16);
        int32x4_t p = dot16(dot16(vdupq_n_s32(0), lo, vld1q_s8(x[i].qs)), hi, vld1q_s8(x[i].qs + 16));
        acc = vfmaq_f32(acc, vcvtq_f32_s32(p), vdupq_n_f32(ir_h2f(w[i].d) * ir_h2f(x[i].d)));
    }
    *s = vaddvq_f32(acc);
}

NEON static void dot_q8_0(int n, float *s, const void *vw, const void *vx) {
    const blk_q8_0 *w = vw;
    const blk_q8_0 *x = vx;
    float32x4_t acc = vdupq_n_f32(0);
    for (int i = 0; i < n / QK; i++) {
        int32x4_t p = dot16(vdupq_n_s32(0), vld1q_s8(w[i].qs), vld1q_s8(x[i].qs));
        p = dot16(p, vld1q_s8(w[i].qs + 16), vld1q_s8(x[i].qs + 16));
        acc = vfmaq_f32(acc, vcvtq_f32_s32(p), vdupq_n_f32(ir_h2f(w[i].d) * ir_h2f(x[i].d)));
    }
    *s = vaddvq_f32(acc);
}

// k_groups returns the 8 group dots of a Q4_K/Q5_K super-block whose
// unsigned values are lo/hi nibbles plus (for Q5_K) a fifth bit from qh.
NEON static int k_groups(const uint8_t *qs, const uint8_t *qh, const int8_t *x, const uint8_t *sc) {
    int isum = 0;
    uint8x16_t h0 = vdupq_n_u8(0), h1 = h0;
    if (qh) {
        h0 = vld1q_u8(qh);
        h1 = vld1q_u8(qh + 16);
    }
    const uint8x16_t one = vdupq_n_u8(1);
    for (int j = 0; j < 4; j++) {
        uint8x16_t b0 = vld1q_u8(qs + 32 * j), b1 = vld1q_u8(qs + 32 * j + 16);
        int8x16_t lo0 = nib_lo(b0), lo1 = nib_lo(b1), hi0 = nib_hi(b0), hi1 = nib_hi(b1);
        if (qh) {
            int8x16_t sl = vdupq_n_s8((int8_t)(-2 * j)), sh = vdupq_n_s8((int8_t)(-2 * j - 1));
            lo0 = vorrq_s8(lo0, vreinterpretq_s8_u8(vshlq_n_u8(vandq_u8(vshlq_u8(h0, sl), one), 4)));
            lo1 = vorrq_s8(lo1, vreinterpretq_s8_u8(vshlq_n_u8(vandq_u8(vshlq_u8(h1, sl), one), 4)));
            hi0 = vorrq_s8(hi0, vreinterpretq_s8_u8(vshlq_n_u8(vandq_u8(vshlq_u8(h0, sh), one), 4)));
            hi1 = vorrq_s8(hi1, vreinterpretq_s8_u8(vshlq_n_u8(vandq_u8(vshlq_u8(h1, sh), one), 4)));
        }
        const int8_t *xj = x + 64 * j;
        int32x4_t plo = dot16(dot16(vdupq_n_s32(0), lo0, vld1q_s8(xj)), lo1, vld1q_s8(xj + 16));
        int32x4_t phi = dot16(dot16(vdupq_n_s32(0), hi0, vld1q_s8(xj + 32)), hi1, vld1q_s8(xj + 48));
        isum += sc[2 * j] * vaddvq_s32(plo) + sc[2 * j + 1] * vaddvq_s32(phi);
    }
    return isum;
}

NEON static void dot_q4_K(int n, float *s, const void *vw, const void *vx) {
    const blk_q4_K *w = vw;
    const blk_q8_K *x = vx;
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        uint8_t sc[8], mn[8];
        scale_min_k4(w[i].scales, sc, mn);
        int isum = k_groups(w[i].qs, NULL, x[i].qs, sc);
        sum += x[i].d * ir_h2f(w[i].d) * isum - x[i].d * ir_h2f(w[i].dmin) * k4_mins(mn, x[i].bsums);
    }
    *s = sum;
}

NEON static void dot_q5_K(int n, float *s, const void *vw, const void *vx) {
    const blk_q5_K *w = vw;
    const blk_q8_K *x = vx;
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        uint8_t sc[8], mn[8];
        scale_min_k4(w[i].scales, sc, mn);
        int isum = k_groups(w[i].qs, w[i].qh, x[i].qs, sc);
        sum += x[i].d * ir_h2f(w[i].d) * isum - x[i].d * ir_h2f(w[i].dmin) * k4_mins(mn, x[i].bsums);
    }
    *s = sum;
}

NEON static void dot_q6_K(int n, float *s, const void *vw, const void *vx) {
    const blk_q6_K *w = vw;
    const blk_q8_K *x = vx;
    const uint8x16_t m4 = vdupq_n_u8(15), m3 = vdupq_n_u8(3);
    float sum = 0;
    for (int i = 0; i < n / QKK; i++) {
        const int8_t *sc = w[i].scales;
        int isum = 0;
        for (int h = 0; h < 2; h++) {
            for (int c = 0; c < 2; c++) {  // 16-byte halves of the 32-element runs
                uint8x16_t l0 = vld1q_u8(w[i].ql + 64 * h + 16 * c), l1 = vld1q_u8(w[i].ql + 64 * h + 32 + 16 * c);
                uint8x16_t qh = vld1q_u8(w[i].qh + 32 * h + 16 * c);
                uint8x16_t q[4];
                q[0] = vorrq_u8(vandq_u8(l0, m4), vshlq_n_u8(vandq_u8(qh, m3), 4));
                q[1] = vorrq_u8(vandq_u8(l1, m4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh, 2), m3), 4));
                q[2] = vorrq_u8(vshrq_n_u8(l0, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh, 4), m3), 4));
                q[3] = vorrq_u8(vshrq_n_u8(l1, 4), vshlq_n_u8(vshrq_n_u8(qh, 6), 4));
                for (int k = 0; k < 4; k++) {
                    int e = 128 * h + 32 * k + 16 * c;  // first element of this run of 16
                    int32x4_t p = dot16(vdupq_n_s32(0), vreinterpretq_s8_u8(q[k]), vld1q_s8(x[i].qs + e));
                    isum += sc[e / 16] * vaddvq_s32(p);
                }
            }
        }
        int offs = 0;
        for (int g = 0; g < 16; g++) offs += sc[g] * x[i].bsums[g];
        sum += x[i].d * ir_h2f(w[i].d) * (isum - 32 * offs);
    }
    *s = sum;
}

void ir_init_neon(void) {
    ir_traits[IR_F16].vec_dot = dot_f16;
    ir_traits[IR_Q4_0].vec_dot = dot_q4_0;
    ir_traits[IR_Q4_1].vec_dot = dot_q4_1;
    ir_traits[IR_Q5_0].vec_dot = dot_q5_0;
    ir_traits[IR_Q8_0].vec_dot = dot_q8_0;
    ir_traits[IR_Q4_K].vec_dot = dot_q4_K;
    ir_traits[IR_Q5_K].vec_dot = dot_q5_K;
    ir_traits[IR_Q6_K].vec_dot = dot_q6_K;
}
#else
void ir_init_neon(void) {}
#endif
