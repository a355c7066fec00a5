#include "tools/bench/load_report.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sysv::bench {
namespace {

std::string Duration(double ns) {
  if (ns < 1e3) return absl::StrFormat("%.0f ns", ns);
  if (ns < 1e6) return absl::StrFormat("%.1f µs", ns / 1e3);
  return absl::StrFormat("%.2f ms", ns / 1e6);
}

// `text` padded with spaces to `width` columns, counting characters, not
// bytes ("µs" is three bytes, two columns).
std::string Pad(const std::string& text, size_t width, bool left_align) {
  size_t columns = 0;
  for (char c : text) columns += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  const std::string fill(columns < width ? width - columns : 0, ' ');
  return left_align ? text + fill : fill + text;
}

std::string Mib(int64_t kib) { return absl::StrFormat("%.1f MiB", static_cast<double>(kib) / 1024.0); }

std::string Pair(const Latency& latency) {
  if (latency.samples == 0) return "-";
  return absl::StrCat(Duration(latency.p50_ns), " / ", Duration(latency.p99_ns));
}

// The existing bench's ratio: libsysv's rate over the kernel's (above 1,
// libsysv is faster), here of the medians.
std::string Ratio(const Latency& libsysv, const std::optional<Latency>& kernel) {
  if (!kernel || kernel->samples == 0 || libsysv.samples == 0 || libsysv.p50_ns <= 0) return "";
  return absl::StrFormat("%.2fx", kernel->p50_ns / libsysv.p50_ns);
}

std::string JsonLatency(const Latency& latency) {
  if (latency.samples == 0) return "null";
  return absl::StrFormat("{\"p50_ns\": %.0f, \"p99_ns\": %.0f, \"samples\": %d}", latency.p50_ns, latency.p99_ns,
                         latency.samples);
}

std::string JsonOps(const OpLatencies& ops) {
  return absl::StrCat("{\"create\": ", JsonLatency(ops.create), ", \"get\": ", JsonLatency(ops.get),
                      ", \"stat\": ", JsonLatency(ops.stat), "}");
}

std::string JsonProcess(const ProcessFigures& figures) {
  return absl::StrFormat("{\"rss_kib\": %d, \"hwm_kib\": %d, \"vm_size_kib\": %d, \"maps\": %d, \"fds\": %d}",
                         figures.rss_kib, figures.hwm_kib, figures.vm_size_kib, figures.maps, figures.fds);
}

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string JsonRun(const std::optional<ClientRun>& run) {
  if (!run) return "null";
  return absl::StrFormat("{\"clients\": %d, \"work_seconds\": %.4f, \"exit_seconds\": %.4f}", run->clients,
                         run->work_seconds, run->exit_seconds);
}

}  // namespace

