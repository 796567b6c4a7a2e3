#include "sculpt/linalg/bf16_gemm.h"

#include <map>
#include <mutex>
#include <tuple>

#include "sculpt/core/error.h"

#if defined(SCULPT_HAVE_ONEDNN)
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace sculpt {

#if defined(SCULPT_HAVE_ONEDNN)

namespace {

// Everything that fixes a primitive: the shapes, the strides (transposes are strides of the
// memory descriptors, so no operand is ever copied) and whether C is accumulated into. A
// run-time primitive has kRuntime in place of the dimension that varies with the batch.
using GemmKey = std::tuple<bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool>;
constexpr int64_t kRuntime = DNNL_RUNTIME_DIM_VAL;

// oneDNN compiles a specialised kernel (brgemm, ~200 KiB of code) for each exact shape. A
// training run whose micro-batches vary in length meets a new M (or, in a weight gradient, K)
// at almost every step: kept per shape, those kernels grew by 0.2 GiB per 1000 lengths and cost
// a compilation each. So only the first kSpecialisedShapes shapes get one; later shapes share one
// primitive per layout with the batch-dependent dimension given at run time (oneDNN's jit
// gemm; on SmolLM2's step shapes 0.93-1.2x, 1.5x on one weight gradient, but bounded in memory and
// never recompiled).
constexpr size_t kSpecialisedShapes = 128;  // ~27 MiB of kernels at most

struct OneDnn {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  std::mutex mutex;
  std::map<GemmKey, dnnl::matmul> specialised, runtime;

  static OneDnn& instance() {
    static OneDnn one;
    return one;
  }
};

// The operands' descriptors. Stored A is m×k (row stride lda), or k×m when transposed; B likewise
// k×n or n×k; C m×n. A dimension may be kRuntime (a run-time primitive's).
struct Operands {
  dnnl::memory::desc a, b, c;
  Operands(bool ta, bool tb, int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc) {
    using dt = dnnl::memory::data_type;
    using dims = dnnl::memory::dims;
    a = dnnl::memory::desc({m, k}, dt::bf16, ta ? dims{1, lda} : dims{lda, 1});
    b = dnnl::memory::desc({k, n}, dt::bf16, tb ? dims{1, ldb} : dims{ldb, 1});
    c = dnnl::memory::desc({m, n}, dt::f32, dims{ldc, 1});
  }
};

dnnl::matmul make_primitive(const OneDnn& one, bool ta, bool tb, int64_t m, int64_t n, int64_t k, int64_t lda,
                            int64_t ldb, int64_t ldc, bool accumulate) {
  const Operands d(ta, tb, m, n, k, lda, ldb, ldc);
  dnnl::primitive_attr attr;
  if (accumulate) {  // C += A·B: oneDNN's sum post-op adds the product to what C holds
    dnnl::post_ops ops;
    ops.append_sum(1.f);
    attr.set_post_ops(ops);
  }
  return dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(d.a, d.b, d.c), attr, one.engine));
}

// The primitive for this call: its specialised one, a new specialised one while there is room,
// else the run-time one of its layout. The batch-dependent dimension is K when A is transposed
// (a weight gradient, dyᵀ·x) and M otherwise; a layout whose strides would depend on it (A and B
// both transposed, which sculpt never issues) stays specialised.
dnnl::matmul primitive_for(OneDnn& one, bool ta, bool tb, int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb,
                           int64_t ldc, bool accumulate) {
  const std::lock_guard lock(one.mutex);
  const GemmKey key{ta, tb, m, n, k, lda, ldb, ldc, accumulate};
  if (auto it = one.specialised.find(key); it != one.specialised.end()) return it->second;
  if (one.specialised.size() < kSpecialisedShapes || (ta && tb))
    return one.specialised.emplace(key, make_primitive(one, ta, tb, m, n, k, lda, ldb, ldc, accumulate))
        .first->second;
  const int64_t rm = ta ? m : kRuntime, rk = ta ? kRuntime : k;
  const GemmKey layout{ta, tb, rm, n, rk, lda, ldb, ldc, accumulate};
  auto it = one.runtime.find(layout);
  if (it == one.runtime.end())
    it = one.runtime.emplace(layout, make_primitive(one, ta, tb, rm, n, rk, lda, ldb, ldc, accumulate)).first;
  return it->second;
}

}  // namespace

bool bf16_gemm_available() { return true; }

void gemm_bf16(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
               const uint16_t* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  check(beta == 0.f || beta == 1.f, "beta must be 0 or 1", "gemm_bf16");
  if (m == 0 || n == 0) return;
  const bool ta = trans_a == Trans::yes, tb = trans_b == Trans::yes;
  OneDnn& one = OneDnn::instance();
  const dnnl::matmul primitive = primitive_for(one, ta, tb, m, n, k, lda, ldb, ldc, beta == 1.f);
  // The operands as they are: every dimension known (a run-time primitive takes them from here).
  const Operands d(ta, tb, m, n, k, lda, ldb, ldc);
  dnnl::stream stream(one.engine);
  dnnl::memory am(d.a, one.engine, const_cast<uint16_t*>(a)), bm(d.b, one.engine, const_cast<uint16_t*>(b)),
      cm(d.c, one.engine, c);
  primitive.execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
  stream.wait();
}

#else

bool bf16_gemm_available() { return false; }

void gemm_bf16(Trans, Trans, int64_t, int64_t, int64_t, const uint16_t*, int64_t, const uint16_t*, int64_t, float,
               float*, int64_t) {
  throw Error("this build of sculpt has no bf16 matrix multiply", "bf16 precision",
              "install libdnnl-dev (scripts/install-deps.sh) and rebuild, or use --precision fp32");
}

#endif

}  // namespace sculpt
