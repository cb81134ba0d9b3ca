// vow/vow.hpp - everything vow offers, in one include.
#pragma once

#include <vow/error.hpp>
#include <vow/reactor/handle.hpp>
#include <vow/reactor/reactor.hpp>
