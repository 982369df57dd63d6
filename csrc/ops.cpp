// Tensor operations libtorch has and tch 0.24 does not expose (src/ops.rs).
#include <ATen/ATen.h>

extern "C" {
// A new tensor handle (owned by the caller, as tch's are): LeakyReLU with this negative slope,
// whose backward is one pass (tch's leaky_relu fixes the slope at 0.01).
at::Tensor* featdiv_leaky_relu(at::Tensor* t, double slope) {
  return new at::Tensor(at::leaky_relu(*t, slope));
}
}
