// vow/vow.hpp - everything vow offers, in one include.
#pragma once

#include <vow/error.hpp>
#include <vow/reactor/handle.hpp>
#include <vow/reactor/reactor.hpp>
#include <vow/promise/all.hpp>
#include <vow/promise/any.hpp>
#include <vow/promise/event.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/map_concurrent.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/queue.hpp>
#include <vow/promise/race.hpp>
#include <vow/promise/result.hpp>
#include <vow/promise/retry.hpp>
#include <vow/promise/run_until_complete.hpp>
#include <vow/promise/semaphore.hpp>
#include <vow/promise/shared_future.hpp>
#include <vow/promise/sleep.hpp>
#include <vow/promise/thread_pool.hpp>
#include <vow/promise/unhandled_rejection.hpp>
#include <vow/promise/with_timeout.hpp>
