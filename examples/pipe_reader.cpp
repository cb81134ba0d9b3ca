// examples/pipe_reader.cpp - non-blocking I/O: a readiness callback, and a
// loop of futures on top of it.
//
// The loop watches a file descriptor and calls back when it is readable;
// readable() turns that callback into a future, as asyncio's sock_recv does
// (add_reader, a future, remove_reader). The read loop waits for it, reads
// what is there without ever blocking, and waits again; the loop stays free
// for other work (here, a timer) in between. The network layer does the
// same for every socket, with a watcher that stays armed between reads.
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <stop_token>
#include <string>
#include <system_error>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;

// Resolves once `fd` is readable: a readiness callback that cancels itself
// the first time it runs.
vow::future<void> readable(vow::reactor& r, int fd) {
    auto ready = std::make_shared<vow::promise<void>>(r);
    auto watch = std::make_shared<vow::handle>();
    *watch = r.add_reader(fd, [ready, watch] {
        watch->cancel();  // safe inside the callback: it is destroyed after it returns
        ready->resolve();
    });
    return ready->get_future();
}

int main() {
    int fds[2];
    if (pipe(fds) != 0) {
        fmt::print(stderr, "pipe: {}\n", std::strerror(errno));
        return 1;
    }
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);

    // A slow producer on another thread: three lines, 100 ms apart.
    std::thread producer([w = fds[1]] {
        for (const char* line : {"first line\n", "second line\n", "third line\n"}) {
            std::this_thread::sleep_for(100ms);
            if (write(w, line, std::strlen(line)) < 0)
                break;
        }
        close(w);  // end of stream
    });

    vow::reactor r;
    // ANCHOR: ticker
    int ticks = 0;
    std::stop_source done;  // requested at the end of the stream: the ticker stops
    auto tick = [&] { ++ticks; };
    (void)r.call_every(30ms, tick, done.get_token());
    // ANCHOR_END: ticker

    std::string pending;
    auto reading = vow::repeat(r, [&] {
        return readable(r, fds[0]).then([&] {
            char buf[256];
            ssize_t n;
            while ((n = read(fds[0], buf, sizeof buf)) > 0) {  // drain what is there, never block
                pending.append(buf, static_cast<std::size_t>(n));
                for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;
                     pending.erase(0, nl + 1))
                    fmt::print("read: {}\n", pending.substr(0, nl));
            }
            if (n < 0 && errno != EAGAIN)
                throw std::system_error(errno, std::generic_category(), "read");
            // n == 0: the writer closed its end; EAGAIN: nothing more for now.
            return n == 0 ? vow::stop_iteration::yes : vow::stop_iteration::no;
        });
    });
    vow::run_until_complete(r, std::move(reading).finally([&] { done.request_stop(); }));
    fmt::print("end of stream; the timer ticked meanwhile: {}\n", ticks > 3 ? "yes" : "no");
    producer.join();
    close(fds[0]);
}
