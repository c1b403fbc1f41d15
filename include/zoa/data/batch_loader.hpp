// zoa — streaming batch pipeline: worker threads read, corrupt and preprocess the next batches of a stream while the
// model runs the current one; a bounded queue keeps memory independent of the number of images
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/core/error.hpp"
#include "zoa/core/rng.hpp"
#include "zoa/data/image.hpp"
#include "zoa/io/preprocess.hpp"

namespace zoa::data {

/// One labelled image of a stream: HWC pixels in [0, 255] (data/image.hpp) and its class index.
struct labeled_image {
    image pixels;   ///< HWC, values in [0, 255]
    int label = 0;  ///< class index
};

/// A finite source of labelled images read by index: stream item i (i < size) is get(i).
/// A batch_loader calls get from its worker threads, for different i at the same time: get must be thread-safe,
/// and deterministic (the same i gives the same image) for results that do not depend on the thread count.
struct sample_source {
    std::size_t size = 0;                           ///< items: i = 0 … size − 1
    std::function<labeled_image(std::size_t)> get;  ///< item i (thread-safe, deterministic)
    /// Optional: what item i is called (a file path), to name it in preprocessing errors. Thread-safe like get.
    std::function<std::string(std::size_t)> name;
};

/// Opens a source when the stream reaches it: a folder is listed, a data set read, only then; the loader drops it
/// after its last batch is built. Called on a loader thread (one at a time); may throw (the error reaches next()).
using source_opener = std::function<sample_source()>;

/// The permutation a seeded shuffle of n items gives: Fisher–Yates from the end, swap(order[i−1], order[j]) with
/// j = rng(seed, 0x5348554646 "SHUFF").uniform_index(i) for i = n … 2. Identical on every platform.
/// Throws: zoa::error(argument) when n exceeds 2^32 − 1 (uniform_index draws 32-bit indices).
template <class = void>
inline std::vector<std::size_t> shuffled_order(std::size_t n, std::uint64_t seed) {
    require(n <= 0xFFFFFFFFull, error_code::argument, "shuffled_order: ", n, " items exceed 2^32 - 1");
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    rng r(seed, 0x5348554646ull);
    for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[r.uniform_index(static_cast<std::uint32_t>(i))]);
    return order;
}

/// A batch ready for the model, and where it sits in the stream.
struct stream_batch {
    xt::xtensor<float, 4> images;  ///< N × C × H × W: io::prepare_image then io::normalize_chw of each item
    std::vector<int> labels;       ///< N labels
    std::size_t sequence = 0;      ///< batch number over the whole stream (0-based, counts every segment)
    std::size_t segment = 0;       ///< which source of the stream (index into the openers)
    std::size_t index = 0;         ///< batch number within the segment
    std::size_t first = 0;         ///< segment item of images[0] (= index · batch_size)
    std::size_t segment_size = 0;  ///< items in the segment
    std::size_t segment_batches = 0;  ///< batches in the segment: ⌈segment_size / batch_size⌉
    /// True for the segment's last batch.
    bool last_in_segment() const noexcept { return index + 1 == segment_batches; }
};

/// How a batch_loader cuts and prefetches its stream.
struct batch_loader_options {
    std::size_t batch_size = 64;  ///< images per batch; a segment's last batch may be smaller
    /// Batches built ahead of the consumer (the bounded queue: built or being built, not yet taken by next()).
    /// 0 = no prefetch: next() builds each batch on the calling thread, no thread is started.
    std::size_t depth = 2;
    /// Worker threads building batches (each builds whole batches, so at most `depth` are busy); ignored when
    /// depth is 0. Results do not depend on it.
    std::size_t workers = 1;
    /// First batch to deliver (a stream position, e.g. from a checkpoint): batches before it are skipped without
    /// reading any image (their segments are opened only to learn their sizes).
    std::size_t start = 0;
};

