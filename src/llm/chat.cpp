#include <majordomo/llm/chunk.hpp>

namespace majordomo::llm {

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

choice& chat_accumulator::at(int index)
{
    for (auto& c : r_.choices)
        if (c.index == index)
            return c;
    r_.choices.push_back(choice{});
    r_.choices.back().index = index;
    return r_.choices.back();
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
        auto& ch = at(d.index);
        ch.text += d.content;
        ch.reasoning_content += d.reasoning_content;
        if (d.finish_reason)
            ch.finish_reason = *d.finish_reason;
        for (const auto& t : d.tool_calls) {
            // Keyed on index: id and name arrive with the first fragment, arguments in pieces.
            if (static_cast<std::size_t>(t.index) >= ch.tool_calls.size())
                ch.tool_calls.resize(static_cast<std::size_t>(t.index) + 1);
            auto& call = ch.tool_calls[static_cast<std::size_t>(t.index)];
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

} // namespace majordomo::llm
