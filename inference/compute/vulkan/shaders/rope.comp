#version 450
#extension GL_GOOGLE_include_directive : require

// RoPE: a thread per output element. off: x, pos, factors, out; ne: head_dim,
// heads, tokens; f: base, freq scale; i: mode (2 = neox), rotated dims,
// whether factors are bound.
layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer P { int pos[]; };
layout(binding = 2) readonly buffer F { float ff[]; };
layout(binding = 3) writeonly buffer D { float d[]; };

#include "common.glsl"

void main() {
    uint hd = uint(pc.ne[0]), nh = uint(pc.ne[1]), nt = uint(pc.ne[2]);
    uint idx = group_id() * 256u + gl_LocalInvocationID.x;
    if (idx >= hd * nh * nt) return;
    uint e = idx % hd, row = idx / hd, tok = row / nh;
    uint xo = pc.off[0] >> 2, o = (pc.off[3] >> 2) + idx;
    uint dims = uint(pc.i[1]);
    if (e >= dims) {
        d[o] = x[xo + idx];
        return;
    }
    bool neox = pc.i[0] == 2;
    uint half_ = dims / 2u;
    uint p = neox ? e % half_ : e / 2u;
    bool first = neox ? e < half_ : (e & 1u) == 0u;
    uint i0 = neox ? p : 2u * p, i1 = neox ? p + half_ : 2u * p + 1u;
    float theta = float(pos[(pc.off[1] >> 2) + tok]) * pow(pc.f[0], -2.0 * float(p) / float(dims));
    if (pc.i[2] != 0) theta /= ff[(pc.off[2] >> 2) + p];
    theta *= pc.f[1];
    float c = cos(theta), s = sin(theta);
    uint rb = xo + row * hd;
    float x0 = x[rb + i0], x1 = x[rb + i1];
    d[o] = first ? x0 * c - x1 * s : x0 * s + x1 * c;
}
