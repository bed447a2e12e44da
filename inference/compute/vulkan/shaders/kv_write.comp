#version 450
#extension GL_GOOGLE_include_directive : require

// Writes k and v ([head_dim*kv_heads] per token) into the caches at the
// tokens' positions; a thread per pair of values, so that an F16 cache is
// written a whole uint at a time. off: k, v, k cache, v cache, pos;
// ne: values per token, tokens; i: k cache F16, v cache F16, block size
// (> 0: the caches are a pool of blocks and pos goes on with the table).
layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer K { float k[]; };
layout(binding = 1) readonly buffer V { float v[]; };
layout(binding = 2) buffer KC { uint kc[]; };
layout(binding = 3) buffer VC { uint vc[]; };
layout(binding = 4) readonly buffer P { int pos[]; };

#include "common.glsl"
#include "cache_row.glsl"

void main() {
    uint row = uint(pc.ne[0]), nt = uint(pc.ne[1]);
    uint idx = group_id() * 256u + gl_LocalInvocationID.x;
    if (idx >= row * nt / 2u) return;
    uint e = 2u * idx, tok = e / row, within = e % row;
    uint c = cache_row(pos[(pc.off[4] >> 2) + tok], (pc.off[4] >> 2) + nt, pc.i[2]) * row + within;
    uint ko = (pc.off[0] >> 2) + e, vo = (pc.off[1] >> 2) + e;
    if (pc.i[0] != 0) {
        kc[(pc.off[2] >> 2) + c / 2u] = packHalf2x16(vec2(k[ko], k[ko + 1u]));
    } else {
        kc[(pc.off[2] >> 2) + c] = floatBitsToUint(k[ko]);
        kc[(pc.off[2] >> 2) + c + 1u] = floatBitsToUint(k[ko + 1u]);
    }
    if (pc.i[1] != 0) {
        vc[(pc.off[3] >> 2) + c / 2u] = packHalf2x16(vec2(v[vo], v[vo + 1u]));
    } else {
        vc[(pc.off[3] >> 2) + c] = floatBitsToUint(v[vo]);
        vc[(pc.off[3] >> 2) + c + 1u] = floatBitsToUint(v[vo + 1u]);
    }
}
