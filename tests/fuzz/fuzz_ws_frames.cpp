// fuzz_ws_frames - libFuzzer target for WebSocket's frame reader
// (net/ws/protocol.hpp: frame_reader, the UTF-8 validator, the inflater).
//
// The first input byte chooses the side (client or server frames), whether
// permessage-deflate is on, the message limit and how the rest is cut into
// pieces; the rest is the byte stream, fed as a connection feeds it
// (unconsumed bytes kept, more appended). Checked for every input:
//   - the reader consumes only what it was given and never goes backwards;
//   - a text message is valid UTF-8, no message is over the limit, a
//     ping/pong payload is at most 125 bytes, a close code is one that may
//     be received (or 1005 for none) and its reason is valid UTF-8;
//   - an error carries 1002, 1007 or 1009 and ends the stream of events;
//   - feeding the same bytes all at once gives the same events as in pieces.
// A crash, a sanitizer report or an exception is a finding.
//
// Run: scripts/fuzz (see docs/fuzzing.md).
#include <net/ws/protocol.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace vow::net;
using namespace vow::net::detail::ws;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_ws_frames: %s\n", what);
    std::abort();
}

struct outcome {
    std::vector<reader_event> events;
    bool operator==(const outcome& o) const {
        if (events.size() != o.events.size())
            return false;
        for (std::size_t i = 0; i < events.size(); ++i)
            if (events[i].kind != o.events[i].kind || events[i].data != o.events[i].data ||
                events[i].code != o.events[i].code || events[i].type != o.events[i].type)
                return false;
        return true;
    }
};

outcome run(const std::string& bytes, bool from_client, bool deflate, std::size_t limit, std::size_t piece) {
    std::unique_ptr<inflater> inf;
    if (deflate)
        inf = std::make_unique<inflater>(15, false);
    frame_reader rd(from_client, limit, inf.get());
    outcome out;
    std::string buf;
    std::size_t at = 0;
    for (;;) {
        std::size_t n = piece ? std::min(piece, bytes.size() - at) : bytes.size() - at;
        buf.append(bytes, at, n);
        at += n;
        for (;;) {
            reader_event ev;
            std::size_t used = rd.next(buf.data(), buf.size(), ev);
            if (used > buf.size())
                fail("consumed more than it was given");
            buf.erase(0, used);
            if (ev.kind == reader_event::none)
                break;
            switch (ev.kind) {
            case reader_event::message:
                if (ev.data.size() > limit)
                    fail("a message over the limit");
                if (ev.type == ws_message_type::text && !valid_utf8(ev.data))
                    fail("a text message that is not UTF-8");
                break;
            case reader_event::ping:
            case reader_event::pong:
                if (ev.data.size() > 125)
                    fail("a control payload over 125 bytes");
                break;
            case reader_event::close:
                if (ev.code != ws_close::no_status && !close_code_receivable(ev.code))
                    fail("a close code that may not be received");
                if (!valid_utf8(ev.data))
                    fail("a close reason that is not UTF-8");
                break;
            case reader_event::error:
                if (ev.code != ws_close::protocol_error && ev.code != ws_close::invalid_data &&
                    ev.code != ws_close::message_too_big)
                    fail("an error with an unexpected close code");
                break;
            default:
                break;
            }
            bool last = ev.kind == reader_event::error || ev.kind == reader_event::close;
            out.events.push_back(std::move(ev));
            if (last) {
                reader_event more;
                if (rd.next(buf.data(), buf.size(), more) != 0 || more.kind != reader_event::none)
                    fail("events after an error or a close");
                return out;
            }
        }
        if (at == bytes.size())
            return out;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    bool from_client = mode & 1;
    bool deflate = mode & 2;
    std::size_t limit = (mode & 4) ? 64 : 1 << 20;
    std::size_t piece = (mode >> 3) + 1;   // 1..32
    auto whole = run(bytes, from_client, deflate, limit, 0);
    auto cut = run(bytes, from_client, deflate, limit, piece);
    if (!(whole == cut))
        fail("pieces and the whole give different events");
    return 0;
}