/// A continual stream cut into batches: the segments (sources) in order, each cut into consecutive batches of
/// batch_size items (a batch never spans two segments; empty segments give no batch).
/// Batch contents: item i of the segment → pixels = io::prepare_image(get(i).pixels, pre), then
/// io::normalize_chw into row i − first of the batch, exactly as io::make_batch computes them, so a batch is
/// bit-identical to make_batch over the same images, for any depth and worker count.
/// Memory: at most `depth` batches queued plus the one the consumer holds, plus one image per worker being
/// prepared; nothing grows with the number of images. Segments are opened when the stream reaches them.
/// Errors (an opener or get throwing, an image whose prepared size differs from the batch's) are rethrown by
/// next() when the stream reaches the failing batch; earlier batches are delivered first.
/// One consumer thread calls next(); destruction stops and joins the workers.
class batch_loader {
public:
    /// Throws: zoa::error(argument) when batch_size is 0 or depth > 0 with workers == 0; errors of
    /// preprocess_config::validate; std::system_error when a worker thread cannot start (none is left running).
    template <class = void>
    batch_loader(std::vector<source_opener> segments, io::preprocess_config pre, batch_loader_options options = {})
        : segments_(std::move(segments)), pre_(std::move(pre)), opt_(options), consumed_(options.start),
          next_seq_(options.start) {
        require(opt_.batch_size > 0, error_code::argument, "batch_loader: batch_size must be > 0");
        require(opt_.depth == 0 || opt_.workers > 0, error_code::argument,
                "batch_loader: workers must be > 0 when depth > 0");
        pre_.validate();
        const std::size_t threads = opt_.depth == 0 ? 0 : std::min(opt_.workers, opt_.depth);
        workers_.reserve(threads);
        try {
            for (std::size_t t = 0; t < threads; ++t) workers_.emplace_back([this] { worker_loop(); });
        } catch (...) {  // a thread that cannot start: stop and join those that did, then report it
            stop_workers();
            throw;
        }
    }
    /// A stream of one source.
    template <class = void>
    batch_loader(sample_source source, io::preprocess_config pre, batch_loader_options options = {})
        : batch_loader(std::vector<source_opener>{[s = std::move(source)] { return s; }}, std::move(pre), options) {}

    batch_loader(const batch_loader&) = delete;
    batch_loader& operator=(const batch_loader&) = delete;
    ~batch_loader() { stop_workers(); }

    /// Moves the next batch into `out` (waiting for a worker if it is not built yet); false at the end of the
    /// stream. Throws: the error of the batch the stream has reached (see the class comment); afterwards every
    /// call throws it again.
    template <class = void>
    bool next(stream_batch& out) {
        if (workers_.empty()) {  // depth 0: build on this thread
            if (error_) std::rethrow_exception(error_);
            job j;
            try {
                if (!claim(j)) return false;
                build(j, out);
            } catch (...) {
                error_ = std::current_exception();
                throw;
            }
            ++consumed_;
            return true;
        }
        std::unique_lock<std::mutex> lk(m_);
        cv_ready_.wait(lk, [&] { return ready_.count(consumed_) != 0 || (end_known_ && consumed_ >= end_); });
        const auto it = ready_.find(consumed_);
        if (it == ready_.end()) return false;
        if (it->second.error) std::rethrow_exception(it->second.error);  // stays queued: the stream stops here
        out = std::move(it->second.batch);
        ready_.erase(it);
        ++consumed_;
        lk.unlock();
        cv_slot_.notify_all();
        return true;
    }

    /// The batch number next() delivers next (the stream position; pass it as options.start to resume there).
    template <class = void>
    std::size_t position() const {
        std::lock_guard<std::mutex> lk(m_);
        return consumed_;
    }
    /// The options and the preprocessing given at construction (validated).
    const batch_loader_options& options() const noexcept { return opt_; }
    const io::preprocess_config& preprocessing() const noexcept { return pre_; }

private:
    struct job {
        std::shared_ptr<const sample_source> source;
        std::size_t sequence = 0, segment = 0, index = 0, first = 0, count = 0, batches = 0;
    };
    struct slot {
        stream_batch batch;
        std::exception_ptr error;
    };

