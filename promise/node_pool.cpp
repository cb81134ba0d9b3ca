// The promise layer's block pool (include/vow/promise/detail/node_pool.hpp,
// docs/design.md "Where states live").
//
// Two levels. The shared level is a set of 2 MiB segments, aligned to their
// size so that a block finds its segment by masking its address; each
// segment serves one size class, from a bump pointer while it is fresh and
// from its own free list after blocks came back. The shared level is
// guarded by one mutex, and is only reached in batches: the thread level is
// a per-thread cache, one free list per class, that allocate and deallocate
// use without a lock. A segment counts the blocks it has handed out (to a
// cache or to a caller); when they have all come back it is empty, and may
// serve any class next.
#include <vow/promise/detail/node_pool.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <new>
#include <utility>

#include <pthread.h>
#include <sys/mman.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define VOW_POOL_VALGRIND_CHECK 1
#endif

#if defined(__SANITIZE_ADDRESS__)
#define VOW_POOL_DISABLED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VOW_POOL_DISABLED 1
#endif
#endif

namespace vow::detail::node_pool {

namespace {

constexpr std::size_t granule = 8;
constexpr std::size_t classes = max_block / granule + 1;  // index = size / 8; 0 is unused
constexpr std::size_t segment_size = std::size_t{2} << 20;
// The segment header's room: one cache line, so that blocks of a size that
// is a multiple of 16 stay 16-aligned.
constexpr std::size_t header_room = 64;
// Empty segments kept mapped for reuse (64 MiB: a million-step chain's
// worth); more are unmapped as they empty.
constexpr std::size_t keep_empty = 32;
// A thread's cache moves about this many bytes per trip to the segments.
constexpr std::size_t batch_bytes = std::size_t{16} * 1024;

std::size_t class_of(std::size_t n) noexcept { return (n + granule - 1) / granule; }
std::size_t block_size(std::size_t cls) noexcept { return cls * granule; }
// Blocks per trip: 64 of 256 bytes, 128 of 128 or less. A table, so that
// the hot path does not divide.
constexpr auto batch_table = [] {
    std::array<std::uint16_t, classes> t{};
    for (std::size_t c = 1; c < classes; ++c)
        t[c] = static_cast<std::uint16_t>(std::clamp<std::size_t>(batch_bytes / (c * granule), 8, 128));
    return t;
}();
std::size_t batch_of(std::size_t cls) noexcept { return batch_table[cls]; }

struct free_block {
    free_block* next;
};

struct segment {
    segment* prev = nullptr;  // in its class's list of segments with room, or the empty list
    segment* next = nullptr;
    free_block* free = nullptr;  // blocks given back
    char* bump = nullptr;        // never handed out yet: [bump, end)
    char* end = nullptr;
    std::size_t used = 0;  // blocks out: in a thread's cache or in use
    std::size_t cls = 0;
    bool listed = false;  // on its class's list (has room)

    bool has_room() const noexcept { return free || static_cast<std::size_t>(end - bump) >= block_size(cls); }
    // The segment a block lies in: p moved back to the segment_size boundary
    // (pointer arithmetic, so the result keeps p's provenance).
    static segment* of(const void* p) noexcept {
        auto offset = reinterpret_cast<std::uintptr_t>(p) & (segment_size - 1);
        return reinterpret_cast<segment*>(const_cast<char*>(static_cast<const char*>(p)) - offset);
    }
};
static_assert(sizeof(segment) <= header_room);

// A doubly linked list of segments, through prev/next.
struct segment_list {
    segment* head = nullptr;
    std::size_t count = 0;

    void push(segment* s) noexcept {
        s->prev = nullptr;
        s->next = head;
        if (head)
            head->prev = s;
        head = s;
        ++count;
    }
    void remove(segment* s) noexcept {
        (s->prev ? s->prev->next : head) = s->next;
        if (s->next)
            s->next->prev = s->prev;
        s->prev = s->next = nullptr;
        --count;
    }
};

bool pool_enabled() noexcept {
#if defined(VOW_POOL_DISABLED)
    return false;
#elif defined(VOW_POOL_VALGRIND_CHECK)
    static const bool on = RUNNING_ON_VALGRIND == 0;
    return on;
#else
    return true;
#endif
}

// The shared level. Every member is guarded by `mutex`.
class shared_pool {
public:
    // Takes up to `want` blocks of class `cls` for a thread's cache (at
    // least one), linked through their first word. Throws std::bad_alloc.
    free_block* take(std::size_t cls, std::size_t want, std::size_t& got) {
        std::lock_guard lock(mutex_);
        free_block* out = nullptr;
        got = 0;
        const std::size_t size = block_size(cls);
        while (got < want) {
            segment* s = with_room_[cls].head;
            if (!s) {
                if (got)
                    break;  // enough for now; a new segment only when empty-handed
                s = new_segment(cls);
            }
            std::size_t before = got;
            while (got < want && s->free) {
                free_block* b = s->free;
                s->free = b->next;
                b->next = out;
                out = b;
                ++got;
            }
            while (got < want && static_cast<std::size_t>(s->end - s->bump) >= size) {
                auto* b = reinterpret_cast<free_block*>(s->bump);
                s->bump += size;
                b->next = out;
                out = b;
                ++got;
            }
            s->used += got - before;
            if (!s->has_room()) {
                with_room_[cls].remove(s);
                s->listed = false;
            }
        }
        blocks_out_ += got;
        return out;
    }

