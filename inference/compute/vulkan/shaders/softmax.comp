#version 450
#extension GL_GOOGLE_include_directive : require

// The softmax of each row; one workgroup per row. off: in, out; ne[0]: row
// length.
layout(local_size_x = 128) in;
layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) writeonly buffer D { float d[]; };

#include "common.glsl"

shared float red[128];

void main() {
    uint n = uint(pc.ne[0]), t = gl_LocalInvocationID.x;
    uint ai = (pc.off[0] >> 2) + group_id() * n, di = (pc.off[1] >> 2) + group_id() * n;
    float m = NEG_BIG;
    for (uint k = t; k < n; k += 128u) m = max(m, a[ai + k]);
    red[t] = m;
    barrier();
    for (uint s = 64u; s > 0u; s >>= 1) {
        if (t < s) red[t] = max(red[t], red[t + s]);
        barrier();
    }
    m = red[0];
    barrier();
    float sum = 0.0;
    for (uint k = t; k < n; k += 128u) sum += exp(a[ai + k] - m);
    red[t] = sum;
    barrier();
    for (uint s = 64u; s > 0u; s >>= 1) {
        if (t < s) red[t] += red[t + s];
        barrier();
    }
    float inv = 1.0 / red[0];
    for (uint k = t; k < n; k += 128u) d[di + k] = exp(a[ai + k] - m) * inv;
}
