// The ops of a graph and the loop that runs them. Every op is split across
// the pool's threads by rows; each output element is computed by exactly one
// thread with the same code whatever the thread count, so results do not
// depend on the number of threads.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <time.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include "ir_cpu.h"

typedef struct {
    ir_pool *pool;
    int nth;  // threads taking part: the pool's, or 1 for small graphs
    ir_op *ops;
    int n_ops;
    char *work;
    size_t work_size;
    atomic_int *counters;  // one per op, for dynamic work sharing
    atomic_int *own;       // per op and thread, IR_OWN_STRIDE apart: next tile of the thread's own share
    unsigned char *sync;   // per op: bit ph set = barrier before phase ph (plan_barriers)
    atomic_int status;
    char *err;
    int err_len;
} graph_ctx;

static void fail(graph_ctx *c, int op, const char *msg) {
    int zero = 0;
    if (atomic_compare_exchange_strong(&c->status, &zero, 1)) snprintf(c->err, (size_t)c->err_len, "op %d: %s", op, msg);
}

// split gives thread ith its share [*a, *b) of n items.
static void split(int64_t n, int ith, int nth, int64_t *a, int64_t *b) {
    *a = n * ith / nth;
    *b = n * (ith + 1) / nth;
}

static int64_t rows(const ir_tensor *t) { return t->ne[1] * t->ne[2] * t->ne[3]; }

int64_t ir_row_size(int type, int64_t n) {
    if (type < 0 || type >= IR_NTYPES || !ir_traits[type].block || n % ir_traits[type].block) return -1;
    return n / ir_traits[type].block * ir_traits[type].bytes;
}

// --- get_rows --------------------------------------------------------------

static void op_get_rows(graph_ctx *c, int i, const ir_op *op, int ith, int nth) {
    const ir_tensor *w = &op->src[0];
    const int32_t *ids = op->src[1].data;
    int64_t d = w->ne[0], rb = ir_row_size(w->type, d), a, b;
    split(op->dst.ne[1], ith, nth, &a, &b);
    for (int64_t r = a; r < b; r++) {
        if (ids[r] < 0 || ids[r] >= rows(w)) {
            fail(c, i, "row id out of range");
            return;
        }
        if (op->i[1]) ir_pack_row_to_float(w->type, w->data, d, ids[r], (float *)op->dst.data + r * d);
        else ir_traits[w->type].to_float((const char *)w->data + ids[r] * rb, (float *)op->dst.data + r * d, (int)d);
    }
}

// --- mul_mat -----------------------------------------------------------------

// A task: up to 16 weight rows x 64 activation rows. Tiles go down the
// weight rows first, so consecutive tasks reuse the same activations (64
// rows stay in L2) and the weights are streamed once per 64 activations.
enum { MM_ROWS = 16, MM_COLS = 64 };
_Static_assert(MM_ROWS == IR_PACK_ROWS, "a row tile is one panel of packed weights");
enum { IR_OWN_STRIDE = 16 };  // ints: one cache line per thread's counter

// Work buffer of a product: the quantized rows, then (when the activation
// type has a prep) the prepared rows from the next 64-byte boundary.
static int64_t prep_offset(int vdt, int64_t k, int64_t rows) { return (ir_row_size(vdt, k) * rows + 63) / 64 * 64; }

int64_t ir_work_size(int vdt, int64_t k, int64_t rows) {
    int64_t row = ir_row_size(vdt, k);
    if (row < 0) return -1;
    int64_t prep = ir_prep[vdt] ? ir_prep_size(vdt, k) : 0;
    if (ir_xpack[vdt] && ir_xpack_row_size(vdt, k) > prep) prep = ir_xpack_row_size(vdt, k);  // for packed weights
    return prep ? prep_offset(vdt, k, rows) + prep * rows : row * rows;
}

// mm_tile: the output a tile covers, weight rows [r0, r1) by activation
// rows [c0, c1).
typedef struct {
    int64_t r0, r1, c0, c1;
} mm_tile;

// tile_bounds gives tile t's bounds; tiles go down the weight rows first.
static mm_tile tile_bounds(const ir_op *op, int64_t t, int64_t row_tiles) {
    int64_t m = rows(&op->src[0]), n = rows(&op->src[1]);
    mm_tile b = {.r0 = (t % row_tiles) * MM_ROWS, .c0 = (t / row_tiles) * MM_COLS};
    b.r1 = b.r0 + MM_ROWS < m ? b.r0 + MM_ROWS : m;
    b.c1 = b.c0 + MM_COLS < n ? b.c0 + MM_COLS : n;
    return b;
}

// packed_tile computes tile t of a product whose weights are packed (one
// panel per tile) from the activation rows xp laid out by ir_xpack_q8_0.
static void packed_tile(const ir_op *op, int64_t t, int64_t row_tiles, const char *xp, int64_t prow) {
    const ir_tensor *w = &op->src[0];
    int64_t k = w->ne[0], m = rows(w);
    float *dst = op->dst.data;
    mm_tile b = tile_bounds(op, t, row_tiles);
    int nr = (int)(b.r1 - b.r0);  // a tile is one panel's rows
    const char *panel = (const char *)w->data + b.r0 / IR_PACK_ROWS * ir_pack_panel_bytes(w->type, k);
    for (int64_t col = b.c0; col < b.c1; col += IR_PGEMM_COLS) {
        int nc = b.c1 - col < IR_PGEMM_COLS ? (int)(b.c1 - col) : IR_PGEMM_COLS;
        ir_pack[w->type].gemm((int)k, panel, xp + col * prow, (size_t)prow, nc, dst + col * m + b.r0, (size_t)m, nr);
    }
}

// add_bias adds the bias of a product fused with its Add (src[2], one
// float per output row) to tile t, right after the tile is computed, while
// it is still in cache: the separate Add cost a thread meeting and a pass
// over the output, and split the products of q, k and v, which then
// quantized their common input three times.
static void add_bias(const ir_op *op, int64_t t, int64_t row_tiles) {
    const float *bias = op->src[2].data;
    int64_t m = rows(&op->src[0]);
    mm_tile b = tile_bounds(op, t, row_tiles);
    for (int64_t col = b.c0; col < b.c1; col++) {
        float *o = (float *)op->dst.data + col * m;
        for (int64_t r = b.r0; r < b.r1; r++) o[r] += bias[r];
    }
}

// mm_block computes the dots of nr weight rows w + r*wrow with nc activation
// rows xq + c*xrow (xp + c*prow, prepared, for kernels that take them) into
// out[c*ldo + r]: a tile of a product, wherever its rows and columns lie.
static void mm_block(const ir_type_traits *tr, int64_t k, const char *w, int64_t wrow, int64_t nr, const char *xq, int64_t xrow,
                     const char *xp, int64_t prow, int64_t nc, float *out, int64_t ldo) {
    if (tr->mm2d && nc > 1) {  // register tiles: activations reused across the tile's weight rows
        for (int64_t col = 0; col < nc; col += IR_MM2D_COLS) {
            int ncols = nc - col < IR_MM2D_COLS ? (int)(nc - col) : IR_MM2D_COLS;
            for (int64_t r = 0; r < nr; r += IR_MM2D_ROWS) {
                int nrows = nr - r < IR_MM2D_ROWS ? (int)(nr - r) : IR_MM2D_ROWS;
                tr->mm2d((int)k, w + r * wrow, (size_t)wrow, nrows, xq + col * xrow, (size_t)xrow, ncols, out + col * ldo + r, (size_t)ldo);
            }
        }
        return;
    }
    const char *xk = tr->prepared ? xp : xq;  // what mm and mv take
    int64_t krow = tr->prepared ? prow : xrow;
    if (tr->mv && nc == 1) {  // one activation row (decode): several weight rows at a time
        for (int64_t r = 0; r < nr; r += IR_MV_ROWS) {
            int nrows = nr - r < IR_MV_ROWS ? (int)(nr - r) : IR_MV_ROWS;
            tr->mv((int)k, w + r * wrow, (size_t)wrow, nrows, xk, out + r);
        }
        return;
    }
    for (int64_t r = 0; r < nr; r++) {
        const char *wr = w + r * wrow;
        int64_t col = 0;
        if (tr->mm)
            for (; col + 1 < nc; col += IR_MM_COLS) {
                int ncols = nc - col < IR_MM_COLS ? (int)(nc - col) : IR_MM_COLS;
                tr->mm((int)k, wr, xk + col * krow, (size_t)krow, ncols, out + col * ldo + r, (size_t)ldo);
            }
        for (; col < nc; col++) tr->vec_dot((int)k, out + col * ldo + r, wr, xq + col * xrow);
    }
}