    // Gives back `n` blocks of class `cls`, linked through their first word.
    void give(std::size_t cls, free_block* list, std::size_t n) noexcept {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < n; ++i) {
            free_block* b = list;
            list = list->next;
            segment* s = segment::of(b);
            if (--s->used == 0) {
                retire(s);
                continue;
            }
            b->next = s->free;
            s->free = b;
            if (!s->listed) {
                with_room_[cls].push(s);
                s->listed = true;
            }
        }
        blocks_out_ -= n;
    }

    void trim() noexcept {
        std::lock_guard lock(mutex_);
        while (segment* s = empty_.head) {
            empty_.remove(s);
            --segments_;
            ::munmap(s, segment_size);
        }
    }

    stats get() noexcept {
        std::lock_guard lock(mutex_);
        return {segments_, empty_.count, blocks_out_, true};
    }

    // fork() while another thread holds the mutex would leave it locked for
    // ever in the child: as malloc does, hold it across the fork.
    void lock_for_fork() noexcept { mutex_.lock(); }
    void unlock_after_fork() noexcept { mutex_.unlock(); }

private:
    // A segment for class `cls`, put on its list: an empty one if any (the
    // most recently emptied first: its memory is likeliest resident), else
    // a fresh mapping.
    segment* new_segment(std::size_t cls) {
        // A class's first segment stays on small pages: a program with a few
        // states of each size then pays a few 4 KiB pages per size, not a
        // 2 MiB page (and the pause of clearing it, milliseconds on some
        // virtual machines). A class that fills a segment is building up
        // many states: from its second segment on, one huge page fault
        // replaces 512 small ones.
        segment* s = empty_.head;
        if (s) {
            empty_.remove(s);
        } else {
            s = map_segment(in_class_[cls] > 0);
            ++segments_;
        }
        s->free = nullptr;
        s->bump = reinterpret_cast<char*>(s) + header_room;
        s->end = reinterpret_cast<char*>(s) + segment_size;
        s->used = 0;
        s->cls = cls;
        ++in_class_[cls];
        with_room_[cls].push(s);
        s->listed = true;
        return s;
    }

    // 2 MiB aligned to 2 MiB: map twice that and cut off both ends. With
    // `huge`, advised to use a transparent huge page, before anything touches
    // it: the kernel gives a huge page only to a range with no page in it
    // yet. Where THP is off or unsupported, madvise fails and nothing changes.
    segment* map_segment(bool huge) {
        void* p = ::mmap(nullptr, 2 * segment_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            throw std::bad_alloc();
        // Keep the segment_size-aligned segment_size bytes inside the 2x
        // mapping, and give back the head and the tail around them.
        char* start = static_cast<char*>(p);
        std::size_t misalign = reinterpret_cast<std::uintptr_t>(p) & (segment_size - 1);
        std::size_t head = misalign == 0 ? 0 : segment_size - misalign;
        char* aligned = start + head;
        if (head != 0)
            ::munmap(start, head);
        if (std::size_t tail = segment_size - head)
            ::munmap(aligned + segment_size, tail);
#if defined(MADV_HUGEPAGE)
        if (huge)
            ::madvise(aligned, segment_size, MADV_HUGEPAGE);
#else
        (void)huge;
#endif
        return ::new (static_cast<void*>(aligned)) segment;
    }

    // `s` has no block out: keep it, resident, for any class, up to
    // keep_empty of them; their memory is reused in place by the next
    // segments the pool needs (trim() unmaps them). Beyond that it goes back
    // to the system at once, so a burst does not hold its peak for ever.
    void retire(segment* s) noexcept {
        if (s->listed) {
            with_room_[s->cls].remove(s);
            s->listed = false;
        }
        --in_class_[s->cls];
        if (empty_.count >= keep_empty) {
            --segments_;
            ::munmap(s, segment_size);
            return;
        }
        empty_.push(s);
    }

    std::mutex mutex_;
    segment_list with_room_[classes];
    std::size_t in_class_[classes] = {};  // segments serving each class
    segment_list empty_;
    std::size_t segments_ = 0;
    std::size_t blocks_out_ = 0;
};

// Never destroyed: states may be freed by static destructors of any
// translation unit, after this one's would have run.
shared_pool& shared() {
    alignas(shared_pool) static unsigned char storage[sizeof(shared_pool)];
    static shared_pool* p = [] {
        auto* sp = ::new (storage) shared_pool;
        ::pthread_atfork([] { shared().lock_for_fork(); }, [] { shared().unlock_after_fork(); },
                         [] { shared().unlock_after_fork(); });
        return sp;
    }();
    return *p;
}

// The thread level, per class: the list in use and at most one full batch
// in reserve, so that neither a miss nor an overflow walks a list: a miss
// takes the reserve (or a batch from the segments), an overflow gives the
// reserve back and keeps the full list as the new one.
struct thread_cache {
    struct bin {
        free_block* head = nullptr;
        std::size_t count = 0;
        free_block* reserve = nullptr;  // batch_of(class) blocks, or none
    };
    bin bins[classes];

