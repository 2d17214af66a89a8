// RFC 4648 base64 (standard alphabet, '=' padding), for KServe v2's BYTES tensors in JSON.
#pragma once

#include <string>

namespace vlprompt::serve {

// Error naming `where` at the first character outside the alphabet or a bad length/padding.
std::string base64_decode(const std::string& text, const std::string& where);

}  // namespace vlprompt::serve
