// `vlprompt serve`: one frozen CLIP and/or text LM, many deltas, behind OpenAI- and
// KServe-compatible HTTP routes (serve/server.h). SIGTERM or SIGINT stops accepting, finishes what
// was accepted, and exits 0.
#include <ATen/Parallel.h>
#include <malloc.h>
#include <pthread.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "serve/server.h"
#include "src/core/error.h"
#include "tools/cli/cli_checks.h"
#include "tools/cli/command.h"

namespace vlprompt::cli {
namespace {

struct ServeArgs {
  serve::ServerOptions options;
  std::vector<std::string> deltas;
  int64_t threads = 0;
  std::string batching = "mixed";
};

int run_serve(ServeArgs& a) {
  serve::ServerOptions& o = a.options;
  for (const std::string& d : a.deltas) {
    const size_t eq = d.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == d.size())
      throw Error("--delta " + d + ": expected NAME=FILE");
    o.deltas.emplace_back(d.substr(0, eq), d.substr(eq + 1));
  }
  o.mix_deltas = a.batching == "mixed";
  o.threads = a.threads;
  // Every decoding step allocates and frees the batch's key/value cache (megabytes). glibc's
  // defaults hand such blocks back to the kernel and fault them in again at the next step (a fifth
  // of the server's time under load, measured); keep them in the process for reuse instead.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  if (a.threads > 0) at::set_num_threads(static_cast<int>(a.threads));
  // Every thread started from here on inherits the blocked signals; one thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  serve::Server server(o);
  const int port = server.bind();
  std::thread waiter([&server, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::cerr << "[vlprompt serve] " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
              << ": no new connections; finishing what was accepted\n";
    server.shutdown();
  });
  waiter.detach();
  // Scripts wait for this line (the port chosen when --port 0).
  std::cout << "[vlprompt serve] listening on http://" << o.host << ":" << port << std::endl;
  server.run();
  std::cerr << "[vlprompt serve] stopped\n";
  return 0;
}

Runner setup_serve(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  serve::ServerOptions& o = a->options;
  app.add_option("--model", o.clip.model, "a CLIP (file, folder, shipped name); optional");
  app.add_option("--vocab", o.clip.vocab, "the CLIP's BPE vocabulary, when not found beside it");
  app.add_option("--lm-model", o.lm_model, "a LLaMA-family Hugging Face folder; optional");
  app.add_option("--delta", a->deltas, "NAME=FILE: serve a delta file as model NAME (repeatable)");
  app.add_option("--delta-dir", o.delta_dir,
                 "serve every NAME.safetensors here, reloading on change (polled)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--watch-interval-ms", o.watch_interval_ms, "how often --delta-dir is polled")
      ->default_val(500)
      ->check(at_least(10));
  app.add_option("--host", o.host, "address to bind")->default_val("127.0.0.1");
  app.add_option("--port", o.port, "port (0: any free one, printed)")
      ->default_val(8000)
      ->check(CLI::Range(0, 65535));
  app.add_option("--api-key", o.api_key,
                 "require 'Authorization: Bearer KEY' on every route but /v2/health");
  app.add_option("--max-batch", o.max_batch, "rows decoded (images encoded) together")
      ->default_val(32)
      ->check(at_least(1));
  app.add_option("--max-wait-ms", o.max_wait_ms,
                 "an idle loop waits this long for more requests before a pass")
      ->default_val(2)
      ->check(at_least(0));
  app.add_option("--max-queue", o.max_queue, "requests waiting beyond this get 429")
      ->default_val(256)
      ->check(at_least(1));
  app.add_option("--threads", a->threads, "compute threads (0: LibTorch's default)")
      ->default_val(0)
      ->check(at_least(0));
  app.add_option("--http-threads", o.http_threads,
                 "connections served at once (cpp-httplib gives each open connection a worker "
                 "until it closes; more connections wait for one)")
      ->default_val(256)
      ->check(at_least(1));
  app.add_option("--request-timeout", o.request_timeout_s, "seconds before a request gets 504")
      ->default_val(300)
      ->check(CLI::PositiveNumber);
  app.add_option("--max-body-bytes", o.max_body_bytes, "larger request bodies get 413")
      ->default_val(32u << 20)
      ->check(at_least(1));
  app.add_option("--batching", a->batching,
                 "mixed: rows of different deltas share a batch; single: one delta per batch "
                 "(the baseline)")
      ->default_val("mixed")
      ->check(CLI::IsMember({"mixed", "single"}));
  app.add_option("--device", o.device, "cpu | cuda | cuda:N")->default_val("cpu");
  app.footer(
      "Examples:\n"
      "  vlprompt serve --lm-model tiny-pretrained-lm --delta-dir deltas/ --port 8000\n"
      "  vlprompt serve --model tiny-pretrained --delta coop=runs/coop/delta.safetensors\n"
      "Routes: POST /v1/completions, GET /v1/models, POST /v1/embeddings,\n"
      "  POST /v2/models/NAME/infer, GET /v2/models/NAME, /v2/health/{live,ready}, GET /metrics");
  return [a] { return run_serve(*a); };
}

}  // namespace

VLPROMPT_COMMAND(serve, "serve a frozen model and many deltas over HTTP (OpenAI, KServe v2)",
                 setup_serve);

}  // namespace vlprompt::cli
