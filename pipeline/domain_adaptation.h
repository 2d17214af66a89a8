// The target side of a domain-adaptation run (`vlprompt train --target DATASET`): the target's
// train images as an unlabelled stream beside the labelled source batches, its test split for
// the final evaluation, and a labelled copy of the unlabelled images kept apart from training,
// only to report how good the pseudo-labels are.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "clip_data/run_data.h"
#include "datasets/dataset.h"
#include "models/clip/clip_model.h"
#include "pipeline/train_args.h"
#include "src/engine/method.h"

namespace vlprompt::pipeline {

struct TargetData {
  // The target's train images with every label set to -1: what training may see.
  datasets::DatasetSplit unlabelled;
  // The same images with their labels, for reports only (Method::set_unlabelled_reference).
  datasets::DatasetSplit reference;
  datasets::DatasetSplit test;       // the target's test split: where the run is evaluated
  std::vector<std::string> domains;  // {source domain, target domain}
};

// Loads --target (at --target-data-root, else --data-root). Its classes must be the source's,
// and its domain must differ from the source's: Errors naming both. --target-max keeps a random
// subset chosen by the run seed, without looking at labels.
TargetData load_target(const TrainArgs& a, const datasets::DatasetSplit& source_train);

// `source` with the target's unlabelled stream drawn beside it (engine::PairedTrainData), made
// the way the method needs its data (features or images). The method must hold prompts for both
// domains (Method::domains()); else an Error saying that it does not adapt to a target.
std::unique_ptr<engine::TrainData> pair_with_target(std::unique_ptr<engine::TrainData> source,
                                                    engine::Method& method, models::Clip& clip,
                                                    const TargetData& target,
                                                    const clip_data::TrainDataRequest& request,
                                                    int64_t target_batch_size, uint64_t seed);

// The source's val batches, scored with the source domain's prompts.
std::unique_ptr<engine::EvalData> source_val(std::unique_ptr<engine::EvalData> val,
                                             const engine::Method& method,
                                             const TargetData& target);

}  // namespace vlprompt::pipeline
