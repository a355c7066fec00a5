#include "tools/strutils.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "tools/command_context.h"

namespace sysv::tools {
namespace {

TEST(ParseSizeTest, AcceptsUtilLinuxSuffixesAndFractions) {
  const struct {
    const char* text;
    uint64_t expected;
  } kCases[] = {
      {"0", 0},
      {"123", 123},
      {"0x10", 16},
      {"010", 8},
      {"1K", 1024},
      {"1k", 1024},
      {"1KiB", 1024},
      {"1KB", 1000},
      {"1MB", 1000000},
      {"1M", 1 << 20},
      {"1G", uint64_t{1} << 30},
      {"1E", uint64_t{1} << 60},
      {"15E", uint64_t{15} << 60},
      {"1.5K", 1536},
      {"1.05K", 1075},
      {"0.5MB", 500000},
      {"00.5K", 512},
      {"1.K", 1024},
      {"3.25KiB", 3327},
      {" 7", 7},
  };
  for (const auto& c : kCases) {
    uint64_t value = 1;
    EXPECT_EQ(ParseSize(c.text, &value), 0) << c.text;
    EXPECT_EQ(value, c.expected) << c.text;
  }
}

TEST(ParseSizeTest, RejectsWhatUtilLinuxRejects) {
  const struct {
    const char* text;
    int expected;
  } kCases[] = {
      {"", -EINVAL},        {"-1", -EINVAL},      {" -1", -EINVAL},
      {"abc", -EINVAL},     {"1X", -EINVAL},      {"1K ", -EINVAL},
      {"1.5", -EINVAL},     {"1.0", -EINVAL},     {"1.", -EINVAL},
      {"1,5K", -EINVAL},    {"1KiBB", -EINVAL},   {"1Y", -ERANGE},
      {"16E", -ERANGE},     {"99999999999999999999", -ERANGE},
  };
  for (const auto& c : kCases) {
    uint64_t value = 0;
    EXPECT_EQ(ParseSize(c.text, &value), c.expected) << c.text;
  }
}

TEST(SizeToHumanStringTest, RoundsToOneDecimalLikeUtilLinux) {
  const struct {
    uint64_t bytes;
    const char* expected;
  } kCases[] = {
      {0, "0B"},
      {1023, "1023B"},
      {1024, "1K"},
      {1075, "1K"},  // 1.0498: rounds to 1.0, shown without decimal.
      {1126, "1.1K"},
      {1536, "1.5K"},
      {2047, "2K"},  // 1.999 rounds up to the next unit value.
      {5000, "4.9K"},
      {100000, "97.7K"},
      {1 << 20, "1M"},
      {uint64_t{1} << 30, "1G"},
      {UINT64_MAX, "16E"},
      {18446744073692774399u, "16E"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(SizeToHumanString(c.bytes), c.expected) << c.bytes;
  }
}

std::string Capture(const char* text, bool* ok) {
  std::FILE* err = std::tmpfile();
  char name[] = "tool";
  char* argv[] = {name, nullptr};
  const CommandContext context(1, argv, stdout, err, "tool");
  *ok = ParseInt32OrWarn(context, text, "failed to parse id").has_value();
  std::rewind(err);
  char buffer[512];
  const size_t size = std::fread(buffer, 1, sizeof(buffer), err);
  std::fclose(err);
  return std::string(buffer, size);
}

TEST(ParseInt32OrWarnTest, ReportsLikeStrtos32OrErr) {
  bool ok = false;
  EXPECT_EQ(Capture("42", &ok), "");
  EXPECT_TRUE(ok);
  EXPECT_EQ(Capture("-2147483648", &ok), "");
  EXPECT_TRUE(ok);
  EXPECT_EQ(Capture("abc", &ok), "tool: failed to parse id: 'abc'\n");
  EXPECT_FALSE(ok);
  EXPECT_EQ(Capture("", &ok), "tool: failed to parse id: ''\n");
  EXPECT_EQ(Capture("1 ", &ok), "tool: failed to parse id: '1 '\n");
  EXPECT_EQ(Capture("2147483648", &ok),
            "tool: failed to parse id: '2147483648': Numerical result out of "
            "range\n");
  EXPECT_EQ(Capture("99999999999999999999", &ok),
            "tool: failed to parse id: '99999999999999999999': Numerical "
            "result out of range\n");
  EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace sysv::tools
