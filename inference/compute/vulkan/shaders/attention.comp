#version 450
#extension GL_GOOGLE_include_directive : require

// softmax(q·kᵀ)·v for one query head of one token per workgroup, over the
// cache positions the token may see, 64 positions at a time with a running
// maximum and sum (no score buffer of the context's length). off: q, k
// cache, v cache, pos, out; ne: head_dim, heads, tokens, kv heads;
// f: scale, softcap; i: window, last position for non-causal (else -1),
// k cache F16, v cache F16, block size (> 0: the caches are a pool of
// blocks and pos goes on with the sequence's table).
layout(local_size_x = 64) in;
layout(binding = 0) readonly buffer Q { float q[]; };
layout(binding = 1) readonly buffer KC { uint kc[]; };
layout(binding = 2) readonly buffer VC { uint vc[]; };
layout(binding = 3) readonly buffer P { int pos[]; };
layout(binding = 4) writeonly buffer D { float d[]; };

#include "common.glsl"
#include "cache_row.glsl"

const uint MAX_HD = 256u;
shared float qs[MAX_HD];
shared float sp[64];
shared float shared_scale;
shared uint rows[64];  // the cache offsets of a chunk's positions

float kval(uint e) {
    if (pc.i[2] != 0) return unpackHalf2x16(kc[(pc.off[1] >> 2) + (e >> 1)] >> ((e & 1u) << 4)).x;
    return uintBitsToFloat(kc[(pc.off[1] >> 2) + e]);
}

float vval(uint e) {
    if (pc.i[3] != 0) return unpackHalf2x16(vc[(pc.off[2] >> 2) + (e >> 1)] >> ((e & 1u) << 4)).x;
    return uintBitsToFloat(vc[(pc.off[2] >> 2) + e]);
}

void main() {
    uint hd = uint(pc.ne[0]), nh = uint(pc.ne[1]), nt = uint(pc.ne[2]), nkv = uint(pc.ne[3]);
    uint g = group_id();
    if (g >= nh * nt) return;
    uint h = g % nh, tok = g / nh, t = gl_LocalInvocationID.x;
    uint kvh = h / (nh / nkv), row = hd * nkv;
    int p = pos[(pc.off[3] >> 2) + tok];
    uint table = (pc.off[3] >> 2) + nt;
    int hi = pc.i[1] >= 0 ? pc.i[1] : p;
    int lo = pc.i[0] > 0 ? max(0, p - pc.i[0] + 1) : 0;
    uint qo = (pc.off[0] >> 2) + (tok * nh + h) * hd;
    for (uint e = t; e < hd; e += 64u) qs[e] = q[qo + e] * pc.f[0];
    float acc[MAX_HD / 64u];
    for (uint m = 0u; m < MAX_HD / 64u; m++) acc[m] = 0.0;
    float mx = NEG_BIG, sum = 0.0;  // meaningful in thread 0
    barrier();
    for (int c0 = lo; c0 <= hi; c0 += 64) {
        int j = c0 + int(t);
        float s = NEG_BIG;
        if (j <= hi) {
            uint kb = cache_row(j, table, pc.i[4]) * row + kvh * hd;
            rows[t] = kb;  // for the values, after the softmax's barriers
            s = 0.0;
            for (uint e = 0u; e < hd; e++) s += qs[e] * kval(kb + e);
            if (pc.f[1] > 0.0) s = pc.f[1] * tanh(clamp(s / pc.f[1], -15.0, 15.0));
        }
        sp[t] = s;
        barrier();
        if (t == 0u) {
            int n = min(64, hi - c0 + 1);
            float cm = mx;
            for (int k = 0; k < n; k++) cm = max(cm, sp[k]);
            float sc = exp(mx - cm), add = 0.0;
            for (int k = 0; k < n; k++) {
                float e = exp(sp[k] - cm);
                sp[k] = e;
                add += e;
            }
            sum = sum * sc + add;
            mx = cm;
            shared_scale = sc;
        }
        barrier();
        int n = min(64, hi - c0 + 1);
        for (uint m = 0u; m * 64u + t < hd; m++) {
            uint e = m * 64u + t;
            float a = acc[m] * shared_scale;
            for (int k = 0; k < n; k++) a += sp[k] * vval(rows[k] + e);
            acc[m] = a;
        }
        barrier();
    }
    if (t == 0u) sp[0] = sum;
    barrier();
    float inv = 1.0 / sp[0];
    uint o = (pc.off[4] >> 2) + (tok * nh + h) * hd;
    for (uint m = 0u; m * 64u + t < hd; m++) d[o + m * 64u + t] = acc[m] * inv;
}
