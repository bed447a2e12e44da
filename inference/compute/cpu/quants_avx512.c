// AVX-512 (F, BW, VL) + VNNI kernels, compiled with per-function target
// attributes; dispatch.c calls ir_init_avx512 only where the CPU and OS
// support them.
#include "ir_cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

void ir_init_avx512(void) {}
#else
void ir_init_avx512(void) {}
#endif
