// Packed weights: a copy of a weight matrix laid out for the kernels rather
// than as in the file. IR_PACK_ROWS rows form a panel; inside a panel each
// block position holds the 16 rows' scales side by side and their quants
// interleaved four bytes at a time, so that one 512-bit vpdpbusd works on
// all 16 rows at once and leaves one exact integer sum per row in its own
// lane: no horizontal sums, one multiply by the 16 scales per block.
//
// Panel layout, for block positions b = 0..nb-1 taken in pairs:
//   [quants of b][quants of b+1][16 f16 scales of b][16 of b+1]
// and, when nb is odd, the last block alone: [quants][scales][32 bytes pad].
// Quants of one block position: QB bytes in chunks of 64, chunk t holding
// bytes 4t..4t+3 of each row's block in row order. Every chunk starts on a
// 64-byte boundary, and a thread reading consecutive panels reads one
// sequential stream.
//
// Q4_0: a chunk is 4 bytes of nibble pairs per row (elements 4t..4t+3 in
// the low nibbles, 16+4t.. in the high ones), QB = 256.
// Q8_0: a chunk is 4 quants per row plus 128 (unsigned for vpdpbusd),
// QB = 512.
// Rows past the end of the matrix are zero (scale 0).
//
// The packing here is portable; kernels that read the layout are set in
// ir_pgemm by the ISA levels that have them (AVX-512 VNNI).
#include "ir_cpu.h"

ir_pgemm_fn ir_pgemm[IR_NTYPES];

static int pack_qb(int type) {
    switch (type) {
    case IR_Q4_0: return 256;
    case IR_Q8_0: return 512;
    }
    return 0;
}

int64_t ir_pack_panel_bytes(int type, int64_t k) {
    int64_t qb = pack_qb(type);
    if (!qb || k <= 0 || k % QK) return -1;
    int64_t nb = k / QK;
    return nb / 2 * (2 * qb + 64) + (nb & 1) * (qb + 64);
}

int64_t ir_pack_size(int type, int64_t k, int64_t m) {
    int64_t pb = ir_pack_panel_bytes(type, k);
    if (pb < 0 || m <= 0) return -1;
    return (m + IR_PACK_ROWS - 1) / IR_PACK_ROWS * pb;
}

// ir_pack_offsets gives the byte offsets, inside a panel, of block b's
// quants and scales.
void ir_pack_offsets(int qb, int nb, int b, size_t *q, size_t *d) {
    size_t base = (size_t)(b >> 1) * (2 * qb + 64);
    if (b & 1) {
        *q = base + qb;
        *d = base + 2 * qb + 32;
    } else if (b + 1 < nb) {
        *q = base;
        *d = base + 2 * qb;
    } else {  // the odd last block
        *q = base;
        *d = base + qb;
    }
}

// ir_pack_panels packs panels p0..p1-1 of w (k x m, type) into dst, which
// holds ir_pack_size bytes. Returns 0, or -1 for a type without a layout.
int ir_pack_panels(int type, const void *w, void *dst, int64_t k, int64_t m, int64_t p0, int64_t p1) {
    const int qb = pack_qb(type);
    const int64_t pb = ir_pack_panel_bytes(type, k), row = ir_row_size(type, k);
    if (!qb || pb < 0 || row < 0) return -1;
    const int nb = (int)(k / QK);
    for (int64_t p = p0; p < p1; p++) {
        uint8_t *panel = (uint8_t *)dst + p * pb;
        memset(panel, 0, (size_t)pb);
        for (int r = 0; r < IR_PACK_ROWS; r++) {
            int64_t wr = p * IR_PACK_ROWS + r;
            if (wr >= m) break;
            const char *src = (const char *)w + wr * row;
            for (int b = 0; b < nb; b++) {
                size_t qo, dof;
                ir_pack_offsets(qb, nb, b, &qo, &dof);
                uint8_t *q = panel + qo;
                uint16_t *d = (uint16_t *)(panel + dof);
                if (type == IR_Q4_0) {
                    const blk_q4_0 *x = (const blk_q4_0 *)src + b;
                    d[r] = x->d;
                    for (int t = 0; t < 4; t++) memcpy(q + 64 * t + 4 * r, x->qs + 4 * t, 4);
                } else {
                    const blk_q8_0 *x = (const blk_q8_0 *)src + b;
                    d[r] = x->d;
                    for (int t = 0; t < 8; t++)
                        for (int j = 0; j < 4; j++) q[64 * t + 4 * r + j] = (uint8_t)(x->qs[4 * t + j] ^ 0x80);
                }
            }
        }
    }
    return 0;
}

int ir_has_pgemm(int type) { return type >= 0 && type < IR_NTYPES && ir_pgemm[type] != 0; }

// Activations for packed kernels: each Q8_0 block with its scale as a float
// and its sum already multiplied by minus the weights' unsigned offset, so
// that a kernel starts its integer sum there.
int64_t ir_xpack_row_size(int64_t k) { return (k / QK * (int64_t)sizeof(ir_xq8) + 63) / 64 * 64; }

void ir_xpack_q8_0(const void *vx, void *vp, int n) {
    const blk_q8_0 *x = vx;
    ir_xq8 *p = vp;
    for (int b = 0; b < n / QK; b++) {
        int s = 0;
        for (int j = 0; j < QK; j++) s += x[b].qs[j];
        memcpy(p[b].qs, x[b].qs, QK);
        p[b].d = ir_h2f(x[b].d);
        p[b].neg8 = -8 * s;
        p[b].neg128 = -128 * s;
        p[b].pad = 0;
    }
}
