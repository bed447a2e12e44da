// Shared declarations of the CPU backend's C side: block layouts, the op
// descriptors that Go fills in, the kernel tables, and the thread pool.
// Nothing here aborts: Go validates every pointer and shape before a call,
// and C reports anything unexpected as a status code and message.
#ifndef IR_CPU_H
#define IR_CPU_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

// ggml type ids (the same numbers as package quant).
enum {
    IR_F32 = 0, IR_F16 = 1, IR_Q4_0 = 2, IR_Q4_1 = 3, IR_Q5_0 = 6, IR_Q5_1 = 7,
    IR_Q8_0 = 8, IR_Q8_1 = 9, IR_Q2_K = 10, IR_Q3_K = 11, IR_Q4_K = 12, IR_Q5_K = 13,
    IR_Q6_K = 14, IR_Q8_K = 15, IR_IQ4_NL = 20, IR_IQ3_S = 21, IR_IQ4_XS = 23,
    IR_I32 = 26, IR_BF16 = 30, IR_NTYPES = 40
};

#define QK 32    // block size of the _0/_1 types
#define QKK 256  // super-block size of the K and IQ types

// Block layouts, byte for byte as in GGUF files.
typedef struct { uint16_t d; uint8_t qs[16]; } blk_q4_0;
typedef struct { uint16_t d, m; uint8_t qs[16]; } blk_q4_1;
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } blk_q5_0;
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } blk_q5_1;
typedef struct { uint16_t d; int8_t qs[32]; } blk_q8_0;
typedef struct { uint16_t d, s; int8_t qs[32]; } blk_q8_1;  // s = d * sum(qs)
typedef struct { uint8_t scales[16]; uint8_t qs[64]; uint16_t d, dmin; } blk_q2_K;
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; } blk_q3_K;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } blk_q4_K;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } blk_q5_K;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } blk_q6_K;
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } blk_q8_K;
typedef struct { uint16_t d; uint8_t qs[16]; } blk_iq4_nl;
typedef struct { uint16_t d; uint16_t scales_h; uint8_t scales_l[4]; uint8_t qs[128]; } blk_iq4_xs;
typedef struct { uint16_t d; uint8_t qs[64]; uint8_t qh[8]; uint8_t signs[32]; uint8_t scales[4]; } blk_iq3_s;

// --- half precision -------------------------------------------------------
extern float ir_f16_table[65536];
static inline float ir_h2f(uint16_t h) { return ir_f16_table[h]; }
uint16_t ir_f2h(float f);  // round to nearest even
static inline float ir_bf2f(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }
extern const int8_t ir_kvalues_iq4nl[16];
extern uint32_t ir_iq3s_grid[512];
extern int ir_iq3s_grid_ready;

// Q4_K/Q5_K: 8 groups of 32 with 6-bit scales and mins packed in 12 bytes.
static inline void scale_min_k4(const uint8_t *s, uint8_t *sc, uint8_t *mn) {
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            sc[j] = s[j] & 63;
            mn[j] = s[j + 4] & 63;
        } else {
            sc[j] = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
            mn[j] = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
        }
    }
}

// K-quant mins term: sum over 8 groups of 32 of min * (sum of x in the group).
static inline int k4_mins(const uint8_t *mn, const int16_t *bsums) {
    int s = 0;
    for (int g = 0; g < 8; g++) s += mn[g] * (bsums[2 * g] + bsums[2 * g + 1]);
    return s;
}

// ir_max returns the largest of n floats (at least -INFINITY as init; NaNs
// are skipped as fmaxf skips them), in eight independent chains that
// compilers vectorise; fmaxf itself is a library call in every iteration.
static inline float ir_max(const float *x, int64_t n, float init) {
    float m[8] = {init, init, init, init, init, init, init, init};  // eight chains, not one
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int e = 0; e < 8; e++) m[e] = x[j + e] > m[e] ? x[j + e] : m[e];
    for (; j < n; j++) m[0] = x[j] > m[0] ? x[j] : m[0];
    for (int e = 1; e < 8; e++) m[0] = m[e] > m[0] ? m[e] : m[0];
    return m[0];
}

