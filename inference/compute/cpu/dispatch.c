// Runtime instruction-set dispatch: detect what the CPU (and the OS, for
// the wide registers) supports, then fill the kernel tables with the best
// variants, or with a forced lower level for tests.
#include "ir_cpu.h"

#if defined(__x86_64__)
#include <cpuid.h>

static unsigned long long xgetbv0(void) {
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static int detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return IR_ISA_GENERIC;
    int fma = c >> 12 & 1, osxsave = c >> 27 & 1, avx = c >> 28 & 1, f16c = c >> 29 & 1;
    if (!osxsave || !avx) return IR_ISA_GENERIC;
    unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 6) != 6) return IR_ISA_GENERIC;  // the OS saves XMM and YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return IR_ISA_GENERIC;
    int avx2 = b >> 5 & 1, avx512f = b >> 16 & 1, avx512dq = b >> 17 & 1, avx512bw = b >> 30 & 1, avx512vl = b >> 31 & 1;
    int vnni = c >> 11 & 1;
    if (!(avx2 && fma && f16c)) return IR_ISA_GENERIC;
    if (avx512f && avx512dq && avx512bw && avx512vl && vnni && (xcr0 & 0xe6) == 0xe6) return IR_ISA_AVX512;
    return IR_ISA_AVX2;
}
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
static int detect(void) { return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) ? IR_ISA_NEON : IR_ISA_GENERIC; }
#elif defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>
static int detect(void) {
    int v = 0;
    size_t len = sizeof v;
    return sysctlbyname("hw.optional.arm.FEAT_DotProd", &v, &len, NULL, 0) == 0 && v ? IR_ISA_NEON : IR_ISA_GENERIC;
}
#else
static int detect(void) { return IR_ISA_GENERIC; }
#endif

static int level_in_use;

int ir_isa(void) { return level_in_use; }

// ir_detect reports the best level this CPU supports.
int ir_detect(void) { return detect(); }

// ir_init fills the tables for the best level, or for forced (>= 0) when the
// CPU supports it. It returns the level in use.
int ir_init(int forced) {
    int best = detect(), level = best;
    if (forced >= 0 && (forced == IR_ISA_GENERIC || forced == best || (forced == IR_ISA_AVX2 && best == IR_ISA_AVX512)))
        level = forced;
    ir_init_generic();
    ir_init_float_generic();
    memset(ir_pack, 0, sizeof ir_pack);
    memset(ir_xpack, 0, sizeof ir_xpack);
    memset(ir_xpack_row_size_fn, 0, sizeof ir_xpack_row_size_fn);
#if defined(__x86_64__)
    if (level >= IR_ISA_AVX2) ir_init_avx2();
    if (level >= IR_ISA_AVX512) ir_init_avx512();
#elif defined(__aarch64__)
    if (level == IR_ISA_NEON) ir_init_neon();
#endif
    level_in_use = level;
    return level;
}

// --- small queries and single-kernel entry points for Go ---------------------

static int known(int t) { return t >= 0 && t < IR_NTYPES; }
int ir_vdt(int t) { return known(t) && ir_traits[t].block ? ir_traits[t].vec_dot_type : -1; }
int ir_has_dot(int t) { return known(t) && ir_traits[t].vec_dot != 0; }
int ir_has_to_float(int t) { return known(t) && ir_traits[t].to_float != 0; }

int ir_to_float_row(int t, const void *w, float *y, int n) {
    if (!ir_has_to_float(t)) return -1;
    ir_traits[t].to_float(w, y, n);
    return 0;
}

int ir_dot_row(int t, const void *w, const void *x, int n, float *s) {
    if (!ir_has_dot(t)) return -1;
    ir_traits[t].vec_dot(n, s, w, x);
    return 0;
}

int ir_quantize_row(int vdt, const float *x, void *y, int n) {
    if (!known(vdt) || !ir_quantize[vdt]) return -1;
    ir_quantize[vdt](x, y, n);
    return 0;
}
