// The canonical speech-to-text and text-to-speech interfaces, beside chat (llm) and images
// (imagegen): POST /v1/audio/transcriptions (a multipart upload) and POST /v1/audio/speech.
#pragma once

#include <majordomo/llm/retry.hpp>
#include <majordomo/llm/timings.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace majordomo::audio {

struct transcription_request {
    std::string model;                   ///< required; llama-swap routes by it
    std::string audio;                   ///< the audio file's bytes; required
    std::string filename = "audio.wav";  ///< sent with the bytes; servers guess the format from it
    std::string mime_type = "audio/wav"; ///< the file part's Content-Type
    std::string language;                ///< ISO-639-1, e.g. "en"; empty: the server detects it
    std::string prompt;                  ///< text to condition on; empty: none
    /// json, verbose_json, text, srt or vtt: how the server answers.
    std::string response_format = "json";
    std::optional<double> temperature;
    /// More form fields, sent as given (whisper.cpp's beam_size, OpenAI's timestamp_granularities[]).
    std::vector<std::pair<std::string, std::string>> extra_fields;
    /// How to run this call: retries (overriding the provider's) and phase deadlines.
    llm::call_params call;
};

struct transcription_segment {
    std::int64_t id = 0;
    double start = 0; ///< seconds
    double end = 0;   ///< seconds
    std::string text;
    boost::json::object raw;
};

struct transcription {
    /// The text; for text, srt and vtt answers the body exactly as received.
    std::string text;
    std::string language;                       ///< verbose_json only
    std::optional<double> duration;             ///< seconds; verbose_json only
    std::vector<transcription_segment> segments; ///< verbose_json only
    boost::json::object raw;                    ///< the JSON answer; empty for text answers
    llm::call_timings call;
};

struct speech_request {
    std::string model; ///< required
    std::string input; ///< the text to speak; required
    std::string voice; ///< empty: not sent, the server's default
    /// wav, pcm, mp3, opus, aac or flac, as the server supports; sent as given.
    std::string response_format = "wav";
    std::optional<double> speed;
    boost::json::object extra; ///< merged into the body last
    /// How to run this call: retries (overriding the provider's) and phase deadlines; a
    /// speech_stream's first_token is its first bytes, idle the gap between them.
    llm::call_params call;
};

struct speech_result {
    std::string audio;        ///< the bytes
    std::string content_type; ///< as the server labelled them, e.g. audio/wav
    llm::call_timings call;
};

/// Audio bytes pulled as the server sends them; destroying it before the end closes the connection.
/// @par Thread safety  One async_next at a time.
class speech_stream {
public:
    class source {
    public:
        virtual ~source() = default;
        virtual boost::asio::awaitable<std::optional<std::string>> async_next() = 0;
        virtual const std::string& content_type() const noexcept = 0;
        virtual const llm::call_timings& timings() const noexcept = 0;
    };

    explicit speech_stream(std::unique_ptr<source> s) : source_(std::move(s)) {}

    /// The next bytes, or std::nullopt at the end of the audio and on every call after it.
    /// @par Errors  client_errc::stream_truncated when a WAV body ends before the size its
    ///   header announced; transport errors. After an error or a cancellation every further
    ///   call fails with client_errc::stream_closed.
    boost::asio::awaitable<std::optional<std::string>> async_next() { return source_->async_next(); }
    const std::string& content_type() const noexcept { return source_->content_type(); }
    const llm::call_timings& timings() const noexcept { return source_->timings(); }

private:
    std::unique_ptr<source> source_;
};

/// What a provider with speech-to-text and text-to-speech implements.
class audio_provider {
public:
    virtual ~audio_provider() = default;

    /// Uploads the audio and returns its transcription.
    /// @par Errors  client_errc::invalid_argument (no model or audio, an unknown response_format);
    ///   api_errc with diagnostics; client_errc::bad_json when a JSON answer is not
    ///   {"text":...}; transport errors.
    /// @par Cancellation  Terminal; bound it with with_deadline.
    virtual boost::asio::awaitable<transcription> async_transcribe(transcription_request req) = 0;

    /// Speaks `req.input` and returns the whole audio.
    /// @par Errors  client_errc::invalid_argument (no model or input); api_errc with diagnostics;
    ///   client_errc::unexpected_content_type when a 2xx answer is JSON or text, not audio;
    ///   client_errc::stream_truncated when a WAV body is shorter than its header says.
    virtual boost::asio::awaitable<speech_result> async_speech(speech_request req) = 0;

    /// As async_speech, returning once the headers arrived; the audio is pulled as it comes.
    virtual boost::asio::awaitable<speech_stream> async_speech_stream(speech_request req) = 0;
};

} // namespace majordomo::audio
