// fuzz_stream_framing - libFuzzer target for tcp_stream's read framing
// (read_some, read_exactly, read_until, read_line in net/tcp/stream.cpp).
//
// A tcp_stream is adopted on one end of a socketpair; the other end is a
// plain socket the target writes to. The input is a little program:
//
//   byte 0     the stream's read_ahead_limit: 0 the default, else 1..64
//              (so reading pauses and resumes all the time)
//   then ops   op % 9:  0,1  write 1..48 bytes (taken from the input)
//                       2    read_some
//                       3    read_exactly(0..63)
//                       4    read_until(1..3 delimiter bytes from the input,
//                                       max_bytes delimiter..+63)
//                       5    the next read gets a zero timeout
//                       6    cancel the pending read (its stop_token)
//                       7    end of stream (the writer shuts down)
//                       8    read_line(max 0..63)
//
// A read is started only when none is pending (one read at a time), and
// the loop is turned after every op, so writes land before, during and
// after reads in every order. A model of the bytes written and not yet read
// predicts each read; checked:
//   - the bytes read, in order, are exactly the bytes written: a value is a
//     prefix of the unread bytes (read_some: a non-empty one), of the length
//     asked for (read_exactly), ending at the first delimiter within
//     max_bytes (read_until), or read_line's line: the unread bytes before
//     the first '\n' without one '\r' before it, at most max of them, or at
//     the end of stream the unread rest (without a final '\r'), and
//     std::nullopt when nothing is unread;
//   - limit_error only when max_bytes are unread and hold no delimiter, or
//     read_line's line is longer than max; the model then drops that line
//     through its '\n', also from bytes written later, and every later read
//     must agree (the stream drops it too);
//   - after limit_error, timeout or cancellation nothing is lost: the next
//     reads see the same bytes;
//   - incomplete_read only after end of stream, with partial() holding
//     every unread byte;
//   - a read the model can decide is settled once the loop has turned
//     (no stalls), and after the end of stream the stream drains to "".
//
// Run: scripts/fuzz (see docs/fuzzing.md).
#include "fuzz_support.hpp"

#include <vow/error.hpp>
#include <vow/net/error.hpp>
#include <vow/net/tcp.hpp>
#include <vow/promise/run_until_complete.hpp>
#include <vow/reactor/reactor.hpp>

#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

namespace {

using vow::net::tcp_stream;

// The input, read a byte at a time; 0 once it is used up.
struct program {
    const std::uint8_t* p;
    std::size_t n;
    std::size_t at = 0;
    bool done() const noexcept { return at >= n; }
    std::uint8_t next() noexcept { return at < n ? p[at++] : 0; }
    std::string bytes(std::size_t k) {
        k = std::min(k, n - std::min(n, at));
        std::string s(reinterpret_cast<const char*>(p + at), k);
        at += k;
        return s;
    }
};

enum class kind { some, exactly, until, line };

std::string show(std::string_view s) { return vow::fuzz::show(s, 200); }

struct pending_read {
    kind k = kind::some;
    std::size_t n = 0;          // exactly: count; until: max_bytes; line: max
    std::string delim;
    bool timed = false;
    bool cancelled = false;
    std::stop_source stop;
    vow::future<std::string> f;                      // some, exactly, until
    vow::future<std::optional<std::string>> line;    // line
    bool available() const { return k == kind::line ? line.available() : f.available(); }
};

// What read_line must do with the unread bytes `unread`.
struct line_verdict {
    enum { undecided, line, end, too_long } what = undecided;
    std::string value;       // line: the line
    std::size_t taken = 0;   // line: bytes it consumes
};

line_verdict expect_line(std::string_view unread, std::size_t max, bool eof) {
    line_verdict v;
    const std::size_t window = std::min(unread.size(), max + 2);
    const std::size_t pos = unread.substr(0, window).find('\n');
    if (pos != std::string_view::npos) {
        const std::size_t len = pos > 0 && unread[pos - 1] == '\r' ? pos - 1 : pos;
        if (len > max) {
            v.what = line_verdict::too_long;
        } else {
            v.what = line_verdict::line;
            v.value = std::string(unread.substr(0, len));
            v.taken = pos + 1;
        }
    } else if (unread.size() > max && !(unread.size() == max + 1 && unread[max] == '\r')) {
        v.what = line_verdict::too_long;
    } else if (eof) {
        if (unread.empty()) {
            v.what = line_verdict::end;
        } else {
            v.what = line_verdict::line;
            v.value = std::string(unread);
            if (v.value.back() == '\r')
                v.value.pop_back();
            v.taken = unread.size();
        }
    }
    return v;
}

class session {
public:
    session(vow::reactor& r, const std::uint8_t* data, std::size_t size) : r_(r), prog_{data, size} {}

