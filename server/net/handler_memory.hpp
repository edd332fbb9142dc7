#pragma once
// Memory for one chain of asynchronous operations of one connection (its reads, or its writes):
// the block the last operation used is kept and reused by the next, so a connection that writes
// all day allocates its write handler once. Asio's own recycling allocator caches per thread, and
// a fan-out starts every recipient's write before any completes: it runs dry at once.
//
// One operation of a chain is in flight at a time; if another asks meanwhile (or needs more
// room), it gets the heap. Bound with boost::asio::bind_allocator(HandlerAllocator(memory), h).
#include <cstddef>
#include <new>

namespace newspush {

class HandlerMemory {
 public:
  HandlerMemory() = default;
  HandlerMemory(const HandlerMemory&) = delete;
  HandlerMemory& operator=(const HandlerMemory&) = delete;
  ~HandlerMemory() { ::operator delete(block_); }

  void* allocate(std::size_t size) {
    if (in_use_) return ::operator new(size);
    if (size > size_) {
      ::operator delete(block_);
      block_ = nullptr;  // operator new may throw: never keep a freed block
      size_ = 0;
      block_ = ::operator new(size);
      size_ = size;
    }
    in_use_ = true;
    return block_;
  }

  void deallocate(void* pointer) noexcept {
    if (pointer == block_) in_use_ = false;
    else ::operator delete(pointer);
  }

 private:
  void* block_ = nullptr;
  std::size_t size_ = 0;
  bool in_use_ = false;
};

template <typename T>
class HandlerAllocator {
 public:
  using value_type = T;

  explicit HandlerAllocator(HandlerMemory& memory) noexcept : memory_(&memory) {}
  template <typename U>
  HandlerAllocator(const HandlerAllocator<U>& other) noexcept : memory_(other.memory_) {}

  T* allocate(std::size_t n) { return static_cast<T*>(memory_->allocate(sizeof(T) * n)); }
  void deallocate(T* pointer, std::size_t) noexcept { memory_->deallocate(pointer); }

  template <typename U>
  bool operator==(const HandlerAllocator<U>& other) const noexcept {
    return memory_ == other.memory_;
  }

 private:
  template <typename>
  friend class HandlerAllocator;
  HandlerMemory* memory_;
};

}  // namespace newspush
