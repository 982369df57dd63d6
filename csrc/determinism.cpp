// Setters and getters of libtorch's global determinism switches, which tch does not expose.
// The convolution backward reads these globals, so a per-call flag would not be enough.
#include <ATen/Context.h>

extern "C" {
void featdiv_set_deterministic_cudnn(bool b) { at::globalContext().setDeterministicCuDNN(b); }
bool featdiv_deterministic_cudnn() { return at::globalContext().deterministicCuDNN(); }

void featdiv_set_deterministic_algorithms(bool b, bool warn_only) {
  at::globalContext().setDeterministicAlgorithms(b, warn_only);
}
bool featdiv_deterministic_algorithms() { return at::globalContext().deterministicAlgorithms(); }
bool featdiv_deterministic_algorithms_warn_only() {
  return at::globalContext().deterministicAlgorithmsWarnOnly();
}

void featdiv_set_benchmark_cudnn(bool b) { at::globalContext().setBenchmarkCuDNN(b); }
bool featdiv_benchmark_cudnn() { return at::globalContext().benchmarkCuDNN(); }

void featdiv_set_allow_tf32_cublas(bool b) { at::globalContext().setAllowTF32CuBLAS(b); }
bool featdiv_allow_tf32_cublas() { return at::globalContext().allowTF32CuBLAS(); }
void featdiv_set_allow_tf32_cudnn(bool b) { at::globalContext().setAllowTF32CuDNN(b); }
bool featdiv_allow_tf32_cudnn() { return at::globalContext().allowTF32CuDNN(); }
}