// The activations of a product as its tiles read them: quantized rows xq
// (or the float rows themselves), and prepared rows xp for kernels that
// take them (NULL where the type has none).
typedef struct {
    const char *xq, *xp;
    int64_t xrow, prow;
} mm_acts;

// mm_job is one thread's view of a product, for its tiles.
typedef struct {
    const ir_op *op;
    const ir_type_traits *tr;
    int64_t row_tiles, wrow;
    mm_acts x;
    const struct mmid_groups *groups;  // mul_mat_id only
} mm_job;

static const char *prepared_cols(const mm_acts *x, int64_t c0) { return x->xp ? x->xp + c0 * x->prow : NULL; }

// mul_mat_tile computes tile t (row tiles first) of a product's output.
static void mul_mat_tile(const mm_job *j, int64_t t) {
    const ir_op *op = j->op;
    int64_t m = rows(&op->src[0]);
    mm_tile b = tile_bounds(op, t, j->row_tiles);
    if (op->i[1]) packed_tile(op, t, j->row_tiles, j->x.xp, j->x.prow);
    else
        mm_block(j->tr, op->src[0].ne[0], (const char *)op->src[0].data + b.r0 * j->wrow, j->wrow, b.r1 - b.r0, j->x.xq + b.c0 * j->x.xrow,
                 j->x.xrow, prepared_cols(&j->x, b.c0), j->x.prow, b.c1 - b.c0, (float *)op->dst.data + b.c0 * m + b.r0, m);
    if (op->n_src > 2) add_bias(op, t, j->row_tiles);
}

typedef void (*tile_fn)(const mm_job *j, int64_t t);

// run_tiles computes tiles [0, tiles) of op i with tile(). In prompt batches
// (batch set) the threads go down the weight rows together, so each tile
// of weights is read from memory once per 64 activations.
//
// Otherwise (decode and small batches) each thread streams its own
// contiguous share of the weight rows (interleaved tiles defeat the
// hardware prefetchers and halved the two-thread decode speed), then helps
// the others with what is left of theirs, which balances a loaded machine.
// Tiles are claimed a sixteenth of a share at a time: a claim is a locked
// instruction, which waits for every load in flight, and one per tile
// cost small models 7% of their decode time.
static void run_tiles(graph_ctx *c, int i, int64_t tiles, int batch, tile_fn tile, const mm_job *j, int ith, int nth) {
    if (batch) {
        for (;;) {
            int64_t t = atomic_fetch_add(&c->counters[i], 1);
            if (t >= tiles) break;
            tile(j, t);
        }
        return;
    }
    for (int v = 0; v < nth; v++) {
        int o = (ith + v) % nth;
        int64_t a, b;
        split(tiles, o, nth, &a, &b);
        int64_t step = (b - a) / 16 > 1 ? (b - a) / 16 : 1;
        for (;;) {
            int64_t t = a + atomic_fetch_add(&c->own[((int64_t)i * nth + o) * IR_OWN_STRIDE], (int)step);
            if (t >= b) break;
            for (int64_t end = t + step < b ? t + step : b; t < end; t++) tile(j, t);
        }
    }
}

// convert_row puts activation row src (k floats) at row r of the
// activations x, converted to the weight's vec_dot type vdt and prepared
// with prep where there is one.
static void convert_row(const mm_acts *x, int vdt, ir_prep_fn prep, const float *src, int64_t k, int64_t r) {
    char *xq = (char *)x->xq + r * x->xrow;
    if (vdt == IR_F32) {
        memcpy(xq, src, (size_t)k * 4);
        return;
    }
    ir_quantize[vdt](src, xq, (int)k);
    if (x->xp) prep(xq, (char *)x->xp + r * x->prow, (int)k);
}

// Phase 0 converts the activations to the weight's vec_dot type; phase 1
// computes tiles of the output (MM_ROWS weight rows x MM_COLS activations).
static void op_mul_mat(graph_ctx *c, int i, const ir_op *op, int phase, int ith, int nth) {
    const ir_tensor *w = &op->src[0], *x = &op->src[1];
    const ir_type_traits *tr = &ir_traits[w->type];
    int64_t k = w->ne[0], m = rows(w), n = rows(x), a, b;
    int vdt = tr->vec_dot_type;
    mm_job j = {.op = op, .tr = tr, .row_tiles = (m + MM_ROWS - 1) / MM_ROWS, .wrow = ir_row_size(w->type, k),
                .x = {.xq = x->data, .xrow = k * 4}};
    const int packed = op->i[1];  // Go packs only types with a packed kernel (ir_has_pgemm)
    ir_prep_fn prep = packed ? ir_xpack[vdt] : ir_prep[vdt];
    if (vdt != IR_F32) {
        j.x.xq = c->work;
        j.x.xrow = ir_row_size(vdt, k);
        if (prep) {
            j.x.xp = c->work + prep_offset(vdt, k, n);
            j.x.prow = packed ? ir_xpack_row_size(vdt, k) : ir_prep_size(vdt, k);
        }
    } else if (packed) {  // float activations as they are
        j.x.xp = x->data;
        j.x.prow = k * 4;
    }
    if (phase == 0) {
        if (vdt == IR_F32 || op->i[0]) return;  // i[0]: the previous op left x quantized (and laid out) in work
        split(n, ith, nth, &a, &b);
        for (int64_t r = a; r < b; r++) convert_row(&j.x, vdt, prep, (const float *)x->data + r * k, k, r);
        return;
    }
    int64_t col_tiles = (n + MM_COLS - 1) / MM_COLS;
    run_tiles(c, i, j.row_tiles * col_tiles, col_tiles > 1, mul_mat_tile, &j, ith, nth);
}

// --- mixture of experts ------------------------------------------------------
//
// mul_mat_id: src[0] holds ne expert matrices (ne0 = k, ne1 = m, ne2 = ne),
// src[1] the activations (F32, one row per token shared by its slots, or one
// per slot), src[2] the ids (I32 [kk, n]); dst is F32 [m, kk, n]. Phase 0
// groups the (token, slot) pairs by expert and converts their activation
// rows in that order into work; phase 1 computes tiles of each chosen
// expert's rows against its group of rows, so each chosen expert's weights
// are read once a step and the others not at all.

// mmid_groups is one thread's grouping of the pairs by expert. Every thread
// builds its own (it is a few thousand integers at most), so no thread waits
// for another's before it converts its share of the rows.
typedef struct mmid_groups {
    int64_t *tiles;   // [ne + 1] tiles of the active experts before active expert a
    float *out;       // [MM_COLS * MM_ROWS] a tile of outputs before they go to their rows
    int32_t *start;   // [ne + 1] grouped row of each expert's first pair
    int32_t *next;    // [ne] while grouping: where each expert's next pair goes
    int32_t *order;   // [pairs] grouped row -> pair t*kk + j
    int32_t *active;  // [ne] experts with at least one pair, ascending
    int64_t n_active;
} mmid_groups;

static int64_t align64(int64_t n) { return (n + 63) / 64 * 64; }

static int64_t mmid_act_bytes(int vdt, int64_t k, int64_t pairs) { return vdt == IR_F32 ? pairs * k * 4 : ir_work_size(vdt, k, pairs); }

