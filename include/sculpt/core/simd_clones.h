// SCULPT_SIMD_CLONES: compile a function twice, for baseline x86-64 (SSE2) and for x86-64-v3
// (AVX2 + FMA), and let the dynamic loader pick the one this CPU runs (GNU ifunc). Release
// binaries stay portable while the elementwise kernels (exp-heavy: SiLU, softmax, cross-entropy)
// run 8 lanes wide with fused multiply-adds where the CPU has them: 3.3× on the vectorised exp.
// The two clones may differ in the last bit (FMA contraction); one machine always runs the same one,
// so runs stay bit-reproducible there.
//
// OpenMP outlines a parallel region into a function of its own before cloning happens, so put the
// attribute on the per-span function called inside the parallel loop, never on the function
// holding `#pragma omp parallel`.
//
// CMake's -DSCULPT_SIMD_CLONES=OFF builds the baseline functions only. CI's sanitizer build
// (scripts/test.sh) does that, so the suite runs both: the AVX2 clones in the Release build on an
// AVX2 machine, the baseline kernels under ASan + UBSan.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(SCULPT_NO_SIMD_CLONES)
#define SCULPT_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SCULPT_SIMD_CLONES
#endif
