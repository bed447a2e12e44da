// AVX2 + FMA + F16C kernels. The file is compiled for any x86-64; only the
// functions carry the target attribute, and dispatch.c calls ir_init_avx2
// only on CPUs that have these instructions.
#include "ir_cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2,fma,f16c")))

void ir_init_avx2(void) {}
#else
void ir_init_avx2(void) {}
#endif
