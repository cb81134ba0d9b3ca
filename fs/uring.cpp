// fs/uring.cpp - the io_uring engine of vow::fs (fs/uring.hpp): one ring per
// reactor, a reactor::service whose completions reach the loop through an
// eventfd that an fd_watcher watches (docs/design.md, "Files").
//
// A call is an `op` owned by the ring from the moment it starts until the
// kernel has answered for every entry of it the ring held: its own
// (resubmitted for the rest of a short read or write) and, if it was
// cancelled, the cancel's. Whatever happens to its future meanwhile, the
// op keeps the buffer the kernel reads or writes and a reference to the
// descriptor. Its future is settled from the completions, on the reactor's
// thread, on a turn after the call.
#include "uring.hpp"

#include <vow/error.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/operation.hpp>
#include <vow/promise/promise.hpp>
#include <vow/reactor/fd_watcher.hpp>
#include <vow/reactor/handle.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <exception>
#include <fstream>
#include <liburing.h>
#include <optional>
#include <sys/eventfd.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace vow::fs::detail {

namespace {

// The submission queue's size (the completion queue is twice as large, the
// kernel's default). At most this many entries are in the ring at once, so
// the completion queue never overflows; more calls wait in the ring's FIFO.
constexpr unsigned ring_entries = 256;

// How many hops of the ready queue an emptied ring waits for its next call
// before its completion watcher stops (ring::watch says why it waits).
constexpr int idle_hops = 8;

class ring;
struct op;

// A completion's user_data: which op it is of, and whether it answers the
// op's own entry or a cancel of it.
struct entry_tag {
    op* owner;
    bool cancel;
};

// One call on the ring.
struct op {
    enum class kind : unsigned char { read, write, fsync };

    op(kind k, uring_target&& t, const char* op_name)
        : what(k), r(&t.r), pool(&t.pool), fd(std::move(t.fd)), operation(op_name) {}
    // Hands the descriptor's last reference to the pool, as a file's
    // destructor does: close(2) never runs on the loop (except while the
    // reactor itself is destroyed, when nobody waits for the loop).
    virtual ~op() {
        if (fd && fd.use_count() == 1 && !r->closing()) {
            try {
                pool->submit([held = std::move(fd)]() mutable { held.reset(); });
            } catch (...) {
                fd.reset();  // the pool is shutting down (process exit): close here
            }
        }
    }
    op(const op&) = delete;
    op& operator=(const op&) = delete;
    op(op&&) = delete;
    op& operator=(op&&) = delete;

    // True until the future settles or expires.
    [[nodiscard]] virtual bool pending() const noexcept = 0;
    // Settles the future: with `error` if not null, else with the result
    // (a read's: buf).
    virtual void settle(std::exception_ptr error) = 0;

    kind what;
    reactor* r;
    thread_pool* pool;
    std::shared_ptr<fd_holder> fd;
    const char* operation;  // "file::pread": in fs_error and cancelled_error
    std::string buf;        // read into (its size is what is asked for) or written from
    std::uint64_t offset = 0;
    bool at_position = false;     // a write at the file's own position (-1: the end with O_APPEND)
    std::size_t done = 0;         // bytes read or written so far
    bool own_in_ring = false;     // its read, write or fsync is in the ring
    bool cancel_in_ring = false;  // so is a cancel of it
    bool waiting = false;         // in the FIFO, no entry in the ring
    unsigned char eagain_left = 3;  // EAGAIN answers still retried
    op* prev = nullptr;             // in the ring's list: waiting, or with entries in the ring
    op* next = nullptr;
    // What the user_data of its entries points to: its own, and a cancel's.
    entry_tag own_tag{this, false};
    entry_tag cancel_tag{this, true};
};

template <class T>
struct op_of final : op {
    op_of(kind k, uring_target&& t, const char* op_name, std::source_location where)
        : op(k, std::move(t), op_name), p(*r, where) {}

    [[nodiscard]] bool pending() const noexcept override { return p.pending(); }
    void settle(std::exception_ptr error) override {
        if (error)
            p.reject(std::move(error));
        else if constexpr (std::is_void_v<T>)
            p.resolve();
        else
            p.resolve(std::move(buf));
    }

    pending_operation<T> p;
};

// An intrusive doubly linked list of ops, in order.
struct op_list {
    op* head = nullptr;
    op* tail = nullptr;

