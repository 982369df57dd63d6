// Mixed precision and memory format, which tch does not expose: autocast regions on CPU and
// CUDA (bf16 compute, fp32 master weights), read back, and the channels_last layout.
#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

namespace {
at::DeviceType device(bool cuda) { return cuda ? at::kCUDA : at::kCPU; }
}

extern "C" {
// Opens an autocast region of `dtype` (0: bfloat16, 1: float16) on the CPU or CUDA.
void featdiv_autocast_begin(bool cuda, int dtype) {
  at::autocast::set_autocast_dtype(device(cuda), dtype == 0 ? at::kBFloat16 : at::kHalf);
  at::autocast::set_autocast_enabled(device(cuda), true);
  at::autocast::increment_nesting();
}

// Closes it; the cast weights it cached go with it (they are stale after the next update).
void featdiv_autocast_end(bool cuda) {
  at::autocast::set_autocast_enabled(device(cuda), false);
  if (at::autocast::decrement_nesting() == 0) {
    at::autocast::clear_cache();
  }
}

bool featdiv_autocast_enabled(bool cuda) { return at::autocast::is_autocast_enabled(device(cuda)); }

// 0: bfloat16, 1: float16, -1: another type.
int featdiv_autocast_dtype(bool cuda) {
  auto t = at::autocast::get_autocast_dtype(device(cuda));
  return t == at::kBFloat16 ? 0 : (t == at::kHalf ? 1 : -1);
}

// A new tensor handle (owned by the caller, as tch's are) in the channels_last layout. As torch's
// .to(memory_format=...), it restrides a tensor whose shape makes both layouts "contiguous" (one
// input channel, 1x1 kernels): Tensor::contiguous returns such a tensor as it is, and a stem
// weight left with NCHW strides made every layer of a net on one-channel images run NCHW.
at::Tensor* featdiv_channels_last(at::Tensor* t) {
  return new at::Tensor(t->to(t->options(), false, false, at::MemoryFormat::ChannelsLast));
}

// Whether libtorch's kernels will treat `t` as channels_last (is_contiguous(ChannelsLast) is
// also true of the ambiguous NCHW tensors above).
bool featdiv_is_channels_last(at::Tensor* t) {
  return t->suggest_memory_format() == at::MemoryFormat::ChannelsLast;
}
}