    /// The next job of the stream (skipping those before options.start); false at the end. Opens segments.
    /// Called by one thread at a time (claim_m_ or the consumer in depth-0 mode).
    template <class = void>
    bool claim(job& j) {
        for (;;) {
            if (!cur_) {
                if (seg_ >= segments_.size()) return false;
                sample_source s = segments_[seg_]();
                require(s.size == 0 || static_cast<bool>(s.get), error_code::argument, "batch_loader: segment ", seg_,
                        " has ", s.size, " items but no get function");
                cur_ = std::make_shared<const sample_source>(std::move(s));
                pos_ = 0;
                batch_in_seg_ = 0;
            }
            const std::size_t n = cur_->size;
            if (pos_ >= n) {  // segment done (or empty): release it
                cur_.reset();
                ++seg_;
                continue;
            }
            j.source = cur_;
            j.segment = seg_;
            j.index = batch_in_seg_++;
            j.first = pos_;
            j.count = std::min(opt_.batch_size, n - pos_);
            j.batches = (n + opt_.batch_size - 1) / opt_.batch_size;
            j.sequence = seq_counter_++;
            pos_ += j.count;
            if (j.sequence >= opt_.start) return true;
        }
    }

    /// Reads, preprocesses and normalizes the job's items into `out` (the same per-item steps as io::make_batch).
    template <class = void>
    void build(const job& j, stream_batch& out) const {
        out.sequence = j.sequence;
        out.segment = j.segment;
        out.index = j.index;
        out.first = j.first;
        out.segment_size = j.source->size;
        out.segment_batches = j.batches;
        out.labels.assign(j.count, 0);
        std::size_t h = 0, w = 0;
        for (std::size_t i = 0; i < j.count; ++i) {
            labeled_image item = j.source->get(j.first + i);
            image prepared;
            try {
                prepared = io::prepare_image(item.pixels, pre_);
            } catch (const error& e) {  // name the item: "zoa: shape: <file>: prepare_image: ..."
                if (!j.source->name) throw;
                const std::string what = e.what(), head = std::string("zoa: ") + to_string(e.code()) + ": ";
                throw error(e.code(), j.source->name(j.first + i) + ": " +
                                          (what.rfind(head, 0) == 0 ? what.substr(head.size()) : what));
            }
            item.pixels = image();  // release the decoded image before the next one
            if (i == 0) {
                h = image_height(prepared);
                w = image_width(prepared);
                out.images = xt::xtensor<float, 4>::from_shape({j.count, pre_.channels, h, w});
            }
            require(image_height(prepared) == h && image_width(prepared) == w, error_code::shape, "batch_loader: item ",
                    j.first + i, " of segment ", j.segment, " is ", image_height(prepared), "x", image_width(prepared),
                    " after preprocessing, item ", j.first, " is ", h, "x", w, " (set preprocess_config::crop)");
            io::normalize_chw(prepared, pre_, out.images.data() + i * pre_.channels * h * w);
            out.labels[i] = item.label;
        }
    }

    /// Stops the workers (they finish the batch they build) and joins them.
    template <class = void>
    void stop_workers() noexcept {
        {
            std::lock_guard<std::mutex> lk(m_);
            stop_ = true;
        }
        cv_slot_.notify_all();
        cv_ready_.notify_all();
        for (auto& w : workers_) w.join();
        workers_.clear();
    }

