// tests/ws/protocol_test.cpp - WebSocket's wire format without I/O
// (net/ws/protocol.hpp): UTF-8 validation, masking, frame headers, every
// RFC 6455 rule of the frame reader (Autobahn's sections 1-7 and 9 as the
// reference), the handshake's values, permessage-deflate's negotiation and
// its decompression-bomb limit.
#include <net/ws/protocol.hpp>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace vow::net;
using namespace vow::net::detail::ws;

namespace {

// A frame as a client (masked) or a server (unmasked) sends it; any header
// bits may be forced for the bad cases.
std::string frame(opcode op, std::string_view payload, bool fin = true, bool masked = true, unsigned extra_bits = 0) {
    std::string out;
    append_frame(out, op, fin, false, payload, masked);
    out[0] = static_cast<char>(static_cast<unsigned char>(out[0]) | extra_bits);
    return out;
}

// A raw opcode (reserved ones included).
std::string raw_frame(unsigned first_byte, std::string_view payload, bool masked = true) {
    std::string out = frame(opcode::binary, payload, true, masked);
    out[0] = static_cast<char>(first_byte);
    return out;
}

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
    std::string p;
    p.push_back(static_cast<char>(code >> 8));
    p.push_back(static_cast<char>(code & 0xFF));
    p.append(reason);
    return p;
}

struct fed {
    std::vector<reader_event> events;
    std::size_t left = 0;   // bytes not consumed at the end
};

// Feeds `bytes` to a server-side reader in pieces of `piece` bytes (0: all
// at once), as a connection does: unconsumed bytes stay and more are
// appended. Stops at an error or close.
fed feed(std::string bytes, std::size_t piece = 0, std::size_t max = 1 << 20, bool from_client = true,
         inflater* inf = nullptr) {
    frame_reader rd(from_client, max, inf);
    fed out;
    std::string buf;
    std::size_t at = 0;
    while (at < bytes.size() || !buf.empty()) {
        std::size_t n = piece ? std::min(piece, bytes.size() - at) : bytes.size() - at;
        buf.append(bytes, at, n);
        at += n;
        for (;;) {
            reader_event ev;
            std::size_t used = rd.next(buf.data(), buf.size(), ev);
            buf.erase(0, used);
            if (ev.kind == reader_event::none)
                break;
            out.events.push_back(std::move(ev));
            if (out.events.back().kind == reader_event::error || out.events.back().kind == reader_event::close) {
                out.left = buf.size() + (bytes.size() - at);
                return out;
            }
        }
        if (n == 0)
            break;
    }
    out.left = buf.size();
    return out;
}

