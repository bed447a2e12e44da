#version 450
#extension GL_GOOGLE_include_directive : require

// Element-wise ops, chosen by i[0]: 0 add, 1 mul, 2 scale, 3 softcap,
// 4 swiglu, 5 geglu, 6 gelu, 7 weighted sum. b (binding 1) has a's shape
// or, with i[1] set, is one row of ne[1] values repeated over a's rows.
// off: a, b, out; ne[0]: elements of out; f[0]: the scale or cap. The
// weighted sum mixes the ne[2] slots of a ([ne[1], slots, tokens]) by the
// weights b ([slots, tokens]) in slot order.
layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 2) writeonly buffer D { float d[]; };

#include "common.glsl"

// tanh of a large argument overflows exp inside some implementations.
float safe_tanh(float x) { return tanh(clamp(x, -15.0, 15.0)); }

float gelu(float x) {
    const float k = 0.79788456080286535588;
    return 0.5 * x * (1.0 + safe_tanh(k * x * (1.0 + 0.044715 * x * x)));
}

void main() {
    uint idx = group_id() * 256u + gl_LocalInvocationID.x;
    if (idx >= uint(pc.ne[0])) return;
    if (pc.i[0] == 7) {
        uint dd = uint(pc.ne[1]), k = uint(pc.ne[2]), t = idx / dd, e = idx % dd;
        uint ab = (pc.off[0] >> 2) + t * k * dd + e, wb = (pc.off[1] >> 2) + t * k;
        float s = b[wb] * a[ab];
        for (uint j = 1u; j < k; j++) s += b[wb + j] * a[ab + j * dd];
        d[(pc.off[2] >> 2) + idx] = s;
        return;
    }
    float x = a[(pc.off[0] >> 2) + idx];
    uint bi = pc.i[1] != 0 ? idx % uint(pc.ne[1]) : idx;
    float y;
    switch (pc.i[0]) {
    case 0: y = x + b[(pc.off[1] >> 2) + bi]; break;
    case 1: y = x * b[(pc.off[1] >> 2) + bi]; break;
    case 2: y = x * pc.f[0]; break;
    case 3: y = pc.f[0] * safe_tanh(x / pc.f[0]); break;
    case 4: y = x / (1.0 + exp(-x)) * b[(pc.off[1] >> 2) + bi]; break;
    case 5: y = gelu(x) * b[(pc.off[1] >> 2) + bi]; break;
    default: y = gelu(x); break;
    }
    d[(pc.off[2] >> 2) + idx] = y;
}
