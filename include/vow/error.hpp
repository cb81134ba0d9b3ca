// vow/error.hpp - the exception types vow throws.
//
// Every error vow raises is one of these types. Each derives from the closest
// standard exception, so `catch (const std::exception&)` still works, and its
// message says what went wrong and why (formatted with fmt).
//
// Errors that belong to a later component (timeouts, cancellation, I/O)
// live with that component, but follow the same rules.
#pragma once

#include <stdexcept>
#include <string>

namespace vow {

// A misuse of the API that is a bug in the caller: a bad argument.
class invalid_argument : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// A misuse of the API's order of operations, e.g. a nested `run()`.
class usage_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

// libevent or the operating system refused something (out of fds, ...).
class reactor_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace vow

namespace vow {

// A promise was destroyed before it was resolved or rejected; its future
// rejects with this error.
class broken_promise : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// resolve() or reject() on a promise that was already settled.
class promise_already_satisfied : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

// get_future() called twice on the same promise.
class future_already_retrieved : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

// An operation on a future that holds no state: consumed by then, catch_,
// finally or share, moved from, or default-constructed.
class future_consumed : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

// run_until_complete cannot finish: the reactor was stopped, or it has no
// work left and nothing alive can ever settle the future.
class stalled_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace vow

namespace vow {

// with_timeout's future when the time ran out first.
class timeout_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// An operation given a std::stop_token whose stop was requested before the
// operation finished.
class cancelled_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace vow

namespace vow {

// An operation on a vow::queue that close() has shut: a push() after close
// (or parked at close), or a pop() once the closed queue is empty. Like
// asyncio's QueueShutDown, it marks the end of the queue rather than a bug.
class queue_closed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace vow