    ~thread_cache();

    void flush() noexcept {
        for (std::size_t c = 1; c < classes; ++c) {
            if (bins[c].count)
                shared().give(c, bins[c].head, bins[c].count);
            if (bins[c].reserve)
                shared().give(c, bins[c].reserve, batch_of(c));
            bins[c] = {};
        }
    }
};

// Trivial thread_locals, readable at any point of the thread's life: the
// cache, null until first use and again once it is destroyed (and always
// null where the pool is off). initial-exec: a plain load from the thread
// pointer on the hot path, instead of a call to __tls_get_addr.
[[gnu::tls_model("initial-exec")]] thread_local thread_cache* cache = nullptr;
[[gnu::tls_model("initial-exec")]] thread_local bool cache_gone = false;

thread_cache::~thread_cache() {
    cache = nullptr;
    cache_gone = true;
    flush();
}

// The calling thread's cache, made on first use; null while the thread
// exits (its thread_local destructors are running or have run).
thread_cache* make_cache() noexcept {
    if (cache_gone)
        return nullptr;
    thread_local thread_cache c;
    cache = &c;
    return cache;
}

[[gnu::noinline]] void* refill(thread_cache::bin& b, std::size_t cls) {
    if (b.reserve) {
        free_block* p = std::exchange(b.reserve, nullptr);
        b.head = p->next;
        b.count = batch_of(cls) - 1;
        return p;
    }
    std::size_t got = 0;
    free_block* list = shared().take(cls, batch_of(cls), got);
    b.head = list->next;
    b.count = got - 1;
    return list;
}

[[gnu::noinline]] void spill(thread_cache::bin& b, std::size_t cls) noexcept {
    if (b.reserve)
        shared().give(cls, b.reserve, batch_of(cls));
    b.reserve = std::exchange(b.head, nullptr);
    b.count = 0;
}

// allocate() without a cache: the pool is off, or the thread is exiting.
[[gnu::noinline]] void* allocate_slow(std::size_t n) {
    if (!pool_enabled())
        return ::operator new(n);
    if (make_cache())
        return allocate(n);
    std::size_t got = 0;
    return shared().take(class_of(n), 1, got);
}

[[gnu::noinline]] void deallocate_slow(void* p, std::size_t n) noexcept {
    if (!pool_enabled())
        return global_delete(p, n);
    if (make_cache())
        return deallocate(p, n);
    auto* blk = static_cast<free_block*>(p);
    blk->next = nullptr;
    shared().give(class_of(n), blk, 1);
}

}  // namespace

void* allocate(std::size_t n) {
    thread_cache* c = cache;
    if (n > max_block || !c) [[unlikely]]
        return n > max_block ? ::operator new(n) : allocate_slow(n);
    std::size_t cls = class_of(n);
    thread_cache::bin& b = c->bins[cls];
    if (free_block* p = b.head) [[likely]] {
        b.head = p->next;
        --b.count;
        return p;
    }
    return refill(b, cls);
}

void deallocate(void* p, std::size_t n) noexcept {
    thread_cache* c = cache;
    if (n > max_block || !c) [[unlikely]]
        return n > max_block ? global_delete(p, n) : deallocate_slow(p, n);
    std::size_t cls = class_of(n);
    thread_cache::bin& b = c->bins[cls];
    if (b.count == batch_of(cls)) [[unlikely]]
        spill(b, cls);
    auto* blk = static_cast<free_block*>(p);
    blk->next = b.head;
    b.head = blk;
    ++b.count;
}

void trim() noexcept {
    if (!pool_enabled())
        return;
    if (cache)
        cache->flush();
    shared().trim();
}

stats get_stats() noexcept {
    if (!pool_enabled())
        return {};
    return shared().get();
}

}  // namespace vow::detail::node_pool
