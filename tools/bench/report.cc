#include "tools/bench/report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace sysv::bench {
namespace {

// Three significant digits, enough for figures that vary by several percent
// from run to run.
std::string Digits(double value) {
  if (value >= 100) return absl::StrFormat("%.0f", value);
  if (value >= 10) return absl::StrFormat("%.1f", value);
  return absl::StrFormat("%.2f", value);
}

// A figure as number and unit, apart, so that a range can share the unit.
struct Shown {
  std::string number;
  std::string unit;
};

Shown ShowTime(double seconds) {
  if (seconds < 1e-6) return {Digits(seconds * 1e9), " ns"};
  if (seconds < 1e-3) return {Digits(seconds * 1e6), " µs"};
  if (seconds < 1) return {Digits(seconds * 1e3), " ms"};
  return {Digits(seconds), " s"};
}

Shown ShowRate(double rate) {
  if (rate >= 1e6) return {Digits(rate / 1e6), "M/s"};
  if (rate >= 1e3) return {Digits(rate / 1e3), "k/s"};
  return {Digits(rate), "/s"};
}

// "median (min - max)", the unit written once when all three share it.
std::string ShowRange(const Shown& median, const Shown& low, const Shown& high, size_t runs) {
  const std::string head = median.number + median.unit;
  if (runs < 2) return head;
  if (low.unit == median.unit && high.unit == median.unit) {
    return absl::StrCat(head, " (", low.number, " - ", high.number, ")");
  }
  return absl::StrCat(head, " (", low.number, low.unit, " - ", high.number, high.unit, ")");
}

std::string Target(const ScenarioResult& result) {
  if (!result.scenario->target) return "";
  const std::string wanted = absl::StrCat(">= ", Digits(*result.scenario->target), "x");
  if (!result.target_met) return absl::StrCat(wanted, ", n/a");
  return absl::StrCat(wanted, *result.target_met ? ", met" : ", missed");
}

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// Finite numbers only: JSON has no inf or nan.
std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  return absl::StrFormat("%.6g", value);
}

std::string JsonStats(const std::optional<Stats>& stats) {
  if (!stats) return "null";
  std::vector<std::string> samples;
  for (double rate : stats->rates) samples.push_back(JsonNumber(rate));
  return absl::StrCat("{\"min\": ", JsonNumber(stats->min), ", \"median\": ", JsonNumber(stats->median),
                      ", \"max\": ", JsonNumber(stats->max), ", \"samples\": [", absl::StrJoin(samples, ", "),
                      "]}");
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kNotImplemented:
      return "not_implemented";
    case Outcome::kError:
      return "error";
  }
  return "error";
}

}  // namespace

std::string FormatStats(Figure figure, const Stats& stats) {
  if (figure == Figure::kRate) {
    return ShowRange(ShowRate(stats.median), ShowRate(stats.min), ShowRate(stats.max), stats.rates.size());
  }
  // A time per operation: the lowest time is the highest rate.
  return ShowRange(ShowTime(1 / stats.median), ShowTime(1 / stats.max), ShowTime(1 / stats.min),
                   stats.rates.size());
}

std::string FormatTable(const std::vector<ScenarioResult>& results, const ReportContext& context) {
  std::vector<std::vector<std::string>> rows = {
      {"scenario", "per", "kernel", "libsysv", "libsysv/kernel", "target"}};
  for (const ScenarioResult& result : results) {
    const Scenario& scenario = *result.scenario;
    std::vector<std::string> row = {scenario.name, scenario.unit};
    row.push_back(result.kernel ? FormatStats(scenario.figure, *result.kernel) : "-");
    switch (result.outcome) {
      case Outcome::kOk:
        row.push_back(result.libsysv ? FormatStats(scenario.figure, *result.libsysv) : "-");
        row.push_back(result.ratio ? absl::StrCat(Digits(*result.ratio), "x") : "-");
        break;
      case Outcome::kNotImplemented:
        row.push_back("n/a (not implemented)");
        row.push_back("n/a");
        break;
      case Outcome::kError:
        row.push_back(result.libsysv ? FormatStats(scenario.figure, *result.libsysv) : "-");
        row.push_back(absl::StrCat("error: ", result.error));
        break;
    }
    row.push_back(Target(result));
    rows.push_back(std::move(row));
  }
  // Pad columns so that the Markdown reads as a table in a terminal too;
  // µ is one column but two bytes.
  auto width = [](const std::string& cell) {
    size_t n = 0;
    for (const char c : cell) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
  };
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], width(row[i]));
  }
  std::string out = absl::StrCat(
      "Kernel System V IPC vs libsysv: ", context.machine, "; ", context.kernel_namespace, "; ", context.date,
      "; ", context.repetitions, context.repetitions == 1 ? " repetition" : " repetitions",
      context.quick ? " (--quick: counts too small for the figures to mean anything)" : "",
      ".\nFigures: median (lowest - highest of the runs); the ratio is libsysv's median rate "
      "over the kernel's (above 1, libsysv is faster).\n\n");
  for (size_t r = 0; r < rows.size(); ++r) {
    out += "|";
    for (size_t i = 0; i < rows[r].size(); ++i) {
      out += absl::StrCat(" ", rows[r][i], std::string(widths[i] - width(rows[r][i]), ' '), " |");
    }
    out += "\n";
    if (r == 0) {
      out += "|";
      for (size_t w : widths) out += absl::StrCat(std::string(w + 2, '-'), "|");
      out += "\n";
    }
  }
  return out;
}

std::string FormatJson(const std::vector<ScenarioResult>& results, const ReportContext& context) {
  std::string out = absl::StrCat(
      "{\n  \"context\": {\"machine\": ", JsonString(context.machine),
      ", \"kernel_namespace\": ", JsonString(context.kernel_namespace),
      ", \"date\": ", JsonString(context.date), ", \"namespace_dir\": ", JsonString(context.namespace_dir),
      ", \"repetitions\": ", context.repetitions, ", \"quick\": ", context.quick ? "true" : "false",
      ", \"rates\": \"operations per second\"},\n  \"scenarios\": [");
  for (size_t i = 0; i < results.size(); ++i) {
    const ScenarioResult& result = results[i];
    const Scenario& scenario = *result.scenario;
    absl::StrAppend(
        &out, i == 0 ? "\n" : ",\n", "    {\"name\": ", JsonString(scenario.name),
        ", \"description\": ", JsonString(scenario.description), ", \"unit\": ", JsonString(scenario.unit),
        ", \"figure\": ", scenario.figure == Figure::kRate ? "\"rate\"" : "\"time_per_op\"",
        ", \"status\": \"", OutcomeName(result.outcome), "\", \"kernel\": ", JsonStats(result.kernel),
        ", \"libsysv\": ", JsonStats(result.libsysv),
        ", \"ratio\": ", result.ratio ? JsonNumber(*result.ratio) : "null",
        ", \"target\": ", scenario.target ? JsonNumber(*scenario.target) : "null",
        ", \"target_met\": ", result.target_met ? (*result.target_met ? "true" : "false") : "null");
    if (result.outcome == Outcome::kError) absl::StrAppend(&out, ", \"error\": ", JsonString(result.error));
    out += "}";
  }
  out += "\n  ]\n}\n";
  return out;
}

}  // namespace sysv::bench
