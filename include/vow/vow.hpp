// vow/vow.hpp - everything vow offers, in one include.
#pragma once

#include <vow/error.hpp>
#include <vow/reactor/handle.hpp>
#include <vow/reactor/reactor.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/run_until_complete.hpp>
#include <vow/promise/shared_future.hpp>
#include <vow/promise/sleep.hpp>
#include <vow/promise/unhandled_rejection.hpp>
