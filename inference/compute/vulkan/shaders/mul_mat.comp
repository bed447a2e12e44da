#version 450
#extension GL_GOOGLE_include_directive : require
#ifdef SUBGROUPS
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

// out[c][r] = dot(weight row r, activation row c). A workgroup takes one
// weight row and NC activation rows, so each weight is dequantized once for
// NC products. off: weight, x, out; ne: K, M (weight rows), N (x rows);
// i[0]: the bytes of a weight row. With ID (MulMatID) column c is a
// (slot, token) pair whose weight is expert ids[c]'s matrix: off[3]: ids;
// ne[3]: experts, ne[4]: slots per token; i[1]: the bytes of an expert;
// i[2]: one activation row per token (shared by its slots).
layout(local_size_x = 64) in;
layout(binding = 0) readonly buffer W { uint wq[]; };
layout(binding = 1) readonly buffer X { float x[]; };
layout(binding = 2) writeonly buffer D { float d[]; };

#include "common.glsl"
#include "quant.glsl"

#ifdef ID
layout(binding = 3) readonly buffer I { int ids[]; };
#define NC 1u
#else
#define NC 4u
#endif

// wbase is the byte offset of weight row `row` for column col. An expert id
// out of range (only a bug could make one) reads the last expert rather
// than memory outside the weights.
uint wbase(uint row, uint col) {
#ifdef ID
    uint e = min(uint(ids[(pc.off[3] >> 2) + col]), uint(pc.ne[3]) - 1u);
    return pc.off[0] + e * uint(pc.i[1]) + row * uint(pc.i[0]);
#else
    return pc.off[0] + row * uint(pc.i[0]);
#endif
}

// xrow is the activation row of column col.
uint xrow(uint col) {
#ifdef ID
    return pc.i[2] != 0 ? col / uint(pc.ne[4]) : col;
#else
    return col;
#endif
}

#ifdef SUBGROUPS
// Each subgroup takes whole weight rows and sums with subgroupAdd: no
// shared memory and no barriers, which a software device runs slowly and a
// GPU waits on. ROWS rows per workgroup whatever the subgroup size, so the
// host need not know it (it may vary between pipelines on some devices).
#define ROWS 8u

void main() {
    uint K = uint(pc.ne[0]), M = uint(pc.ne[1]), N = uint(pc.ne[2]);
    uint c0 = gl_WorkGroupID.y * NC;
    uint xo = pc.off[1] >> 2, dof = pc.off[2] >> 2;
    uint lane = gl_SubgroupInvocationID, step = gl_SubgroupSize;
    for (uint rr = gl_SubgroupID; rr < ROWS; rr += gl_NumSubgroups) {
        uint row = group_id() * ROWS + rr;
        if (row >= M) break;
        uint base = wbase(row, c0);
        float acc[NC];
        for (uint c = 0u; c < NC; c++) acc[c] = 0.0;
#ifdef W_FLOAT
        for (uint k = lane; k < K; k += step) {
            float w = deq1(base, k);
            for (uint c = 0u; c < NC; c++)
                if (c0 + c < N) acc[c] += w * x[xo + xrow(c0 + c) * K + k];
        }
#else
        float v[32];
        for (uint sb = lane; sb < K / 32u; sb += step) {
            deq32(base, sb, v);
            for (uint c = 0u; c < NC; c++) {
                if (c0 + c >= N) break;
                uint xb = xo + xrow(c0 + c) * K + sb * 32u;
                float s = 0.0;
                for (uint j = 0u; j < 32u; j++) s += v[j] * x[xb + j];
                acc[c] += s;
            }
        }
#endif
        for (uint c = 0u; c < NC; c++) {
            float s = subgroupAdd(acc[c]);
            if (lane == 0u && c0 + c < N) d[dof + (c0 + c) * M + row] = s;
        }
    }
}
#else
shared float red[NC][64];

void main() {
    uint row = group_id();
    uint K = uint(pc.ne[0]), M = uint(pc.ne[1]), N = uint(pc.ne[2]);
    if (row >= M) return;
    uint c0 = gl_WorkGroupID.y * NC;
    uint base = wbase(row, c0);
    uint xo = pc.off[1] >> 2, dof = pc.off[2] >> 2;
    uint t = gl_LocalInvocationID.x;
    float acc[NC];
    for (uint c = 0u; c < NC; c++) acc[c] = 0.0;
#ifdef W_FLOAT
    for (uint k = t; k < K; k += 64u) {
        float w = deq1(base, k);
        for (uint c = 0u; c < NC; c++)
            if (c0 + c < N) acc[c] += w * x[xo + xrow(c0 + c) * K + k];
    }
#else
    float v[32];
    for (uint sb = t; sb < K / 32u; sb += 64u) {
        deq32(base, sb, v);
        for (uint c = 0u; c < NC; c++) {
            if (c0 + c >= N) break;
            uint xb = xo + xrow(c0 + c) * K + sb * 32u;
            float s = 0.0;
            for (uint j = 0u; j < 32u; j++) s += v[j] * x[xb + j];
            acc[c] += s;
        }
    }
#endif
    for (uint c = 0u; c < NC; c++) red[c][t] = acc[c];
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (t < s)
            for (uint c = 0u; c < NC; c++) red[c][t] += red[c][t + s];
        barrier();
    }
    if (t == 0u)
        for (uint c = 0u; c < NC; c++)
            if (c0 + c < N) d[dof + (c0 + c) * M + row] = red[c][0];
}
#endif