    [[nodiscard]] bool empty() const noexcept { return head == nullptr; }
    void push_back(op* o) noexcept {
        o->prev = tail;
        o->next = nullptr;
        (tail ? tail->next : head) = o;
        tail = o;
    }
    void remove(op* o) noexcept {
        (o->prev ? o->prev->next : head) = o->next;
        (o->next ? o->next->prev : tail) = o->prev;
        o->prev = o->next = nullptr;
    }
};

std::string errno_text(int error) {
    return std::error_code(error, std::generic_category()).message();
}

// Why io_uring_queue_init failed with `error`, in words a user can act on.
std::string setup_failure(int error) {
    std::string why = fmt::format("io_uring_setup(2) failed: {}", errno_text(error));
    std::string disabled;
    if (std::ifstream in("/proc/sys/kernel/io_uring_disabled"); in)
        std::getline(in, disabled);
    if ((error == EPERM || error == ENOSYS) && !disabled.empty() && disabled != "0")
        why += fmt::format(" (the sysctl kernel.io_uring_disabled is {})", disabled);
    else if (error == ENOSYS || error == EPERM)
        why +=
            " (a seccomp filter forbids it, as container runtimes' default profiles do, or the kernel has no "
            "io_uring)";
    else if (error == ENOMEM)
        why += " (before Linux 5.12 a ring counts against RLIMIT_MEMLOCK)";
    return why;
}

// The reactor's ring: made on first use (use_service), destroyed first thing
// in ~reactor, after the kernel has answered for every entry in it.
class ring final : public reactor::service {
public:
    explicit ring(reactor& r);
    ~ring() override;
    ring(const ring&) = delete;
    ring& operator=(const ring&) = delete;
    ring(ring&&) = delete;
    ring& operator=(ring&&) = delete;

    // "" if the ring works, else why not.
    [[nodiscard]] const std::string& unavailable() const noexcept { return why_; }

    // Takes `o` over and starts it; its future, which `stop` may end first.
    template <class T>
    future<T> start(std::unique_ptr<op_of<T>> o, const std::stop_token& stop);

private:
    void on_completions(io_events ready);
    // Handles every completion the ring holds now, in order.
    void reap();
    // Settles, resubmits or frees the op of a completion (user_data, res).
    void complete(void* data, int res);
    // Ops from the FIFO into the ring, while there is room.
    void fill();
    void prepare(io_uring_sqe* sqe, op& o) noexcept;
    // An entry, submitting what is queued if the ring is full; null if even
    // that leaves none.
    io_uring_sqe* get_sqe() noexcept;
    void submit() noexcept;
    // One submit per turn: what the calls of this turn (and the
    // completions' resubmits) queued goes to the kernel in one
    // io_uring_enter(2), from a task queued behind them.
    void schedule_submit();
    // After a turn's work: the watcher runs while entries are in the ring,
    // and stops a few tasks after they are all gone (idle_check).
    void watch();
    void idle_check();
    // The stop request of `o`, whose future has expired.
    void cancel(op* o) noexcept;
    // Frees `o` if the kernel holds none of its entries and it waits for nothing.
    void release(op* o) noexcept;

