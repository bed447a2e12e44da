// Reading weights of every type from a buffer of uints, declared by the
// includer as `wq`: blocks are 18, 22 or 34 bytes long, so they are read byte
// by byte rather than relying on 8- or 16-bit storage support.

uint rd8(uint b) { return (wq[b >> 2] >> ((b & 3u) << 3)) & 0xffu; }
uint rd16(uint b) {
    if ((b & 1u) == 0u) return (wq[b >> 2] >> ((b & 2u) << 3)) & 0xffffu;
    return rd8(b) | (rd8(b + 1u) << 8);
}
uint rd32(uint b) { return rd16(b) | (rd16(b + 2u) << 16); }
float rdh(uint b) { return unpackHalf2x16(rd16(b)).x; }
int rds8(uint b) { return int(rd8(b) << 24) >> 24; }

#if defined(W_F32) || defined(W_F16) || defined(W_BF16)
#define W_FLOAT
// deq1 returns element k of the row that starts at byte base.
float deq1(uint base, uint k) {
#if defined(W_F32)
    return uintBitsToFloat(wq[(base >> 2) + k]);
#elif defined(W_F16)
    return rdh(base + 2u * k);
#else
    return uintBitsToFloat(rd16(base + 2u * k) << 16);
#endif
}
#else
// deq32 dequantizes the sb-th run of 32 elements of the row at byte base.
void deq32(uint base, uint sb, inout float v[32]) {
#if defined(W_Q8_0)
    uint b = base + sb * 34u;
    float d = rdh(b);
    for (uint j = 0u; j < 32u; j++) v[j] = d * float(rds8(b + 2u + j));
#elif defined(W_Q4_0)
    uint b = base + sb * 18u;
    float d = rdh(b);
    for (uint j = 0u; j < 16u; j++) {
        uint q = rd8(b + 2u + j);
        v[j] = d * (float(q & 15u) - 8.0);
        v[j + 16u] = d * (float(q >> 4) - 8.0);
    }
#elif defined(W_Q4_1)
    uint b = base + sb * 20u;
    float d = rdh(b), m = rdh(b + 2u);
    for (uint j = 0u; j < 16u; j++) {
        uint q = rd8(b + 4u + j);
        v[j] = d * float(q & 15u) + m;
        v[j + 16u] = d * float(q >> 4) + m;
    }
#elif defined(W_Q5_0)
    uint b = base + sb * 22u;
    float d = rdh(b);
    uint qh = rd32(b + 2u);
    for (uint j = 0u; j < 16u; j++) {
        uint q = rd8(b + 6u + j);
        uint h0 = ((qh >> j) << 4) & 16u, h1 = (qh >> (j + 12u)) & 16u;
        v[j] = d * (float((q & 15u) | h0) - 16.0);
        v[j + 16u] = d * (float((q >> 4) | h1) - 16.0);
    }
#elif defined(W_Q5_1)
    uint b = base + sb * 24u;
    float d = rdh(b), m = rdh(b + 2u);
    uint qh = rd32(b + 4u);
    for (uint j = 0u; j < 16u; j++) {
        uint q = rd8(b + 8u + j);
        uint h0 = ((qh >> j) << 4) & 16u, h1 = (qh >> (j + 12u)) & 16u;
        v[j] = d * float((q & 15u) | h0) + m;
        v[j + 16u] = d * float((q >> 4) | h1) + m;
    }
#elif defined(W_Q4_K) || defined(W_Q5_K)
#if defined(W_Q4_K)
    uint b = base + (sb >> 3) * 144u;
#else
    uint b = base + (sb >> 3) * 176u;
#endif
    uint s = sb & 7u;
    float d = rdh(b), dmin = rdh(b + 2u);
    uint sc = b + 4u;  // 12 bytes of 6-bit scales and mins
    uint ls, lm;
    if (s < 4u) {
        ls = rd8(sc + s) & 63u;
        lm = rd8(sc + s + 4u) & 63u;
    } else {
        ls = (rd8(sc + s + 4u) & 15u) | ((rd8(sc + s - 4u) >> 6) << 4);
        lm = (rd8(sc + s + 4u) >> 4) | ((rd8(sc + s) >> 6) << 4);
    }
    float dl = d * float(ls), ml = dmin * float(lm);
#if defined(W_Q4_K)
    uint qs = b + 16u + 32u * (s >> 1);
    for (uint j = 0u; j < 32u; j++) {
        uint q = rd8(qs + j);
        q = (s & 1u) == 0u ? (q & 15u) : (q >> 4);
        v[j] = dl * float(q) - ml;
    }
#else
    uint qh = b + 16u, qs = b + 48u + 32u * (s >> 1);
    for (uint j = 0u; j < 32u; j++) {
        uint q = rd8(qs + j);
        q = (s & 1u) == 0u ? (q & 15u) : (q >> 4);
        q |= ((rd8(qh + j) >> s) & 1u) << 4;
        v[j] = dl * float(q) - ml;
    }
#endif
#elif defined(W_Q6_K)
    uint b = base + (sb >> 3) * 210u;
    uint s = sb & 7u, n = s >> 2, r = s & 3u;
    float d = rdh(b + 208u);
    uint ql = b + 64u * n + (r & 1u) * 32u, qh = b + 128u + 32u * n, sc = b + 192u + 8u * n + 2u * r;
    for (uint j = 0u; j < 32u; j++) {
        uint q = rd8(ql + j);
        q = r < 2u ? (q & 15u) : (q >> 4);
        q |= ((rd8(qh + j) >> (2u * r)) & 3u) << 4;
        v[j] = d * float(rds8(sc + (j >> 4))) * (float(q) - 32.0);
    }
#elif defined(W_Q2_K) || defined(W_Q3_K)
    // Both lay a 128-element half n out as four 2-bit planes j of 32 bytes,
    // with a scale per 16 elements.
    uint s = sb & 7u, n = s >> 2, j = s & 3u;
#if defined(W_Q2_K)
    uint b = base + (sb >> 3) * 84u;
    float d = rdh(b + 80u), dmin = rdh(b + 82u);
    for (uint e = 0u; e < 32u; e++) {
        uint sc = rd8(b + 8u * n + 2u * j + (e >> 4));
        uint q = (rd8(b + 16u + 32u * n + e) >> (2u * j)) & 3u;
        v[e] = d * float(sc & 15u) * float(q) - dmin * float(sc >> 4);
    }
#else
    uint b = base + (sb >> 3) * 110u;
    float d = rdh(b + 108u);
    uint m = 1u << (4u * n + j);
    for (uint e = 0u; e < 32u; e++) {
        uint k = 8u * n + 2u * j + (e >> 4);  // 6-bit scales: low nibbles, then 2-bit highs at bytes 8..11
        uint lo = k < 8u ? rd8(b + 96u + k) & 15u : rd8(b + 96u + k - 8u) >> 4;
        uint hi = (rd8(b + 96u + 8u + (k & 3u)) >> (2u * (k >> 2))) & 3u;
        int q = int((rd8(b + 32u + 32u * n + e) >> (2u * j)) & 3u) - ((rd8(b + e) & m) != 0u ? 0 : 4);
        v[e] = d * float(int(lo | (hi << 4)) - 32) * float(q);
    }
#endif
#elif defined(W_IQ4_NL) || defined(W_IQ4_XS)
    const float kv[16] = float[16](-127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0,
                                   1.0, 13.0, 25.0, 38.0, 53.0, 69.0, 89.0, 113.0);
#if defined(W_IQ4_NL)
    uint b = base + sb * 18u, qs = b + 2u;
    float dl = rdh(b);
#else
    uint b = base + (sb >> 3) * 136u, s = sb & 7u, qs = b + 8u + 16u * s;
    uint ls = ((rd8(b + 4u + s / 2u) >> (4u * (s & 1u))) & 15u) | (((rd16(b + 2u) >> (2u * s)) & 3u) << 4);
    float dl = rdh(b) * float(int(ls) - 32);
#endif
    for (uint e = 0u; e < 16u; e++) {
        uint q = rd8(qs + e);
        v[e] = dl * kv[q & 15u];
        v[e + 16u] = dl * kv[q >> 4];
    }
#else
#error unknown weight type
#endif
}
#endif
