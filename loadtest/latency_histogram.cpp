#include "loadtest/latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace newspush::loadtest {

unsigned LatencyHistogram::bucket_of(std::uint64_t micros) {
  if (micros < kLinear) return static_cast<unsigned>(micros);
  const unsigned exponent = 63 - static_cast<unsigned>(std::countl_zero(micros));  // >= kSubBits+1
  const unsigned shift = exponent - kSubBits;
  const unsigned sub = static_cast<unsigned>(micros >> shift) - (1u << kSubBits);  // 0 .. 63
  return kLinear + (exponent - kSubBits - 1) * (1u << kSubBits) + sub;
}

std::uint64_t LatencyHistogram::highest_in(unsigned bucket) {
  if (bucket < kLinear) return bucket;
  const unsigned offset = bucket - kLinear;
  const unsigned exponent = offset / (1u << kSubBits) + kSubBits + 1;
  const unsigned shift = exponent - kSubBits;
  const std::uint64_t sub = offset % (1u << kSubBits) + (1u << kSubBits);
  return ((sub + 1) << shift) - 1;
}

void LatencyHistogram::record(std::uint64_t micros) {
  ++buckets_[bucket_of(micros)];
  ++count_;
  sum_ += micros;
  max_ = std::max(max_, micros);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (unsigned i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

std::uint64_t LatencyHistogram::percentile(double q) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (unsigned i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= std::max<std::uint64_t>(rank, 1)) return std::min(highest_in(i), max_);
  }
  return max_;
}

}  // namespace newspush::loadtest
