// `volley serve`: wires configuration, storage and listeners together, runs
// one io_context per thread, and handles signals (SIGTERM/SIGINT drain,
// SIGHUP reload). Returns the process exit code.
#pragma once

#include "config/config.hpp"

namespace volley::app {

int run_server(config::Config cfg);

}  // namespace volley::app