static int64_t mmid_thread_bytes(int64_t ne, int64_t pairs) {
    return align64(8 * (ne + 1) + 4 * MM_COLS * MM_ROWS + 4 * (ne + 1) + 4 * ne + 4 * pairs + 4 * ne);
}

int64_t ir_mul_mat_id_work(int vdt, int64_t k, int64_t pairs, int64_t ne, int nth) {
    int64_t act = mmid_act_bytes(vdt, k, pairs);
    if (act < 0) return -1;
    return align64(act) + nth * mmid_thread_bytes(ne, pairs);
}

// mmid_scratch returns the start of the threads' groupings and the bytes
// between them.
static char *mmid_scratch(const graph_ctx *c, const ir_op *op, int64_t *stride) {
    const ir_tensor *w = &op->src[0], *ids = &op->src[2];
    int64_t pairs = ids->ne[0] * ids->ne[1];
    *stride = mmid_thread_bytes(w->ne[2], pairs);
    return c->work + align64(mmid_act_bytes(ir_traits[w->type].vec_dot_type, w->ne[0], pairs));
}

// mmid_group groups the pairs of op by expert in the scratch of thread ith;
// it returns 0 when an id is outside [0, ne).
static int mmid_group(const graph_ctx *c, const ir_op *op, int ith, mmid_groups *g) {
    const ir_tensor *w = &op->src[0], *ids = &op->src[2];
    const int32_t *id = ids->data;
    int64_t ne = w->ne[2], pairs = ids->ne[0] * ids->ne[1], stride;
    int64_t row_tiles = (w->ne[1] + MM_ROWS - 1) / MM_ROWS;
    char *p = mmid_scratch(c, op, &stride) + ith * stride;
    g->tiles = (int64_t *)p;
    g->out = (float *)(g->tiles + ne + 1);
    g->start = (int32_t *)(g->out + MM_COLS * MM_ROWS);
    g->next = g->start + ne + 1;
    g->order = g->next + ne;
    g->active = g->order + pairs;
    memset(g->start, 0, (size_t)(ne + 1) * 4);
    for (int64_t q = 0; q < pairs; q++) {
        if (id[q] < 0 || id[q] >= ne) return 0;
        g->start[id[q] + 1]++;
    }
    g->n_active = 0;
    g->tiles[0] = 0;
    for (int64_t e = 0; e < ne; e++) {
        int32_t count = g->start[e + 1];
        g->start[e + 1] += g->start[e];
        g->next[e] = g->start[e];
        if (count) {
            g->active[g->n_active] = (int32_t)e;
            g->tiles[g->n_active + 1] = g->tiles[g->n_active] + row_tiles * ((count + MM_COLS - 1) / MM_COLS);
            g->n_active++;
        }
    }
    for (int64_t q = 0; q < pairs; q++) g->order[g->next[id[q]]++] = (int32_t)q;
    return 1;
}

// mmid_tile computes tile t: the tiles of each active expert in turn, row
// tiles first within an expert. The outputs go from the thread's tile to
// the rows of their pairs.
static void mmid_tile(const mm_job *j, int64_t t) {
    const ir_op *op = j->op;
    const mmid_groups *g = j->groups;
    int64_t lo = 0, hi = g->n_active - 1;
    while (lo < hi) {  // the active expert whose tiles hold t
        int64_t mid = (lo + hi + 1) / 2;
        if (g->tiles[mid] <= t) lo = mid;
        else hi = mid - 1;
    }
    int32_t e = g->active[lo];
    int64_t m = op->src[0].ne[1], local = t - g->tiles[lo];
    int64_t r0 = local % j->row_tiles * MM_ROWS, c0 = g->start[e] + local / j->row_tiles * MM_COLS;
    int64_t nr = m - r0 < MM_ROWS ? m - r0 : MM_ROWS, nc = g->start[e + 1] - c0 < MM_COLS ? g->start[e + 1] - c0 : MM_COLS;
    if (op->i[1]) {  // packed: each expert's panels after the previous one's (pack.go)
        const ir_tensor *w = &op->src[0];
        const char *panel = (const char *)w->data + e * ir_pack_size(w->type, w->ne[0], m) + r0 / IR_PACK_ROWS * ir_pack_panel_bytes(w->type, w->ne[0]);
        for (int64_t col = 0; col < nc; col += IR_PGEMM_COLS) {
            int ncols = nc - col < IR_PGEMM_COLS ? (int)(nc - col) : IR_PGEMM_COLS;
            ir_pack[w->type].gemm((int)w->ne[0], panel, j->x.xp + (c0 + col) * j->x.prow, (size_t)j->x.prow, ncols, g->out + col * MM_ROWS,
                                  MM_ROWS, (int)nr);
        }
    } else {
        const char *we = (const char *)op->src[0].data + (e * m + r0) * j->wrow;
        mm_block(j->tr, op->src[0].ne[0], we, j->wrow, nr, j->x.xq + c0 * j->x.xrow, j->x.xrow, prepared_cols(&j->x, c0), j->x.prow, nc,
                 g->out, MM_ROWS);
    }
    for (int64_t col = 0; col < nc; col++)
        memcpy((float *)op->dst.data + g->order[c0 + col] * m + r0, g->out + col * MM_ROWS, (size_t)nr * 4);
}

static void op_mul_mat_id(graph_ctx *c, int i, const ir_op *op, int phase, int ith, int nth) {
    const ir_tensor *w = &op->src[0], *x = &op->src[1], *ids = &op->src[2];
    const ir_type_traits *tr = &ir_traits[w->type];
    int64_t k = w->ne[0], kk = ids->ne[0], pairs = kk * ids->ne[1], a, b;
    int vdt = tr->vec_dot_type;
    mmid_groups g;
    if (!mmid_group(c, op, ith, &g)) {  // again in phase 1: cheaper than keeping the pointers and count
        fail(c, i, "expert id out of range");
        return;
    }
    mm_job j = {.op = op, .tr = tr, .row_tiles = (w->ne[1] + MM_ROWS - 1) / MM_ROWS, .wrow = ir_row_size(w->type, k),
                .x = {.xq = c->work, .xrow = vdt == IR_F32 ? k * 4 : ir_row_size(vdt, k)}, .groups = &g};
    const int packed = op->i[1];  // Go packs only types with a packed kernel, one expert after another
    ir_prep_fn prep = packed ? ir_xpack[vdt] : ir_prep[vdt];
    if (vdt != IR_F32 && prep) {
        j.x.xp = c->work + prep_offset(vdt, k, pairs);
        j.x.prow = packed ? ir_xpack_row_size(vdt, k) : ir_prep_size(vdt, k);
    } else if (packed) {  // float activations, grouped, as they are
        j.x.xp = j.x.xq;
        j.x.prow = j.x.xrow;
    }
    if (phase == 0) {
        if (op->i[0]) return;
        // One row per pair: with shared activations the pair's token's row.
        int64_t per_pair = rows(x) == pairs;
        split(pairs, ith, nth, &a, &b);
        for (int64_t r = a; r < b; r++) {
            int64_t q = g.order[r], src = per_pair ? q : q / kk;
            convert_row(&j.x, vdt, prep, (const float *)x->data + src * k, k, r);
        }
        return;
    }
    int batch = 0;  // an expert with more rows than a tile: share tiles dynamically
    for (int64_t e = 0; e < g.n_active; e++) batch |= g.start[g.active[e] + 1] - g.start[g.active[e]] > MM_COLS;
    run_tiles(c, i, g.tiles[g.n_active], batch, mmid_tile, &j, ith, nth);
}

// top_k: the ids of the kk largest of each row of ne probabilities (src[0]),
// best first, equal ones by lowest id. NaNs rank below every number, so a
// row of NaNs still yields kk distinct ids in range.
static float rank_key(float p) { return p != p ? -INFINITY : p; }

