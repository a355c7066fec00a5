"""A repository of Debian-packaged C++ libraries, linked by pkg-config flags.

Abseil's libraries are many and interdependent; guessing the -labsl_* list by
hand fails at link time, so the list is asked of pkg-config when the
repository is created. Headers come from /usr/include, which the
auto-configured toolchain already allows.
"""

# target name -> (pkg-config modules, extra link flags)
_LIBS = {
    "absl": ([
        "absl_base",
        "absl_cleanup",
        "absl_flags",
        "absl_flags_parse",
        "absl_flat_hash_map",
        "absl_flat_hash_set",
        "absl_node_hash_map",
        "absl_random_random",
        "absl_span",
        "absl_status",
        "absl_statusor",
        "absl_str_format",
        "absl_strings",
        "absl_synchronization",
        "absl_time",
    ], []),
    "gtest": (["gtest"], ["-pthread"]),
    "gtest_main": (["gtest_main"], ["-pthread"]),
    "gmock": (["gmock"], ["-pthread"]),
    "benchmark": (["benchmark"], ["-pthread"]),
    "uring": (["liburing"], []),
}

def _pkg_config_libs(ctx, modules):
    result = ctx.execute(["pkg-config", "--libs"] + modules)
    if result.return_code != 0:
        fail("pkg-config --libs %s failed (is the Debian -dev package installed? see .ci/run): %s" %
             (" ".join(modules), result.stderr))
    return result.stdout.strip().split(" ")

def _system_libs_impl(ctx):
    lines = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, (modules, extra) in _LIBS.items():
        flags = _pkg_config_libs(ctx, modules) + extra
        lines.append("cc_library(")
        lines.append('    name = "%s",' % name)
        lines.append("    linkopts = %s," % repr([f for f in flags if f]))
        lines.append(")")
        lines.append("")
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD", "\n".join(lines))

system_libs = repository_rule(
    implementation = _system_libs_impl,
    local = True,
    doc = "Debian's Abseil, GoogleTest, Google Benchmark and liburing as cc_library targets.",
)
