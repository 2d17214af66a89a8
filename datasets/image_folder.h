// Image-folder layouts: <dir>/[<image_dir>/][<split folder>/]<class folder>/**/<image>. Used by
// ad-hoc folders, CIFAR-10 and ImageNet. Everything is sorted so a listing never depends on the
// order the file system returns.
#pragma once

#include <string>
#include <vector>

#include "datasets/catalog.h"
#include "datasets/dataset.h"

namespace vlprompt::datasets {

// True for the extensions OpenCV decodes (jpg, jpeg, png, bmp, webp, tif, tiff, ppm, pgm, pbm),
// in any letter case.
bool is_image_file(const std::string& path);

// Sorted names of the non-hidden sub-folders of `dir`; FileError when `dir` is not a folder.
std::vector<std::string> list_class_folders(const std::string& dir);

// Image files anywhere under `dir` (hidden entries skipped), sorted by path.
std::vector<std::string> list_images(const std::string& dir);

// An entry describing an ad-hoc folder: root/{train,val,test}/<class>/* where those split folders
// exist, else root/<class>/* serving as both train and test (there is then no held-out split;
// the caller decides how to divide it).
CatalogEntry adhoc_image_folder_entry(const std::string& root);

// Loads `split` of an image_folder or cifar10 entry whose data folder is `dir`. Labels index the
// union of class folders over all the entry's splits, so train and test agree on them.
DatasetSplit load_image_folder(const CatalogEntry& entry, const std::string& dir,
                               const std::string& split);

}  // namespace vlprompt::datasets
