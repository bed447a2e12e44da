// Packed weights: a copy of a weight matrix laid out for the kernels rather
// than as in the file. IR_PACK_ROWS rows form a panel; inside a panel each
// block position holds the 16 rows' scales side by side and their quants
// interleaved four bytes at a time, so that one 512-bit vpdpbusd works on
// all 16 rows at once and leaves one exact integer sum per row in its own
// lane: no horizontal sums, one multiply by the 16 scales per block.
//
// Each type's layout is described with its packer below (the K-quants and
// F16 in their own files). Rows past the end of the matrix are zero.
//
// The packing here is portable; kernels that read the layout are set in
// ir_pack by the ISA levels that have kernels for them (AVX-512 VNNI).
#include "ir_cpu.h"

#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#elif defined(_WIN32)
#include <malloc.h>  // _aligned_malloc: Windows has no posix_memalign
#endif

ir_pack_traits ir_pack[IR_NTYPES];

// ir_pack_alloc returns zeroed memory for packed weights, 64-byte aligned.
// On Linux it asks for transparent huge pages: decode streams every weight
// once per token, and with 4 KiB pages every page is a TLB miss that the
// hardware prefetchers will not run ahead of.
void *ir_pack_alloc(size_t size) {
#if defined(__linux__)
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#if defined(MADV_HUGEPAGE)
    madvise(p, size, MADV_HUGEPAGE);  // a hint: without it the memory still works
#endif
    return p;
#elif defined(_WIN32)
    void *p = _aligned_malloc(size, 64);
    if (p) memset(p, 0, size);
    return p;
#else
    void *p = NULL;
    if (posix_memalign(&p, 64, size)) return NULL;
    memset(p, 0, size);
    return p;
#endif
}

void ir_pack_free(void *p, size_t size) {
    if (!p) return;
#if defined(__linux__)
    munmap(p, size);
#elif defined(_WIN32)
    (void)size;
    _aligned_free(p);
#else
    (void)size;
    free(p);
#endif
}
ir_prep_fn ir_xpack[IR_NTYPES];
int64_t (*ir_xpack_row_size_fn[IR_NTYPES])(int64_t k);

static int known(int t) { return t >= 0 && t < IR_NTYPES; }
int ir_has_pgemm(int type) { return known(type) && ir_pack[type].gemm && ir_pack[type].pack && ir_pack[type].panel_bytes && ir_pack[type].unpack; }

int64_t ir_pack_panel_bytes(int type, int64_t k) { return ir_has_pgemm(type) ? ir_pack[type].panel_bytes(k) : -1; }

int64_t ir_pack_size(int type, int64_t k, int64_t m) {
    int64_t pb = ir_pack_panel_bytes(type, k);
    if (pb <= 0 || m <= 0) return -1;
    return (m + IR_PACK_ROWS - 1) / IR_PACK_ROWS * pb;
}

// ir_pack_panels packs panels p0..p1-1 of w (k x m, type) into dst, which
// holds ir_pack_size bytes. Returns 0, or -1 for a type without a layout.
int ir_pack_panels(int type, const void *w, void *dst, int64_t k, int64_t m, int64_t p0, int64_t p1) {
    const int64_t pb = ir_pack_panel_bytes(type, k), row = ir_row_size(type, k);
    if (pb <= 0 || row < 0) return -1;
    for (int64_t p = p0; p < p1; p++) {
        int64_t r0 = p * IR_PACK_ROWS, nr = m - r0 < IR_PACK_ROWS ? m - r0 : IR_PACK_ROWS;
        uint8_t *panel = (uint8_t *)dst + p * pb;
        memset(panel, 0, (size_t)pb);
        ir_pack[type].pack((const char *)w + r0 * row, (size_t)row, (int)nr, panel, k);
    }
    return 0;
}

// Rows go back to the file's bytes a piece at a time through a small
// buffer, so that to_float (the same as for unpacked weights) gives the
// same bits.
void ir_pack_row_to_float(int type, const void *packed, int64_t k, int64_t r, float *y) {
    enum { PIECE = 1024 };  // elements: a whole number of blocks of every packed type
    uint8_t buf[PIECE * 2];  // F16 has the most bytes per element
    const int64_t bs = ir_traits[type].block;
    const uint8_t *panel = (const uint8_t *)packed + r / IR_PACK_ROWS * ir_pack_panel_bytes(type, k);
    for (int64_t e = 0; e < k; e += PIECE) {
        int64_t n = k - e < PIECE ? k - e : PIECE;
        ir_pack[type].unpack(panel, (int)(r % IR_PACK_ROWS), k, e / bs, n / bs, buf);
        ir_traits[type].to_float(buf, y + e, (int)n);
    }
}

