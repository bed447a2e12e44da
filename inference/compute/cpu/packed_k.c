// Packed Q4_K and Q6_K weights (see packed.c): not written yet.
#include "ir_cpu.h"

void ir_init_packed_k_avx512(void) {}