static void op_top_k(graph_ctx *c, int i, const ir_op *op, int ith, int nth) {
    const ir_tensor *pr = &op->src[0];
    int64_t ne = pr->ne[0], kk = op->dst.ne[0], a, b;
    if (kk > ne) {
        fail(c, i, "more experts chosen than there are");
        return;
    }
    split(pr->ne[1], ith, nth, &a, &b);
    for (int64_t t = a; t < b; t++) {
        const float *p = (const float *)pr->data + t * ne;
        int32_t *ids = (int32_t *)op->dst.data + t * kk;
        float prev = INFINITY;
        int64_t prev_id = -1;
        for (int64_t j = 0; j < kk; j++) {  // the best that ranks after the previous pick
            int64_t best = -1;
            float bk = -INFINITY;
            for (int64_t e = 0; e < ne; e++) {
                float v = rank_key(p[e]);
                if ((v < prev || (v == prev && e > prev_id)) && (best < 0 || v > bk)) {
                    best = e;
                    bk = v;
                }
            }
            ids[j] = (int32_t)best;
            prev = bk;
            prev_id = best;
        }
    }
}

// expert_weights: the probabilities (src[0], [ne, n]) of the chosen ids
// (src[1], [kk, n]); with f[0] > 0, divided by their sum (a double sum,
// clamped to [f[0], inf] as ggml_clamp does) as llama.cpp divides them.
static void op_expert_weights(graph_ctx *c, int i, const ir_op *op, int ith, int nth) {
    const ir_tensor *pr = &op->src[0];
    int64_t ne = pr->ne[0], kk = op->dst.ne[0], a, b;
    float floor = op->f[0];
    split(pr->ne[1], ith, nth, &a, &b);
    for (int64_t t = a; t < b; t++) {
        const float *p = (const float *)pr->data + t * ne;
        const int32_t *ids = (const int32_t *)op->src[1].data + t * kk;
        float *o = (float *)op->dst.data + t * kk;
        double sum = 0;
        for (int64_t j = 0; j < kk; j++) {
            if (ids[j] < 0 || ids[j] >= ne) {
                fail(c, i, "expert id out of range");
                return;
            }
            o[j] = p[ids[j]];
            sum += o[j];
        }
        if (floor > 0) {
            float s = (float)sum;
            s = s < INFINITY ? s : INFINITY;
            s = s > floor ? s : floor;
            for (int64_t j = 0; j < kk; j++) o[j] /= s;
        }
    }
}

// weighted_sum: dst[:, t] = sum over j of w[j, t] * a[:, j, t], each
// product rounded and then added in slot order (llama.cpp multiplies, then
// adds the slots' views one after another).
static void op_weighted_sum(const ir_op *op, int ith, int nth) {
    int64_t d = op->src[0].ne[0], kk = op->src[0].ne[1], a, b;
    split(op->src[0].ne[2], ith, nth, &a, &b);
    for (int64_t t = a; t < b; t++) {
        const float *x = (const float *)op->src[0].data + t * kk * d, *w = (const float *)op->src[1].data + t * kk;
        float *o = (float *)op->dst.data + t * d;
        for (int64_t e = 0; e < d; e++) o[e] = w[0] * x[e];
        for (int64_t j = 1; j < kk; j++)
            for (int64_t e = 0; e < d; e++) {
                float prod = w[j] * x[j * d + e];
                o[e] += prod;
            }
    }
}

// --- element-wise and row ops ------------------------------------------------

static void op_binary(const ir_op *op, int ith, int nth) {
    const ir_tensor *ta = &op->src[0], *tb = &op->src[1];
    int64_t d = ta->ne[0], nr = rows(ta), a, b;
    int bcast = rows(tb) * tb->ne[0] != nr * d;
    split(nr, ith, nth, &a, &b);
    for (int64_t r = a; r < b; r++) {
        const float *x = (const float *)ta->data + r * d, *y = (const float *)tb->data + (bcast ? 0 : r * d);
        float *o = (float *)op->dst.data + r * d;
        if (op->op == IR_OP_ADD)
            for (int64_t j = 0; j < d; j++) o[j] = x[j] + y[j];
        else
            for (int64_t j = 0; j < d; j++) o[j] = x[j] * y[j];
    }
}

static float silu(float x) { return x / (1.0f + expf(-x)); }

// --- portable float kernels (dispatch.c may replace them) ----------------------

ir_float_kernels ir_fk;

static void axpy_f32(int n, float a, const float *x, float *y) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

static void axpy_f16(int n, float a, const uint16_t *x, float *y) {
    for (int i = 0; i < n; i++) y[i] += a * ir_h2f(x[i]);
}

static float exp_sum(int n, float *x, float max) {
    double sum = 0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    return (float)sum;
}

static void swiglu(int n, float *o, const float *g, const float *u) {
    for (int i = 0; i < n; i++) o[i] = silu(g[i]) * u[i];
}

void ir_attn_scores_generic(int hd, const void *k, int f16, size_t stride, int npos, const float *q, int ng, float *s, int ld) {
    for (int j = 0; j < npos; j++) {
        const char *row = (const char *)k + (size_t)j * stride;
        for (int g = 0; g < ng; g++) {
            const float *qg = q + (size_t)g * hd;
            float dot = 0;
            if (f16)
                for (int d = 0; d < hd; d++) dot += ir_h2f(((const uint16_t *)row)[d]) * qg[d];
            else
                for (int d = 0; d < hd; d++) dot += ((const float *)row)[d] * qg[d];
            s[(size_t)g * ld + j] = dot;
        }
    }
}

void ir_attn_values_generic(int hd, const void *v, int f16, size_t stride, int npos, const float *w, int ng, int ld, float *out) {
    for (int j = 0; j < npos; j++) {
        const char *row = (const char *)v + (size_t)j * stride;
        for (int g = 0; g < ng; g++) {
            if (f16) ir_fk.axpy_f16(hd, w[(size_t)g * ld + j], (const uint16_t *)row, out + (size_t)g * hd);
            else ir_fk.axpy_f32(hd, w[(size_t)g * ld + j], (const float *)row, out + (size_t)g * hd);
        }
    }
}

void ir_init_float_generic(void) {
    ir_fk = (ir_float_kernels){axpy_f32, axpy_f16, exp_sum, swiglu, ir_attn_scores_generic, ir_attn_values_generic, ir_attn_scores_q, ir_attn_values_q};
}


static void softmax_row(float *o, const float *x, int64_t n) {
    float max = -INFINITY;
    max = ir_max(x, n, max);
    memcpy(o, x, (size_t)n * 4);
    float inv = 1.0f / ir_fk.exp_sum((int)n, o, max);
    for (int64_t j = 0; j < n; j++) o[j] *= inv;
}

static void op_rowwise(const ir_op *op, int ith, int nth) {
    const ir_tensor *t = &op->src[0];
    int64_t d = t->ne[0], a, b;
    float f = op->f[0];
    split(rows(t), ith, nth, &a, &b);
    for (int64_t r = a; r < b; r++) {
        const float *x = (const float *)t->data + r * d;
        float *o = (float *)op->dst.data + r * d;
        switch (op->op) {
        case IR_OP_SCALE:
            for (int64_t j = 0; j < d; j++) o[j] = x[j] * f;
            break;
        case IR_OP_SOFTCAP:
            for (int64_t j = 0; j < d; j++) o[j] = f * tanhf(x[j] / f);
            break;
        case IR_OP_SOFTMAX:
            softmax_row(o, x, d);
            break;
        case IR_OP_RMS_NORM: {
            double sum = 0;
            for (int64_t j = 0; j < d; j++) sum += (double)x[j] * x[j];
            float s = 1.0f / sqrtf((float)(sum / d) + f);
            for (int64_t j = 0; j < d; j++) o[j] = x[j] * s;
            break;
        }
        case IR_OP_LAYER_NORM:
            ir_layer_norm_row(o, x, d, f);
            break;
        case IR_OP_GELU:
            for (int64_t j = 0; j < d; j++) o[j] = ir_gelu(x[j]);
            break;
        case IR_OP_SWIGLU: {
            ir_fk.swiglu((int)d, o, x, (const float *)op->src[1].data + r * d);
            break;
        }
        case IR_OP_GEGLU: {
            const float *u = (const float *)op->src[1].data + r * d;
            for (int64_t j = 0; j < d; j++) o[j] = ir_gelu(x[j]) * u[j];
            break;
        }
        }
    }
}

