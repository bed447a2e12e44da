#version 450
#extension GL_GOOGLE_include_directive : require

// One workgroup per row: i[0] 0 is RMS norm, 1 is layer norm (mean
// removed). off: in, out; ne[0]: row length; f[0]: eps.
layout(local_size_x = 128) in;
layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) writeonly buffer D { float d[]; };

#include "common.glsl"

shared float red[128];

float row_sum(float v) {
    uint t = gl_LocalInvocationID.x;
    red[t] = v;
    barrier();
    for (uint s = 64u; s > 0u; s >>= 1) {
        if (t < s) red[t] += red[t + s];
        barrier();
    }
    float r = red[0];
    barrier();
    return r;
}

void main() {
    uint n = uint(pc.ne[0]), t = gl_LocalInvocationID.x;
    uint ai = (pc.off[0] >> 2) + group_id() * n, di = (pc.off[1] >> 2) + group_id() * n;
    float mean = 0.0;
    if (pc.i[0] == 1) {
        float s = 0.0;
        for (uint k = t; k < n; k += 128u) s += a[ai + k];
        mean = row_sum(s) / float(n);
    }
    float s = 0.0;
    for (uint k = t; k < n; k += 128u) {
        float v = a[ai + k] - mean;
        s += v * v;
    }
    float scale = 1.0 / sqrt(row_sum(s) / float(n) + pc.f[0]);
    for (uint k = t; k < n; k += 128u) d[di + k] = (a[ai + k] - mean) * scale;
}