    reactor& r_;
    io_uring ring_{};
    bool ready_ = false;  // io_uring_queue_init succeeded
    bool closing_ = false;
    int efd_ = -1;
    std::optional<fd_watcher> watcher_;
    handle retry_;                // a submit the kernel refused, tried again
    int idle_checks_ = 0;         // idle_check tasks still to run before the watcher stops
    bool submit_queued_ = false;  // a task will submit what this turn queued
    std::string why_;
    // Entries in the ring (submitted, or queued for this turn's submit)
    // whose completion has not been reaped: ops' own and cancels.
    unsigned in_ring_ = 0;
    op_list waiting_;  // FIFO of ops waiting for room in the ring
    op_list active_;   // ops with an entry in the ring
};

ring::ring(reactor& r) : r_(r) {
    io_uring_params params{};
    params.flags = IORING_SETUP_CLAMP;
    if (int e = io_uring_queue_init_params(ring_entries, &ring_, &params); e < 0) {
        why_ = setup_failure(-e);
        return;
    }
    ready_ = true;
    // Linux 5.6: IORING_OP_READ / WRITE with a plain buffer, and offset -1
    // for the file's own position (a write at the end of an O_APPEND file).
    // 5.5: completions never dropped.
    if (!(params.features & IORING_FEAT_NODROP) || !(params.features & IORING_FEAT_RW_CUR_POS)) {
        why_ = "the kernel's io_uring is too old (vow needs Linux 5.6 or later)";
        return;
    }
    if (io_uring_probe* probe = io_uring_get_probe_ring(&ring_)) {
        for (int opcode :
             {IORING_OP_READ, IORING_OP_WRITE, IORING_OP_FSYNC, IORING_OP_ASYNC_CANCEL})
            if (!io_uring_opcode_supported(probe, opcode) && why_.empty())
                why_ = fmt::format(
                    "the kernel's io_uring lacks opcode {} (vow needs Linux 5.6 or later)", opcode);
        io_uring_free_probe(probe);
    } else {
        why_ = "the kernel's io_uring cannot be probed (vow needs Linux 5.6 or later)";
    }
    if (!why_.empty())
        return;
    efd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd_ < 0) {
        why_ = fmt::format("eventfd(2) failed: {}", errno_text(errno));
        return;
    }
    if (int e = io_uring_register_eventfd(&ring_, efd_); e < 0) {
        why_ = fmt::format("io_uring_register_eventfd failed: {}", errno_text(-e));
        return;
    }
    watcher_.emplace(r_, efd_, "vow::fs io_uring completions",
                     fd_watcher::bind<&ring::on_completions>(this));
}

ring::~ring() {
    closing_ = true;
    watcher_.reset();
    retry_.cancel();
    if (!ready_) {
        if (efd_ >= 0)
            ::close(efd_);
        return;
    }
    // Calls that never reached the ring are dropped; those in it are
    // cancelled, and the kernel's answers awaited: their buffers and
    // descriptors must outlive its use of them. Their futures break quietly
    // (the reactor is closing); nothing of theirs runs.
    while (op* o = waiting_.head) {
        waiting_.remove(o);
        delete o;
    }
    for (op* o = active_.head; o; o = o->next) {
        if (!o->own_in_ring || o->cancel_in_ring)
            continue;
        io_uring_sqe* sqe = get_sqe();
        if (!sqe)
            break;  // the rest finish on their own
        io_uring_prep_cancel(sqe, &o->own_tag, 0);
        io_uring_sqe_set_data(sqe, &o->cancel_tag);
        o->cancel_in_ring = true;
        ++in_ring_;
    }
    bool lost = false;
    while (in_ring_ > 0) {
        int e = io_uring_submit_and_wait(&ring_, 1);
        if (e < 0 && e != -EINTR && e != -EAGAIN && e != -EBUSY) {
            lost = true;
            break;
        }
        reap();
    }
    if (lost)
        return;  // the kernel may still use the ops' buffers: they are left, and so is the ring
    io_uring_queue_exit(&ring_);
    if (efd_ >= 0)
        ::close(efd_);
}

template <class T>
future<T> ring::start(std::unique_ptr<op_of<T>> o, const std::stop_token& stop) {
    future<T> f = o->p.get_future();
    if (stop.stop_possible()) {
        op* raw = o.get();
        o->p.arm({}, {}, stop, [this, raw](expiry why) {
            auto error = expired_error(why, fmt::format("fs::{}", raw->operation));
            cancel(raw);  // may free it
            return error;
        });
    }
    op* started = o.release();
    started->waiting = true;
    waiting_.push_back(started);
    fill();
    schedule_submit();
    watch();
    return f;
}

void ring::on_completions(io_events) {
    // Drained first, so a completion that comes while these are reaped
    // wakes the loop again. EAGAIN: nothing to drain; the ring says what is done.
    std::uint64_t count = 0;
    (void)!::read(efd_, &count, sizeof count);
    reap();
    fill();
    schedule_submit();
    watch();
}

void ring::reap() {
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
        void* data = io_uring_cqe_get_data(cqe);
        const int res = cqe->res;
        io_uring_cqe_seen(&ring_, cqe);
        complete(data, res);
    }
}