std::string FormatLoadTable(const LoadContext& context, const std::vector<LoadStep>& steps,
                            const std::optional<LoadClients>& clients) {
  std::string out;
  absl::StrAppend(&out, "sysvipc load_bench: ", context.machine, ", ", context.date, "\n",
                  "kernel: ", context.kernel_namespace, "; libsysv: ", context.namespace_dir,
                  " (removed at exit)\n");
  if (!context.notes.empty()) absl::StrAppend(&out, context.notes, "\n");
  absl::StrAppend(&out, "\nThe daemon as objects grow (N of each kind: shm, sem, msg); before any object: ",
                  Mib(context.daemon_start.rss_kib), " resident, ", context.daemon_start.maps, " maps, ",
                  context.daemon_start.fds, " fds\n\n");
  absl::StrAppend(&out, "| objects | daemon VmRSS | VmHWM      | VmSize         | maps   | fds   | create time |\n",
                  "|---------|--------------|------------|----------------|--------|-------|-------------|\n");
  for (const LoadStep& step : steps) {
    absl::StrAppend(&out, absl::StrFormat("| %7d | %12s | %10s | %14s | %6d | %5d | %9.2f s |\n", step.objects,
                                          Mib(step.daemon.rss_kib), Mib(step.daemon.hwm_kib),
                                          Mib(step.daemon.vm_size_kib), step.daemon.maps, step.daemon.fds,
                                          step.grow_seconds));
  }
  absl::StrAppend(&out, "\nLatency from the client, p50 / p99 (create: the step's creates; get: by key; stat: "
                  "IPC_STAT, ", context.samples, " random objects each); ratio = kernel p50 / libsysv p50\n\n");
  absl::StrAppend(&out, "| objects | kind | op     | libsysv p50 / p99     | kernel p50 / p99      | ratio  |\n",
                  "|---------|------|--------|-----------------------|-----------------------|--------|\n");
  for (const LoadStep& step : steps) {
    for (LoadKind kind : kLoadKinds) {
      const int k = static_cast<int>(kind);
      const OpLatencies& lib = step.libsysv[k];
      const std::optional<OpLatencies>& kern = step.kernel[k];
      struct Row {
        const char* op;
        Latency lib;
        std::optional<Latency> kern;
      };
      for (const Row& row : {Row{"create", lib.create, kern ? std::optional<Latency>(kern->create) : std::nullopt},
                             Row{"get", lib.get, kern ? std::optional<Latency>(kern->get) : std::nullopt},
                             Row{"stat", lib.stat, kern ? std::optional<Latency>(kern->stat) : std::nullopt}}) {
        absl::StrAppend(&out, absl::StrFormat("| %7d | %-4s | %-6s | %s | %s | %6s |\n", step.objects,
                                              LoadKindName(kind), row.op, Pad(Pair(row.lib), 21, true),
                                              Pad(row.kern ? Pair(*row.kern) : "n/a", 21, true),
                                              Ratio(row.lib, row.kern)));
      }
    }
  }
  if (clients) {
    const LoadClients& c = *clients;
    absl::StrAppend(&out, "\n", c.libsysv.clients,
                    " client processes at once (with the objects above alive): register, semop SEM_UNDO "
                    "mutex, shmat/shmdt, msgsnd/msgrcv; all succeeded\n\n");
    absl::StrAppend(&out, "| side    | work (let go -> all done) | exit (-> all reaped) |\n",
                    "|---------|---------------------------|----------------------|\n");
    absl::StrAppend(&out, absl::StrFormat("| libsysv | %23.3f s | %18.3f s |\n", c.libsysv.work_seconds,
                                          c.libsysv.exit_seconds));
    if (c.kernel) {
      absl::StrAppend(&out, absl::StrFormat("| kernel  | %23.3f s | %18.3f s |\n", c.kernel->work_seconds,
                                            c.kernel->exit_seconds));
    }
    absl::StrAppend(&out, "\n| daemon              | VmRSS      | VmHWM      | maps   | fds   |\n",
                    "|---------------------|------------|------------|--------|-------|\n");
    for (const auto& [label, figures] :
         {std::pair<const char*, const ProcessFigures*>{"all clients alive", &c.daemon_alive},
          std::pair<const char*, const ProcessFigures*>{"all clients reaped", &c.daemon_after}}) {
      absl::StrAppend(&out, absl::StrFormat("| %-19s | %10s | %10s | %6d | %5d |\n", label, Mib(figures->rss_kib),
                                            Mib(figures->hwm_kib), figures->maps, figures->fds));
    }
  }
  return out;
}

std::string FormatLoadJson(const LoadContext& context, const std::vector<LoadStep>& steps,
                           const std::optional<LoadClients>& clients) {
  std::string out = "{\n";
  absl::StrAppend(&out, "  \"context\": {\"machine\": ", JsonString(context.machine),
                  ", \"date\": ", JsonString(context.date), ", \"kernel_namespace\": ",
                  JsonString(context.kernel_namespace), ", \"namespace_dir\": ", JsonString(context.namespace_dir),
                  ", \"samples\": ", context.samples, ", \"notes\": ", JsonString(context.notes), "},\n");
  absl::StrAppend(&out, "  \"daemon_start\": ", JsonProcess(context.daemon_start), ",\n  \"steps\": [");
  for (size_t i = 0; i < steps.size(); ++i) {
    const LoadStep& step = steps[i];
    absl::StrAppend(&out, i == 0 ? "\n" : ",\n", "    {\"objects\": ", step.objects,
                    ", \"daemon\": ", JsonProcess(step.daemon),
                    absl::StrFormat(", \"grow_seconds\": %.4f", step.grow_seconds));
    for (LoadKind kind : kLoadKinds) {
      const int k = static_cast<int>(kind);
      absl::StrAppend(&out, ",\n     \"", LoadKindName(kind), "\": {\"libsysv\": ", JsonOps(step.libsysv[k]),
                      ", \"kernel\": ", step.kernel[k] ? JsonOps(*step.kernel[k]) : "null", "}");
    }
    absl::StrAppend(&out, "}");
  }
  absl::StrAppend(&out, "\n  ],\n  \"clients\": ");
  if (!clients) {
    absl::StrAppend(&out, "null\n}\n");
    return out;
  }
  absl::StrAppend(&out, "{\"libsysv\": ", JsonRun(clients->libsysv), ", \"kernel\": ", JsonRun(clients->kernel),
                  ", \"daemon_alive\": ", JsonProcess(clients->daemon_alive),
                  ", \"daemon_after\": ", JsonProcess(clients->daemon_after), "}\n}\n");
  return out;
}

}  // namespace sysv::bench