    template <class = void>
    void worker_loop() {
        for (;;) {
            job j;
            std::exception_ptr err;
            std::size_t seq = 0;
            {
                std::lock_guard<std::mutex> claim_lock(claim_m_);
                {
                    std::unique_lock<std::mutex> lk(m_);
                    cv_slot_.wait(lk, [&] { return stop_ || end_known_ || next_seq_ < consumed_ + opt_.depth; });
                    if (stop_ || end_known_) return;
                }
                bool more = false;
                try {
                    more = claim(j);
                } catch (...) {
                    err = std::current_exception();
                }
                std::lock_guard<std::mutex> lk(m_);
                seq = next_seq_;
                if (!more || err) {  // the end, or an opener failed: nothing after this position
                    end_known_ = true;
                    end_ = err ? seq + 1 : seq;
                    if (err) ready_[seq].error = err;
                    cv_ready_.notify_all();
                    cv_slot_.notify_all();
                    return;
                }
                ++next_seq_;
            }
            slot s;
            try {
                build(j, s.batch);
            } catch (...) {
                s.error = std::current_exception();
            }
            j.source.reset();
            std::lock_guard<std::mutex> lk(m_);
            if (s.error && (!end_known_ || seq + 1 < end_)) {  // nothing after a failed batch is delivered
                end_known_ = true;
                end_ = seq + 1;
                cv_slot_.notify_all();
            }
            ready_[seq] = std::move(s);
            cv_ready_.notify_all();
        }
    }

    std::vector<source_opener> segments_;
    io::preprocess_config pre_;
    batch_loader_options opt_;
    // claim() cursor (claim_m_, or the consumer thread in depth-0 mode)
    std::shared_ptr<const sample_source> cur_;
    std::size_t seg_ = 0, pos_ = 0, batch_in_seg_ = 0, seq_counter_ = 0;
    // queue state (m_)
    mutable std::mutex m_;
    std::mutex claim_m_;
    std::condition_variable cv_slot_, cv_ready_;
    std::map<std::size_t, slot> ready_;
    std::size_t consumed_, next_seq_, end_ = 0;
    bool end_known_ = false, stop_ = false;
    std::exception_ptr error_;  // depth-0 mode
    std::vector<std::thread> workers_;
};

/// A single-pass input range over a loader's batch tensors, for functions that take a range of batches
/// (e.g. adapt::compute_source_statistics(model, images_of(loader))). Each element is a stream_batch's images.
class batch_images {
public:
    /// The range over `loader` (which must outlive it); iterating takes its batches.
    explicit batch_images(batch_loader& loader) : loader_(&loader) {}
    /// Input iterator: dereferences to the current batch's images; end() once the loader is exhausted.
    class iterator {
    public:
        /// std::iterator_traits members of an input iterator over batch tensors.
        using iterator_category = std::input_iterator_tag;
        using value_type = xt::xtensor<float, 4>;
        using difference_type = std::ptrdiff_t;
        using pointer = const value_type*;
        using reference = const value_type&;
        iterator() = default;
        /// Takes the loader's first batch (throws as batch_loader::next).
        template <class = void>
        explicit iterator(batch_loader* l) : loader_(l), batch_(std::make_shared<stream_batch>()) { advance(); }
        /// The current batch's images.
        reference operator*() const { return batch_->images; }
        pointer operator->() const { return &batch_->images; }
        /// Takes the next batch (throws as batch_loader::next).
        template <class = void>
        iterator& operator++() {
            advance();
            return *this;
        }
        /// Equal when both are at the end, or iterate the same loader.
        bool operator==(const iterator& o) const noexcept { return loader_ == o.loader_; }
        bool operator!=(const iterator& o) const noexcept { return loader_ != o.loader_; }

    private:
        template <class = void>
        void advance() {
            if (!loader_->next(*batch_)) loader_ = nullptr;
        }
        batch_loader* loader_ = nullptr;  // nullptr = end
        std::shared_ptr<stream_batch> batch_;
    };
    /// Single pass: begin() takes the loader's next batch.
    template <class = void>
    iterator begin() const { return iterator(loader_); }
    template <class = void>
    iterator end() const { return iterator(); }

private:
    batch_loader* loader_;
};

/// See batch_images.
template <class = void>
inline batch_images images_of(batch_loader& loader) { return batch_images(loader); }

}  // namespace zoa::data
