// One push-constant block for every shader, so that the host fills a single
// layout: byte offsets of the bindings inside their descriptors, sizes,
// float and integer parameters. 128 bytes, the least every device offers.
layout(push_constant) uniform PC {
    uint off[6];
    int ne[12];
    float f[4];
    int i[6];
    uint pad[4];
} pc;

// group_id numbers workgroups laid out over x and z: one dimension alone is
// limited to 65535 groups on many devices.
uint group_id() { return gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

// Scores below this are masked; finite so that no inf - inf makes a NaN.
const float NEG_BIG = -3.0e38;