void ring::complete(void* data, int res) {
    --in_ring_;
    const auto* tag = static_cast<entry_tag*>(data);
    op* o = tag->owner;
    if (tag->cancel) {
        // The cancel's answer (0, -ENOENT, -EALREADY) says nothing that the
        // op's own completion will not.
        o->cancel_in_ring = false;
        release(o);
        return;
    }
    o->own_in_ring = false;
    if (closing_ || !o->pending()) {
        release(o);  // cancelled: the result is discarded
        return;
    }
    bool again = false;
    std::exception_ptr error;
    // EINTR is retried, as read_at and write_at retry it. EAGAIN a few
    // times (a transient refusal of the kernel's), then it is the error the
    // pool gives too: a descriptor made non-blocking behind the file's back
    // would otherwise spin the loop.
    if (res == -EINTR || (res == -EAGAIN && o->eagain_left > 0)) {
        if (res == -EAGAIN)
            --o->eagain_left;
        again = true;
    } else if (res < 0) {
        error = std::make_exception_ptr(fs_error(-res, o->operation, o->fd->path));
    } else {
        const auto n = static_cast<std::size_t>(res);
        o->done += n;
        switch (o->what) {
            case op::kind::read:
                // Until max_bytes or the end of the file, as read_at does.
                again = n > 0 && o->done < o->buf.size();
                if (!again)
                    o->buf.resize(o->done);
                break;
            case op::kind::write:
                again = o->done < o->buf.size();
                break;
            case op::kind::fsync:
                break;
        }
    }
    if (again) {
        active_.remove(o);
        o->waiting = true;
        waiting_.push_back(o);
        return;
    }
    o->settle(std::move(error));
    release(o);
}

void ring::fill() {
    while (!waiting_.empty() && in_ring_ < ring_entries) {
        io_uring_sqe* sqe = get_sqe();
        if (!sqe)
            break;
        op* o = waiting_.head;
        waiting_.remove(o);
        o->waiting = false;
        prepare(sqe, *o);
        o->own_in_ring = true;
        active_.push_back(o);
        ++in_ring_;
    }
}

void ring::prepare(io_uring_sqe* sqe, op& o) noexcept {
    const int fd = o.fd->fd;
    switch (o.what) {
        case op::kind::read:
            io_uring_prep_read(sqe, fd, o.buf.data() + o.done,
                               static_cast<unsigned>(o.buf.size() - o.done), o.offset + o.done);
            break;
        case op::kind::write:
            io_uring_prep_write(sqe, fd, o.buf.data() + o.done,
                                static_cast<unsigned>(o.buf.size() - o.done),
                                o.at_position ? ~std::uint64_t{0} : o.offset + o.done);
            break;
        case op::kind::fsync:
            io_uring_prep_fsync(sqe, fd, 0);
            break;
    }
    io_uring_sqe_set_data(sqe, &o.own_tag);
}

io_uring_sqe* ring::get_sqe() noexcept {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) {
        submit();
        sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
}

void ring::schedule_submit() {
    if (submit_queued_)
        return;
    submit_queued_ = true;
    r_.call_soon([this] {
        submit_queued_ = false;
        submit();
    });
}

void ring::submit() noexcept {
    if (io_uring_sq_ready(&ring_) == 0)
        return;
    int e;
    do
        e = io_uring_submit(&ring_);
    while (e == -EINTR);
    if (e >= 0 || closing_ || io_uring_sq_ready(&ring_) == 0)
        return;
    // The kernel refused the batch for now (EAGAIN: out of memory; EBUSY:
    // its completion backlog). The entries stay queued in the ring; the next
    // completion's turn submits them again, or, with none to come, a timer.
    if (in_ring_ > io_uring_sq_ready(&ring_) || retry_.active())
        return;
    try {
        retry_ = r_.call_later(std::chrono::milliseconds(1), [this] {
            submit();
            fill();
            submit();
            watch();
        });
    } catch (...) {
        // Out of memory for a timer as well: the next call on this ring submits them.
    }
}

void ring::watch() {
    if (!watcher_)
        return;  // never: calls start only on a ring that works
    if (in_ring_ > 0) {
        if (!watcher_->active())
            watcher_->start(io_events::readable);
        return;
    }
    // Nothing in the ring, but the continuations just queued (and theirs)
    // usually start the next call: stopping the watcher now and starting it
    // again for that call would cost two epoll_ctl(2) per call. So it stops
    // only if the ring is still idle after idle_hops hops of the ready
    // queue (each hop is one queued callback: a few nanoseconds). Three
    // were too few for examples/copy_file, whose next write starts more
    // continuations than that after the last one's completion (the write's
    // then, the loop's next pass, the read's then): it paid DEL and ADD on
    // every chunk. A started watcher keeps run() running, so it must stop
    // once the ring is really idle.
    if (watcher_->active() && idle_checks_ == 0) {
        idle_checks_ = idle_hops;
        r_.call_soon([this] { idle_check(); });
    }
}

