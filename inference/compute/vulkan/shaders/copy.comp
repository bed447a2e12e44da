#version 450
#extension GL_GOOGLE_include_directive : require

// Copies n values between F32 and F16 tensors; a thread per pair, so that
// an F16 destination is written a whole uint at a time. off: src, dst;
// ne[0]: values (even for an F16 destination); i: src F16, dst F16.
layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer S { uint s[]; };
layout(binding = 1) writeonly buffer D { uint d[]; };

#include "common.glsl"

float src(uint e) {
    if (pc.i[0] != 0) return unpackHalf2x16(s[(pc.off[0] >> 2) + (e >> 1)] >> ((e & 1u) << 4)).x;
    return uintBitsToFloat(s[(pc.off[0] >> 2) + e]);
}

void main() {
    uint idx = group_id() * 256u + gl_LocalInvocationID.x;
    if (2u * idx >= uint(pc.ne[0])) return;
    uint e = 2u * idx;
    if (pc.i[1] != 0 && pc.i[0] != 0) {
        d[(pc.off[1] >> 2) + idx] = s[(pc.off[0] >> 2) + idx];
    } else if (pc.i[1] != 0) {
        d[(pc.off[1] >> 2) + idx] = packHalf2x16(vec2(src(e), src(e + 1u)));
    } else {
        d[(pc.off[1] >> 2) + e] = floatBitsToUint(src(e));
        if (e + 1u < uint(pc.ne[0])) d[(pc.off[1] >> 2) + e + 1u] = floatBitsToUint(src(e + 1u));
    }
}
