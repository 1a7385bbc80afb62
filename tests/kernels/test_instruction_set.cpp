// kernels/instruction_set.hpp: a build without an instruction-set flag says so once, on stderr,
// when the CPU has better; a build with one says nothing. This file is compiled twice: as
// test_instruction_set with the build's flags (-march=native), and as
// test_instruction_set_baseline without any instruction-set flag (tests/CMakeLists.txt).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "../support/check.hpp"

namespace kernels = spore::kernels;

namespace {

// Runs f with file descriptor 2 sent to a temporary file, and returns what was written there.
template <class F>
std::string captured_stderr(F&& f) {
    std::fflush(stderr);
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    const int saved = ::dup(2);
    REQUIRE(saved >= 0);
    REQUIRE(::dup2(::fileno(file), 2) >= 0);
    f();
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    std::string text;
    std::rewind(file);
    for (int c; (c = std::fgetc(file)) != EOF;) text += static_cast<char>(c);
    std::fclose(file);
    return text;
}

std::size_t occurrences(const std::string& text, const std::string& part) {
    std::size_t count = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
    return count;
}

}  // namespace

TEST_CASE("instruction_set_notice: only a baseline build on a better CPU, unless silenced", "[kernels][isa]") {
    const std::string note = kernels::instruction_set_notice(true, "AVX2", nullptr);
    CHECK(note ==
          "spore: this program was compiled for SSE2 only, but this CPU has AVX2: compile with -march=native (or "
          "the -march of the machines it runs on) for about twice the speed; set SPORE_NO_ISA_NOTICE=1 or define "
          "SPORE_NO_ISA_NOTICE to silence this note\n");
    CHECK_THAT(kernels::instruction_set_notice(true, "AVX-512", ""), Catch::Contains("this CPU has AVX-512"));
    CHECK_THAT(kernels::instruction_set_notice(true, "AVX-512", "0"), Catch::Contains("this CPU has AVX-512"));
    CHECK(kernels::instruction_set_notice(true, "AVX2", "1").empty());    // SPORE_NO_ISA_NOTICE=1
    CHECK(kernels::instruction_set_notice(true, "AVX2", "yes").empty());
    CHECK(kernels::instruction_set_notice(true, "", nullptr).empty());    // nothing better on this CPU
    CHECK(kernels::instruction_set_notice(false, "AVX2", nullptr).empty());  // built with -march=...
}

TEST_CASE("a program built without an instruction-set flag says so once, on stderr", "[kernels][isa]") {
    ::unsetenv("SPORE_NO_ISA_NOTICE");
    const std::string written = captured_stderr([] {
        spore::tensor<float, spore::shape<4, 8>> a, b;
        a.fill_uniform(1);
        b.fill_uniform(2);
        spore::tensor<float, spore::shape<4, 8>> c = spore::tanh(a * b);  // a program, planned and run
        auto program = spore::compile(spore::sum(c * a));                   // a second one
        auto [value, da] = spore::value_and_grad(spore::sum(c * a), a);     // and a gradient program
        (void)program();
        (void)value;
        (void)da;
    });
    const bool expected = kernels::baseline_x86_build && !kernels::cpu_extension_beyond_baseline().empty();
    INFO("built for the baseline: " << kernels::baseline_x86_build << "; this CPU has: "
                                    << kernels::cpu_extension_beyond_baseline() << "; stderr: " << written);
    CHECK(occurrences(written, "spore: this program was compiled for SSE2 only") == (expected ? 1u : 0u));
    if (expected) CHECK(written == kernels::instruction_set_notice(true, kernels::cpu_extension_beyond_baseline(), nullptr));
    else CHECK(written.empty());
}