// --- kernels -----------------------------------------------------------------
// vec_dot: *s = dot(one weight row w of n elements, one activation row x
// already converted to the type's vec_dot type).
typedef void (*ir_vec_dot_fn)(int n, float *s, const void *w, const void *x);
// quantize: convert n floats to the vec_dot type.
typedef void (*ir_quantize_fn)(const float *x, void *y, int n);
// to_float: dequantize n elements.
typedef void (*ir_to_float_fn)(const void *w, float *y, int n);

// mm: the dots of one weight row w with nc <= IR_MM_COLS activation rows
// x + c*x_stride, into out[c*out_stride]; each result has the same bits as
// vec_dot's. Optional: it loads and unpacks the weight row once for all nc.
#define IR_MM_COLS 8
typedef void (*ir_mm_fn)(int n, const void *w, const void *x, size_t x_stride, int nc, float *out, size_t out_stride);

// mv: the dots of nr <= IR_MV_ROWS weight rows w + r*w_stride with one
// activation row x, into out[r]; each result has the same bits as
// vec_dot's. Optional: decode streams several weight rows against one x
// that is loaded (and corrected) once for all of them.
#define IR_MV_ROWS 16
typedef void (*ir_mv_fn)(int n, const void *w, size_t w_stride, int nr, const void *x, float *out);

// mm2d: the dots of nr <= IR_MM2D_ROWS weight rows w + r*w_stride with
// nc <= IR_MM2D_COLS activation rows x + c*x_stride (bytes), into
// out[c*out_stride + r]; same bits as vec_dot. Optional: a register tile
// that reuses every loaded weight and activation vector several times.
#define IR_MM2D_ROWS 4
#define IR_MM2D_COLS 3
typedef void (*ir_mm2d_fn)(int n, const void *w, size_t w_stride, int nr, const void *x, size_t x_stride, int nc, float *out, size_t out_stride);

typedef struct {
    int block;            // elements per block (0: unsupported type)
    int bytes;            // bytes per block
    int vec_dot_type;     // activation type: IR_F32, IR_Q8_0, IR_Q8_1 or IR_Q8_K
    ir_to_float_fn to_float;
    ir_vec_dot_fn vec_dot;
    ir_mm_fn mm;          // optional
    ir_mv_fn mv;          // optional
    ir_mm2d_fn mm2d;      // optional; takes precedence over mm and mv
    int prepared;         // mm and mv take activation rows laid out by ir_prep[vec_dot_type]
} ir_type_traits;

extern ir_type_traits ir_traits[IR_NTYPES];

