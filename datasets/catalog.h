// The dataset catalog: one YAML file per known dataset in datasets/catalog/, named after the
// dataset. The folder is the registry; adding a dataset of a known layout touches nothing else.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vlprompt::datasets {

// What a catalog file says about one dataset. Which keys matter depends on `layout`:
//   image_folder       <dir>/<image_dir>/<splits[split]>/<class folder>/*  (labels: sorted folders;
//                      names from classnames_file "<folder> <name>" lines, else the folder name)
//   cifar10            <dir>/<splits[split]>/<class folder>/*, folders exactly `class_folders`
//   coop_split         <dir>/<split_file> (CoOp's split_zhou_*.json), images under <image_dir>
//   variant_lists      <dir>/<splits[split]> lines "<id> <class name>", names from classnames_file
//   fashion_mnist_idx  <dir>/<splits[split]>-{images-idx3,labels-idx1}-ubyte[.gz]
//   digits_sheet       <dir>/<data_file>: OpenCV's digits.png, 20x20 cells, 5 rows per digit
//   digits_csv         <dir>/<data_file>: scikit-learn's digits.csv.gz, 64 values 0..16 + label
//                      (both: a fixed per-class split of test_fraction, seeded by split_seed)
//   sketch             the `base` dataset's images as edge drawings (image/sketch.h), in memory
//   domain_folders     <dir>/<domain>/<class folder>/* (Office-Home); train = test = the domain
//   domain_lists       <dir>/<list_dir>/<domain>_<splits[split]>.txt, "<relpath> <label>" lines,
//                      paths under <dir> (DomainNet, mini-DomainNet)
//   domain_image_lists <dir>/<domain_dirs[i]>/image_list.txt, "<relpath> <label>", relative to
//                      that folder (VisDA-2017); train = test = the domain
// Text layouts (datasets/text/text_loader.h; their template holds "{text}", not "{}"):
//   fortune_files      <dir>/<category> files of Debian's fortunes, '%'-separated entries; classes
//                      = `classnames` (the category files) or every category file present; a fixed
//                      per-class split of test_fraction, seeded by split_seed
//   text_files         <dir>/<splits[split]>: a .jsonl, .tsv (header), .csv (header) or .txt file
// Multi-domain layouts need a domain: "office_home:Art" (see loader.h).
// where <dir> is <data root>/<dataset_dir> when that folder exists, else the data root itself.
struct CatalogEntry {
  std::string name;                           // file stem: "oxford_pets"
  std::vector<std::string> aliases;           // other spellings users type: "OxfordPets"
  std::string layout;                         // one of the layouts above
  std::string default_root;                   // "" when the user must pass a data root
  std::string dataset_dir;                    // sub-folder of the data root; "" for none
  std::map<std::string, std::string> splits;  // split name -> sub-folder, list file or prefix
  std::string split_file;                     // coop_split
  std::string image_dir;                      // coop_split, variant_lists, image_folder
  std::string image_suffix;                   // variant_lists: appended to each listed id
  std::string classnames_file;                // image_folder (optional), variant_lists
  std::vector<std::string> classnames;        // human names by label, where the layout lacks them
  std::vector<std::string> class_folders;  // on-disk folder per label when it differs from the name
  int64_t num_classes = 0;                 // expected class count; 0 = not checked
  std::string template_text;               // default manual prompt with "{}" for the class name
  std::vector<std::string> domains;        // multi-domain layouts: the domains ([] = from disk)
  std::vector<std::string> domain_dirs;    // domain_image_lists: the folder of each domain
  std::string domain;                      // single-domain datasets: its domain name ("" = name)
  std::string data_file;                   // digits_sheet, digits_csv
  std::string base;                        // sketch: the catalog entry drawn from
  std::string list_dir;                    // domain_lists: folder of the list files
  int64_t split_seed = 1;                  // digits_*: seed of the fixed train/test split
  double test_fraction = 0.25;             // digits_*: share of each class held out as test
  // Text layouts only:
  std::vector<std::string> label_words;  // verbalizer words by label ([] = the class names)
  int64_t max_chars = 0;                 // longer texts cut to this many code points; 0 = keep
  std::vector<std::string> text_fields;  // text_files: key/column(s) of the text ([] = guess)
  std::string label_field;               // text_files: key/column of the label ("" = "label")
  std::string source;                    // the YAML file this entry was read from
};

// Whether the entry's layout holds text (classification or LM data) rather than images.
bool is_text_layout(const CatalogEntry& entry);

// Where catalog files live: $VLPROMPT_CATALOG_DIR when set, else the source tree's catalog folder.
std::string catalog_dir();

// Sorted names of every catalog entry (the YAML file stems).
std::vector<std::string> list_catalog();

// Reads the entry called `name` (exact file stem, or a case-insensitive name/alias match).
// Unknown names throw an Error listing the known names and the closest one.
CatalogEntry load_catalog_entry(const std::string& name);

// Parses one catalog file; throws FileError naming the file and the bad key.
CatalogEntry parse_catalog_file(const std::string& path);

}  // namespace vlprompt::datasets
