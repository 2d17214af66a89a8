// ClipConfig as JSON: the "architecture" entry of vlprompt weight files.
#pragma once

#include <string>

#include "models/clip_config.h"

namespace vlprompt::models::weights {

std::string config_to_json(const ClipConfig& config);

// Throws FileError naming `path` and the key when a field is missing or of the wrong type.
ClipConfig config_from_json(const std::string& text, const std::string& path);

}  // namespace vlprompt::models::weights
