#pragma once
// Log-linear histogram of latencies in microseconds (HDR-like): exact below 128 us, then 64 buckets
// per power of two, so any percentile is within 1.6% of the truth. Fixed size (about 30 KB).
#include <array>
#include <cstdint>

namespace newspush::loadtest {

class LatencyHistogram {
 public:
  void record(std::uint64_t micros);
  void merge(const LatencyHistogram& other);
  void clear() { *this = LatencyHistogram{}; }

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }
  // Highest value of the bucket holding the q-quantile (0 < q <= 1); 0 when empty.
  std::uint64_t percentile(double q) const;

 private:
  static constexpr unsigned kSubBits = 6;
  static constexpr unsigned kLinear = 2u << kSubBits;  // 128 exact buckets
  static constexpr unsigned kBuckets = kLinear + (64 - kSubBits - 1) * (1u << kSubBits);

  static unsigned bucket_of(std::uint64_t micros);
  static std::uint64_t highest_in(unsigned bucket);

  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace newspush::loadtest
