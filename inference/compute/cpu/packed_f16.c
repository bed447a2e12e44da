// Packed F16 weights (see packed.c): not written yet.
#include "ir_cpu.h"

void ir_init_packed_f16_avx512(void) {}