    void run() {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
            die("socketpair failed");
        writer_ = fds[1];
        vow::net::stream_options o;
        if (std::uint8_t b = prog_.next(); b != 0)
            o.read_ahead_limit = b % 64 + 1;
        stream_ = tcp_stream::adopt(r_, fds[0], o);

        bool zero_timeout = false;
        while (!prog_.done()) {
            switch (prog_.next() % 9) {
            case 0:
            case 1:
                write(prog_.bytes(prog_.next() % 48 + 1));
                break;
            case 2:
                start(kind::some, 0, {}, zero_timeout);
                zero_timeout = false;
                break;
            case 3:
                start(kind::exactly, prog_.next() % 64, {}, zero_timeout);
                zero_timeout = false;
                break;
            case 4: {
                std::string d = prog_.bytes(prog_.next() % 3 + 1);
                if (d.empty())
                    d = "\n";
                start(kind::until, d.size() + prog_.next() % 64, d, zero_timeout);
                zero_timeout = false;
                break;
            }
            case 5:
                zero_timeout = true;
                break;
            case 6:
                if (read_) {
                    read_->cancelled = true;
                    read_->stop.request_stop();
                }
                break;
            case 7:
                end_of_stream();
                break;
            case 8:
                start(kind::line, prog_.next() % 64, {}, zero_timeout);
                zero_timeout = false;
                break;
            }
            turn();
        }

        // The end: whatever is pending settles at the end of stream, then
        // the stream drains to "" with nothing lost.
        end_of_stream();
        turn();
        if (read_)
            die("a read is still pending after the end of stream");
        for (int i = 0; i < 10000; ++i) {
            start(kind::some, 0, {}, false);
            turn();
            if (read_)
                die("read_some is still pending after the end of stream");
            if (last_was_eof_)
                break;
        }
        if (!avail_.empty())
            die("bytes written were never read");
        if (!stream_.at_eof() || stream_.buffered_input() != 0)
            die("the stream does not report the end of stream after draining");
        stream_.close();
        ::close(writer_);
    }

private:
    [[noreturn]] void die(const char* what, const std::string& detail = {}) {
        std::fprintf(stderr, "fuzz_stream_framing: %s\n  unread bytes (model): '%s'\n  %s\n", what,
                     show(avail_).c_str(), detail.c_str());
        std::abort();
    }

    void write(const std::string& bytes) {
        if (eof_sent_ || bytes.empty())
            return;
        std::string_view rest = bytes;
        while (!rest.empty()) {
            ssize_t k = ::send(writer_, rest.data(), rest.size(), MSG_NOSIGNAL);
            if (k < 0) {
                if (errno == EINTR)
                    continue;
                die("send to the socketpair failed");   // a few KiB always fit
            }
            rest.remove_prefix(static_cast<std::size_t>(k));
        }
        std::string_view kept = bytes;
        if (dropping_) {   // the rest of a too-long line: the stream drops it through its '\n'
            auto nl = kept.find('\n');
            if (nl == std::string_view::npos)
                return;
            dropping_ = false;
            kept.remove_prefix(nl + 1);
        }
        avail_ += kept;
    }

