// A sans-io WHATWG server-sent-events parser: bytes in, events out, no I/O.
#pragma once

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace majordomo::sse {

enum class errc {
    event_too_large = 1, ///< an event (or a line) grew past parser_params::max_event_size
};

const boost::system::error_category& get_sse_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), get_sse_category()};
}

/// One dispatched event. The views point into the parser (or, with
/// parser_params::borrow_input, into the input of the feed() that dispatched it) and stay
/// valid until the next call to feed(), finish() or reset().
struct event {
    std::string_view type; ///< "message" when the stream set no `event:` field
    std::string_view data; ///< `data` lines joined by LF, without the final LF
    std::string_view id;   ///< the last-event-ID buffer at dispatch
};

struct parser_params {
    /// Bytes one event may hold (data, type, id and the line being read).
    std::size_t max_event_size = 16 * 1024 * 1024;
    /// An event whose one data line lies whole in the input of the feed() that dispatches
    /// it is handed over in place, with no copy; the caller keeps that input unchanged until
    /// its next call. Other events are copied, as always.
    bool borrow_input = false;
};

/// Parses an event stream per WHATWG HTML §9.2.6. Holds at most one event.
/// Feeding the bytes one at a time gives exactly the events feeding them at once gives.
class parser {
public:
    explicit parser(parser_params params = {});

    /// Parses `input` until one event is dispatched or `input` is used up, and returns
    /// how many bytes were consumed; feed the rest again after taking the event.
    /// On error the parser stays failed until reset().
    std::size_t feed(std::string_view input, boost::system::error_code& ec);

    /// True when the last feed() dispatched an event.
    bool has_event() const noexcept { return has_event_; }

    /// The event dispatched by the last feed(); requires has_event().
    event current() const noexcept;

    /// End of input: an event not yet ended by a blank line is discarded. The next feed()
    /// starts a new stream (its leading BOM is stripped); last_event_id() and retry() are kept
    /// for the reconnect.
    void finish() noexcept;

    /// The stream's last event ID (updated at each dispatch, even of no event).
    std::string_view last_event_id() const noexcept { return last_event_id_; }

    /// The reconnection time the stream asked for with `retry:`, in milliseconds.
    std::optional<std::uint64_t> retry() const noexcept { return retry_; }

    /// Forgets everything, including the last event ID and the BOM state.
    void reset();

private:
    std::size_t feed_some(std::string_view input, boost::system::error_code& ec);
    void process_line(std::string_view line, bool in_input);
    void own_data();
    std::string_view data() const noexcept { return data_in_input_ ? data_view_ : std::string_view(data_); }
    void dispatch();
    bool fits(std::size_t line_size) const noexcept;

    parser_params params_;
    std::string line_;          // a line begun in an earlier feed; never a comment
    std::string data_;          // data lines joined by LF, without the final LF
    std::string_view data_view_; // instead of data_: the one data line, in the caller's input
    bool data_in_input_ = false;
    std::string type_;
    std::string id_buffer_;
    std::string last_event_id_; // also the dispatched event's id: both change only at dispatch
    std::optional<std::uint64_t> retry_;
    std::size_t bom_matched_ = 0; // bytes of a leading BOM seen so far
    bool at_start_ = true;        // nothing but (part of) a BOM seen yet
    bool skip_lf_ = false;        // the last line ended with CR: drop an LF right after it
    bool in_comment_ = false;     // inside a comment line begun in an earlier feed
    bool has_data_ = false;       // a data line was seen: data_ may be empty yet present
    bool id_changed_ = false;     // id_buffer_ was set since the last dispatch
    bool has_event_ = false;
    bool failed_ = false;
};

} // namespace majordomo::sse

template <>
struct boost::system::is_error_code_enum<majordomo::sse::errc> : std::true_type {};
