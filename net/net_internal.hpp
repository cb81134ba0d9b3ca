// net/net_internal.hpp - what the net/ sources share and users never see:
// the per-reactor net service (the read scratch buffer, the registry that
// closes whatever is still open when the reactor goes), the byte buffer
// behind stream input and output, and error construction.
#pragma once

#include "byte_buffer.hpp"

#include <vow/net/address.hpp>
#include <vow/net/error.hpp>
#include <vow/net/tcp.hpp>
#include <vow/promise/operation.hpp>
#include <vow/reactor/reactor.hpp>

#include <fmt/format.h>

#include <cstddef>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace vow::net::detail {

// Something the net service must close when the reactor is destroyed:
// open streams, listening servers, connects in progress. Intrusive list.
class net_object {
public:
    net_object() = default;
    net_object(const net_object&) = delete;
    net_object& operator=(const net_object&) = delete;
    virtual ~net_object() = default;
    // The reactor is going away: stop watching, close the fd and drop
    // pending operations without settling them (they break quietly at
    // teardown).
    virtual void teardown() noexcept = 0;

private:
    friend class net_service;
    net_object* prev_ = nullptr;
    net_object* next_ = nullptr;
    class net_service* svc_ = nullptr;
};

class net_service final : public reactor::service {
public:
    static constexpr std::size_t scratch_size = std::size_t{64} * 1024;

    explicit net_service(reactor& r) : r_(r), scratch_(new char[scratch_size]) {}
    ~net_service() override {
        while (head_) {
            net_object* o = head_;
            remove(o);
            o->teardown();
        }
    }
    static net_service& of(reactor& r) { return r.use_service<net_service>(); }

    void add(net_object* o) noexcept {
        o->svc_ = this;
        o->prev_ = nullptr;
        o->next_ = head_;
        if (head_)
            head_->prev_ = o;
        head_ = o;
    }
    // Safe to call on an object never added, or already removed.
    static void remove_from_owner(net_object* o) noexcept {
        if (o->svc_)
            o->svc_->remove(o);
    }
    char* scratch() noexcept { return scratch_.get(); }
    reactor& get_reactor() noexcept { return r_; }

private:
    void remove(net_object* o) noexcept {
        if (o->prev_)
            o->prev_->next_ = o->next_;
        else
            head_ = o->next_;
        if (o->next_)
            o->next_->prev_ = o->prev_;
        o->prev_ = o->next_ = nullptr;
        o->svc_ = nullptr;
    }
    reactor& r_;
    std::unique_ptr<char[]> scratch_;
    net_object* head_ = nullptr;
};

inline std::exception_ptr make_io_error(int err, std::string_view what) {
    return std::make_exception_ptr(io_error(std::error_code(err, std::generic_category()), std::string(what)));
}

// A stream on a connected, already non-blocking socket (server accepts and
// connects use it). Closes `fd` if it throws.
tcp_stream make_stream(reactor& r, int fd, const stream_options& opts, const address* peer);

// The error of a net operation whose deadline passed or whose stop was
// requested: "vow::net::<operation>: timed out" (vow::timeout_error) or
// "vow::net::<operation>: cancelled: stop was requested on its stop_token"
// (vow::cancelled_error); see vow::expired_error.
std::exception_ptr make_expired(expiry why, std::string_view operation);
inline std::exception_ptr make_cancelled(std::string_view operation) {
    return make_expired(expiry::cancelled, operation);
}
std::exception_ptr make_closed(std::string_view operation);

}  // namespace vow::net::detail