// What the attention of a batch reads and writes (see op_attention).
#define IR_ATTN_BLOCK 16
typedef struct ir_attn_args {
    const float *q;        // [hd, nh, tokens]
    const void *k, *v;     // the caches, F16 or F32 rows of kvrow elements
    int kf16, vf16;
    size_t kes, ves;       // element sizes of k and v
    int64_t hd, nh, group, kvrow, cap, window;
    const int32_t *pos;
    float scale, softcap;
    float *out;            // [hd*nh, tokens]
    int64_t all;           // > 0: non-causal, every token sees positions [0, all)
    int ktype, vtype;      // the caches' types: IR_F32, IR_F16, IR_Q8_0 or IR_Q4_0
    const int32_t *table;  // paged caches: the block of each bsize positions
    int64_t bsize;         // 0: the cache row of position p is p
} ir_attn_args;
// ir_attn_row is the cache row of position p.
static inline int64_t ir_attn_row(const ir_attn_args *a, int64_t p) {
    return a->bsize ? (int64_t)a->table[p / a->bsize] * a->bsize + p % a->bsize : p;
}
// ir_attn_run is how many of the npos positions from p lie in consecutive
// cache rows: up to the end of p's block when paged.
static inline int64_t ir_attn_run(const ir_attn_args *a, int64_t p, int64_t npos) {
    int64_t left = a->bsize ? a->bsize - p % a->bsize : npos;
    return npos < left ? npos : left;
}
// ir_kv_bytes: the bytes of elems consecutive cache elements of type; for
// Q8_0 and Q4_0 elems is a multiple of QK (Go checks head sizes).
static inline size_t ir_kv_bytes(int type, int64_t elems) {
    switch (type) {
    case IR_F16: return (size_t)elems * 2;
    case IR_Q8_0: return (size_t)(elems / QK) * sizeof(blk_q8_0);
    case IR_Q4_0: return (size_t)(elems / QK) * sizeof(blk_q4_0);
    default: return (size_t)elems * 4;
    }
}
static inline int ir_kv_quantized(int type) { return type == IR_Q8_0 || type == IR_Q4_0; }
// Quantized caches (attn_quant.c): rows written as blocks, scores as
// integer dots of the queries quantized once, values dequantized a row at
// a time. qq holds ng quantized query rows; row holds hd floats.
void ir_kv_write(int type, const float *x, void *y, int n);
void ir_attn_scores_q(int type, int hd, const void *k, size_t stride, int npos, const float *q, int ng, float *s, int ld, void *qq);
void ir_attn_values_q(int type, int hd, const void *v, size_t stride, int npos, const float *w, int ng, int ld, float *out, float *row);
int64_t ir_attn_quant_floats(int64_t hd, int64_t group);
// A query block as the SIMD kernels of a quantized cache read it: Q8_0
// quants, -off * their sum (to take an unsigned offset of the keys back),
// and the scale. ir_attn_qblocks rounds ng scaled query rows of hd to Q8_0
// in scratch (ir_attn_quant_floats), as ir_attn_scores_q does, and returns
// their blocks [g][b] there.
typedef struct {
    int8_t qs[QK];
    int32_t corr;
    float d;
} ir_qblock;
ir_qblock *ir_attn_qblocks(const float *q, int hd, int ng, int off, void *scratch);
void ir_init_attn_quant_avx2(void);  // AVX2 kernels of a quantized cache (attn_quant.c)
// ir_attn_last is the last cache position token t attends to.
static inline int64_t ir_attn_last(const ir_attn_args *a, int64_t t) { return a->all > 0 ? a->all - 1 : a->pos[t]; }
// ir_attn_first is the first: the sliding window counts back from the
// token's own position, also when it sees later ones (the tokens of one image).
static inline int64_t ir_attn_first(const ir_attn_args *a, int64_t t) {
    return a->window > 0 && a->pos[t] - a->window + 1 > 0 ? a->pos[t] - a->window + 1 : 0;
}
int64_t ir_attn_block_floats(int64_t hd, int64_t group, int64_t cap);
int64_t ir_attn_work_floats(int64_t hd, int64_t group, int64_t cap);  // per thread, either way
int64_t ir_attn_partial_floats(int64_t hd, int64_t nh, int64_t cap, int64_t nt);  // after all threads' scratch
void ir_init_attn_avx512(void);

