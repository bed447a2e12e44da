// ARM64 NEON + dot-product kernels; dispatch.c calls ir_init_neon only where
// the CPU reports the dot-product extension.
#include "ir_cpu.h"

void ir_init_neon(void) {}
