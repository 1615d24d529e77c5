// Runs a program as a child process with pipes for stdin, stdout and stderr (or a pseudo-terminal
// for stdout and stderr), for tests of the `majordomo` program and the examples.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace majordomo::test {

struct child_result {
    int exit_code = -1; ///< -1 when killed by a signal
    std::string out;    ///< stdout (with a pty: stdout and stderr together)
    std::string err;
};

struct child_params {
    std::string input;                         ///< written to stdin, then stdin is closed
    std::map<std::string, std::string> env;    ///< added to (or replacing in) the environment
    bool pty = false;                          ///< stdout and stderr on one pseudo-terminal
    std::chrono::seconds limit{60};            ///< killed after this long (a test failure)
};

inline child_result run_child(const std::string& program, const std::vector<std::string>& args,
                              const child_params& p = {})
{
    int in[2], out[2], err[2] = {-1, -1};
    BOOST_REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    int master = -1, slave = -1;
    if (p.pty) {
        BOOST_REQUIRE(::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
        ::fcntl(master, F_SETFD, FD_CLOEXEC);
        ::fcntl(slave, F_SETFD, FD_CLOEXEC);
        out[0] = master;
        out[1] = slave;
    } else {
        BOOST_REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
        BOOST_REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, p.pty ? slave : err[1], 2);

    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e) {
        std::string kv = *e;
        auto eq = kv.find('=');
        if (eq != std::string::npos && p.env.count(kv.substr(0, eq)))
            continue;
        env_store.push_back(kv);
    }
    for (const auto& [k, v] : p.env)
        env_store.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_store)
        envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_store{program};
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_store)
        argv.push_back(s.data());
    argv.push_back(nullptr);

    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, program.c_str(), &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    BOOST_REQUIRE_MESSAGE(rc == 0, "cannot start " << program << ": " << std::strerror(rc));
    ::close(in[0]);
    ::close(out[1]); // with a pty, the slave: the master then reads EIO once the child is gone
    if (!p.pty)
        ::close(err[1]);

    ::signal(SIGPIPE, SIG_IGN);
    if (!p.input.empty()) {
        std::size_t off = 0;
        while (off < p.input.size()) {
            auto n = ::write(in[1], p.input.data() + off, p.input.size() - off);
            if (n <= 0)
                break;
            off += static_cast<std::size_t>(n);
        }
    }
    ::close(in[1]);

    child_result r;
    auto deadline = std::chrono::steady_clock::now() + p.limit;
    int fds[2] = {out[0], p.pty ? -1 : err[0]};
    std::string* sinks[2] = {&r.out, &r.err};
    while (fds[0] >= 0 || fds[1] >= 0) {
        pollfd pf[2];
        int n = 0;
        int which[2];
        for (int i = 0; i < 2; ++i)
            if (fds[i] >= 0) {
                pf[n] = {fds[i], POLLIN, 0};
                which[n++] = i;
            }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            ::kill(pid, SIGKILL);
            BOOST_ERROR(program << " did not finish in time");
            break;
        }
        if (::poll(pf, static_cast<nfds_t>(n), static_cast<int>(left.count())) < 0 && errno != EINTR)
            break;
        for (int k = 0; k < n; ++k) {
            if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[4096];
            auto got = ::read(pf[k].fd, buf, sizeof buf);
            if (got > 0)
                sinks[which[k]]->append(buf, static_cast<std::size_t>(got));
            else { // EOF, or EIO on a pty whose slave closed
                ::close(fds[which[k]]);
                fds[which[k]] = -1;
            }
        }
    }
    for (int fd : fds)
        if (fd >= 0)
            ::close(fd);
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

} // namespace majordomo::test

namespace majordomo::test {

/// A program left running (a server): its first stdout line is read at start; SIGTERM at the end.
class background_child {
public:
    background_child(const std::string& program, const std::vector<std::string>& args)
    {
        int out[2];
        BOOST_REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        std::vector<std::string> store{program};
        store.insert(store.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& s : store)
            argv.push_back(s.data());
        argv.push_back(nullptr);
        int rc = ::posix_spawn(&pid_, program.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        ::close(out[1]);
        fd_ = out[0];
        BOOST_REQUIRE_MESSAGE(rc == 0, "cannot start " << program);
        for (;;) { // the first line, byte by byte: it says where the server listens
            pollfd pf{fd_, POLLIN, 0};
            BOOST_REQUIRE_MESSAGE(::poll(&pf, 1, 30000) == 1, program << " printed nothing");
            char c;
            if (::read(fd_, &c, 1) != 1 || c == '\n')
                break;
            first_line_ += c;
        }
    }
    background_child(const background_child&) = delete;
    background_child& operator=(const background_child&) = delete;
    ~background_child()
    {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        ::close(fd_);
    }
    const std::string& first_line() const noexcept { return first_line_; }

private:
    pid_t pid_ = -1;
    int fd_ = -1;
    std::string first_line_;
};

} // namespace majordomo::test
