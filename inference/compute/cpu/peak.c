// Machine ceilings for the benchmarks: how fast memory can be streamed and
// how many int8 multiply-adds a core can issue, measured with the same
// instructions the kernels use, so that kernel speeds can be reported as a
// fraction of what this machine allows.
#include "ir_cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

typedef struct {
    const char *buf;
    size_t size;
    int64_t sum;
} stream_ctx;

// stream_task reads its share of the buffer with 512-bit loads.
AVX512 static void stream_task(void *vc, int ith, int nth) {
    stream_ctx *c = vc;
    size_t per = c->size / (size_t)nth / 256 * 256;
    const char *p = c->buf + per * (size_t)ith;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < per; i += 256) {
        a0 = _mm512_add_epi32(a0, _mm512_load_si512((const void *)(p + i)));
        a1 = _mm512_add_epi32(a1, _mm512_load_si512((const void *)(p + i + 64)));
        a2 = _mm512_add_epi32(a2, _mm512_load_si512((const void *)(p + i + 128)));
        a3 = _mm512_add_epi32(a3, _mm512_load_si512((const void *)(p + i + 192)));
    }
    int64_t s = _mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)));
    __atomic_fetch_add(&c->sum, s, __ATOMIC_RELAXED);
}

// ir_stream_read reads size bytes of buf (64-byte aligned) on every thread
// of the pool; it returns a sum so the reads cannot be left out.
int64_t ir_stream_read(ir_pool *p, const void *buf, size_t size) {
    stream_ctx c = {buf, size, 0};
    ir_pool_run(p, stream_task, &c);
    return c.sum;
}

typedef struct {
    int64_t rounds;
    int sink[256];
} vnni_ctx;

// vnni_task issues rounds of 12 independent 512-bit vpdpbusd.
AVX512 static void vnni_task(void *vc, int ith, int nth) {
    vnni_ctx *c = vc;
    __m512i a[12], w = _mm512_set1_epi8(3), x = _mm512_set1_epi8((char)(1 + ith));
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_epi32(i);
    for (int64_t r = 0; r < c->rounds; r++)
        for (int i = 0; i < 12; i++) a[i] = _mm512_dpbusd_epi32(a[i], w, x);
    __m512i s = a[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_epi32(s, a[i]);
    if (ith < 256) c->sink[ith] = _mm512_reduce_add_epi32(s);  // keeps the work
    (void)nth;
}

// ir_vnni_peak runs rounds*12 vpdpbusd (64 int8 multiply-adds each) on
// every thread; 0 where the kernels in use are not AVX-512 VNNI.
int ir_vnni_peak(ir_pool *p, int64_t rounds) {
    if (ir_isa() != IR_ISA_AVX512) return 0;
    vnni_ctx c = {rounds, {0}};
    ir_pool_run(p, vnni_task, &c);
    return 1;
}
#else
int64_t ir_stream_read(ir_pool *p, const void *buf, size_t size) { (void)p; (void)buf; (void)size; return 0; }
int ir_vnni_peak(ir_pool *p, int64_t rounds) { (void)p; (void)rounds; return 0; }
#endif