static void op_copy(const ir_op *op, int ith, int nth) {
    int64_t n = op->dst.ne[0] * rows(&op->dst), a, b;
    int from16 = op->src[1].type == IR_F16, to16 = op->dst.type == IR_F16;
    size_t es = to16 ? 2 : 4;
    split(n, ith, nth, &a, &b);
    if (from16 == to16) {
        memcpy((char *)op->dst.data + a * es, (const char *)op->src[1].data + a * es, (size_t)(b - a) * es);
    } else if (to16) {
        const float *x = op->src[1].data;
        uint16_t *o = op->dst.data;
        for (int64_t j = a; j < b; j++) o[j] = ir_f2h(x[j]);
    } else {
        const uint16_t *x = op->src[1].data;
        float *o = op->dst.data;
        for (int64_t j = a; j < b; j++) o[j] = ir_h2f(x[j]);
    }
}

// --- rope --------------------------------------------------------------------

// The angles depend on the token and the pair, not on the head, so each
// thread computes a token's cosines and sines once and reuses them for all
// of the token's heads in its share of rows. The tables sit at the end of
// the work buffer, so quantized activations at its start survive a rope
// between two products of the same input.
static void op_rope(graph_ctx *c, const ir_op *op, int ith, int nth) {
    const ir_tensor *x = &op->src[0];
    const int32_t *pos = op->src[1].data;
    const float *ff = op->n_src > 2 ? op->src[2].data : NULL;
    int64_t hd = x->ne[0], nh = x->ne[1], a, b;
    float base = op->f[0], fscale = op->f[1];
    int neox = op->i[0] == 2, dims = op->i[1];
    float theta_scale = powf(base, -2.0f / dims);
    float *cs = (float *)(c->work + c->work_size - (size_t)(ith + 1) * (size_t)dims * 4), *sn = cs + dims / 2;
    int64_t cached = -1;
    split(nh * x->ne[2], ith, nth, &a, &b);
    for (int64_t r = a; r < b; r++) {
        int64_t t = r / nh;
        if (t != cached) {
            float theta = (float)pos[t];
            for (int p = 0; p < dims / 2; p++, theta *= theta_scale) {
                float th = fscale * (ff ? theta / ff[p] : theta);
                cs[p] = cosf(th);
                sn[p] = sinf(th);
            }
            cached = t;
        }
        const float *in = (const float *)x->data + r * hd;
        float *o = (float *)op->dst.data + r * hd;
        for (int p = 0; p < dims / 2; p++) {
            int i0 = neox ? p : 2 * p, i1 = neox ? p + dims / 2 : 2 * p + 1;
            float x0 = in[i0], x1 = in[i1];
            o[i0] = x0 * cs[p] - x1 * sn[p];
            o[i1] = x0 * sn[p] + x1 * cs[p];
        }
        for (int64_t j = dims; j < hd; j++) o[j] = in[j];
    }
}

// --- attention ---------------------------------------------------------------

// use_attn_block: whether phase 1 takes blocks of tokens (attn_avx512.c)
// rather than one token at a time.
static int use_attn_block(int64_t hd, int64_t nt) { return ir_fk.attn_block && nt >= 4 && hd % 16 == 0 && hd <= 256; }

// Decode splits each token's positions into chunks of ATTN_CHUNK so that
// all threads share one kv head's long cache; phase 1 leaves per chunk the
// scores' max, the sum of their exponentials and the unnormalised output of
// each query head, and phase 2 combines the chunks in a fixed order.
enum { ATTN_CHUNK = 256, ATTN_SPLIT_TOKENS = 4 };
static int64_t attn_chunks(int64_t cap) { return (cap + ATTN_CHUNK - 1) / ATTN_CHUNK; }

// use_attn_split: whether phase 1 works on chunks of positions.
static int use_attn_split(int64_t hd, int64_t nt) { return !use_attn_block(hd, nt) && nt <= ATTN_SPLIT_TOKENS; }

// ir_attn_partial_floats: the chunk partials of a decode attention, after
// the threads' scratch.
int64_t ir_attn_partial_floats(int64_t hd, int64_t nh, int64_t cap, int64_t nt) {
    return use_attn_split(hd, nt) ? nt * nh * attn_chunks(cap) * (hd + 2) : 0;
}

// ir_attn_work_floats: scratch floats per thread of an attention.
int64_t ir_attn_work_floats(int64_t hd, int64_t group, int64_t cap) {
    int64_t one = group * (cap + 2 + 2 * hd) + ir_attn_quant_floats(hd, group);
    if (use_attn_block(hd, IR_ATTN_BLOCK)) {
        int64_t blk = ir_attn_block_floats(hd, group, cap);
        return blk > one ? blk : one;
    }
    return one;
}

// attend runs token t's query heads of kv head kvh over cache rows
// [c0, c0+npos): it leaves in acc (group x hd) the outputs before division,
// and per head the largest score in mx and the sum of exponentials in sm.
// Scratch: scores [group][cap], acc [group][hd], scaled queries [group][hd],
// then ir_attn_quant_floats for a quantized cache.
static void attend(const ir_attn_args *A, int64_t t, int64_t kvh, int64_t c0, int64_t npos, float *scores, float *acc, float *qs, float *mx, float *sm) {
    const int64_t hd = A->hd, group = A->group;
    const float *q0 = A->q + (t * A->nh + kvh * group) * hd;
    for (int64_t e = 0; e < group * hd; e++) qs[e] = q0[e] * A->scale;
    float *qscratch = qs + group * hd;
    // A paged cache is read a run of consecutive rows at a time; the
    // scores of position c0+j go to column j either way.
    for (int64_t j = 0, n; j < npos; j += n) {
        n = ir_attn_run(A, c0 + j, npos - j);
        const char *k = (const char *)A->k + ir_kv_bytes(A->ktype, ir_attn_row(A, c0 + j) * A->kvrow + kvh * hd);
        if (ir_kv_quantized(A->ktype))
            ir_fk.attn_scores_q(A->ktype, (int)hd, k, ir_kv_bytes(A->ktype, A->kvrow), (int)n, qs, (int)group, scores + j, (int)A->cap, qscratch);
        else
            ir_fk.attn_scores((int)hd, k, A->kf16, (size_t)A->kvrow * A->kes, (int)n, qs, (int)group, scores + j, (int)A->cap);
    }
    for (int64_t g = 0; g < group; g++) {
        float *sg = scores + g * A->cap;
        if (A->softcap > 0)
            for (int64_t j = 0; j < npos; j++) sg[j] = A->softcap * tanhf(sg[j] / A->softcap);
        mx[g] = ir_max(sg, npos, -INFINITY);
        sm[g] = ir_fk.exp_sum((int)npos, sg, mx[g]);
    }
    memset(acc, 0, (size_t)(group * hd) * 4);
    for (int64_t j = 0, n; j < npos; j += n) {
        n = ir_attn_run(A, c0 + j, npos - j);
        const char *v = (const char *)A->v + ir_kv_bytes(A->vtype, ir_attn_row(A, c0 + j) * A->kvrow + kvh * hd);
        if (ir_kv_quantized(A->vtype))
            ir_fk.attn_values_q(A->vtype, (int)hd, v, ir_kv_bytes(A->vtype, A->kvrow), (int)n, scores + j, (int)group, (int)A->cap, acc, qscratch);
        else
            ir_fk.attn_values((int)hd, v, A->vf16, (size_t)A->kvrow * A->ves, (int)n, scores + j, (int)group, (int)A->cap, acc);
    }
}

