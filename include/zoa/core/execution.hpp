// zoa — execution context: an explicit thread count and a small std::thread pool (no OpenMP)
// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "zoa/core/error.hpp"

namespace zoa {

/// Runs data-parallel loops on a fixed number of threads (the caller's thread is one of them).
/// Multi-threading is opt-in: the default context has 1 thread and spawns nothing.
/// parallel_for splits [0, n) into `threads()` contiguous chunks that depend only on n and the thread count;
/// kernels write disjoint outputs per index, so results are identical for any thread count.
/// Thread safety: one parallel_for at a time per context (calls are serialised by a mutex); a parallel_for
/// issued from inside a task runs inline on the calling thread.
/// Waiting: an idle worker, and the caller waiting for the workers, poll for up to spin_time before blocking on a
/// condition variable — a forward pass issues hundreds of parallel_for calls microseconds apart, and waking a
/// blocked thread (futex + scheduler) costs tens of microseconds, as much as a whole small layer at batch 1.
class execution_context {
public:
    /// Largest thread count a context accepts (a larger request is a typo, not a machine).
    static constexpr std::size_t max_threads = 1024;
    /// How long a waiting thread polls before it blocks.
    static constexpr std::chrono::microseconds spin_time{100};

    /// Starts threads − 1 worker threads. When the system cannot start one (thread limit, address space), the
    /// workers already started are stopped and joined before the error is thrown: nothing is left running.
    /// Throws: zoa::error(argument) when threads is 0 or above max_threads, or a worker cannot be started (naming
    /// which one and the system's reason).
    template <class = void>
    explicit execution_context(std::size_t threads = 1) : threads_(threads) {
        require(threads >= 1 && threads <= max_threads, error_code::argument,
                "execution_context: thread count must be in 1..", max_threads, ", got ", threads);
        workers_.reserve(threads - 1);
        std::size_t t = 1;
        try {
            for (; t < threads; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
        } catch (const std::exception& e) {
            stop_workers();
            fail(error_code::argument, "execution_context: cannot start thread ", t + 1, " of ", threads, " (",
                 e.what(), "); use fewer threads");
        }
    }
    execution_context(const execution_context&) = delete;
    execution_context& operator=(const execution_context&) = delete;
    ~execution_context() { stop_workers(); }

    /// The thread count given at construction (including the caller's thread).
    std::size_t threads() const noexcept { return threads_; }

    /// Calls fn(begin, end) over a static partition of [0, n) into at most threads() non-empty chunks.
    /// Chunk t covers [n*t/T, n*(t+1)/T). Exceptions thrown by fn are rethrown here (the first one).
    template <class Fn>
    void parallel_for(std::size_t n, Fn&& fn) {
        if (n == 0) return;
        const std::size_t parts = threads_ < n ? threads_ : n;
        if (parts == 1 || in_task()) {
            fn(std::size_t{0}, n);
            return;
        }
        // Only this call thunk is compiled per loop body; the hand-off to the workers is compiled once.
        using F = std::remove_reference_t<Fn>;
        run_parallel(n, parts, task_ref{const_cast<void*>(static_cast<const void*>(std::addressof(fn))),
                                        [](void* f, std::size_t b, std::size_t e) { (*static_cast<F*>(f))(b, e); }});
    }

private:
    /// A loop body by reference: fn(b, e) is call(object, b, e).
    struct task_ref {
        void* object = nullptr;
        void (*call)(void*, std::size_t, std::size_t) = nullptr;
    };

    /// parallel_for's multi-threaded path: chunk 0 on this thread, chunks 1 … parts − 1 on the workers.
    template <class = void>
    void run_parallel(std::size_t n, std::size_t parts, task_ref task) {
        std::lock_guard<std::mutex> call_lock(call_m_);
        {
            std::lock_guard<std::mutex> lk(m_);
            task_ = task;
            n_ = n;
            parts_ = parts;
            pending_ = parts - 1;
            error_ = nullptr;
            ++generation_;
        }
        cv_start_.notify_all();
        run_chunk(0);
        spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; });
        std::unique_lock<std::mutex> lk(m_);
        cv_done_.wait(lk, [this] { return pending_ == 0; });
        task_ = task_ref{};
        if (error_) std::rethrow_exception(error_);
    }

    template <class = void>
    void stop_workers() noexcept {
        {
            std::lock_guard<std::mutex> lk(m_);
            stop_ = true;
        }
        cv_start_.notify_all();
        for (auto& w : workers_) w.join();
        workers_.clear();
    }

    /// Polls done() for up to spin_time (returns early when it holds); the caller then blocks as before.
    template <class Pred>
    static void spin_until(Pred&& done) noexcept {
        const auto end = std::chrono::steady_clock::now() + spin_time;
        for (unsigned i = 1; !done(); ++i) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#elif defined(__aarch64__)
            __asm__ __volatile__("yield");
#endif
            if (i % 64 == 0 && std::chrono::steady_clock::now() >= end) return;
        }
    }

    template <class = void>
    static bool& in_task() noexcept {
        thread_local bool flag = false;
        return flag;
    }

    template <class = void>
    void run_chunk(std::size_t t) {
        const std::size_t b = n_ * t / parts_, e = n_ * (t + 1) / parts_;
        bool& flag = in_task();
        flag = true;
        try {
            task_.call(task_.object, b, e);
        } catch (...) {
            std::lock_guard<std::mutex> lk(m_);
            if (!error_) error_ = std::current_exception();
        }
        flag = false;
    }

    template <class = void>
    void worker_loop(std::size_t t) {
        std::size_t seen = 0;
        for (;;) {
            spin_until([&] {
                return stop_.load(std::memory_order_relaxed) || generation_.load(std::memory_order_acquire) != seen;
            });
            {
                std::unique_lock<std::mutex> lk(m_);
                cv_start_.wait(lk, [&] { return stop_ || generation_ != seen; });
                if (stop_) return;
                seen = generation_;
                if (t >= parts_) continue;
            }
            run_chunk(t);
            std::lock_guard<std::mutex> lk(m_);
            if (--pending_ == 0) cv_done_.notify_one();
        }
    }

    std::size_t threads_;
    std::vector<std::thread> workers_;
    std::mutex m_, call_m_;
    std::condition_variable cv_start_, cv_done_;
    task_ref task_;
    std::size_t n_ = 0, parts_ = 1;
    // written under m_ (the condition variables' predicates), read without it while polling
    std::atomic<std::size_t> pending_{0}, generation_{0};
    std::exception_ptr error_;
    std::atomic<bool> stop_{false};
};

}  // namespace zoa
