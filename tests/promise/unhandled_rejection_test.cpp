// Unhandled rejections: a rejected future dropped with no handler is
// reported once, through the hook, with the place where that future was
// created; a handled rejection never is.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>

#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/unhandled_rejection.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <source_location>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>

BOOST_AUTO_TEST_SUITE(unhandled_rejection_test)

using vow::test::tagged_error;

namespace {

// The name of this file as std::source_location spells it.
std::string this_file() { return std::source_location::current().file_name(); }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(unhandled_rejection, vow::test::promise_fixture)

// --- what is reported, and where ---

BOOST_AUTO_TEST_CASE(a_rejected_future_dropped_without_a_handler_is_reported_with_where_it_was_created) {
    auto error = std::make_exception_ptr(tagged_error(1));
    const std::uint_least32_t line = __LINE__; { auto f = vow::make_exception_future<int>(r, error); }
    run();
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);
    BOOST_TEST((unhandled[0].error == error));
    BOOST_TEST(unhandled[0].line == line);
    BOOST_TEST(unhandled[0].file == this_file());
    BOOST_TEST(unhandled[0].function.find("test_method") != std::string::npos);
    unhandled.clear();
}

BOOST_AUTO_TEST_CASE(a_rejected_promise_future_is_reported_with_where_the_promise_was_created) {
    auto error = std::make_exception_ptr(tagged_error(2));
    std::uint_least32_t line = 0;
    {
        line = __LINE__; vow::promise<int> p(r);
        auto f = p.get_future();
        p.reject(error);
        BOOST_TEST(unhandled.empty());  // the future is still held: someone may handle it yet
        f = vow::future<int>();
    }
    run();
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);  // once
    BOOST_TEST(unhandled[0].line == line);
    BOOST_TEST((unhandled[0].error == error));
    unhandled.clear();
}

BOOST_AUTO_TEST_CASE(an_error_dropped_at_the_end_of_a_chain_is_reported_once_where_the_last_then_was) {
    auto error = std::make_exception_ptr(tagged_error(3));
    int calls = 0;
    {
        auto f = vow::make_exception_future<int>(r, error)
                     .then([&](int n) { return ++calls, n; })
                     .then([&](int n) { return ++calls, std::to_string(n); });
        const std::uint_least32_t line = __LINE__; auto g = std::move(f).then([&](std::string s) { return ++calls, s.size(); });
        run();  // the error travels down the chain and stops at g
        BOOST_TEST(unhandled.empty());
        BOOST_TEST(g.failed());
        g = vow::future<std::size_t>();
        BOOST_TEST_REQUIRE(unhandled.size() == 1u);
        BOOST_TEST(unhandled[0].line == line);
        BOOST_TEST((unhandled[0].error == error));
    }
    run();
    BOOST_TEST(unhandled.size() == 1u);
    BOOST_TEST(calls == 0);
    unhandled.clear();
}

BOOST_AUTO_TEST_CASE(a_chain_dropped_before_the_error_arrives_reports_it_once_where_the_last_then_was) {
    vow::promise<int> p(r);
    std::uint_least32_t line = 0;
    {
        auto f = p.get_future().then([](int n) { return n; });
        line = __LINE__; (void)std::move(f).then([](int n) { return n + 1; });  // dropped at once
    }
    p.reject(tagged_error(4));
    run();
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);
    BOOST_TEST(unhandled[0].line == line);
    BOOST_TEST(unhandled[0].message == "tagged error 4");
    unhandled.clear();
}

BOOST_AUTO_TEST_CASE(a_throwing_handler_whose_future_is_dropped_is_reported_where_its_then_was) {
    std::uint_least32_t line = 0;
    line = __LINE__; (void)vow::make_ready_future(r, 1).then([](int) -> int { throw tagged_error(5); });
    run();
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);
    BOOST_TEST(unhandled[0].line == line);
    unhandled.clear();
}

BOOST_AUTO_TEST_CASE(a_broken_promise_whose_future_is_dropped_is_reported) {
    // Not make_unique: the promise records the location of the expression that
    // constructs it, which would be inside <memory>.
    const std::uint_least32_t line = __LINE__; std::unique_ptr<vow::promise<int>> p(new vow::promise<int>(r));
    auto f = p->get_future();
    p.reset();
    BOOST_TEST(unhandled.empty());
    f = vow::future<int>();
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);
    BOOST_TEST(unhandled[0].line == line);
    BOOST_TEST(unhandled[0].message.find("broken_promise") != std::string::npos);
    unhandled.clear();
}

BOOST_AUTO_TEST_CASE(a_promise_rejected_after_its_future_was_dropped_is_reported) {
    // As in JavaScript: the rejection has no handler, whoever dropped what.
    const std::uint_least32_t line = __LINE__; vow::promise<int> p(r);
    { auto f = p.get_future(); }
    p.reject(tagged_error(6));
    BOOST_TEST(unhandled.empty());  // the promise still holds the state
    { auto gone = std::move(p); }
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);
    BOOST_TEST(unhandled[0].line == line);
    unhandled.clear();
}

BOOST_AUTO_TEST_CASE(a_rejected_shared_future_without_handlers_is_reported_where_it_was_shared) {
    std::uint_least32_t line = 0;
    {
        auto f = vow::make_exception_future<int>(r, tagged_error(7));
        line = __LINE__; auto s = std::move(f).share();
        run();
    }
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);
    BOOST_TEST(unhandled[0].line == line);
    unhandled.clear();
}

// --- what is never reported ---

