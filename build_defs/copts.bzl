"""Compiler flags shared by every libsysv target."""

SYSV_DEFAULT_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-missing-field-initializers",
]

# GoogleTest macros trip -Wsign-compare on mixed comparisons that are fine in
# tests; everything else stays an error.
SYSV_TEST_COPTS = SYSV_DEFAULT_COPTS + [
    "-Wno-sign-compare",
]