// Float kernels of the non-matmul ops, replaced by SIMD versions too.
typedef struct {
    void (*axpy_f32)(int n, float a, const float *x, float *y);     // y += a*x
    void (*axpy_f16)(int n, float a, const uint16_t *x, float *y);  // y += a*x
    float (*exp_sum)(int n, float *x, float max);                   // x = exp(x - max); returns the sum
    void (*swiglu)(int n, float *o, const float *g, const float *u); // o = silu(g) * u
    // Attention over npos cache rows (F32, or F16 when f16) stride bytes
    // apart, for ng query heads sharing one kv head:
    // scores: s[g*ld + j] = q_g . K_j;  values: out[g*hd + d] += sum_j w[g*ld + j] * V_j[d].
    void (*attn_scores)(int hd, const void *k, int f16, size_t stride, int npos, const float *q, int ng, float *s, int ld);
    void (*attn_values)(int hd, const void *v, int f16, size_t stride, int npos, const float *w, int ng, int ld, float *out);
    // The same over a Q8_0 or Q4_0 cache (type), with scratch of
    // ir_attn_quant_floats(hd, ng) floats; ir_attn_scores_q and
    // ir_attn_values_q where no SIMD version takes the head size.
    void (*attn_scores_q)(int type, int hd, const void *k, size_t stride, int npos, const float *q, int ng, float *s, int ld, void *scratch);
    void (*attn_values_q)(int type, int hd, const void *v, size_t stride, int npos, const float *w, int ng, int ld, float *out, float *scratch);
    // attn_block (optional): the attention outputs of batch tokens
    // [t0, t0+nt), nt <= IR_ATTN_BLOCK, for one kv head and its query heads,
    // with ir_attn_block_floats(hd, group, cap) floats of scratch.
    void (*attn_block)(const struct ir_attn_args *a, int64_t t0, int64_t nt, int64_t kvh, float *scratch);
} ir_float_kernels;
void ir_attn_scores_generic(int hd, const void *k, int f16, size_t stride, int npos, const float *q, int ng, float *s, int ld);
void ir_attn_values_generic(int hd, const void *v, int f16, size_t stride, int npos, const float *w, int ng, int ld, float *out);
extern ir_float_kernels ir_fk;
void ir_init_float_generic(void);
extern ir_quantize_fn ir_quantize[IR_NTYPES];  // indexed by vec_dot type
// prep: lay out one quantized activation row of n elements for the
// kernels of types with .prepared (optional; indexed by vec_dot type).
typedef void (*ir_prep_fn)(const void *xq, void *xp, int n);
extern ir_prep_fn ir_prep[IR_NTYPES];
extern int64_t (*ir_prep_size)(int vdt, int64_t n);  // bytes of a prepared row (a multiple of 64), 0 if none
int64_t ir_work_size(int vdt, int64_t k, int64_t rows);  // work bytes for rows quantized (and prepared) activations

// Instruction-set levels.
enum { IR_ISA_GENERIC = 0, IR_ISA_AVX2 = 1, IR_ISA_AVX512 = 2, IR_ISA_NEON = 3 };
int ir_init(int forced_isa);  // fills the tables; returns the level in use
int ir_isa(void);
int ir_detect(void);  // the best level this CPU supports
int64_t ir_row_size(int type, int64_t n);  // bytes of n elements, -1 if not whole blocks/unknown
int ir_vdt(int type);                       // vec_dot type of a weight type, -1 if unsupported
int ir_has_dot(int type);
int ir_has_to_float(int type);
int ir_to_float_row(int type, const void *w, float *y, int n);
int ir_dot_row(int type, const void *w, const void *x, int n, float *s);
int ir_quantize_row(int vdt, const float *x, void *y, int n);

// Rows of the encoder ops (norm.c).
void ir_layer_norm_row(float *o, const float *x, int64_t n, float eps);
float ir_gelu(float x);

// Portable kernels (quants_generic.c); the SIMD files override entries.
void ir_init_generic(void);
void ir_init_avx2(void);
void ir_init_avx512(void);
void ir_init_neon(void);
void ir_quantize_q8_0(const float *x, void *y, int n);
void ir_quantize_q8_1(const float *x, void *y, int n);
void ir_quantize_q8_K(const float *x, void *y, int n);

