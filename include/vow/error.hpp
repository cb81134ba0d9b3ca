/// @file
/// The exception types vow throws, except the network layer's own.
///
/// Each derives from the closest standard exception, so `catch (const
/// std::exception&)` still works, and its message says what went wrong and
/// why (formatted with fmt).
///
/// In sections: misuse and the reactor's errors; the promise layer's; the
/// errors of waiting, which the layers above the promises raise too
/// (timeout_error: with_timeout and the network timeouts; cancelled_error:
/// any operation given a std::stop_token), so they live here rather than
/// with one of them. Errors that only a later layer raises live with it: the
/// network layer's (io_error, dns_error, ...) are in `<vow/net/error.hpp>`,
/// under the same rules. At the end: helpers to look into a
/// std::exception_ptr, which is what catch_ handlers, result<T> and
/// all_settled hand you.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace vow {

/// A misuse of the API that is a bug in the caller: a bad argument.
class invalid_argument : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// A misuse of the API's order of operations, such as a nested `run()`.
class usage_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

/// libevent or the operating system refused something (out of fds, ...).
class reactor_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace vow

namespace vow {

/// A promise was destroyed before it was resolved or rejected; its future
/// rejects with this error.
class broken_promise : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// resolve() or reject() on a promise that was already settled.
class promise_already_satisfied : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

/// get_future() called twice on the same promise.
class future_already_retrieved : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

/// An operation on a future that holds no state: consumed by then, catch_,
/// finally or share, moved from, or default-constructed.
class future_consumed : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

/// run_until_complete cannot finish: the reactor was stopped, or it has no
/// work left and nothing alive can ever settle the future.
class stalled_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// An operation on a vow::queue that close() has shut: a push() after close
/// (or parked at close), or a pop() once the closed queue is empty. Like
/// asyncio's QueueShutDown, it marks the end of the queue rather than a bug.
class queue_closed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace vow

// The errors of waiting: raised by the promise layer and the layers above.
namespace vow {

/// with_timeout's future when the time ran out first; also a network
/// operation's when its timeout expired.
class timeout_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// An operation given a std::stop_token whose stop was requested before the
/// operation finished.
class cancelled_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace vow

namespace vow {

/// The message of the exception `e` holds: its what(), or "a non-std
/// exception" for anything not derived from std::exception, or "no error"
/// for a null exception_ptr. Never throws (except std::bad_alloc).
///
/// @code
/// .catch_([](std::exception_ptr e) { fmt::print("failed: {}\n", vow::error_message(e)); })
/// @endcode
inline std::string error_message(const std::exception_ptr& e) {
    if (!e)
        return "no error";
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "a non-std exception";
    }
}

/// The exception `e` holds, if it is an E (or derived from E); null
/// otherwise, and for a null exception_ptr. The pointer is valid while an
/// exception_ptr to the same exception lives.
///
/// @code
/// if (auto* t = vow::error_as<vow::timeout_error>(e)) ...
/// @endcode
template <class E>
const E* error_as(const std::exception_ptr& e) noexcept {
    if (!e)
        return nullptr;
    try {
        std::rethrow_exception(e);
    } catch (const E& ex) {
        return &ex;
    } catch (...) {
        return nullptr;
    }
}

}  // namespace vow
