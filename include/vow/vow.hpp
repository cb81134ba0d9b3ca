/// @file
/// Everything vow offers, in one include (TLS too where vow-tls was built:
/// VOW_HAVE_TLS in `<vow/config.hpp>`; PostgreSQL too where vow-pg was built:
/// VOW_HAVE_PG).
#pragma once

#include <vow/config.hpp>
#include <vow/version.hpp>
#include <vow/error.hpp>
#include <vow/reactor/fd_watcher.hpp>
#include <vow/reactor/handle.hpp>
#include <vow/reactor/reactor.hpp>
#include <vow/reactor/stop_link.hpp>
#include <vow/promise/all.hpp>
#include <vow/promise/any.hpp>
#include <vow/promise/event.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/loop.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/operation.hpp>
#include <vow/promise/map_concurrent.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/queue.hpp>
#include <vow/promise/race.hpp>
#include <vow/promise/reactor_pool.hpp>
#include <vow/promise/result.hpp>
#include <vow/promise/retry.hpp>
#include <vow/promise/run_until_complete.hpp>
#include <vow/promise/semaphore.hpp>
#include <vow/promise/sharded.hpp>
#include <vow/promise/shared_future.hpp>
#include <vow/promise/task_group.hpp>
#include <vow/promise/sleep.hpp>
#include <vow/promise/thread_pool.hpp>
#include <vow/promise/unhandled_rejection.hpp>
#include <vow/promise/with_timeout.hpp>
#include <vow/fs.hpp>
#include <vow/net/address.hpp>
#include <vow/net/copy.hpp>
#include <vow/net/dns.hpp>
#include <vow/net/error.hpp>
#include <vow/net/http.hpp>
#include <vow/net/io_options.hpp>
#include <vow/net/stream.hpp>
#include <vow/net/tcp.hpp>
#include <vow/net/tls_layer.hpp>
#include <vow/net/url.hpp>
#include <vow/net/ws.hpp>
#if VOW_HAVE_TLS
#include <vow/net/tls.hpp>   // the vow-tls library: link it to use these
#endif
#if VOW_HAVE_PG
#include <vow/pg.hpp>     // the vow-pg library: link it to use these
#endif