// --- packed weights (packed.c) ---------------------------------------------
// A packed copy of a weight matrix: panels of IR_PACK_ROWS rows interleaved
// for kernels that compute all rows of a panel at once (see packed.c). A
// type has a packed layout where an ISA level registered all three of its
// ir_pack entries; Go packs a matrix on first use and sets op.i[1].
#define IR_PACK_ROWS 16
// pgemm: the dots of one panel's rows (the first nr <= IR_PACK_ROWS are
// stored) with nc <= IR_PGEMM_COLS activation rows x + c*x_stride bytes
// (laid out by ir_xpack[vec_dot_type], or plain floats for IR_F32), into
// out[c*out_stride + r]. Every (row, column) must see the same operations
// whatever nc, so that decode and prefill give the same bits.
#define IR_PGEMM_COLS 8
typedef void (*ir_pgemm_fn)(int n, const void *panel, const void *x, size_t x_stride, int nc, float *out, size_t out_stride, int nr);
typedef struct {
    int64_t (*panel_bytes)(int64_t k);  // bytes of one panel of rows of k elements, -1 if k does not fit the layout
    // pack: nr <= IR_PACK_ROWS rows w + r*row_bytes into a zeroed panel
    void (*pack)(const void *w, size_t row_bytes, int nr, void *panel, int64_t k);
    ir_pgemm_fn gemm;
    // unpack: the inverse of pack for blocks [b0, b0+nb) of the panel's row
    // r, as the file stores them, into out (GetRows of a matrix whose file
    // pages were given back once it was packed: a tied embedding)
    void (*unpack)(const void *panel, int r, int64_t k, int64_t b0, int64_t nb, void *out);
} ir_pack_traits;
extern ir_pack_traits ir_pack[IR_NTYPES];
// xpack: lay out one quantized activation row for the packed kernels
// (indexed by vec_dot type; none for IR_F32).
extern ir_prep_fn ir_xpack[IR_NTYPES];
extern int64_t (*ir_xpack_row_size_fn[IR_NTYPES])(int64_t k);  // bytes, a multiple of 64
int64_t ir_xpack_row_size(int vdt, int64_t k);                  // k*4 for IR_F32, -1 if none
int ir_has_pgemm(int type);
void *ir_pack_alloc(size_t size);  // zeroed, 64-byte aligned; NULL when out of memory
void ir_pack_free(void *p, size_t size);
int64_t ir_pack_panel_bytes(int type, int64_t k);  // -1: no packed layout
int64_t ir_pack_size(int type, int64_t k, int64_t m);
int ir_pack_panels(int type, const void *w, void *dst, int64_t k, int64_t m, int64_t p0, int64_t p1);
// ir_pack_row_to_float dequantizes row r of a packed k x m matrix into y
// with the same bits as to_float of the file's row.
void ir_pack_row_to_float(int type, const void *packed, int64_t k, int64_t r, float *y);
// Q4_0/Q8_0 layouts (packed.c) and their activation blocks: a Q8_0 block
// with its scale as a float and its sum times -8 (Q4_0 nibbles) and -128
// (Q8_0 plus 128).
typedef struct { int8_t qs[32]; float d; int32_t neg8, neg128, pad; } ir_xq8;
// ir_pack_offsets gives the byte offsets, inside a Q4_0/Q8_0 panel of nb
// blocks with qb bytes of quants each, of block b's quants and scales
// (inline: the kernels call it once per block).
static inline void ir_pack_offsets(int qb, int nb, int b, size_t *q, size_t *d) {
    size_t base = (size_t)(b >> 1) * (size_t)(2 * qb + 64);
    if (b & 1) {
        *q = base + (size_t)qb;
        *d = base + (size_t)(2 * qb + 32);
    } else if (b + 1 < nb) {
        *q = base;
        *d = base + (size_t)(2 * qb);
    } else {  // the odd last block
        *q = base;
        *d = base + (size_t)qb;
    }
}
void ir_pack_q0_layouts(ir_pgemm_fn gemm_q4_0, ir_pgemm_fn gemm_q8_0);
void ir_init_packed_avx512(void);
void ir_init_packed_k_avx512(void);    // packed_k.c: Q4_K, Q6_K
void ir_init_packed_f16_avx512(void);  // packed_f16.c: F16

