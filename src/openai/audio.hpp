// Private, sans-io: the transcription upload and answers, and the speech request body.
#pragma once

#include "http/multipart.hpp"

#include <majordomo/audio/audio.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace majordomo::openai::detail {

/// The form fields of a transcription upload, the file last.
/// @par Errors  client_errc::invalid_argument for an unknown response_format.
std::vector<http::detail::form_part> transcription_form(const audio::transcription_request& req);

/// A transcription answer in `format` (json, verbose_json, text, srt, vtt). JSON answers are
/// lenient: unknown fields kept in raw, whisper.cpp's `detected_language` read as the language,
/// numbers that are not numbers read as absent.
/// @par Errors  client_errc::bad_json when a JSON format's answer is not an object with a
///   string `text`; api_errc for an `{"error":...}` object sent with a 2xx status.
audio::transcription decode_transcription(std::string_view format, std::string_view body);

std::string encode_speech_request(const audio::speech_request& req);

/// The length a RIFF/WAVE file announces in its header (its RIFF size + 8), when `head` starts
/// with one (the first 8 bytes suffice).
std::optional<std::size_t> wav_announced_size(std::string_view head);

} // namespace majordomo::openai::detail