void ring::idle_check() {
    if (in_ring_ > 0 || !watcher_) {
        idle_checks_ = 0;
        return;
    }
    if (--idle_checks_ > 0) {
        r_.call_soon([this] { idle_check(); });
        return;
    }
    watcher_->stop();
}

void ring::cancel(op* o) noexcept {
    if (o->waiting) {
        // Not in the ring (never, or between a short read and the rest): removed.
        waiting_.remove(o);
        delete o;
        return;
    }
    if (!o->own_in_ring || o->cancel_in_ring || closing_)
        return;
    io_uring_sqe* sqe = get_sqe();
    if (!sqe)
        return;  // no room even for a cancel: the call finishes on its own, its result discarded
    io_uring_prep_cancel(sqe, &o->own_tag, 0);
    io_uring_sqe_set_data(sqe, &o->cancel_tag);
    o->cancel_in_ring = true;
    ++in_ring_;
    submit();
}

void ring::release(op* o) noexcept {
    if (o->own_in_ring || o->cancel_in_ring || o->waiting)
        return;
    active_.remove(o);
    delete o;
}

template <class T>
future<T> start(std::unique_ptr<op_of<T>> o, const std::stop_token& stop) {
    reactor& r = *o->r;
    ring& svc = r.use_service<ring>();
    if (!svc.unavailable().empty())  // file.cpp chose io_uring only where it works
        throw usage_error(fmt::format("vow::fs::{}: io_uring is unavailable: {}", o->operation,
                                      svc.unavailable()));
    return svc.start(std::move(o), stop);
}

}  // namespace

std::string uring_unavailable(reactor& r) { return r.use_service<ring>().unavailable(); }

future<std::string> uring_read(uring_target t, std::uint64_t offset, std::size_t max_bytes,
                               const std::stop_token& stop, const char* operation,
                               std::source_location where) {
    if (stop.stop_requested())
        return make_exception_future<std::string>(
            t.r, expired_error(expiry::cancelled, fmt::format("fs::{}", operation)), where);
    // As read_at: nothing asked, no system call; then pread(2)'s refusal.
    const std::size_t size = std::min(max_bytes, max_read);
    if (size == 0)
        return make_ready_future(t.r, std::string(), where);
    if (!t.fd->positional)
        return make_exception_future<std::string>(t.r, fs_error(ESPIPE, operation, t.fd->path),
                                                  where);
    auto o = std::make_unique<op_of<std::string>>(op::kind::read, std::move(t), operation, where);
    o->offset = offset;
    o->buf.resize(size);
    return start(std::move(o), stop);
}

future<void> uring_write(uring_target t, std::optional<std::uint64_t> offset, std::string data,
                         const std::stop_token& stop, const char* operation,
                         std::source_location where) {
    if (stop.stop_requested())
        return make_exception_future<void>(
            t.r, expired_error(expiry::cancelled, fmt::format("fs::{}", operation)), where);
    if (data.empty())
        return make_ready_future(t.r, where);
    if (offset && !t.fd->positional)
        return make_exception_future<void>(t.r, fs_error(ESPIPE, operation, t.fd->path), where);
    auto o = std::make_unique<op_of<void>>(op::kind::write, std::move(t), operation, where);
    o->at_position = !offset;
    o->offset = offset.value_or(0);
    o->buf = std::move(data);
    return start(std::move(o), stop);
}

future<void> uring_sync(uring_target t, const std::stop_token& stop, const char* operation,
                        std::source_location where) {
    if (stop.stop_requested())
        return make_exception_future<void>(
            t.r, expired_error(expiry::cancelled, fmt::format("fs::{}", operation)), where);
    auto o = std::make_unique<op_of<void>>(op::kind::fsync, std::move(t), operation, where);
    return start(std::move(o), stop);
}

}  // namespace vow::fs::detail
