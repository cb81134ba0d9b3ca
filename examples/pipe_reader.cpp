// examples/pipe_reader.cpp - non-blocking I/O with a readiness callback.
//
// The loop watches a file descriptor and calls back when it is readable; the
// callback reads what is there without ever blocking, and the loop stays free
// for other work (here, a timer) in between. This is what the network layer
// does for every socket.
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;

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
    int ticks = 0;
    vow::handle ticker = r.call_every(30ms, [&] { ++ticks; });

    std::string pending;
    vow::handle reader;
    reader = r.add_reader(fds[0], [&] {
        char buf[256];
        ssize_t n;
        while ((n = read(fds[0], buf, sizeof buf)) > 0) {  // drain what is there, never block
            pending.append(buf, static_cast<std::size_t>(n));
            for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1))
                fmt::print("read: {}\n", pending.substr(0, nl));
        }
        if (n == 0) {  // the writer closed its end
            fmt::print("end of stream; the timer ticked meanwhile: {}\n", ticks > 3 ? "yes" : "no");
            reader.cancel();
            ticker.cancel();
        }
        // n < 0 with EAGAIN: nothing more for now; the loop calls us again.
    });

    r.run();
    producer.join();
    close(fds[0]);
}