std::uint16_t error_code(const fed& f) {
    BOOST_REQUIRE(!f.events.empty());
    BOOST_REQUIRE_EQUAL(int(f.events.back().kind), int(reader_event::error));
    return f.events.back().code;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(protocol_test)

BOOST_AUTO_TEST_CASE(utf8_accepts_every_valid_form_and_rejects_the_rest) {
    BOOST_TEST(valid_utf8(""));
    BOOST_TEST(valid_utf8("hello, world: plain ASCII longer than a word"));
    BOOST_TEST(valid_utf8("\xC2\x80 \xDF\xBF \xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF"));
    BOOST_TEST(valid_utf8("\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF κόσμε ✓"));
    const char* bad[] = {
        "\x80",                 // a lone continuation byte
        "\xC0\x80",             // overlong NUL
        "\xC1\xBF",             // overlong
        "\xE0\x80\x80",         // overlong 3-byte
        "\xED\xA0\x80",         // a surrogate (U+D800)
        "\xF0\x80\x80\x80",     // overlong 4-byte
        "\xF4\x90\x80\x80",     // above U+10FFFF
        "\xF5\x80\x80\x80",     // no such lead byte
        "\xFF",
        "\xE2\x82",             // truncated
        "abc\xCE",              // ends inside a character
        "\xCE\xBA\xE1\xBD",     // Autobahn 6.3.1's kind: valid then truncated
    };
    for (const char* s : bad)
        BOOST_TEST(!valid_utf8(s), "accepted " << s);
}

BOOST_AUTO_TEST_CASE(utf8_is_validated_across_any_split) {
    std::string s = "κόσμε ✓ \xF0\x9F\x98\x80 and ASCII after it to cross a word boundary";
    for (std::size_t cut = 0; cut <= s.size(); ++cut) {
        utf8_validator v;
        BOOST_TEST(v.feed(std::string_view(s).substr(0, cut)));
        BOOST_TEST(v.feed(std::string_view(s).substr(cut)));
        BOOST_TEST(v.complete());
    }
    // An invalid byte is found in whichever piece it is.
    std::string bad = "valid text \xCE\xBA then \xED\xA0\x80 a surrogate";
    for (std::size_t cut = 0; cut <= bad.size(); ++cut) {
        utf8_validator v;
        bool ok = v.feed(std::string_view(bad).substr(0, cut)) && v.feed(std::string_view(bad).substr(cut));
        BOOST_TEST(!ok);
    }
}

BOOST_AUTO_TEST_CASE(masking_is_its_own_inverse_at_any_offset) {
    std::string data;
    for (int i = 0; i < 100; ++i)
        data.push_back(static_cast<char>(i * 7));
    std::array<unsigned char, 4> mask{0x12, 0x34, 0x56, 0x78};
    std::string a = data;
    apply_mask(a.data(), a.size(), mask, 0);
    for (std::size_t i = 0; i < data.size(); ++i)
        BOOST_TEST((static_cast<unsigned char>(a[i]) ^ mask[i % 4]) == static_cast<unsigned char>(data[i]));
    // Unmasking in two pieces, the second at its offset, gives the data back.
    for (std::size_t cut : {1, 3, 8, 13, 64}) {
        std::string b = a;
        apply_mask(b.data(), cut, mask, 0);
        apply_mask(b.data() + cut, b.size() - cut, mask, cut);
        BOOST_TEST(b == data);
    }
}

BOOST_AUTO_TEST_CASE(headers_use_the_three_length_forms) {
    char h[max_header_size];
    BOOST_TEST(write_header(h, opcode::text, true, false, 125, nullptr) == 2u);
    BOOST_TEST(static_cast<unsigned char>(h[0]) == 0x81);
    BOOST_TEST(static_cast<unsigned char>(h[1]) == 125);
    BOOST_TEST(write_header(h, opcode::binary, true, false, 126, nullptr) == 4u);
    BOOST_TEST(static_cast<unsigned char>(h[1]) == 126);
    BOOST_TEST(write_header(h, opcode::binary, false, true, 65536, nullptr) == 10u);
    BOOST_TEST(static_cast<unsigned char>(h[0]) == 0x42);   // !fin, rsv1, binary
    BOOST_TEST(static_cast<unsigned char>(h[1]) == 127);
    unsigned char m[4] = {1, 2, 3, 4};
    BOOST_TEST(write_header(h, opcode::ping, true, false, 0, m) == 6u);
    BOOST_TEST(static_cast<unsigned char>(h[1]) == 0x80);
}

BOOST_AUTO_TEST_CASE(masks_are_fresh) {
    auto a = random_mask(), b = random_mask(), c = random_mask();
    BOOST_TEST(!(a == b && b == c));
    BOOST_TEST(new_key() != new_key());
    BOOST_TEST(valid_key(new_key()));
}

BOOST_AUTO_TEST_CASE(messages_come_out_whole_in_any_pieces) {
    std::string big(70000, 'x');
    std::string bytes = frame(opcode::text, "hello") + frame(opcode::binary, std::string("\0\1\2", 3)) +
                        frame(opcode::text, "") + frame(opcode::binary, big) +
                        frame(opcode::text, "frag", false) + frame(opcode::ping, "p") +
                        frame(opcode::continuation, "men", false) + frame(opcode::continuation, "ted κ", true);
    for (std::size_t piece : {0, 1, 2, 3, 7, 100, 4096}) {
        auto f = feed(bytes, piece);
        BOOST_TEST_REQUIRE(f.events.size() == 6u, "piece " << piece);
        BOOST_TEST(f.events[0].data == "hello");
        BOOST_TEST((f.events[0].type == ws_message_type::text));
        BOOST_TEST(f.events[1].data == std::string("\0\1\2", 3));
        BOOST_TEST((f.events[1].type == ws_message_type::binary));
        BOOST_TEST(f.events[2].data == "");
        BOOST_TEST(f.events[3].data == big);
        BOOST_TEST(int(f.events[4].kind) == int(reader_event::ping));   // between fragments: allowed
        BOOST_TEST(f.events[4].data == "p");
        BOOST_TEST(f.events[5].data == "fragmented κ");
        BOOST_TEST(f.left == 0u);
    }
}

BOOST_AUTO_TEST_CASE(masking_must_match_the_side) {
    BOOST_TEST(error_code(feed(frame(opcode::text, "x", true, false))) == ws_close::protocol_error);
    BOOST_TEST(error_code(feed(frame(opcode::text, "x", true, true), 0, 1 << 20, false)) == ws_close::protocol_error);
    auto f = feed(frame(opcode::text, "from the server", true, false), 0, 1 << 20, false);
    BOOST_TEST(f.events.at(0).data == "from the server");
}

BOOST_AUTO_TEST_CASE(reserved_bits_and_opcodes_are_protocol_errors) {
    BOOST_TEST(error_code(feed(frame(opcode::text, "x", true, true, 0x20))) == ws_close::protocol_error);
    BOOST_TEST(error_code(feed(frame(opcode::text, "x", true, true, 0x10))) == ws_close::protocol_error);
    BOOST_TEST(error_code(feed(frame(opcode::text, "x", true, true, 0x40))) == ws_close::protocol_error);   // no deflate
    for (unsigned op : {3u, 4u, 5u, 6u, 7u, 11u, 12u, 13u, 14u, 15u}) {
        auto f = feed(raw_frame(0x80 | op, "x"));
        BOOST_TEST(error_code(f) == ws_close::protocol_error, "opcode " << op);
        BOOST_TEST(f.events.back().data.find("reserved opcode") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(control_frame_rules) {
    BOOST_TEST(error_code(feed(frame(opcode::ping, std::string(126, 'p')))) == ws_close::protocol_error);
    BOOST_TEST(int(feed(frame(opcode::ping, std::string(125, 'p'))).events.at(0).kind) == int(reader_event::ping));
    BOOST_TEST(error_code(feed(frame(opcode::ping, "p", false))) == ws_close::protocol_error);
    BOOST_TEST(error_code(feed(frame(opcode::pong, "p", false))) == ws_close::protocol_error);
    BOOST_TEST(error_code(feed(frame(opcode::close, "", false))) == ws_close::protocol_error);
}

BOOST_AUTO_TEST_CASE(fragmentation_rules) {
    // A continuation with nothing to continue.
    BOOST_TEST(error_code(feed(frame(opcode::continuation, "x"))) == ws_close::protocol_error);
    // A new data frame inside a fragmented message.
    BOOST_TEST(error_code(feed(frame(opcode::text, "a", false) + frame(opcode::text, "b"))) ==
               ws_close::protocol_error);
    BOOST_TEST(error_code(feed(frame(opcode::binary, "a", false) + frame(opcode::binary, "b", false))) ==
               ws_close::protocol_error);
    // A message may be fragmented into empty frames.
    auto f = feed(frame(opcode::text, "", false) + frame(opcode::continuation, "", false) +
                  frame(opcode::continuation, ""));
    BOOST_TEST(f.events.at(0).data == "");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_1007_as_soon_as_it_arrives) {
    BOOST_TEST(error_code(feed(frame(opcode::text, "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80"))) ==
               ws_close::invalid_data);
    // In the first fragment, before the message ends: failed without the rest.
    auto f = feed(frame(opcode::text, "ok \xC0\xAF", false));
    BOOST_TEST(error_code(f) == ws_close::invalid_data);
    // A character split across fragments is fine; one left unfinished is not.
    BOOST_TEST(feed(frame(opcode::text, "\xCE", false) + frame(opcode::continuation, "\xBA")).events.at(0).data ==
               "\xCE\xBA");
    BOOST_TEST(error_code(feed(frame(opcode::text, "ab\xCE"))) == ws_close::invalid_data);
    // Binary messages are not checked.
    BOOST_TEST(feed(frame(opcode::binary, "\xC0\xAF")).events.at(0).data == "\xC0\xAF");
}

BOOST_AUTO_TEST_CASE(the_size_limit_is_1009_from_the_header_alone) {
    // A 10 MiB frame header, and only 10 bytes of its payload: the limit
    // (1 MiB) is enforced before anything is buffered.
    std::string f = frame(opcode::binary, std::string(10 << 20, 'z'));
    auto r = feed(f.substr(0, 14 + 10), 0, 1 << 20);
    BOOST_TEST(error_code(r) == ws_close::message_too_big);
    // Fragments that add up past the limit.
    auto r2 = feed(frame(opcode::binary, std::string(600, 'a'), false) + frame(opcode::continuation, std::string(600, 'b')),
                   0, 1000);
    BOOST_TEST(error_code(r2) == ws_close::message_too_big);
    // Exactly at the limit is fine.
    BOOST_TEST(feed(frame(opcode::binary, std::string(1000, 'a')), 0, 1000).events.at(0).data.size() == 1000u);
}

BOOST_AUTO_TEST_CASE(only_what_arrived_is_held) {
    frame_reader rd(true, 64 << 20, nullptr);
    std::string f = frame(opcode::binary, std::string(32 << 20, 'q'));
    std::string part = f.substr(0, 14 + 1000);
    reader_event ev;
    std::size_t used = rd.next(part.data(), part.size(), ev);
    BOOST_TEST(used == part.size());
    BOOST_TEST(int(ev.kind) == int(reader_event::none));
    BOOST_TEST(rd.assembled() == 1000u);
}

BOOST_AUTO_TEST_CASE(a_length_with_its_top_bit_set_is_refused) {
    std::string f = "\x82\xFF";
    f += std::string("\x80\x00\x00\x00\x00\x00\x00\x00", 8);
    f += "mask";
    BOOST_TEST(error_code(feed(f)) == ws_close::protocol_error);
}

BOOST_AUTO_TEST_CASE(close_frame_rules) {
    auto ok = feed(frame(opcode::close, close_payload(1000, "bye")));
    BOOST_TEST(int(ok.events.at(0).kind) == int(reader_event::close));
    BOOST_TEST(ok.events[0].code == 1000);
    BOOST_TEST(ok.events[0].data == "bye");
    auto empty = feed(frame(opcode::close, ""));
    BOOST_TEST(empty.events.at(0).code == ws_close::no_status);
    BOOST_TEST(error_code(feed(frame(opcode::close, "x"))) == ws_close::protocol_error);   // 1 byte
    for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
        BOOST_TEST(error_code(feed(frame(opcode::close, close_payload(code)))) == ws_close::protocol_error,
                   "code " << code);
    for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999})
        BOOST_TEST(feed(frame(opcode::close, close_payload(code))).events.at(0).code == code);
    BOOST_TEST(error_code(feed(frame(opcode::close, close_payload(1000, "\xFF")))) == ws_close::invalid_data);
    // Nothing after a close frame is read.
    auto after = feed(frame(opcode::close, close_payload(1000)) + frame(opcode::text, "late"));
    BOOST_TEST(after.events.size() == 1u);
    BOOST_TEST(after.left > 0u);
}

BOOST_AUTO_TEST_CASE(sha1_and_the_accept_value) {
    auto hex = [](std::array<unsigned char, 20> d) {
        std::string s;
        for (auto b : d)
            s += fmt::format("{:02x}", b);
        return s;
    };
    BOOST_TEST(hex(sha1("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
    BOOST_TEST(hex(sha1("")) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    BOOST_TEST(hex(sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
               "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    BOOST_TEST(hex(sha1(std::string(1000000, 'a'))) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    // RFC 6455 1.3's example.
    BOOST_TEST(accept_value("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    BOOST_TEST(valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
    BOOST_TEST(!valid_key("dGhlIHNhbXBsZSBub25jZQ="));
    BOOST_TEST(!valid_key("dGhlIHNhbXBsZSBub25jZR=="));   // 'R' carries bits past 16 bytes
    BOOST_TEST(!valid_key("dGhlIHNhbXBs ZSBub25jZQ=="));
    BOOST_TEST(!valid_key(""));
}

BOOST_AUTO_TEST_CASE(deflate_negotiation) {
    ws_deflate_options ours;
    deflate_params a;
    std::string resp;
    BOOST_TEST(negotiate_deflate("permessage-deflate; client_max_window_bits", ours, a, resp));
    BOOST_TEST(resp == "permessage-deflate");
    BOOST_TEST(negotiate_deflate("x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=10; "
                                 "client_no_context_takeover",
                                 ours, a, resp));
    BOOST_TEST(a.server_max_window_bits == 10);
    BOOST_TEST(a.client_no_context_takeover);
    BOOST_TEST(resp == "permessage-deflate; client_no_context_takeover; server_max_window_bits=10");
    // Malformed or unusable offers are passed over.
    BOOST_TEST(!negotiate_deflate("permessage-deflate; bogus", ours, a, resp));
    BOOST_TEST(!negotiate_deflate("permessage-deflate; server_max_window_bits=8", ours, a, resp));
    BOOST_TEST(!negotiate_deflate("permessage-deflate; server_max_window_bits", ours, a, resp));
    BOOST_TEST(!negotiate_deflate("permessage-deflate; client_no_context_takeover; client_no_context_takeover", ours,
                                  a, resp));
    BOOST_TEST(negotiate_deflate("permessage-deflate; server_max_window_bits=8, permessage-deflate", ours, a, resp));
    // The client's side.
    std::string why;
    BOOST_TEST(accept_deflate_response("permessage-deflate; server_no_context_takeover", ours, a, why));
    BOOST_TEST(a.server_no_context_takeover);
    BOOST_TEST(!accept_deflate_response("x-other", ours, a, why));
    BOOST_TEST(why.find("not offered") != std::string::npos);
    BOOST_TEST(!accept_deflate_response("permessage-deflate; client_max_window_bits=8", ours, a, why));
}

BOOST_AUTO_TEST_CASE(deflate_round_trip_and_bomb_limit) {
    deflater d(15, false, 6);
    inflater i(15, false);
    std::string why;
    for (std::string msg : {std::string("hello hello hello hello"), std::string(100000, 'a'), std::string()}) {
        std::string packed, out;
        d.deflate(msg, packed);
        BOOST_TEST((i.inflate(packed, out, 1 << 20, why) == inflater::result::ok));
        BOOST_TEST(out == msg);
    }
    // 64 MiB of zeros compress to about 64 KiB; inflating stops at the limit.
    std::string bomb, out;
    d.deflate(std::string(64 << 20, '\0'), bomb);
    BOOST_TEST(bomb.size() < 200000u);
    inflater fresh(15, false);
    BOOST_TEST((fresh.inflate(bomb, out, 1 << 20, why) == inflater::result::too_big));
    BOOST_TEST(out.empty());
    inflater other(15, false);
    BOOST_TEST((other.inflate("\xFF\xFF\xFF garbage", out, 1 << 20, why) == inflater::result::corrupt));
    BOOST_TEST(!why.empty());
}

BOOST_AUTO_TEST_CASE(compressed_messages_through_the_reader) {
    deflater d(15, false, 6);
    inflater inf(15, false);
    std::string packed;
    d.deflate("compressed text ✓", packed);
    std::string f;
    append_frame(f, opcode::text, true, true, packed, true);
    auto r = feed(f, 3, 1 << 20, true, &inf);
    BOOST_TEST(r.events.at(0).data == "compressed text ✓");
    // RSV1 on a continuation frame is a protocol error.
    inflater inf2(15, false);
    std::string g;
    append_frame(g, opcode::text, false, true, packed.substr(0, 2), true);
    append_frame(g, opcode::continuation, true, true, packed.substr(2), true);
    BOOST_TEST(error_code(feed(g, 0, 1 << 20, true, &inf2)) == ws_close::protocol_error);
    // A compressed bomb in a frame is 1009.
    inflater inf3(15, false);
    std::string bomb, h;
    d.deflate(std::string(8 << 20, 'z'), bomb);
    append_frame(h, opcode::binary, true, true, bomb, true);
    BOOST_TEST(error_code(feed(h, 0, 1 << 20, true, &inf3)) == ws_close::message_too_big);
}

BOOST_AUTO_TEST_SUITE_END()