BOOST_AUTO_TEST_CASE(a_handled_rejection_is_never_reported) {
    auto error = std::make_exception_ptr(tagged_error(1));
    BOOST_TEST(wait(vow::make_exception_future<int>(r, error).catch_([](std::exception_ptr) { return 0; })) == 0);
    BOOST_TEST(wait(vow::make_exception_future<int>(r, error)
                        .then([](int n) { return n; })
                        .catch_([](const tagged_error& e) { return e.tag; })) == 1);
    BOOST_TEST((wait_error(vow::make_exception_future<int>(r, error).finally([] {})) == error));
    BOOST_TEST((wait_error(vow::make_exception_future<int>(r, error)) == error));  // run_until_complete rethrew it
    auto shared = vow::make_exception_future<int>(r, error).share();
    BOOST_TEST((wait_error(shared.then([](int n) { return n; })) == error));
    {
        // A handler chained on a pending future: the error arrives later.
        vow::promise<int> p(r);
        auto f = p.get_future().catch_([](std::exception_ptr) { return 2; });
        p.reject(error);
        BOOST_TEST(wait(std::move(f)) == 2);
    }
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_rejection_replaced_by_a_finally_handler_reports_only_the_new_error) {
    auto first = std::make_exception_ptr(tagged_error(1));
    auto second = std::make_exception_ptr(tagged_error(2));
    auto f = vow::make_exception_future<int>(r, first).finally([&] { std::rethrow_exception(second); });
    BOOST_TEST((wait_error(std::move(f)) == second));
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_promise_with_no_retrieved_future_is_not_reported) {
    {
        vow::promise<int> p(r);
        p.reject(tagged_error(1));
    }
    {
        vow::promise<int> p(r);  // destroyed unsettled: broken, but nobody could listen
    }
    {
        vow::promise<void> p(r);
        std::thread([p = std::move(p)]() mutable { p.reject(tagged_error(2)); }).join();
    }
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_fulfilled_future_dropped_unhandled_is_not_reported) {
    { auto f = vow::make_ready_future(r, 1); }
    { (void)vow::make_ready_future(r, 1).then([](int n) { return n; }); }
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_pending_future_dropped_is_not_reported) {
    vow::promise<int> p(r);
    { auto f = p.get_future().then([](int n) { return n; }); }
    p.resolve(1);
    run();
    BOOST_TEST(unhandled.empty());
}

// --- the hook itself ---

BOOST_AUTO_TEST_CASE(set_unhandled_rejection_handler_returns_the_previous_handler) {
    int mine = 0;
    auto previous = vow::set_unhandled_rejection_handler([&](std::exception_ptr, const std::source_location&) { ++mine; });
    BOOST_TEST(static_cast<bool>(previous));  // the fixture's
    { auto f = vow::make_exception_future<int>(r, tagged_error(0)); }
    auto back = vow::set_unhandled_rejection_handler(std::move(previous));
    BOOST_TEST(static_cast<bool>(back));
    BOOST_TEST(mine == 1);
    BOOST_TEST(unhandled.empty());
}

// Captures what is written to stderr (fd 2) between construction and take().
class stderr_capture {
public:
    stderr_capture() : file_(std::tmpfile()) {
        BOOST_TEST_REQUIRE(file_ != nullptr);
        std::fflush(stderr);
        saved_ = ::dup(2);
        BOOST_TEST_REQUIRE(saved_ >= 0);
        BOOST_TEST_REQUIRE(::dup2(::fileno(file_), 2) >= 0);
    }
    stderr_capture(const stderr_capture&) = delete;
    stderr_capture& operator=(const stderr_capture&) = delete;
    ~stderr_capture() {
        restore();
        std::fclose(file_);
    }
    std::string take() {
        restore();
        std::rewind(file_);
        std::string out;
        char buf[512];
        while (std::size_t n = std::fread(buf, 1, sizeof buf, file_))
            out.append(buf, n);
        return out;
    }

private:
    void restore() {
        if (saved_ >= 0) {
            std::fflush(stderr);
            ::dup2(saved_, 2);
            ::close(saved_);
            saved_ = -1;
        }
    }
    std::FILE* file_;
    int saved_ = -1;
};

BOOST_AUTO_TEST_CASE(the_default_handler_prints_one_line_to_stderr) {
    auto fixture_handler = vow::set_unhandled_rejection_handler({});  // empty: the default
    std::string out;
    std::uint_least32_t line = 0;
    {
        stderr_capture capture;
        line = __LINE__; { auto f = vow::make_exception_future<int>(r, std::runtime_error("printed error")); }
        out = capture.take();
    }
    vow::set_unhandled_rejection_handler(std::move(fixture_handler));
    BOOST_TEST_INFO("stderr: " << out);
    BOOST_TEST_REQUIRE(!out.empty());
    BOOST_TEST(out.back() == '\n');
    BOOST_TEST(out.find('\n') == out.size() - 1);  // exactly one line
    BOOST_TEST(out.starts_with("vow: unhandled rejection: printed error"));
    BOOST_TEST(out.find(this_file() + ":" + std::to_string(line)) != std::string::npos);
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_throwing_handler_falls_back_to_the_default_report) {
    auto fixture_handler = vow::set_unhandled_rejection_handler(
        [](std::exception_ptr, const std::source_location&) { throw std::runtime_error("hook failed"); });
    std::string out;
    {
        stderr_capture capture;
        { auto f = vow::make_exception_future<int>(r, std::runtime_error("still reported")); }
        out = capture.take();
    }
    vow::set_unhandled_rejection_handler(std::move(fixture_handler));
    BOOST_TEST_INFO("stderr: " << out);
    BOOST_TEST(out.find("vow: unhandled rejection: still reported") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // unhandled_rejection_test
