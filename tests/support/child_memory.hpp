#pragma once
// Runs a reader in a forked child and reports what it threw and how much memory it took: the
// child's peak resident size (getrusage) above its resident size when it started. A reader
// that trusts a size claimed by a small bad file shows up here as hundreds of megabytes.
// POSIX only (fork, pipes, /proc/self/statm).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace spore_test {

struct child_outcome {
    bool exited = false;         // the child finished normally (no crash, no signal)
    std::string error_type;      // "data_error", "checkpoint_error", "none", or another exception's type
    std::string message;         // what() of the exception
    double peak_mb = 0;          // peak resident memory above the child's start, in MB
};

namespace detail {
inline long resident_kb() {
    long pages = 0, resident = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}
}  // namespace detail

// `classify(e)` names the exception type (e.g. returns "data_error" for spore::data_error).
template <class F, class Classify>
child_outcome run_in_child(F&& f, Classify&& classify) {
    int fds[2];
    if (::pipe(fds) != 0) return {};
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) return {};
    if (pid == 0) {
        ::close(fds[0]);
        const long start_kb = detail::resident_kb();
        std::string type = "none", message;
        try {
            f();
        } catch (const std::exception& e) {
            type = classify(e);
            message = e.what();
        } catch (...) {
            type = "unknown";
        }
        rusage usage{};
        ::getrusage(RUSAGE_SELF, &usage);
        const std::string report =
            std::to_string(usage.ru_maxrss - start_kb) + "\n" + type + "\n" + message.substr(0, 4000);
        const char* at = report.data();
        std::size_t left = report.size();
        while (left > 0) {
            const ::ssize_t n = ::write(fds[1], at, left);
            if (n <= 0) break;
            at += n;
            left -= static_cast<std::size_t>(n);
        }
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string report;
    char buffer[4096];
    for (;;) {
        const ::ssize_t n = ::read(fds[0], buffer, sizeof buffer);
        if (n <= 0) break;
        report.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    child_outcome out;
    out.exited = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    const std::size_t first = report.find('\n'), second = report.find('\n', first + 1);
    if (!out.exited || first == std::string::npos || second == std::string::npos) return out;
    out.peak_mb = std::strtod(report.substr(0, first).c_str(), nullptr) / 1024.0;
    out.error_type = report.substr(first + 1, second - first - 1);
    out.message = report.substr(second + 1);
    return out;
}

}  // namespace spore_test
