// vow/promise/detail/gather.hpp - the machinery shared by all, all_settled,
// any and race: one node that is the continuation of many input futures.
//
// The node holds one small `slot` per input (in one vector, allocated once
// per call): slot i is the continuation attached to input i, and it tells the
// node "input i settled". Each input owns its slot, and each slot holds one
// reference to the node, so the node lives until every input has fired or
// been dropped, and late inputs are taken (and their errors silenced) after
// the node has already settled.
#pragma once

#include <vow/error.hpp>
#include <vow/promise/detail/node.hpp>
#include <vow/promise/detail/state.hpp>
#include <vow/promise/future.hpp>

#include <cstddef>
#include <cstdint>
#include <source_location>
#include <utility>
#include <vector>

namespace vow::detail {

// The bad calls a combinator rejects with vow::invalid_argument before
// consuming any input (promise.cpp words each).
enum class combinator_misuse : std::uint8_t {
    empty_range,      // no futures and no reactor given: nothing to take the reactor from
    mixed_reactors,   // the futures belong to different reactors
};
[[noreturn]] void throw_combinator_error(const char* name, combinator_misuse what);

// Derived::on_input(std::size_t index, state_base& src) is called on the
// reactor thread when input `index` settles; it must take src's result.
template <class Out, class Derived>
class gather_node : public state<Out> {
public:
    gather_node(reactor& r, std::source_location where, std::size_t n)
        : state<Out>(r, where, static_cast<std::uint32_t>(1 + n)), slots_(n) {
        for (std::size_t i = 0; i < n; ++i)
            slots_[i].init(this, i);
    }

    // Attaches slot `i` to input `s`; takes over the input future's reference.
    // The slot is told inline (it runs no user code): an input that has
    // settled already is taken here, at once.
    void connect(std::size_t i, state_base* s) {
        slots_[i].src = s;
        s->attach_inline(&slots_[i]);
        s->release();
    }

    // A gather node can still settle if one of its unfired inputs can.
    bool has_live_producer() const noexcept override {
        for (const slot& sl : slots_)
            if (sl.src && can_settle(*sl.src))
                return true;
        return false;
    }

    std::size_t size() const noexcept { return slots_.size(); }

private:
    struct slot final : continuation {
        gather_node* parent = nullptr;
        state_base* src = nullptr;  // while attached and unfired (for can_settle)
        std::size_t index = 0;
        void init(gather_node* p, std::size_t i) noexcept { parent = p, index = i; }
        void fire(state_base& s) override {
            src = nullptr;
            try {
                static_cast<Derived*>(parent)->on_input(index, s);
            } catch (...) {
                if (parent->pending())
                    parent->set_error(std::current_exception());
            }
        }
        void drop() noexcept override {
            src = nullptr;
            parent->release();
        }
        void moved_to(state_base& s) noexcept override { src = &s; }
    };
    std::vector<slot> slots_;
};

// Builds a gather node over a vector of futures and connects every input.
// Every input is checked (not empty, same reactor) before any is consumed,
// so a bad call leaves them all intact.
template <class Node, class T>
auto gather(reactor* r, std::vector<future<T>>& inputs, std::source_location where, const char* name) {
    if (r == nullptr && inputs.empty())
        throw_combinator_error(name, combinator_misuse::empty_range);
    for (auto& f : inputs) {
        state<T>* s = future_access::peek(f);
        if (!s)
            throw_future_consumed(name);
        if (r == nullptr)
            r = &s->get_reactor();
        else if (r != &s->get_reactor())
            throw_combinator_error(name, combinator_misuse::mixed_reactors);
    }
    auto* n = new Node(*r, where, inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i)
        n->connect(i, future_access::take(inputs[i], name));
    n->start();
    return n;
}

}  // namespace vow::detail