// Phase 0 writes the new keys and values into the caches; phase 1 computes
// one (token, kv head) at a time, or blocks of tokens for a prompt batch.
static void op_attention(graph_ctx *c, int i, const ir_op *op, int phase, int ith, int nth) {
    const ir_tensor *q = &op->src[0], *k = &op->src[1], *v = &op->src[2], *kc = &op->src[3], *vc = &op->src[4];
    const int32_t *pos = op->src[5].data;
    int64_t hd = q->ne[0], nh = q->ne[1], nt = q->ne[2], nkv = k->ne[1], cap = kc->ne[2], a, b;
    int64_t kvrow = hd * nkv;
    int kf16 = kc->type == IR_F16, vf16 = vc->type == IR_F16;
    size_t kes = ir_kv_bytes(kc->type, 1), ves = ir_kv_bytes(vc->type, 1);  // 0 when quantized
    // A paged cache's positions input goes on with the block table and the
    // block size (Graph.Attention checked them against the pool).
    const int32_t *table = NULL;
    int64_t bsize = 0, ntable = op->src[5].ne[0] - nt - 1;
    if (ntable > 0) {
        table = pos + nt;
        bsize = pos[op->src[5].ne[0] - 1];
    }
    ir_attn_args A = {q->data, kc->data, vc->data, kf16, vf16, kes, ves, hd, nh, nh / nkv, kvrow, cap, op->i[0], pos, op->f[0], op->f[1], op->dst.data, op->i[1], kc->type, vc->type, table, bsize};
    if (bsize && A.all > 0) {  // non-causal: the extent is the tokens' own, not the table's
        A.all = 0;
        for (int64_t t = 0; t < nt; t++) A.all = pos[t] + 1 > A.all ? pos[t] + 1 : A.all;
    }
    if (phase == 0) {
        split(nt, ith, nth, &a, &b);
        for (int64_t t = a; t < b; t++) {
            if (pos[t] < 0 || pos[t] >= cap || (bsize && pos[t] / bsize >= ntable)) {
                fail(c, i, "position outside the cache");
                return;
            }
            int64_t row = ir_attn_row(&A, pos[t]);
            const float *ks = (const float *)k->data + t * kvrow, *vs = (const float *)v->data + t * kvrow;
            char *kd = (char *)kc->data + ir_kv_bytes(kc->type, row * kvrow), *vd = (char *)vc->data + ir_kv_bytes(vc->type, row * kvrow);
            if (ir_kv_quantized(kc->type) || ir_kv_quantized(vc->type)) {
                if (ir_kv_quantized(kc->type)) ir_kv_write(kc->type, ks, kd, (int)kvrow);
                else for (int64_t j = 0; j < kvrow; j++) {
                    if (kf16) ((uint16_t *)kd)[j] = ir_f2h(ks[j]);
                    else ((float *)kd)[j] = ks[j];
                }
                if (ir_kv_quantized(vc->type)) ir_kv_write(vc->type, vs, vd, (int)kvrow);
                else for (int64_t j = 0; j < kvrow; j++) {
                    if (vf16) ((uint16_t *)vd)[j] = ir_f2h(vs[j]);
                    else ((float *)vd)[j] = vs[j];
                }
                continue;
            }
            for (int64_t j = 0; j < kvrow; j++) {
                if (kf16) ((uint16_t *)kd)[j] = ir_f2h(ks[j]);
                else ((float *)kd)[j] = ks[j];
                if (vf16) ((uint16_t *)vd)[j] = ir_f2h(vs[j]);
                else ((float *)vd)[j] = vs[j];
            }
        }
        return;
    }
    int64_t group = A.group;
    float *scratch = (float *)(c->work + (size_t)ith * (size_t)ir_attn_work_floats(hd, group, cap) * 4);
    if (A.all > cap) {
        fail(c, i, "non-causal attention past the cache");
        return;
    }
    if (use_attn_block(hd, nt)) {  // a prompt batch: blocks of tokens, later (longer) ones first
        int64_t nblk = (nt + IR_ATTN_BLOCK - 1) / IR_ATTN_BLOCK, tasks = nblk * nkv;
        for (;;) {
            int64_t task = atomic_fetch_add(&c->counters[i], 1);
            if (task >= tasks) break;
            int64_t t0 = (nblk - 1 - task / nkv) * IR_ATTN_BLOCK, n = nt - t0 < IR_ATTN_BLOCK ? nt - t0 : IR_ATTN_BLOCK;
            for (int64_t t = t0; t < t0 + n; t++)
                if (pos[t] < 0 || pos[t] >= cap) {
                    fail(c, i, "position outside the cache");
                    return;
                }
            ir_fk.attn_block(&A, t0, n, task % nkv, scratch);
        }
        return;
    }
    // Scratch per thread: scores [group][cap], maxima and sums [group] each,
    // accumulators [group][hd], scaled queries [group][hd].
    float *scores = scratch, *mx = scores + group * cap, *sums = mx + group, *acc = sums + group, *qs = acc + group * hd;
    if (use_attn_split(hd, nt)) {
        float *part = (float *)(c->work + (size_t)nth * (size_t)ir_attn_work_floats(hd, group, cap) * 4);
        int64_t nch = attn_chunks(cap);
        if (phase == 2) {  // combine the chunks of (token, head) rows
            split(nt * nh, ith, nth, &a, &b);
            for (int64_t r = a; r < b; r++) {
                int64_t t = r / nh, p = ir_attn_last(&A, t);
                int64_t j0 = ir_attn_first(&A, t), n = (p - j0) / ATTN_CHUNK + 1;
                const float *pr = part + r * nch * (hd + 2);
                float m = -INFINITY, l = 0, *o = (float *)op->dst.data + r * hd;
                for (int64_t ch = 0; ch < n; ch++) m = fmaxf(m, pr[ch * (hd + 2)]);
                for (int64_t d = 0; d < hd; d++) o[d] = 0;
                for (int64_t ch = 0; ch < n; ch++) {
                    const float *pc = pr + ch * (hd + 2);
                    float f = expf(pc[0] - m);
                    l += f * pc[1];
                    for (int64_t d = 0; d < hd; d++) o[d] += f * pc[2 + d];
                }
                for (int64_t d = 0; d < hd; d++) o[d] /= l;
            }
            return;
        }
        int64_t tasks = nt * nkv * nch;
        for (;;) {
            int64_t task = atomic_fetch_add(&c->counters[i], 1);
            if (task >= tasks) break;
            int64_t t = task / (nkv * nch), kvh = task / nch % nkv, ch = task % nch, p = ir_attn_last(&A, t);
            if (p < 0 || p >= cap) {
                fail(c, i, "position outside the cache");
                return;
            }
            int64_t j0 = ir_attn_first(&A, t);
            int64_t c0 = j0 + ch * ATTN_CHUNK, npos = p + 1 - c0 < ATTN_CHUNK ? p + 1 - c0 : ATTN_CHUNK;
            if (npos <= 0) continue;  // past this token's positions
            attend(&A, t, kvh, c0, npos, scores, acc, qs, mx, sums);
            for (int64_t g = 0; g < group; g++) {
                float *pc = part + ((t * nh + kvh * group + g) * nch + ch) * (hd + 2);
                pc[0] = mx[g];
                pc[1] = sums[g];
                memcpy(pc + 2, acc + g * hd, (size_t)hd * 4);
            }
        }
        return;
    }
    // One task is one token and one kv head, with the group of query heads
    // that share it, so each cache row is read once per group.
    split(nt * nkv, ith, nth, &a, &b);
    for (int64_t r = a; r < b; r++) {
        int64_t t = r / nkv, kvh = r % nkv, p = ir_attn_last(&A, t);
        if (p < 0 || p >= cap) {
            fail(c, i, "position outside the cache");
            return;
        }
        int64_t j0 = ir_attn_first(&A, t);
        attend(&A, t, kvh, j0, p - j0 + 1, scores, acc, qs, mx, sums);
        for (int64_t g = 0; g < group; g++) {
            float inv = 1.0f / sums[g], *o = (float *)op->dst.data + (t * nh + kvh * group + g) * hd;
            for (int64_t d = 0; d < hd; d++) o[d] = acc[g * hd + d] * inv;
        }
    }
}

