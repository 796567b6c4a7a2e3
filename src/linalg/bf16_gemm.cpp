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
// memory descriptors, so no operand is ever copied) and whether C is accumulated into.
using GemmKey = std::tuple<bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool>;

struct OneDnn {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  std::mutex mutex;
  std::map<GemmKey, dnnl::matmul> primitives;

  static OneDnn& instance() {
    static OneDnn one;
    return one;
  }
};

}  // namespace

bool bf16_gemm_available() { return true; }

void gemm_bf16(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
               const uint16_t* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  check(beta == 0.f || beta == 1.f, "beta must be 0 or 1", "gemm_bf16");
  if (m == 0 || n == 0) return;
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  const bool ta = trans_a == Trans::yes, tb = trans_b == Trans::yes, accumulate = beta == 1.f;
  // Stored A is m×k (row stride lda), or k×m when transposed; B likewise k×n or n×k.
  const dnnl::memory::desc ad({m, k}, dt::bf16, ta ? dims{1, lda} : dims{lda, 1});
  const dnnl::memory::desc bd({k, n}, dt::bf16, tb ? dims{1, ldb} : dims{ldb, 1});
  const dnnl::memory::desc cd({m, n}, dt::f32, dims{ldc, 1});
  OneDnn& one = OneDnn::instance();
  dnnl::matmul primitive;
  {
    const std::lock_guard lock(one.mutex);
    const GemmKey key{ta, tb, m, n, k, lda, ldb, ldc, accumulate};
    auto it = one.primitives.find(key);
    if (it == one.primitives.end()) {
      dnnl::primitive_attr attr;
      if (accumulate) {  // C += A·B: oneDNN's sum post-op adds the product to what C holds
        dnnl::post_ops ops;
        ops.append_sum(1.f);
        attr.set_post_ops(ops);
      }
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, cd), attr, one.engine);
      it = one.primitives.emplace(key, dnnl::matmul(pd)).first;
    }
    primitive = it->second;
  }
  dnnl::stream stream(one.engine);
  dnnl::memory am(ad, one.engine, const_cast<uint16_t*>(a)), bm(bd, one.engine, const_cast<uint16_t*>(b)),
      cm(cd, one.engine, c);
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
