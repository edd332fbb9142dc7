#pragma once
// Waiting for a state other processes reach on their own clocks (a replica in sync, sentinels
// that found each other, a promotion, a key's expiry): poll it, within a generous bound.
#include <chrono>
#include <thread>

namespace newspush::test {

// Polls `done` every `poll` until it holds or `timeout` passes; returns whether it held.
template <typename Predicate>
bool eventually(Predicate done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(50)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(poll);
  }
  return done();
}

}  // namespace newspush::test