// --- the graph loop ------------------------------------------------------------

static int phases(const ir_op *op) {
    if (op->op == IR_OP_ATTENTION) return use_attn_split(op->src[0].ne[0], op->src[0].ne[2]) ? 3 : 2;
    return op->op == IR_OP_MUL_MAT || op->op == IR_OP_MUL_MAT_ID ? 2 : 1;
}

static void run_phase(graph_ctx *c, int i, int phase, int ith, int nth) {
    const ir_op *op = &c->ops[i];
    switch (op->op) {
    case IR_OP_GET_ROWS: op_get_rows(c, i, op, ith, nth); break;
    case IR_OP_MUL_MAT: op_mul_mat(c, i, op, phase, ith, nth); break;
    case IR_OP_ADD:
    case IR_OP_MUL: op_binary(op, ith, nth); break;
    case IR_OP_SCALE:
    case IR_OP_SOFTCAP:
    case IR_OP_SOFTMAX:
    case IR_OP_RMS_NORM:
    case IR_OP_LAYER_NORM:
    case IR_OP_GELU:
    case IR_OP_SWIGLU:
    case IR_OP_GEGLU: op_rowwise(op, ith, nth); break;
    case IR_OP_ROPE: op_rope(c, op, ith, nth); break;
    case IR_OP_ATTENTION: op_attention(c, i, op, phase, ith, nth); break;
    case IR_OP_COPY: op_copy(op, ith, nth); break;
    case IR_OP_MUL_MAT_ID: op_mul_mat_id(c, i, op, phase, ith, nth); break;
    case IR_OP_TOP_K: op_top_k(c, i, op, ith, nth); break;
    case IR_OP_EXPERT_WEIGHTS: op_expert_weights(c, i, op, ith, nth); break;
    case IR_OP_WEIGHTED_SUM: op_weighted_sum(op, ith, nth); break;
    default:
        if (ith == 0) fail(c, i, "unknown op");
    }
}

// Profiling: when ir_prof_on, thread 0 adds each op's wall time (from the
// end of the previous op to the end of this one; every phase starts at a
// barrier while profiling) to a table indexed
// by op and by the type of its first operand.
int ir_prof_on;
int64_t ir_prof_ns[IR_PROF_OPS][IR_NTYPES];
int64_t ir_prof_calls[IR_PROF_OPS][IR_NTYPES];

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// --- barriers ------------------------------------------------------------------
//
// Threads meet at a barrier only before a phase that touches memory another
// thread may have touched since the last barrier (read after write, write
// after read or write). A decode step is a chain of one-row ops between the
// big products, and a meeting per op cost more than the ops themselves
// (more still on a busy machine, where a descheduled thread holds up every
// barrier).
//
// A phase's accesses are byte ranges, each either row-local — the thread
// that takes row r of split(rows) touches only row r — or global. Two
// row-local accesses of the same rows (start, count, stride) are always made
// by the same thread, so they never need a barrier between them.

typedef struct {
    const char *lo, *hi;
    int64_t rows, stride;  // rows > 0: row-local
    int write;
} access;

static access acc_rows(const void *p, int64_t rows, int64_t stride, int write) {
    return (access){(const char *)p, (const char *)p + rows * stride, rows, stride, write};
}
static access acc_all(const void *p, size_t bytes, int write) {
    return (access){(const char *)p, (const char *)p + bytes, 0, 0, write};
}
static size_t tensor_bytes(const ir_tensor *t) {
    int64_t n = t->ne[0] * rows(t);
    if (t->type == IR_F32 || t->type == IR_I32) return (size_t)n * 4;
    if (t->type == IR_F16 || t->type == IR_BF16) return (size_t)n * 2;
    int64_t rs = ir_row_size(t->type, t->ne[0]);
    return rs < 0 ? 0 : (size_t)(rs * rows(t));
}

// accesses lists what phase ph of op touches; it returns the count.
static int accesses(const graph_ctx *c, const ir_op *op, int ph, access *a) {
    const ir_tensor *s0 = &op->src[0], *s1 = &op->src[1], *d = &op->dst;
    int n = 0;
    switch (op->op) {
    case IR_OP_MUL_MAT: {
        int quantizes = ir_traits[s0->type].vec_dot_type != IR_F32 && !op->i[0];
        if (ph == 0) {
            if (!quantizes) return 0;
            a[n++] = acc_rows(s1->data, rows(s1), s1->ne[0] * 4, 0);
            a[n++] = acc_all(c->work, c->work_size, 1);
            return n;
        }
        if (ir_traits[s0->type].vec_dot_type != IR_F32) a[n++] = acc_all(c->work, c->work_size, 0);
        else a[n++] = acc_all(s1->data, tensor_bytes(s1), 0);
        if (op->n_src > 2) a[n++] = acc_all(op->src[2].data, tensor_bytes(&op->src[2]), 0);  // bias
        a[n++] = acc_all(d->data, tensor_bytes(d), 1);
        return n;
    }
    case IR_OP_MUL_MAT_ID: {
        // Each thread's grouping is its own: row-local, one row per thread.
        int64_t stride;
        char *groups = mmid_scratch(c, op, &stride);
        int64_t act = groups - c->work;
        a[n++] = acc_all(op->src[2].data, tensor_bytes(&op->src[2]), 0);
        a[n++] = acc_rows(groups, c->nth, stride, 1);
        if (ph == 0) {
            if (op->i[0]) return n;
            a[n++] = acc_all(s1->data, tensor_bytes(s1), 0);
            a[n++] = acc_all(c->work, (size_t)act, 1);
            return n;
        }
        a[n++] = acc_all(c->work, (size_t)act, 0);
        a[n++] = acc_all(d->data, tensor_bytes(d), 1);
        return n;
    }
    case IR_OP_TOP_K:
    case IR_OP_EXPERT_WEIGHTS:
    case IR_OP_WEIGHTED_SUM: {  // one row per token in every operand
        int64_t nt = d->ne[1] * d->ne[2] * d->ne[3];
        for (int j = 0; j < op->n_src; j++) a[n++] = acc_rows(op->src[j].data, nt, (int64_t)tensor_bytes(&op->src[j]) / nt, 0);
        a[n++] = acc_rows(d->data, nt, d->ne[0] * 4, 1);
        return n;
    }
    case IR_OP_ATTENTION:
        // Every phase reads the positions (and a paged cache's block table
        // after them): an op after this one may be given their bytes, and
        // must not write them while a phase still reads them.
        if (ph == 0) {  // new keys and values into the caches
            a[n++] = acc_all(op->src[1].data, tensor_bytes(&op->src[1]), 0);
            a[n++] = acc_all(op->src[2].data, tensor_bytes(&op->src[2]), 0);
            a[n++] = acc_all(op->src[3].data, tensor_bytes(&op->src[3]), 1);
            a[n++] = acc_all(op->src[4].data, tensor_bytes(&op->src[4]), 1);
            a[n++] = acc_all(op->src[5].data, tensor_bytes(&op->src[5]), 0);
            return n;
        }
        if (ph == 2) {  // decode: combine the chunks' partials
            a[n++] = acc_all(c->work, c->work_size, 0);
            a[n++] = acc_all(op->src[5].data, tensor_bytes(&op->src[5]), 0);
            a[n++] = acc_all(d->data, tensor_bytes(d), 1);
            return n;
        }
        for (int j = 0; j < 6; j++) a[n++] = acc_all(op->src[j].data, tensor_bytes(&op->src[j]), 0);
        a[n++] = acc_all(c->work, c->work_size, 1);  // scores and sums, per thread; partials
        a[n++] = acc_all(d->data, tensor_bytes(d), 1);
        return n;
    case IR_OP_ADD:
    case IR_OP_MUL: {
        int64_t r = rows(s0), st = s0->ne[0] * 4;
        a[n++] = acc_rows(s0->data, r, st, 0);
        if (rows(s1) * s1->ne[0] == r * s0->ne[0]) a[n++] = acc_rows(s1->data, r, st, 0);
        else a[n++] = acc_all(s1->data, tensor_bytes(s1), 0);  // one broadcast row
        a[n++] = acc_rows(d->data, r, st, 1);
        return n;
    }
    case IR_OP_SCALE:
    case IR_OP_SOFTCAP:
    case IR_OP_SOFTMAX:
    case IR_OP_RMS_NORM:
    case IR_OP_LAYER_NORM:
    case IR_OP_GELU:
    case IR_OP_SWIGLU:
    case IR_OP_GEGLU:
    case IR_OP_ROPE: {  // rope: rows of head_dim, tables in per-thread scratch
        int64_t r = rows(s0), st = s0->ne[0] * 4;
        a[n++] = acc_rows(s0->data, r, st, 0);
        if (op->op == IR_OP_SWIGLU || op->op == IR_OP_GEGLU) a[n++] = acc_rows(s1->data, r, st, 0);
        for (int j = 1; op->op == IR_OP_ROPE && j < op->n_src; j++)
            a[n++] = acc_all(op->src[j].data, tensor_bytes(&op->src[j]), 0);
        a[n++] = acc_rows(d->data, r, st, 1);
        return n;
    }
    case IR_OP_GET_ROWS:
        a[n++] = acc_all(s0->data, tensor_bytes(s0), 0);
        a[n++] = acc_all(s1->data, tensor_bytes(s1), 0);
        a[n++] = acc_rows(d->data, d->ne[1], d->ne[0] * 4, 1);
        return n;
    }
    for (int j = 0; j < op->n_src && j < 6; j++) a[n++] = acc_all(op->src[j].data, tensor_bytes(&op->src[j]), 0);
    a[n++] = acc_all(d->data, tensor_bytes(d), 1);
    return n;
}