    void end_of_stream() {
        if (!eof_sent_) {
            eof_sent_ = true;
            dropping_ = false;
            ::shutdown(writer_, SHUT_WR);
        }
    }

    // read_line rejected a too-long line: drop it through its '\n'.
    void drop_line() {
        auto nl = avail_.find('\n');
        if (nl != std::string::npos) {
            consume(nl + 1);
        } else {
            avail_.clear();
            dropping_ = !eof_sent_;
        }
    }

    void start(kind k, std::size_t n, std::string d, bool timed) {
        if (read_)
            return;   // one read at a time
        read_.emplace();
        read_->k = k;
        read_->n = n;
        read_->delim = std::move(d);
        read_->timed = timed;
        vow::net::io_options o;
        o.stop = read_->stop.get_token();
        if (timed)
            o.timeout = std::chrono::milliseconds(0);
        switch (k) {
        case kind::some:
            read_->f = stream_.read_some(o);
            break;
        case kind::exactly:
            read_->f = stream_.read_exactly(n, o);
            break;
        case kind::until:
            read_->f = stream_.read_until(read_->delim, n, o);
            break;
        case kind::line:
            read_->line = stream_.read_line(n, o);
            break;
        }
    }

    // Whether the bytes written so far (and the end of stream, if sent)
    // decide the pending read.
    bool decidable() const {
        const auto& rd = *read_;
        if (eof_sent_)
            return true;
        switch (rd.k) {
        case kind::some:
            return !avail_.empty();
        case kind::exactly:
            return avail_.size() >= rd.n;
        case kind::until:
            return avail_.size() >= rd.n ||
                   std::string_view(avail_).substr(0, rd.n).find(rd.delim) != std::string_view::npos;
        case kind::line:
            return expect_line(avail_, rd.n, false).what != line_verdict::undecided;
        }
        return false;
    }

    // Turns the loop until the pending read settles (or, if the model says
    // it cannot settle yet, a few times so that bytes flow).
    void turn() {
        const int budget = read_ && decidable() ? 1000 : 3;
        for (int i = 0; i < budget; ++i) {
            if (read_ && read_->available())
                break;
            r_.run_once(false);
        }
        if (!read_)
            return;
        if (!read_->available()) {
            if (decidable() && !read_->timed && !read_->cancelled)
                die("the read stalled although the bytes written decide it", describe());
            return;
        }
        check(std::move(*read_));
        read_.reset();
    }

    std::string describe() const {
        const auto& rd = *read_;
        const char* names[] = {"read_some", "read_exactly", "read_until", "read_line"};
        return std::string(names[static_cast<int>(rd.k)]) + " n=" + std::to_string(rd.n) + " delim='" +
               show(rd.delim) + "'" + (rd.timed ? " timed" : "") + (rd.cancelled ? " cancelled" : "") +
               (eof_sent_ ? " eof-sent" : "");
    }

    void consume(std::size_t k) { avail_.erase(0, k); }

