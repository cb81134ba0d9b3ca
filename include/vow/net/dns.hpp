/// @file
/// DNS: includes `<vow/net/dns/resolve.hpp>` (vow::net::resolve).
#pragma once

#include <vow/net/dns/resolve.hpp>
