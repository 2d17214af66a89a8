// Sharded evaluation over a data-parallel group, with two threads as the ranks of an in-process
// group: each rank runs only its batches, and every rank gets the metrics one process gets.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "src/engine/evaluate.h"
#include "tests/engine/toy_method.h"

namespace vlprompt::engine {
namespace {

// An all-reduce among threads: the sum of every rank's tensor, handed back to each.
class ThreadGroup {
 public:
  explicit ThreadGroup(int64_t world) : world_(world) {}
  void all_reduce_sum(at::Tensor& t) {
    std::unique_lock<std::mutex> lock(mutex_);
    const int64_t generation = generation_;
    sum_ = arrived_ == 0 ? t.clone() : sum_ + t;
    if (++arrived_ == world_) {
      result_ = sum_;
      arrived_ = 0;
      ++generation_;
      done_.notify_all();
    } else {
      done_.wait(lock, [&] { return generation_ != generation; });
    }
    t.copy_(result_);
  }
  int64_t world() const { return world_; }

 private:
  int64_t world_, arrived_ = 0, generation_ = 0;
  at::Tensor sum_, result_;
  std::mutex mutex_;
  std::condition_variable done_;
};

class ThreadRank : public Collective {
 public:
  ThreadRank(ThreadGroup& group, int64_t rank) : group_(group), rank_(rank) {}
  int64_t rank() const override { return rank_; }
  int64_t world_size() const override { return group_.world(); }
  void all_reduce_sum(at::Tensor& flat) override { group_.all_reduce_sum(flat); }

 private:
  ThreadGroup& group_;
  int64_t rank_;
};

TEST(EvaluateSharded, EachRankRunsItsBatchesAndAllGetOneProcesssMetrics) {
  constexpr int64_t kDim = 6, kClasses = 4;
  TensorData data = testing::toy_data(53, kDim, kClasses, 9, /*eval_batch_size=*/8);  // 7 batches
  testing::ToyMethod single(kDim, kClasses, 3);
  const ClassificationMetrics expected = evaluate(single, data, at::Device(at::kCPU));
  ThreadGroup group(2);
  std::vector<ClassificationMetrics> got(2);
  std::vector<int64_t> calls(2);
  std::vector<std::thread> ranks;
  for (int64_t r = 0; r < 2; ++r) {
    ranks.emplace_back([&, r] {
      TensorData own = testing::toy_data(53, kDim, kClasses, 9, 8);
      testing::ToyMethod method(kDim, kClasses, 3);
      ThreadRank rank(group, r);
      got[r] = evaluate_sharded(method, own, at::Device(at::kCPU), Precision::kFp32, rank);
      calls[r] = method.forward_calls;
    });
  }
  for (auto& t : ranks) t.join();
  EXPECT_EQ(calls[0], 4);  // batches 0, 2, 4, 6
  EXPECT_EQ(calls[1], 3);  // batches 1, 3, 5
  for (const auto& m : got) {
    EXPECT_EQ(m.n, 53);
    EXPECT_EQ(m.top1, expected.top1);
    EXPECT_EQ(m.top5, expected.top5);
    EXPECT_EQ(m.confusion, expected.confusion);
  }
}

}  // namespace
}  // namespace vlprompt::engine
