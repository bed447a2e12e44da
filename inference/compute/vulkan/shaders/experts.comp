#version 450
#extension GL_GOOGLE_include_directive : require

// Expert routing, a thread per token, as llama.cpp routes: i[0] 0 picks the
// ids of the k largest probabilities (best first, equal ones by lowest id,
// NaN last) into binding 1; i[0] 1 gathers the chosen probabilities into
// binding 2 and, with f[0] > 0, divides them by their sum (at least f[0]).
// off: probs, ids, weights; ne: experts, k, tokens.
layout(local_size_x = 64) in;
layout(binding = 0) readonly buffer P { float p[]; };
layout(binding = 1) buffer I { int ids[]; };
layout(binding = 2) writeonly buffer W { float w[]; };

#include "common.glsl"

float rank_key(float v) { return isnan(v) ? NEG_BIG * 2.0 : v; }

void main() {
    uint ne = uint(pc.ne[0]), k = uint(pc.ne[1]), nt = uint(pc.ne[2]);
    uint t = group_id() * 64u + gl_LocalInvocationID.x;
    if (t >= nt) return;
    uint pb = (pc.off[0] >> 2) + t * ne, ib = (pc.off[1] >> 2) + t * k;
    if (pc.i[0] == 0) {
        float prev = 0.0;
        int prev_id = -1;
        for (uint j = 0u; j < k; j++) {
            int best = -1;
            float bk = 0.0;
            for (uint e = 0u; e < ne; e++) {
                float v = rank_key(p[pb + e]);
                bool after = prev_id < 0 || v < prev || (v == prev && int(e) > prev_id);
                if (after && (best < 0 || v > bk)) {
                    best = int(e);
                    bk = v;
                }
            }
            ids[ib + j] = best;
            prev = bk;
            prev_id = best;
        }
        return;
    }
    uint wb = (pc.off[2] >> 2) + t * k;
    float sum = 0.0;
    for (uint j = 0u; j < k; j++) {
        float v = p[pb + uint(clamp(ids[ib + j], 0, int(ne) - 1))];
        w[wb + j] = v;
        sum += v;
    }
    if (pc.f[0] > 0.0) {
        float s = max(sum, pc.f[0]);
        for (uint j = 0u; j < k; j++) w[wb + j] = p[pb + uint(clamp(ids[ib + j], 0, int(ne) - 1))] / s;
    }
}
