// Multi-domain benchmarks for domain adaptation, one domain at a time ("office_home:Art"):
//   domain_folders      Office-Home: <dir>/<domain>/<class folder>/*; classes are the sorted
//                       union of class folders over every domain, so all domains share labels.
//   domain_lists        DomainNet / mini-DomainNet: <dir>/<list_dir>/<domain>_<split>.txt with
//                       "<relpath> <label>" lines, paths under <dir> (<domain>/<class>/<file>);
//                       class names are the class folders of the listed paths, by label.
//   domain_image_lists  VisDA-2017: <dir>/<domain_dirs[i]>/image_list.txt, "<relpath> <label>"
//                       relative to that folder; class names from the catalog.
// Office-Home and VisDA have no per-domain split: train and test are both the whole domain (the
// unsupervised-DA protocol, whose target test set is the unlabelled target itself).
#pragma once

#include <string>
#include <vector>

#include "datasets/catalog.h"
#include "datasets/dataset.h"

namespace vlprompt::datasets {

bool is_multi_domain(const CatalogEntry& entry);

// The domains of a multi-domain entry whose data folder is `dir`: the catalog's list, or (for
// domain_folders without one) the sub-folders on disk.
std::vector<std::string> available_domains(const CatalogEntry& entry, const std::string& dir);

// `split` of one domain. An unknown domain is an Error listing the domains; a missing list file
// or folder a FileError naming it; a malformed line a FileError naming file and line.
DatasetSplit load_domain_split(const CatalogEntry& entry, const std::string& dir,
                               const std::string& domain, const std::string& split,
                               const LoadOptions& opts);

}  // namespace vlprompt::datasets
