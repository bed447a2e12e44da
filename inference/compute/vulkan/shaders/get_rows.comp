#version 450
#extension GL_GOOGLE_include_directive : require

// out row r = weight row ids[r] as floats. A thread writes one element of
// a float type or one run of 32 of a block type. off: weight, ids, out;
// ne: K (row length), n (rows); i[0]: the bytes of a weight row.
layout(local_size_x = 64) in;
layout(binding = 0) readonly buffer W { uint wq[]; };
layout(binding = 1) readonly buffer I { int ids[]; };
layout(binding = 2) writeonly buffer D { float d[]; };

#include "common.glsl"
#include "quant.glsl"

void main() {
    uint K = uint(pc.ne[0]), n = uint(pc.ne[1]);
#ifdef W_FLOAT
    uint per = K;
#else
    uint per = K / 32u;
#endif
    uint idx = group_id() * 64u + gl_LocalInvocationID.x;
    if (idx >= per * n) return;
    uint r = idx / per, j = idx % per;
    uint base = pc.off[0] + uint(ids[(pc.off[1] >> 2) + r]) * uint(pc.i[0]);
    uint o = (pc.off[2] >> 2) + r * K;
#ifdef W_FLOAT
    d[o + j] = deq1(base, j);
#else
    float v[32];
    deq32(base, j, v);
    for (uint e = 0u; e < 32u; e++) d[o + j * 32u + e] = v[e];
#endif
}
