#include <majordomo/llm/chunk.hpp>
#include <majordomo/llm/provider.hpp>

#include <cstddef>

namespace majordomo::llm {

boost::asio::awaitable<const chat_chunk*> chat_stream::source::async_next_into(chat_chunk& out)
{
    auto c = co_await async_next();
    if (!c)
        co_return nullptr;
    out = std::move(*c);
    co_return &out;
}

const char* to_string(role r) noexcept
{
    switch (r) {
    case role::system: return "system";
    case role::user: return "user";
    case role::assistant: return "assistant";
    case role::tool: return "tool";
    }
    return "user";
}

std::string message::text() const
{
    std::string out;
    for (const auto& p : content)
        if (auto* t = std::get_if<text_part>(&p))
            out += t->text;
    return out;
}

namespace {
const choice& first(const std::vector<choice>& cs) noexcept
{
    static const choice none;
    return cs.empty() ? none : cs.front();
}
} // namespace

const std::string& chat_response::text() const noexcept { return first(choices).text; }
const std::string& chat_response::reasoning() const noexcept { return first(choices).reasoning_content; }
const std::vector<tool_call>& chat_response::tool_calls() const noexcept { return first(choices).tool_calls; }
const std::string& chat_response::finish_reason() const noexcept { return first(choices).finish_reason; }

bool chat_chunk::has_output() const noexcept
{
    if (loading)
        return false;
    for (const auto& c : choices)
        if (!c.content.empty() || !c.reasoning_content.empty() || !c.tool_calls.empty())
            return true;
    return false;
}

const std::string& chat_chunk::text() const noexcept
{
    static const std::string none;
    return choices.empty() ? none : choices.front().content;
}

std::size_t chat_accumulator::at(int index)
{
    // Choices stay in index order whatever order their chunks interleave in.
    std::size_t i = 0;
    while (i < r_.choices.size() && r_.choices[i].index < index)
        ++i;
    if (i < r_.choices.size() && r_.choices[i].index == index)
        return i;
    choice c;
    c.index = index;
    r_.choices.insert(r_.choices.begin() + static_cast<std::ptrdiff_t>(i), std::move(c));
    call_index_.insert(call_index_.begin() + static_cast<std::ptrdiff_t>(i), std::vector<int>{});
    return i;
}

void chat_accumulator::add(const chat_chunk& c)
{
    if (c.loading)
        return; // progress of a model load, not output
    if (r_.id.empty())
        r_.id = c.id;
    if (r_.model.empty())
        r_.model = c.model;
    if (!r_.created)
        r_.created = c.created;
    for (const auto& d : c.choices) {
        const std::size_t ci = at(d.index);
        auto& ch = r_.choices[ci];
        auto& indices = call_index_[ci];
        ch.text += d.content;
        ch.reasoning_content += d.reasoning_content;
        if (d.finish_reason)
            ch.finish_reason = *d.finish_reason;
        for (const auto& t : d.tool_calls) {
            // Keyed on the wire index, not on position: id and name come with the first
            // fragment, arguments in pieces. A map by search keeps a hostile index cheap.
            std::size_t k = 0;
            while (k < indices.size() && indices[k] < t.index)
                ++k;
            if (k == indices.size() || indices[k] != t.index) {
                indices.insert(indices.begin() + static_cast<std::ptrdiff_t>(k), t.index);
                ch.tool_calls.insert(ch.tool_calls.begin() + static_cast<std::ptrdiff_t>(k), tool_call{});
            }
            auto& call = ch.tool_calls[k];
            if (t.id && call.id.empty())
                call.id = *t.id;
            if (t.name && call.name.empty())
                call.name = *t.name;
            call.arguments += t.arguments;
        }
    }
    if (c.usage)
        r_.usage = c.usage;
    if (c.timings)
        r_.timings = c.timings;
}

chat_response chat_accumulator::take()
{
    chat_response out = std::move(r_);
    r_ = chat_response{};
    call_index_.clear();
    return out;
}

} // namespace majordomo::llm
