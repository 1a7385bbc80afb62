#pragma once
// A build without an instruction-set flag says so, once. Compiled without -march=... (or -mavx2,
// -mavx512f, ...), an x86-64 program has SSE2 only, its baseline: xsimd's batches are 4 floats
// wide and the GEMM and convolution tiles shrink with them, about half the speed of AVX2 and a
// third of AVX-512's. Nothing else tells the user, so when such a program builds its first
// expression program on a CPU that has AVX or more, it writes one line to stderr:
//
//   spore: this program was compiled for SSE2 only, but this CPU has AVX-512: compile with
//   -march=native (or the -march of the machines it runs on) for about twice the speed; set
//   SPORE_NO_ISA_NOTICE=1 or define SPORE_NO_ISA_NOTICE to silence this note
//
// Any -march beyond the baseline (x86-64-v2 and up), other architectures (AArch64's NEON is its
// baseline) and a CPU with nothing better print nothing. A run-time note rather than a
// compile-time one: it appears once per process, not once per translation unit, and only where
// the speed is really lost. The environment variable SPORE_NO_ISA_NOTICE (set, not empty and not
// "0") silences it at run time; the macro SPORE_NO_ISA_NOTICE compiles it out.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <spore/core/text.hpp>

namespace spore::kernels {

// True when the kernels are compiled for x86-64's baseline: no instruction-set flag.
inline constexpr bool baseline_x86_build =
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(__SSE3__) && !defined(__AVX__)
    true;
#else
    false;
#endif

// The widest vector extension of this CPU that the baseline does not use (at least AVX), or ""
// when it has none (or the compiler cannot ask the CPU).
inline std::string_view cpu_extension_beyond_baseline() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "AVX-512";
    if (__builtin_cpu_supports("avx2")) return "AVX2";
    if (__builtin_cpu_supports("avx")) return "AVX";
#endif
    return {};
}

// The note's text (one line, with its newline), or "" when there is nothing to say: a build for
// more than the baseline, a CPU with nothing better (cpu_extension empty), or silenced by the
// environment variable's value (`silence`: null when unset).
inline std::string instruction_set_notice(bool baseline_build, std::string_view cpu_extension, const char* silence) {
    if (!baseline_build || cpu_extension.empty()) return {};
    if (silence != nullptr && *silence != '\0' && std::string_view(silence) != "0") return {};
    return spore::detail::concat({"spore: this program was compiled for SSE2 only, but this CPU has ", cpu_extension,
                           ": compile with -march=native (or the -march of the machines it runs on) for about "
                           "twice the speed; set SPORE_NO_ISA_NOTICE=1 or define SPORE_NO_ISA_NOTICE to silence "
                           "this note\n"});
}

// Writes the note to stderr the first time it is called in a process (when a build for the
// baseline runs on a better CPU); called by every program's planner (expr/plan.hpp).
inline void notice_instruction_set_once() {
#if !defined(SPORE_NO_ISA_NOTICE)
    if constexpr (baseline_x86_build) {
        static const bool written = [] {
            const std::string text =
                instruction_set_notice(true, cpu_extension_beyond_baseline(), std::getenv("SPORE_NO_ISA_NOTICE"));
            if (!text.empty()) std::fputs(text.c_str(), stderr);
            return true;
        }();
        (void)written;
    }
#endif
}

}  // namespace spore::kernels