// --- thread pool ---------------------------------------------------------
typedef struct ir_pool ir_pool;
typedef void (*ir_task_fn)(void *ctx, int ith, int nth);
ir_pool *ir_pool_new(int n_threads);
void ir_pool_free(ir_pool *p);
int ir_pool_threads(const ir_pool *p);
void ir_pool_run(ir_pool *p, ir_task_fn fn, void *ctx);  // runs fn on every thread, returns when all are done
void ir_barrier(ir_pool *p);                              // called by all threads inside a task
// ir_barrier_warm is ir_barrier that, while it waits, asks for the n_warm
// spans at warm (the thread's next weights) to be brought into its L2 cache.
typedef struct { const char *p; size_t n; } ir_span;
void ir_barrier_warm(ir_pool *p, const ir_span *warm, int n_warm);
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
static inline void ir_prefetch_l2(const char *p) { _mm_prefetch(p, _MM_HINT_T1); }
#elif defined(__GNUC__)
static inline void ir_prefetch_l2(const char *p) { __builtin_prefetch(p, 0, 2); }
#else
static inline void ir_prefetch_l2(const char *p) { (void)p; }
#endif

// Machine ceilings for benchmarks (peak.c).
int64_t ir_stream_read(ir_pool *p, const void *buf, size_t size);
int ir_vnni_peak(ir_pool *p, int64_t rounds);

// --- graph execution -------------------------------------------------------
enum {
    IR_OP_GET_ROWS = 3, IR_OP_MUL_MAT, IR_OP_ADD, IR_OP_MUL, IR_OP_SCALE, IR_OP_RMS_NORM,
    IR_OP_ROPE, IR_OP_ATTENTION, IR_OP_SWIGLU, IR_OP_GEGLU, IR_OP_SOFTMAX, IR_OP_SOFTCAP, IR_OP_COPY,
    IR_OP_TOP_K, IR_OP_EXPERT_WEIGHTS, IR_OP_MUL_MAT_ID, IR_OP_WEIGHTED_SUM, IR_OP_LAYER_NORM, IR_OP_GELU
};

// A contiguous tensor: data, type, sizes in ggml order.
typedef struct {
    void *data;
    int32_t type;
    int32_t pad;
    int64_t ne[4];
} ir_tensor;

typedef struct {
    int32_t op;
    int32_t n_src;
    ir_tensor dst;
    ir_tensor src[6];
    float f[4];    // eps / scale / cap; rope: base, freq_scale; attention: scale, softcap
    int32_t i[4];  // rope: mode, dims; attention: window, i[1] > 0 = non-causal over positions [0, i[1]); mul_mat: i[0] 1 = x already quantized in work, i[1] 1 = src[0] is packed;
                   // mul_mat with n_src 3: dst = src[0]·src[1] + src[2], a bias of one float per row;
                   // mul_mat_id: i[0] 1 = the previous mul_mat_id left x, grouped by the same ids, in work
                   // expert_weights: f[0] > 0 = divide by the sum, at least f[0]
} ir_op;

// Work bytes of a mul_mat_id with pairs (token, slot) rows of k elements
// and ne experts on nth threads: the activations grouped by expert, then
// each thread's grouping. -1 if k is not whole blocks of vdt.
int64_t ir_mul_mat_id_work(int vdt, int64_t k, int64_t pairs, int64_t ne, int nth);

// Per-op profile (see ops.c), filled only while ir_prof_on is set.
#define IR_PROF_OPS 24
extern int ir_prof_on;
extern int64_t ir_prof_ns[IR_PROF_OPS][IR_NTYPES];
extern int64_t ir_prof_calls[IR_PROF_OPS][IR_NTYPES];

// Runs ops in order on the pool (n_threads > 1) or on the calling thread
// alone (n_threads == 1). work is scratch memory of work_size bytes
// (quantized activations, attention scores). Returns 0, or an error code
// with a message in err.
extern int ir_plan_barriers, ir_plan_phases;  // of the last graph: barriers planned, phases run
int ir_compute(ir_pool *p, int n_threads, ir_op *ops, int n_ops, void *work, size_t work_size, char *err, int err_len);

#endif