int64_t ir_xpack_row_size(int vdt, int64_t k) {
    if (vdt == IR_F32) return k * 4;
    return known(vdt) && ir_xpack_row_size_fn[vdt] ? ir_xpack_row_size_fn[vdt](k) : -1;
}

// --- Q4_0 and Q8_0 -----------------------------------------------------------
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

static int64_t q0_panel_bytes(int64_t qb, int64_t k) {
    if (k <= 0 || k % QK) return -1;
    int64_t nb = k / QK;
    return nb / 2 * (2 * qb + 64) + (nb & 1) * (qb + 64);
}
static int64_t panel_bytes_q4_0(int64_t k) { return q0_panel_bytes(256, k); }
static int64_t panel_bytes_q8_0(int64_t k) { return q0_panel_bytes(512, k); }

static void pack_q4_0(const void *w, size_t row, int nr, void *panel, int64_t k) {
    const int nb = (int)(k / QK);
    for (int r = 0; r < nr; r++)
        for (int b = 0; b < nb; b++) {
            const blk_q4_0 *x = (const blk_q4_0 *)((const char *)w + r * row) + b;
            size_t qo, dof;
            ir_pack_offsets(256, nb, b, &qo, &dof);
            uint8_t *q = (uint8_t *)panel + qo;
            ((uint16_t *)((uint8_t *)panel + dof))[r] = x->d;
            for (int t = 0; t < 4; t++) memcpy(q + 64 * t + 4 * r, x->qs + 4 * t, 4);
        }
}

static void pack_q8_0(const void *w, size_t row, int nr, void *panel, int64_t k) {
    const int nb = (int)(k / QK);
    for (int r = 0; r < nr; r++)
        for (int b = 0; b < nb; b++) {
            const blk_q8_0 *x = (const blk_q8_0 *)((const char *)w + r * row) + b;
            size_t qo, dof;
            ir_pack_offsets(512, nb, b, &qo, &dof);
            uint8_t *q = (uint8_t *)panel + qo;
            ((uint16_t *)((uint8_t *)panel + dof))[r] = x->d;
            for (int t = 0; t < 8; t++)
                for (int j = 0; j < 4; j++) q[64 * t + 4 * r + j] = (uint8_t)(x->qs[4 * t + j] ^ 0x80);
        }
}

static void unpack_q4_0(const void *panel, int r, int64_t k, int64_t b0, int64_t nb, void *out) {
    blk_q4_0 *x = out;
    for (int64_t b = b0; b < b0 + nb; b++, x++) {
        size_t qo, dof;
        ir_pack_offsets(256, (int)(k / QK), (int)b, &qo, &dof);
        const uint8_t *q = (const uint8_t *)panel + qo;
        x->d = ((const uint16_t *)((const uint8_t *)panel + dof))[r];
        for (int t = 0; t < 4; t++) memcpy(x->qs + 4 * t, q + 64 * t + 4 * r, 4);
    }
}

static void unpack_q8_0(const void *panel, int r, int64_t k, int64_t b0, int64_t nb, void *out) {
    blk_q8_0 *x = out;
    for (int64_t b = b0; b < b0 + nb; b++, x++) {
        size_t qo, dof;
        ir_pack_offsets(512, (int)(k / QK), (int)b, &qo, &dof);
        const uint8_t *q = (const uint8_t *)panel + qo;
        x->d = ((const uint16_t *)((const uint8_t *)panel + dof))[r];
        for (int t = 0; t < 8; t++)
            for (int j = 0; j < 4; j++) x->qs[4 * t + j] = (int8_t)(q[64 * t + 4 * r + j] ^ 0x80);
    }
}

// Activations for the Q4_0/Q8_0 kernels: each Q8_0 block with its scale as
// a float and its sum already multiplied by minus the weights' unsigned
// offset, so that a kernel starts its integer sum there.
static int64_t xpack_row_size_q8_0(int64_t k) { return (k / QK * (int64_t)sizeof(ir_xq8) + 63) / 64 * 64; }

static void xpack_q8_0(const void *vx, void *vp, int n) {
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

// ir_pack_q0_layouts registers the Q4_0 and Q8_0 layouts for kernels that
// read them (gemm_q4_0, gemm_q8_0).
void ir_pack_q0_layouts(ir_pgemm_fn gemm_q4_0, ir_pgemm_fn gemm_q8_0) {
    ir_pack[IR_Q4_0] = (ir_pack_traits){panel_bytes_q4_0, pack_q4_0, gemm_q4_0, unpack_q4_0};
    ir_pack[IR_Q8_0] = (ir_pack_traits){panel_bytes_q8_0, pack_q8_0, gemm_q8_0, unpack_q8_0};
    ir_xpack[IR_Q8_0] = xpack_q8_0;
    ir_xpack_row_size_fn[IR_Q8_0] = xpack_row_size_q8_0;
}