static int conflict(const access *x, const access *y) {
    if (!x->write && !y->write) return 0;
    if (x->hi <= y->lo || y->hi <= x->lo) return 0;
    return !(x->rows && x->lo == y->lo && x->rows == y->rows && x->stride == y->stride && y->rows);
}

enum { WINDOW = 64 };

// Barriers and phases of the last graph planned (tests and diagnosis).
int ir_plan_barriers, ir_plan_phases;

// plan_barriers sets c->sync: a barrier before each phase whose accesses
// conflict with those made since the last barrier (before every phase while
// profiling, so that each op's time is its own).
static void plan_barriers(graph_ctx *c) {
    access win[WINDOW], cur[12];  // at most 8 accesses per phase (attention)
    int nw = 0;
    ir_plan_barriers = ir_plan_phases = 0;
    for (int i = 0; i < c->n_ops; i++) {
        c->sync[i] = 0;
        for (int ph = 0; ph < phases(&c->ops[i]); ph++) {
            int n = accesses(c, &c->ops[i], ph, cur), need = nw + n > WINDOW || ir_prof_on;
            for (int x = 0; x < n && !need; x++)
                for (int y = 0; y < nw && !need; y++) need = conflict(&cur[x], &win[y]);
            ir_plan_phases++;
            if (need) {
                c->sync[i] |= (unsigned char)(1 << ph);
                ir_plan_barriers++;
                nw = 0;
            }
            for (int x = 0; x < n; x++) win[nw++] = cur[x];
        }
    }
}

// next_shares finds the thread's shares of the next products in decode
// (one activation row, packed weights: q, k and v, or gate and up, which
// follow each other without a barrier) within a few ops of op i, so that a
// thread waiting at a barrier brings their first bytes into L2 meanwhile.
// In a decode step of a small model one thread waits 5-7 us at each of
// these barriers while the other runs the one-row ops, and the small
// products (Qwen2-0.5B's q, k, v, o: 64-450 KB) ran at half the memory rate
// of the large ones, starting on cache misses. Up to 1 MB in all (the L2
// size) measured best of 256 KB, 512 KB and 1 MB for the next product
// alone: +2-3% tokens/s on Qwen2-0.5B Q4_0, unchanged on Llama-1B.
enum { WARM_MAX = 1 << 20, WARM_LOOKAHEAD = 8, WARM_SPANS = 4 };

static int next_shares(const graph_ctx *c, int i, int ith, int nth, ir_span *out) {
    int n = 0;
    size_t total = 0;
    for (int j = i; j < c->n_ops && j < i + WARM_LOOKAHEAD && n < WARM_SPANS && total < WARM_MAX; j++) {
        const ir_op *op = &c->ops[j];
        if (op->op != IR_OP_MUL_MAT) {
            if (n) break;  // the products after this op wait for it
            continue;
        }
        if (!op->i[1] || rows(&op->src[1]) != 1) break;  // not packed, or a batch
        const ir_tensor *w = &op->src[0];
        int64_t pb = ir_pack_panel_bytes(w->type, w->ne[0]), a, b;
        if (pb <= 0) break;
        split((rows(w) + MM_ROWS - 1) / MM_ROWS, ith, nth, &a, &b);
        size_t bytes = (size_t)((b - a) * pb);
        if (bytes > WARM_MAX - total) bytes = WARM_MAX - total;
        out[n++] = (ir_span){(const char *)w->data + a * pb, bytes};
        total += bytes;
    }
    return n;
}

// Every thread passes every barrier whatever happens, so an error only
// makes the remaining ops skip their work.
static void run_graph(void *vc, int ith, int nth) {
    graph_ctx *c = vc;
    int prof = ir_prof_on && ith == 0;
    int64_t t0 = prof ? now_ns() : 0;
    for (int i = 0; i < c->n_ops; i++) {
        for (int ph = 0; ph < phases(&c->ops[i]); ph++) {
            if (nth > 1 && (c->sync[i] >> ph & 1)) {
                ir_span warm[WARM_SPANS];
                int n = ir_prof_on ? 0 : next_shares(c, i, ith, nth, warm);  // profiles time ops alone
                ir_barrier_warm(c->pool, warm, n);
            }
            if (!atomic_load(&c->status)) run_phase(c, i, ph, ith, nth);
        }
        if (prof) {
            int64_t t1 = now_ns();
            int op = c->ops[i].op, ty = c->ops[i].src[0].type;
            if (op >= 0 && op < IR_PROF_OPS && ty >= 0 && ty < IR_NTYPES) {
                ir_prof_ns[op][ty] += t1 - t0;
                ir_prof_calls[op][ty]++;
            }
            t0 = t1;
        }
    }
}

int ir_compute(ir_pool *p, int n_threads, ir_op *ops, int n_ops, void *work, size_t work_size, char *err, int err_len) {
    graph_ctx c = {.pool = p, .nth = n_threads, .ops = ops, .n_ops = n_ops, .work = work, .work_size = work_size, .err = err, .err_len = err_len};
    atomic_init(&c.status, 0);
    c.counters = calloc((size_t)n_ops + 1, sizeof(atomic_int));
    c.own = calloc((size_t)n_ops * (size_t)n_threads * IR_OWN_STRIDE, sizeof(atomic_int));
    c.sync = malloc((size_t)n_ops);
    if (!c.counters || !c.own || !c.sync) {
        free(c.counters);
        free(c.own);
        free(c.sync);
        snprintf(err, (size_t)err_len, "out of memory");
        return 1;
    }
    plan_barriers(&c);
    if (n_threads > 1) ir_pool_run(p, run_graph, &c);
    else run_graph(&c, 0, 1);
    free(c.counters);
    free(c.own);
    free(c.sync);
    return atomic_load(&c.status);
}
