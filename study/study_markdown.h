// A study's tables as Markdown (DIR/study.md), to paste into a README or an issue: per model,
// data set and protocol, test top-1 mean ± std over seeds per shot count, macro-F1 and the delta's
// size; base-to-new shows base, new and H at the largest shot count.
#pragma once

#include <string>
#include <vector>

#include "study/study_results.h"

namespace vlprompt::study {

std::string study_markdown(const StudySpec& spec, const std::vector<CellResult>& results);

}  // namespace vlprompt::study
