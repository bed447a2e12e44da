#version 450
#extension GL_GOOGLE_include_directive : require

// Matrix times matrix for batches of tokens: a workgroup computes a tile of
// TM weight rows by TN activation rows, staging TK-long slices of both in
// shared memory, so each weight is read and dequantized once per TN tokens
// rather than once per token. Operands as mul_mat.comp (without ID).
layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer W { uint wq[]; };
layout(binding = 1) readonly buffer X { float x[]; };
layout(binding = 2) writeonly buffer D { float d[]; };

#include "common.glsl"
#include "quant.glsl"

#define TM 64u
#define TN 64u
#define TK 32u

shared float ws[TM][TK + 1u];  // +1: threads of one row read different banks
shared float xs[TN][TK + 1u];

void main() {
    uint K = uint(pc.ne[0]), M = uint(pc.ne[1]), N = uint(pc.ne[2]);
    uint row0 = group_id() * TM, col0 = gl_WorkGroupID.y * TN;
    uint xo = pc.off[1] >> 2, dof = pc.off[2] >> 2, rb = uint(pc.i[0]);
    uint t = gl_LocalInvocationID.x, tr = t % 16u, tc = t / 16u;
    float acc[4][4];
    for (uint i = 0u; i < 4u; i++)
        for (uint j = 0u; j < 4u; j++) acc[i][j] = 0.0;
    for (uint k0 = 0u; k0 < K; k0 += TK) {
#ifdef W_FLOAT
        for (uint e = t; e < TM * TK; e += 256u) {
            uint r = e / TK, kk = e % TK, row = row0 + r, k = k0 + kk;
            ws[r][kk] = row < M && k < K ? deq1(pc.off[0] + row * rb, k) : 0.0;
        }
#else
        if (t < TM) {
            float v[32];
            uint row = row0 + t;
            if (row < M) {
                deq32(pc.off[0] + row * rb, k0 / 32u, v);
            } else {
                for (uint j = 0u; j < 32u; j++) v[j] = 0.0;
            }
            for (uint j = 0u; j < 32u; j++) ws[t][j] = v[j];
        }
#endif
        for (uint e = t; e < TN * TK; e += 256u) {
            uint c = e / TK, kk = e % TK, col = col0 + c, k = k0 + kk;
            xs[c][kk] = col < N && k < K ? x[xo + col * K + k] : 0.0;
        }
        barrier();
        for (uint kk = 0u; kk < TK; kk++) {
            float a[4], b[4];
            for (uint i = 0u; i < 4u; i++) a[i] = ws[tr + 16u * i][kk];
            for (uint j = 0u; j < 4u; j++) b[j] = xs[tc + 16u * j][kk];
            for (uint i = 0u; i < 4u; i++)
                for (uint j = 0u; j < 4u; j++) acc[i][j] += a[i] * b[j];
        }
        barrier();
    }
    for (uint j = 0u; j < 4u; j++) {
        uint col = col0 + tc + 16u * j;
        if (col >= N) continue;
        for (uint i = 0u; i < 4u; i++) {
            uint row = row0 + tr + 16u * i;
            if (row < M) d[dof + col * M + row] = acc[i][j];
        }
    }
}
