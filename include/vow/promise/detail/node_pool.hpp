// vow/promise/detail/node_pool.hpp - where the promise layer's states and
// nodes live: a small-block pool instead of the general heap.
//
// Every state (a promise's, a `then` node, a combinator's) is allocated
// through state_base's class operator new, which comes here. A pending
// `then` chain holds one such block per step, so the pool decides what a
// long chain costs in time and in memory (bench/README.md, promise_bench).
// The design is in docs/design.md, "Where states live"; in short:
//
// - Blocks of 8 to 256 bytes, in size classes 8 bytes apart, carved from
//   2 MiB segments: no per-block header. From a class's second segment on,
//   a segment is advised to use a transparent huge page: one page fault per
//   2 MiB of fresh memory instead of 512. Larger requests go to
//   ::operator new.
// - Each thread has a cache of free blocks per class. allocate() pops from
//   it and deallocate() pushes onto it, with no lock; a miss or an overflow
//   moves a batch to or from the shared segments under one mutex.
// - A block may be freed on any thread: it joins that thread's cache. A
//   thread's cache goes back to the segments when the thread exits.
// - A segment whose blocks are all free is kept, resident, for the next
//   segment any class needs (as malloc keeps freed memory), up to 32 of
//   them (64 MiB); more are unmapped as they empty, and trim() unmaps all.
// - Under AddressSanitizer (compile time) and valgrind (run time) the pool
//   is bypassed: every block comes from ::operator new, so use-after-free
//   is still caught, also after the memory was reused (see design.md).
//
// Thread safety: allocate, deallocate, trim and get_stats are safe from any
// thread at any time, including while the thread exits.
#pragma once

#include <cstddef>
#include <new>

namespace vow::detail::node_pool {

// The largest block the pool serves; larger ones go to ::operator new.
// The global delete for `p` from ::operator new(n) (or new(n, al)): the
// sized forms where the compiler declares them, the plain ones otherwise
// (clang before 19 leaves sized deallocation off unless asked).
inline void global_delete(void* p, [[maybe_unused]] std::size_t n) noexcept {
#if defined(__cpp_sized_deallocation)
    ::operator delete(p, n);
#else
    ::operator delete(p);
#endif
}
inline void global_delete(void* p, [[maybe_unused]] std::size_t n, std::align_val_t al) noexcept {
#if defined(__cpp_sized_deallocation)
    ::operator delete(p, n, al);
#else
    ::operator delete(p, al);
#endif
}

inline constexpr std::size_t max_block = 256;

// A block of at least `n` bytes, aligned to 16 if n is a multiple of 16
// and to 8 otherwise (enough for any object of that size whose alignment is
// not beyond the default new alignment). Throws std::bad_alloc.
void* allocate(std::size_t n);

// Gives back a block from allocate(n), with the same `n`. Any thread.
void deallocate(void* p, std::size_t n) noexcept;

// Returns the calling thread's cached blocks to the segments and unmaps
// every segment with no block in use. For memory measurements (and for a
// program that wants its memory back at once after a burst).
void trim() noexcept;

// What the pool holds now: all segments mapped, those with no block in use
// (kept for reuse), and blocks in use or in some thread's cache.
struct stats {
    std::size_t segments = 0;
    std::size_t empty_segments = 0;
    std::size_t blocks_out = 0;
    bool enabled = false;  // false under AddressSanitizer or valgrind
};
stats get_stats() noexcept;

}  // namespace vow::detail::node_pool