    void check(pending_read rd) {
        std::string value;
        read_.emplace();   // for describe() on failure; reset by turn()
        read_->k = rd.k;
        read_->n = rd.n;
        read_->delim = rd.delim;
        read_->timed = rd.timed;
        read_->cancelled = rd.cancelled;
        const std::string_view unread = avail_;
        last_was_eof_ = false;
        if (rd.k == kind::line) {
            check_line(std::move(rd));
            return;
        }
        try {
            value = vow::run_until_complete(r_, std::move(rd.f));
        } catch (const vow::net::limit_error&) {
            if (rd.k != kind::until)
                die("limit_error from a read without a limit", describe());
            if (unread.size() < rd.n)
                die("limit_error before max_bytes arrived", describe());
            if (unread.substr(0, rd.n).find(rd.delim) != std::string_view::npos)
                die("limit_error although the delimiter is within max_bytes", describe());
            return;   // the bytes stay buffered
        } catch (const vow::net::incomplete_read& e) {
            if (!eof_sent_)
                die("incomplete_read before the end of stream", describe());
            if (rd.k == kind::some)
                die("incomplete_read from read_some", describe());
            if (e.partial() != unread)
                die("incomplete_read's partial() is not every unread byte", describe() + " partial='" +
                                                                                 show(e.partial()) + "'");
            if (rd.k == kind::exactly && unread.size() >= rd.n)
                die("incomplete_read although enough bytes arrived", describe());
            if (rd.k == kind::until && (unread.size() >= rd.n || unread.find(rd.delim) != std::string_view::npos))
                die("incomplete_read although the read was decided before the end", describe());
            consume(unread.size());
            return;
        } catch (const vow::timeout_error&) {
            if (!rd.timed)
                die("timeout_error from a read without a timeout", describe());
            return;   // nothing consumed
        } catch (const vow::cancelled_error&) {
            if (!rd.cancelled)
                die("cancelled_error from a read nobody cancelled", describe());
            return;
        } catch (const std::exception& e) {
            die("unexpected error", describe() + ": " + e.what());
        }
        switch (rd.k) {
        case kind::some:
            if (value.empty()) {
                if (!eof_sent_ || !unread.empty())
                    die("read_some gave \"\" before the end of stream or with bytes unread", describe());
                last_was_eof_ = true;
                return;
            }
            break;
        case kind::exactly:
            if (value.size() != rd.n)
                die("read_exactly gave another length", describe() + " got '" + show(value) + "'");
            break;
        case kind::until: {
            auto pos = unread.substr(0, rd.n).find(rd.delim);
            if (pos == std::string_view::npos || value.size() != pos + rd.delim.size())
                die("read_until did not stop at the first delimiter within max_bytes",
                    describe() + " got '" + show(value) + "'");
            break;
        }
        case kind::line:
            break;   // check_line
        }
        if (unread.substr(0, value.size()) != value)
            die("the bytes read are not the bytes written", describe() + " got '" + show(value) + "'");
        consume(value.size());
    }

    void check_line(pending_read rd) {
        const std::string_view unread = avail_;
        const line_verdict expected = expect_line(unread, rd.n, eof_sent_);
        std::optional<std::string> line;
        try {
            line = vow::run_until_complete(r_, std::move(rd.line));
        } catch (const vow::net::limit_error&) {
            if (expected.what != line_verdict::too_long)
                die("read_line gave limit_error for a line within max", describe());
            drop_line();
            return;
        } catch (const vow::timeout_error&) {
            if (!rd.timed)
                die("timeout_error from a read without a timeout", describe());
            return;   // nothing consumed
        } catch (const vow::cancelled_error&) {
            if (!rd.cancelled)
                die("cancelled_error from a read nobody cancelled", describe());
            return;
        } catch (const std::exception& e) {
            die("unexpected error", describe() + ": " + e.what());
        }
        if (!line) {
            if (expected.what != line_verdict::end)
                die("read_line gave std::nullopt before the end of stream or with bytes unread", describe());
            return;
        }
        if (expected.what != line_verdict::line || *line != expected.value)
            die("read_line gave another line", describe() + " got '" + show(*line) + "' expected '" +
                                                    show(expected.value) + "'");
        consume(expected.taken);
    }

    vow::reactor& r_;
    program prog_;
    int writer_ = -1;
    tcp_stream stream_;
    std::string avail_;   // written and not yet read, in order
    bool eof_sent_ = false;
    bool dropping_ = false;   // dropping the rest of a too-long line
    bool last_was_eof_ = false;
    std::optional<pending_read> read_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static vow::reactor r;
    session(r, data, size).run();
    return 0;
}
