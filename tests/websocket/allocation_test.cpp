// "No allocation per frame": once the message buffer has grown to the largest message seen, the
// codec reads any number of frames (messages, fragments, control frames between them) and the
// writer builds control frames and headers without touching the heap. Counted by replacing the
// global operator new for this test binary.
#include <atomic>
#include <cstdlib>
#include <new>

#include "tests/websocket/codec_driver.hpp"
#include "websocket/frame.hpp"

namespace {
std::atomic<long> allocations{0};
}

// Once these are inlined, GCC sees free() on memory from operator new, not knowing that this file
// made operator new call malloc.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc{};
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace newspush::websocket::test {
namespace {

// Reads everything, looking at each event without copying it.
std::size_t drain(ServerCodec& codec, std::string_view bytes, std::size_t piece) {
  std::size_t events = 0;
  for (std::size_t at = 0; at < bytes.size(); at += piece) {
    std::string_view input = bytes.substr(at, piece);
    while (codec.read(input).kind != EventKind::need_more) ++events;
  }
  return events;
}

TEST(CodecAllocations, NoneAfterTheMessageBufferHasGrown) {
  std::string bytes;
  for (int i = 0; i < 200; ++i) {
    bytes += text(std::string(static_cast<std::size_t>(i * 20), 'x'));
    bytes += binary(std::string(300, '\xff'));
    bytes += ping("p");
    bytes += text("frag", false) + pong() + continuation("ment", false) + continuation("!");
  }
  const std::string warm_up = text(std::string(4000, 'w'));
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, bytes.size()}) {
    ServerCodec codec{1 << 20};
    ASSERT_EQ(drain(codec, warm_up, warm_up.size()), 1u);
    const long before = allocations.load();
    const std::size_t events = drain(codec, bytes, piece);
    EXPECT_EQ(allocations.load() - before, 0) << piece;
    EXPECT_EQ(events, 200u * 5u) << piece;
  }
}

TEST(CodecAllocations, ControlFramesAndHeadersAreBuiltWithoutTheHeap) {
  char header[max_header_size];
  const long before = allocations.load();
  std::size_t total = 0;
  for (int i = 0; i < 100; ++i) {
    total += ping_frame("ping").bytes().size();
    total += pong_frame("pong").bytes().size();
    total += close_frame(close_code::going_away, "shutting down").bytes().size();
    total += write_header(header, Opcode::text, 70000);
  }
  EXPECT_EQ(allocations.load() - before, 0);
  EXPECT_EQ(total, 100u * (6 + 6 + 17 + 10));
}

}  // namespace
}  // namespace newspush::websocket::test
